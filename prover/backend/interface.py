"""The backend interface: the few heavy operations a Groth16 proof needs.

A backend knows vectors of field elements and arrays of curve points (``prover.field.arrays``),
never keys, circuits or proofs. It offers:

* ``ntt``: forward / inverse NTT over Fr on a power-of-two domain, optionally on a coset.
* ``msm_g1`` / ``msm_g2``: multi-scalar multiplication, sum_i s_i * P_i.
* ``load_key``: take a proving key's bulk arrays once and keep them in the backend's own form
  (native layout, device memory) for many proofs; ``release_key`` frees them.
* ``quotient_evaluations``: the prover's H step (the QAP witness map), so that a backend can keep
  the witness and every intermediate vector in its own memory (a GPU never copies them back).

The QAP convention is snarkjs's (ARCHITECTURE §3): with a = A.w, b = B.w evaluated per
constraint on the n-domain (n = domain_size; rows past the constraints are zero) and c = a*b,
each of a, b, c is interpolated (inverse NTT), moved to the coset w_2n * <w_n> (coefficient i
times w_2n^i) and evaluated there (NTT); H = a*b - c pointwise on that coset, with no division
by Z. The proving key's H points absorb the constant factor.
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from prover.field.arrays import FrVector, G1Array, G2Array
from prover.field.curve import G1Affine, G2Affine

#: One record of a proving key's constraint coefficients, exactly as in the .zkey section 4:
#: matrix (0 = A, 1 = B), constraint (row), signal (column), value = coef * 2^512 mod r in
#: four little-endian 64-bit limbs (snarkjs stores coefficients pre-multiplied by R^2).
COEFF_DTYPE = np.dtype([("matrix", "<u4"), ("constraint", "<u4"), ("signal", "<u4"), ("value", "<u8", (4,))])


class BackendError(RuntimeError):
    """A backend cannot do what was asked (no device, out of device memory, bad shapes)."""


@dataclass(frozen=True)
class KeyArrays:
    """A proving key's bulk data, as a backend sees it (see ``prover.field.arrays``)."""

    n_vars: int
    n_public: int
    domain_size: int
    a_query: G1Array  # n_vars points
    b1_query: G1Array  # n_vars points
    b2_query: G2Array  # n_vars points
    c_query: G1Array  # n_vars - n_public - 1 points (private signals)
    h_query: G1Array  # domain_size points
    coeffs: np.ndarray  # COEFF_DTYPE records, A and B matrices

    def digest(self) -> str:
        """SHA-256 over everything a proof depends on; names the key in caches and logs."""
        h = hashlib.sha256()
        h.update(np.array([self.n_vars, self.n_public, self.domain_size], dtype="<u8").tobytes())
        for arr in (self.a_query, self.b1_query, self.b2_query, self.c_query, self.h_query, self.coeffs):
            # hash the buffer in place: a tobytes() copy of a multi-GB key costs as much as the hash
            h.update(memoryview(np.ascontiguousarray(arr).view(np.uint8).reshape(-1)))
        return h.hexdigest()


@dataclass
class ResidentKey:
    """A proving key loaded into a backend. The query fields are backend-specific handles that
    only the backend that made them accepts as MSM bases.

    ``digest`` (``KeyArrays.digest()`` of the key) is hashed on first read unless the backend
    passes ``known_digest``: a one-shot proof never needs it, and on a multi-GB key it costs about
    a core-second."""

    source: KeyArrays
    n_vars: int
    n_public: int
    domain_size: int
    a_query: Any
    b1_query: Any
    b2_query: Any
    c_query: Any
    h_query: Any
    private: dict = field(default_factory=dict)  # backend's own state (matrices, device buffers)
    known_digest: str | None = field(default=None, repr=False)

    @property
    def digest(self) -> str:
        if self.known_digest is None:
            self.known_digest = self.source.digest()
        return self.known_digest


class Backend(ABC):
    """What every backend implements. Implementations: ``cpu`` (native, with a pure-Python
    fallback) and ``gpu`` (CUDA through CuPy)."""

    #: short name: "python", "cpu", "gpu"
    name: str = "abstract"

    def describe(self) -> str:
        """One line for logs and metrics: implementation and device."""
        return self.name

    # --- NTT ------------------------------------------------------------------------------
    @abstractmethod
    def ntt(self, values: FrVector, *, inverse: bool = False, coset: int | None = None) -> FrVector:
        """NTT over the domain of size len(values) (a power of two), natural order in and out.

        Forward: coefficients -> evaluations at w^i (or at coset * w^i when ``coset`` is given:
        coefficient i is first multiplied by coset^i). Inverse: the exact inverse of the same
        forward map. Returns a new array; the input is not modified.
        """

    # --- MSM ------------------------------------------------------------------------------
    @abstractmethod
    def msm_g1(self, bases: Any, scalars: FrVector) -> G1Affine:
        """sum_i scalars[i] * bases[i] on G1. ``bases`` is a G1Array or a handle from
        ``load_key``; len(scalars) must equal the number of bases."""

    @abstractmethod
    def msm_g2(self, bases: Any, scalars: FrVector) -> G2Affine:
        """sum_i scalars[i] * bases[i] on G2, as ``msm_g1``."""

    # --- resident proving key ---------------------------------------------------------------
    @abstractmethod
    def load_key(self, key: KeyArrays) -> ResidentKey:
        """Convert and keep a key's arrays for reuse across proofs."""

    def release_key(self, resident: ResidentKey) -> None:  # noqa: B027 - optional hook
        """Free what ``load_key`` allocated (device memory). Default: nothing to free."""

    @abstractmethod
    def quotient_evaluations(self, resident: ResidentKey, witness: FrVector) -> FrVector:
        """The H scalars (domain_size of them) for ``witness`` under the key's A and B matrices,
        per the convention in this module's docstring."""

    # --- fixed-base batches (key generation) ---------------------------------------------
    def batch_mul_g1(self, base: G1Affine, scalars: FrVector) -> G1Array:
        """[k_i * base] for every scalar, as a G1Array: what a setup does for each query.

        The default is the pure-Python windowed method; native backends override it because a
        large circuit's setup needs millions of these.
        """
        from prover.field.arrays import fr_ints, g1_array
        from prover.field.curve import G1, FixedBase

        return g1_array(FixedBase(G1, base).batch(fr_ints(scalars)))

    def batch_mul_g2(self, base: G2Affine, scalars: FrVector) -> G2Array:
        """[k_i * base] on G2, as ``batch_mul_g1``."""
        from prover.field.arrays import fr_ints, g2_array
        from prover.field.curve import G2, FixedBase

        return g2_array(FixedBase(G2, base).batch(fr_ints(scalars)))


@dataclass(frozen=True)
class CsrMatrix:
    """One of a key's A or B matrices in compressed-row form: row r's entries are
    ``cols[ptr[r]:ptr[r+1]]`` with values ``vals`` (zkey encoding, coef * R^2 mod r)."""

    ptr: np.ndarray  # (n_rows + 1,) uint64
    cols: np.ndarray  # (nnz,) uint32
    vals: np.ndarray  # (nnz, 4) uint64, as stored in the .zkey


def csr_matrices(key: KeyArrays) -> dict[str, CsrMatrix]:
    """The key's A and B coefficient records as CSR matrices over the domain's rows, checked
    against the domain and the signal count. The python and GPU backends' ``load_key`` start from
    these; the CPU backend reads the records in place instead (no copy of a multi-GB key)."""
    n = key.domain_size
    if n < 1 or n & (n - 1):
        raise BackendError(f"load_key: domain size {n} is not a power of two")
    coeffs = np.asarray(key.coeffs)
    if coeffs.dtype != COEFF_DTYPE:
        coeffs = coeffs.astype(COEFF_DTYPE)
    out = {}
    for tag, m in (("a", 0), ("b", 1)):
        recs = coeffs[coeffs["matrix"] == m]
        rows = recs["constraint"].astype(np.int64)
        cols = recs["signal"]
        if len(recs) and (int(rows.max()) >= n or int(cols.max()) >= key.n_vars):
            raise BackendError(f"load_key: matrix {tag.upper()} refers past the domain or the signals")
        order = np.argsort(rows, kind="stable")
        ptr = np.zeros(n + 1, dtype=np.uint64)
        np.cumsum(np.bincount(rows, minlength=n), out=ptr[1:])
        out[tag] = CsrMatrix(
            ptr=ptr,
            cols=np.ascontiguousarray(cols[order], dtype=np.uint32),
            vals=np.ascontiguousarray(recs["value"][order], dtype=np.uint64).reshape(-1, 4),
        )
    return out


def check_msm_sizes(n_bases: int, scalars: FrVector, what: str) -> None:
    if scalars.ndim != 2 or scalars.shape[1] != 4:
        raise BackendError(f"{what}: scalars must be an (n, 4) uint64 array, got shape {scalars.shape}")
    if len(scalars) != n_bases:
        raise BackendError(f"{what}: {len(scalars)} scalars for {n_bases} bases")


def check_ntt_size(values: FrVector) -> int:
    """Return log2(len(values)), raising BackendError unless it is a power of two."""
    n = len(values)
    if values.ndim != 2 or values.shape[1] != 4:
        raise BackendError(f"ntt: values must be an (n, 4) uint64 array, got shape {values.shape}")
    if n == 0 or n & (n - 1):
        raise BackendError(f"ntt: size {n} is not a power of two")
    return n.bit_length() - 1
