"""The native CPU backend: NTT, MSM on G1/G2 and the H step in C, on every core.

Mechanism: a CPython C extension, ``prover.backend._native``, built by setuptools from
``prover/backend/native/*.c`` (see ``setup.py``). Chosen for speed first: arrays cross the
boundary through the buffer protocol as raw pointers (no copies, no per-element objects), the GIL
is released around each kernel, and there is no runtime compiler, loader or extra dependency
(ctypes + a separately built .so, cffi, or Cython would each add one). Simplicity second: one
``pip install`` builds it with the C compiler setuptools already uses; it is declared optional,
so without a compiler the install succeeds and ``available()`` says why the native code is
missing (the backend selection then falls back to the pure-Python backend with a log line).

Arithmetic (``native/field.h``, ``native/curve_impl.h``): 4x64-bit limbs, CIOS Montgomery with
the no-carry optimisation (MULX/ADCX/ADOX assembly on x86-64 with BMI2+ADX, portable
``unsigned __int128`` C elsewhere), Fq2 products with lazy reduction; G1/G2 in XYZZ coordinates
with mixed addition. MSM (``native/msm.c``): Pippenger with signed Booth digits; buckets kept
affine and updated in batches sharing one inversion (Montgomery's trick), XYZZ side buckets for
in-batch collisions; the window size and the split (one task per window, or per window and
chunk of points) come from a cost model fed with a sample of the scalars' digits, so the small
scalars of real witnesses neither slow an MSM down nor pile onto one thread. NTT
(``native/ntt.c``): radix-2 with per-size precomputed twiddles, cache-blocked first stages,
OpenMP over butterflies; the H step reads the key's coefficient records where they lie (the mapped
.zkey), runs DIF -> coset shift -> DIT and never bit-reverses.

Threads: ``os.cpu_count()``, or ``ZKPROVER_THREADS`` when set, or the ``threads`` argument.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from prover.backend.interface import (
    COEFF_DTYPE,
    Backend,
    BackendError,
    KeyArrays,
    ResidentKey,
    check_msm_sizes,
    check_ntt_size,
)
from prover.field.arrays import FrVector, G1Array, G2Array, g1_array, g2_array
from prover.field.bn254 import FR_MODULUS, root_of_unity
from prover.field.curve import G1Affine, G2Affine

# OpenMP threads that wait at a barrier spin by default. On a shared machine (a server with a
# gRPC pool, CI, several workers on one host) that spinning takes CPU from the very threads being
# waited for; sleeping costs a few microseconds per parallel region, noise next to an NTT or an
# MSM. Must be set before libgomp initialises, i.e. before the extension is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    from prover.backend import _native  # type: ignore[attr-defined]

    _IMPORT_ERROR: str | None = None
except ImportError as exc:  # not built (no compiler at install time) or not loadable
    _native = None
    _IMPORT_ERROR = str(exc)


@contextmanager
def ifma_allowed(allowed: bool) -> Iterator[None]:
    """Within the block the native kernels may (True) or may not (False) take their AVX-512 IFMA
    paths: ``ZKPROVER_NO_IFMA``, which the extension reads when an MSM or a rescaling starts, set
    accordingly and restored after. For benchmarks and tests that compare the two paths."""
    old = os.environ.get("ZKPROVER_NO_IFMA")
    os.environ["ZKPROVER_NO_IFMA"] = "0" if allowed else "1"
    try:
        yield
    finally:
        if old is None:
            del os.environ["ZKPROVER_NO_IFMA"]
        else:
            os.environ["ZKPROVER_NO_IFMA"] = old


def default_threads() -> int:
    """``ZKPROVER_THREADS`` if set to a positive integer, else the number of CPUs."""
    env = os.environ.get("ZKPROVER_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError as exc:
            raise BackendError(f"ZKPROVER_THREADS must be a positive integer, got {env!r}") from exc
        if n < 1:
            raise BackendError(f"ZKPROVER_THREADS must be a positive integer, got {env!r}")
        return n
    return os.cpu_count() or 1


def _u64_rows(arr: np.ndarray, shape_tail: tuple[int, ...], what: str) -> np.ndarray:
    """The array as C-contiguous uint64 with the given trailing shape (no copy when it already is)."""
    if not isinstance(arr, np.ndarray) or arr.shape[1:] != shape_tail:
        raise BackendError(
            f"{what}: expected shape (n, {', '.join(map(str, shape_tail))}), got {getattr(arr, 'shape', type(arr))}"
        )
    return np.ascontiguousarray(arr, dtype=np.uint64)


class CpuBackend(Backend):
    """Native multi-threaded backend. Raises BackendError at construction if the extension is
    missing; ask ``available()`` first."""

    name = "cpu"

    def __init__(self, threads: int | None = None) -> None:
        ok, reason = self.available()
        if not ok:
            raise BackendError(reason)
        self.threads = threads if threads is not None else default_threads()
        if self.threads < 1:
            raise BackendError(f"threads must be >= 1, got {self.threads}")

    @classmethod
    def available(cls) -> tuple[bool, str]:
        if _native is None:
            return False, f"native extension prover.backend._native not built or not loadable ({_IMPORT_ERROR})"
        how = "OpenMP" if _native.openmp else "single-threaded build (no OpenMP)"
        return True, f"native extension loaded ({how})"

    def describe(self) -> str:
        omp = "" if _native.openmp else ", no OpenMP"
        return f"cpu (native C, {self.threads} threads{omp})"

    # --- NTT ------------------------------------------------------------------------------
    def ntt(self, values: FrVector, *, inverse: bool = False, coset: int | None = None) -> FrVector:
        check_ntt_size(values)
        out = np.array(values, dtype=np.uint64, order="C", copy=True)  # fresh; input untouched
        coset_bytes = None if coset is None else (coset % FR_MODULUS).to_bytes(32, "little")
        _native.ntt(out, bool(inverse), coset_bytes, self.threads)
        return out

    # --- MSM ------------------------------------------------------------------------------
    def msm_g1(self, bases: G1Array, scalars: FrVector) -> G1Affine:
        b = _u64_rows(bases, (2, 4), "msm_g1 bases")
        check_msm_sizes(len(b), scalars, "msm_g1")
        s = np.ascontiguousarray(scalars, dtype=np.uint64)
        raw = _native.msm_g1(b, s, self.threads)
        if raw is None:
            return None
        return (int.from_bytes(raw[:32], "little"), int.from_bytes(raw[32:], "little"))

    def msm_g2(self, bases: G2Array, scalars: FrVector) -> G2Affine:
        b = _u64_rows(bases, (2, 2, 4), "msm_g2 bases")
        check_msm_sizes(len(b), scalars, "msm_g2")
        s = np.ascontiguousarray(scalars, dtype=np.uint64)
        raw = _native.msm_g2(b, s, self.threads)
        if raw is None:
            return None
        c = [int.from_bytes(raw[i : i + 32], "little") for i in range(0, 128, 32)]
        return ((c[0], c[1]), (c[2], c[3]))

    # --- fixed-base batches (key generation) -----------------------------------------------
    def batch_mul_g1(self, base: G1Affine, scalars: FrVector) -> G1Array:
        s = np.ascontiguousarray(scalars, dtype=np.uint64)
        out = np.empty((len(s), 2, 4), dtype=np.uint64)
        _native.fixed_base_g1(g1_array([base]), s, out, self.threads)
        return out

    def batch_mul_g2(self, base: G2Affine, scalars: FrVector) -> G2Array:
        s = np.ascontiguousarray(scalars, dtype=np.uint64)
        out = np.empty((len(s), 2, 2, 4), dtype=np.uint64)
        _native.fixed_base_g2(g2_array([base]), s, out, self.threads)
        return out

    # --- resident key ---------------------------------------------------------------------
    def load_key(self, key: KeyArrays) -> ResidentKey:
        """Nothing is copied: the point arrays are the MSM bases as they are, and the H step reads
        the coefficient records where they lie (for a key read from a .zkey: the mapped file)."""
        n = key.domain_size
        if n < 1 or n & (n - 1):
            raise BackendError(f"load_key: domain size {n} is not a power of two")
        coeffs = np.asarray(key.coeffs)
        if coeffs.dtype != COEFF_DTYPE:
            coeffs = coeffs.astype(COEFF_DTYPE)
        records = np.ascontiguousarray(coeffs).view(np.uint8).reshape(-1)
        bad = _native.coeffs_check(records, key.n_vars, n)
        if bad >= 0:
            raise BackendError(f"load_key: coefficient record {bad} names a matrix, row or signal out of range")
        return ResidentKey(
            source=key,
            n_vars=key.n_vars,
            n_public=key.n_public,
            domain_size=n,
            a_query=_u64_rows(key.a_query, (2, 4), "a_query"),
            b1_query=_u64_rows(key.b1_query, (2, 4), "b1_query"),
            b2_query=_u64_rows(key.b2_query, (2, 2, 4), "b2_query"),
            c_query=_u64_rows(key.c_query, (2, 4), "c_query"),
            h_query=_u64_rows(key.h_query, (2, 4), "h_query"),
            private={"log_n": n.bit_length() - 1, "records": records},
        )

    def quotient_evaluations(self, resident: ResidentKey, witness: FrVector) -> FrVector:
        if witness.ndim != 2 or witness.shape[1] != 4 or len(witness) != resident.n_vars:
            raise BackendError(
                f"quotient_evaluations: witness shape {witness.shape}, key has {resident.n_vars} signals"
            )
        w = np.ascontiguousarray(witness, dtype=np.uint64)
        out = np.empty((resident.domain_size, 4), dtype=np.uint64)
        p = resident.private
        _native.quotient(p["records"], w, p["log_n"], out, self.threads)
        return out


def _self_test() -> None:
    """Tiny known-answer checks, run by the tests (not at import: keep import cheap)."""
    be = CpuBackend(threads=1)
    v = np.zeros((4, 4), dtype=np.uint64)
    v[1, 0] = 1
    w = root_of_unity(2)
    got = [int.from_bytes(r.tobytes(), "little") for r in be.ntt(v)]
    assert got == [1, w, w * w % FR_MODULUS, pow(w, 3, FR_MODULUS)], got


def point_series(
    group: str, start: G1Affine | G2Affine, step: G1Affine | G2Affine, n: int, threads: int | None = None
) -> np.ndarray:
    """``start + i * step`` for i < n as a G1Array / G2Array (``group`` "g1" or "g2"), computed
    natively with batch normalisation: many distinct valid bases fast, for tests and
    benchmarks. An MSM over them has the cheap closed form
    ``(sum s_i) * start + (sum i * s_i) * step``, an independent reference at any size."""
    from prover.field.arrays import g1_array, g2_array

    if _native is None:
        raise BackendError(f"native extension unavailable ({_IMPORT_ERROR})")
    is_g2 = group == "g2"
    enc = g2_array if is_g2 else g1_array
    out = np.empty((n, 2, 2, 4) if is_g2 else (n, 2, 4), dtype=np.uint64)
    _native.series(is_g2, enc([start]), enc([step]), out, threads or default_threads())
    return out
