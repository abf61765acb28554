"""The GPU backend's orchestration: :class:`GpuEngine`, everything between the Backend API and
the kernel launches (pass plans, twiddle and coset tables, buffer management, memory
accounting, the resident key, the MSM plan), written against an ``ops`` object
(:class:`prover.backend.gpu_launch.CupyOps`, or the NumPy mirrors of the kernels in
``tests/test_gpu_mirror.py`` and ``tests/test_gpu_msm_mirror.py``).

Data flow of a proof:
``load_key`` uploads the key's points and matrices once (keyed by the key's digest, reference
counted, freed by ``release_key``) after checking that they fit in free device memory (a
BackendError with the sizes otherwise, before anything is allocated). ``quotient_evaluations``
uploads the witness once, converts it to Montgomery form on the device, and computes
a = A.w, b = B.w, c = a*b, the three coset transforms (batched) and H without leaving the
device; the witness and H stay there (``resident.private["w_dev"]``, ``["h_dev"]``) for the
MSMs, and H is also returned to the host as the API requires.

**MSM** (``kernels/msm.cu``, steps in ``kernels/msm.cuh``): Pippenger with signed-digit
windows decomposed on the device, a counting sort of (bucket, point) entries with
warp-aggregated atomics, XYZZ bucket sums by chunks of bounded length (heavy buckets from
repeated small witness values are split, then recombined tree-wise), per-segment weighted
bucket reduction on the device; the CPU backend only combines the W window sums
(:meth:`GpuEngine.msm`). ``ZKPROVER_GPU_MSM_WINDOW`` / ``_CHUNK`` / ``_FANIN`` / ``_SEGMENT``
override the tuning for measurement.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from kernels.ntt_plan import DEFAULT_TILE_LOG, plan_passes, two_level_table
from prover.backend.interface import (
    BackendError,
    KeyArrays,
    ResidentKey,
    check_ntt_size,
    csr_matrices,
)
from prover.field.arrays import FrVector
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, root_of_unity
from prover.field.curve import FQ, FQ2
from prover.groth16.memory import MEMORY_MARGIN

P = FR_MODULUS
Q = FQ_MODULUS
_RINV_Q = pow(1 << 256, -1, Q)

# scale modes of the permute_scale kernel (kernels/ntt.cuh, enum ScaleMode)
SCALE_NONE, SCALE_SRC, SCALE_DST, SCALE_DST_BITREV = 0, 1, 2, 3


@dataclass
class DevicePoints:
    """A resident point array: the device copy (MSM bases for part 2's kernels) and the host
    copy (what the CPU MSM uses until then). Both are in the .zkey layout."""

    host: np.ndarray
    device: Any

    def __len__(self) -> int:
        return len(self.host)


def _fmt_bytes(n: int) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 1 << 30 else f"{n / 2**20:.1f} MiB"


def _env_tuning(name: str, default: int, lo: int, hi: int) -> int:
    """An MSM tuning knob from the environment (for measurement sweeps), else ``default``."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        v = int(raw)
    except ValueError as exc:
        raise BackendError(f"{name} must be an integer, got {raw!r}") from exc
    if not lo <= v <= hi:
        raise BackendError(f"{name} must be in [{lo}, {hi}], got {v}")
    return v


def msm_window(n: int) -> int:
    """Window bits c for an MSM of n points (env ``ZKPROVER_GPU_MSM_WINDOW`` overrides).

    About log2(n) - 4 (2^(c-1) buckets per window, so ~32 entries per bucket: enough work per
    bucket to amortise the reduction, which costs ~2 XYZZ additions per bucket), clamped to
    [2, 16]: 16 at 2^20, 12 at 2^16. A starting point, to be tuned by measurement on the GPU
    (bench/gpu_harness.py sweeps it)."""
    default = max(2, min(16, max(n, 1).bit_length() - 5))  # floor(log2 n) - 4
    return _env_tuning("ZKPROVER_GPU_MSM_WINDOW", default, 2, 20)


def msm_windows(c: int) -> int:
    """Number of c-bit signed-digit windows for scalars below r < 2^254: W * c >= 255, so the
    top window's digit plus a carry never exceeds 2^(c-1) (no carry out of the last window)."""
    return (255 + c - 1) // c


def msm_chunk_len(entries: int, n_buckets: int) -> int:
    """Entries per thread in the first accumulation pass (env ``ZKPROVER_GPU_MSM_CHUNK``):
    twice the mean bucket load rounded up to a power of two, in [8, 256]. Random scalars then
    leave nearly every bucket in one chunk; a heavy bucket (repeated small scalars) is cut into
    many chunks that run in parallel."""
    mean = max(1, -(-2 * entries // max(1, n_buckets)))
    default = min(256, max(8, 1 << (mean - 1).bit_length()))
    return _env_tuning("ZKPROVER_GPU_MSM_CHUNK", default, 1, 1 << 16)


#: partial sums combined per thread in the tree passes (env ZKPROVER_GPU_MSM_FANIN)
MSM_FANIN = 16
#: buckets per thread in the reduction (env ZKPROVER_GPU_MSM_SEGMENT), a power of two
MSM_SEGMENT = 16


@dataclass
class MsmPlan:
    """The shape of one MSM on the device: window bits, windows, buckets per window."""

    n: int
    c: int
    n_windows: int
    n_buckets: int

    @classmethod
    def for_size(cls, n: int) -> MsmPlan:
        c = msm_window(n)
        return cls(n=n, c=c, n_windows=msm_windows(c), n_buckets=1 << (c - 1))

    @property
    def total_buckets(self) -> int:
        return self.n_windows * self.n_buckets

    def seg_len(self) -> int:
        seg = _env_tuning("ZKPROVER_GPU_MSM_SEGMENT", MSM_SEGMENT, 1, 1 << 19)
        if seg & (seg - 1):
            raise BackendError(f"ZKPROVER_GPU_MSM_SEGMENT must be a power of two, got {seg}")
        return min(seg, self.n_buckets)

    def scratch_bytes(self, g2: bool) -> int:
        """Upper bound of the device bytes one MSM allocates: counts, offsets and cursor; the
        sorted entries (one u32 per non-zero digit, at most n W); partial sums (at most one
        per chunk: buckets + entries / 8) and the level above them; the reduction segments."""
        xyzz = 256 if g2 else 128
        entries = self.n * self.n_windows
        chunks = self.total_buckets + entries // 8
        return 3 * 4 * (self.total_buckets + 1) + 4 * entries + 2 * xyzz * chunks + 3 * 4 * (chunks + 1)


class GpuEngine:
    """Device-side NTT and H step over an ``ops`` object (:class:`CupyOps` or a mirror)."""

    def __init__(self, ops: Any, *, poison: bool = False, memory_limit: int | None = None) -> None:
        self.ops = ops
        self.xp = ops.xp
        self.tile_log = getattr(ops, "tile_log", DEFAULT_TILE_LOG)
        #: fill every fresh output buffer with 0xff bytes (not a field element), so that an
        #: element a kernel failed to write shows up in parity tests instead of passing as 0
        self.poison = poison
        self.memory_limit = memory_limit
        self._tw: dict[bool, tuple[int, Any]] = {}  # inverse? -> (log_tw, table)
        self._scale_tables: dict[tuple[int, int, int], tuple[Any, Any, int]] = {}
        self._ones = ops.upload(two_level_table(1, 1)[0])  # placeholder table for unscaled launches

    # --- buffers & memory ---------------------------------------------------------------------
    def empty(self, rows: int, width: int = 4) -> Any:
        buf = self.ops.empty((rows, width))
        if self.poison:
            buf.fill(np.uint64(0xFFFFFFFFFFFFFFFF))
        return buf

    def available_bytes(self) -> int:
        avail = self.ops.mem_available()
        if self.memory_limit is not None:
            avail = min(avail, self.memory_limit)
        return avail

    def check_fits(self, what: str, parts: dict[str, int]) -> None:
        """Raise BackendError, before allocating anything, unless ``parts`` fit in device memory
        with :data:`MEMORY_MARGIN` to spare."""
        need = sum(parts.values())
        avail = self.available_bytes()
        if need + MEMORY_MARGIN > avail:
            detail = ", ".join(f"{k} {_fmt_bytes(v)}" for k, v in parts.items() if v)
            raise BackendError(
                f"{what} needs {_fmt_bytes(need)} of GPU memory ({detail}) plus a {_fmt_bytes(MEMORY_MARGIN)} "
                f"margin, but only {_fmt_bytes(avail)} is available; use a larger GPU, release other keys, "
                f"or prove on the CPU backend"
            )

    # --- tables -------------------------------------------------------------------------------
    def twiddles(self, log_n: int, inverse: bool) -> tuple[Any, int]:
        """(table, log_tw) with table[j] = w^j (w the 2^log_tw-th root, inverted for the inverse
        transform), j < 2^(log_tw - 1), log_tw >= log_n. Grown on demand, built on the device
        from a small two-level table, kept for the process."""
        have = self._tw.get(inverse)
        if have is not None and have[0] >= log_n:
            return have[1], have[0]
        half = 1 << (log_n - 1)
        w = root_of_unity(log_n)
        if inverse:
            w = pow(w, -1, P)
        hi, lo, lo_log = two_level_table(w, half)
        self._tw.pop(inverse, None)  # drop the smaller table before allocating the larger one
        table = self.empty(half)
        self.ops.powers(table, half, self.ops.upload(hi), self.ops.upload(lo), lo_log)
        self._tw[inverse] = (log_n, table)
        return table, log_n

    def twiddle_bytes(self, log_n: int) -> int:
        """Device bytes still to allocate for the twiddle tables of a 2^log_n transform."""
        if log_n == 0:
            return 0
        missing = [inv for inv in (False, True) if inv not in self._tw or self._tw[inv][0] < log_n]
        return len(missing) * (1 << (log_n - 1)) * 32

    def scale_table(self, x: int, count: int, scale: int = 1) -> tuple[Any, Any, int]:
        """Device two-level table of scale * x^i, i < count (cached: a handful per key)."""
        key = (x % P, count, scale % P)
        t = self._scale_tables.get(key)
        if t is None:
            hi, lo, lo_log = two_level_table(x, count, scale)
            t = (self.ops.upload(hi), self.ops.upload(lo), lo_log)
            if len(self._scale_tables) > 64:
                self._scale_tables.clear()
            self._scale_tables[key] = t
        return t

    # --- NTT ----------------------------------------------------------------------------------
    def dit(self, data: Any, log_n: int, batch: int) -> None:
        """Forward transform in place: bit-reversed coefficients -> natural evaluations."""
        if log_n == 0:
            return
        tw, log_tw = self.twiddles(log_n, inverse=False)
        for p in plan_passes(log_n, self.tile_log):
            self.ops.ntt_pass(data, log_n, batch, p, tw, log_tw, dif=False)

    def dif_inverse(self, data: Any, log_n: int, batch: int) -> None:
        """Inverse transform without the 1/n in place: natural evaluations -> n * coefficients in
        bit-reversed order."""
        if log_n == 0:
            return
        tw, log_tw = self.twiddles(log_n, inverse=True)
        for p in reversed(plan_passes(log_n, self.tile_log)):
            self.ops.ntt_pass(data, log_n, batch, p, tw, log_tw, dif=True)

    def ntt_device(
        self, src: Any, log_n: int, batch: int = 1, *, inverse: bool = False, coset: int | None = None
    ) -> Any:
        """Natural order in and out, ``batch`` vectors of 2^log_n; returns a new buffer. ``src``
        is consumed (used as scratch) by the inverse transform."""
        n = 1 << log_n
        dst = self.empty(n * batch)
        if not inverse:
            # coefficient i (times coset^i) goes to position bitrev(i); the DIT then needs no
            # permutation of its output
            if coset is None:
                self.ops.permute_scale(src, dst, log_n, batch, True, SCALE_NONE, self._ones, self._ones, 0)
            else:
                hi, lo, lo_log = self.scale_table(coset, n)
                self.ops.permute_scale(src, dst, log_n, batch, True, SCALE_SRC, hi, lo, lo_log)
            self.dit(dst, log_n, batch)
        else:
            self.dif_inverse(src, log_n, batch)
            g_inv = 1 if coset is None else pow(coset, -1, P)
            hi, lo, lo_log = self.scale_table(g_inv, n, pow(n, -1, P))
            self.ops.permute_scale(src, dst, log_n, batch, True, SCALE_DST, hi, lo, lo_log)
        return dst

    def ntt(self, values: FrVector, *, inverse: bool = False, coset: int | None = None) -> FrVector:
        log_n = check_ntt_size(values)
        if coset is not None and coset % P == 0:
            raise BackendError("ntt: the coset generator must be non-zero")
        n = 1 << log_n
        self.check_fits(f"ntt of size 2^{log_n}", {"data": 2 * n * 32, "twiddles": self.twiddle_bytes(log_n)})
        src = self.ops.upload(np.ascontiguousarray(values, dtype=np.uint64))
        out = self.ntt_device(src, log_n, inverse=inverse, coset=coset)
        return self.ops.download(out)

    # --- MSM ----------------------------------------------------------------------------------
    def _chunk_offsets(self, item_off: Any, n_seg: int, L: int) -> tuple[Any, int, int]:
        """(chunk_off, total chunks, largest segment) for segments ``item_off`` cut into
        chunks of L: chunk_off[g] = sum_{h < g} ceil(count_h / L)."""
        xp = self.xp
        counts = item_off[1:] - item_off[:-1]
        chunk_off = xp.zeros(n_seg + 1, dtype=np.uint32)
        xp.cumsum((counts + np.uint32(L - 1)) // np.uint32(L), dtype=np.uint32, out=chunk_off[1:])
        return chunk_off, int(chunk_off[-1]), int(counts.max()) if n_seg else 0

    def _tree(self, parts: Any, off: Any, n_seg: int, g2: bool) -> tuple[Any, Any]:
        """Sum each segment of XYZZ points ``parts[off[g]:off[g+1]]`` by passes of fan-in
        MSM_FANIN until every segment has at most one point; returns (points, offsets)."""
        fanin = _env_tuning("ZKPROVER_GPU_MSM_FANIN", MSM_FANIN, 2, 1 << 16)
        width = 32 if g2 else 16
        while True:
            chunk_off, total, longest = self._chunk_offsets(off, n_seg, fanin)
            if longest <= 1:
                return parts, off
            out = self.empty(total, width)
            self.ops.msm_sum_chunks(g2, parts, None, off, chunk_off, n_seg, fanin, total, out)
            parts, off = out, chunk_off

    def msm_windows(self, plan: MsmPlan, bases: Any, scalars: Any, *, g2: bool, mont: bool) -> list[np.ndarray | None]:
        """The W window sums sum_b (b+1) S_b of one MSM as raw XYZZ rows (Montgomery; None
        for infinity), computed on the device; see kernels/msm.cuh for the steps. ``bases``
        and ``scalars`` are device buffers of plan.n rows; ``mont``: scalars are Montgomery."""
        xp, ops = self.xp, self.ops
        n, c, nw, nb = plan.n, plan.c, plan.n_windows, plan.total_buckets
        self.check_fits(f"msm of {n} points on {'G2' if g2 else 'G1'}", {"scratch": plan.scratch_bytes(g2)})
        counts = xp.zeros(nb, dtype=np.uint32)
        ops.msm_histogram(scalars, n, mont, c, nw, counts)
        off = xp.zeros(nb + 1, dtype=np.uint32)
        xp.cumsum(counts, dtype=np.uint32, out=off[1:])
        entries = int(off[-1])
        if entries == 0:  # every scalar is zero (or every digit: no point enters a bucket)
            return [None] * nw
        cursor = off[:-1].copy()
        sorted_ = self.ops.empty((entries,), np.uint32)
        ops.msm_scatter(scalars, n, mont, c, nw, cursor, sorted_)
        # bucket sums: chunks of L entries, then tree passes over heavy buckets
        L = msm_chunk_len(entries, nb)
        chunk_off, total, _ = self._chunk_offsets(off, nb, L)
        width = 32 if g2 else 16
        parts = self.empty(total, width)
        ops.msm_sum_chunks(g2, bases, sorted_, off, chunk_off, nb, L, total, parts)
        parts, part_off = self._tree(parts, chunk_off, nb, g2)
        # weighted bucket sums per segment, then the segments of each window
        seg = plan.seg_len()
        per_window = plan.n_buckets // seg
        segs = self.empty(nw * per_window, width)
        ops.msm_reduce_segments(g2, parts, part_off, plan.n_buckets, seg, nw, segs)
        seg_off = ops.upload(np.arange(nw + 1, dtype=np.uint32) * np.uint32(per_window))
        wins, win_off = self._tree(segs, seg_off, nw, g2)
        host, host_off = ops.download(wins), ops.download(win_off)
        return [host[host_off[w]] if host_off[w + 1] > host_off[w] else None for w in range(nw)]

    def msm(
        self,
        bases: Any,
        scalars: Any,
        n: int,
        *,
        g2: bool,
        mont: bool,
        combine: Callable[[list, list[int]], Any],
    ) -> Any:
        """sum_i scalars[i] * bases[i] (device buffers of n rows), as an affine point (None
        for infinity). The device computes the W window sums; ``combine(points, ks)`` (an MSM
        on the CPU backend) finishes sum_w 2^(c w) * window_w: W points and a serial chain of
        ~255 doublings that would be latency-bound on one GPU thread (see kernels/msm.cuh)."""
        if n == 0:
            return None
        plan = MsmPlan.for_size(n)
        pts, ks = [], []
        for w, row in enumerate(self.msm_windows(plan, bases, scalars, g2=g2, mont=mont)):
            p = xyzz_to_affine(row, g2)
            if p is not None:
                pts.append(p)
                ks.append(pow(2, plan.c * w, P))
        return combine(pts, ks) if pts else None

    # --- resident key -------------------------------------------------------------------------
    @staticmethod
    def key_bytes(key: KeyArrays) -> dict[str, int]:
        """Device bytes ``load_key`` allocates for ``key`` (before twiddles), by purpose."""
        n, nv = key.domain_size, key.n_vars
        nnz = len(key.coeffs)
        return {
            "points": sum(int(a.nbytes) for a in (key.a_query, key.b1_query, key.b2_query, key.c_query, key.h_query)),
            "matrices": nnz * (32 + 4) + 2 * (n + 1) * 8,
            "scratch": (3 * n + n + nv) * 32,  # [a|b|c], h, witness
        }

    def load_key(self, key: KeyArrays) -> dict[str, Any]:
        """Upload a key's arrays (after checking that they fit) and build its device state."""
        n = key.domain_size
        if n < 1 or n & (n - 1):
            raise BackendError(f"load_key: domain size {n} is not a power of two")
        log_n = n.bit_length() - 1
        parts = self.key_bytes(key)
        parts["twiddles"] = self.twiddle_bytes(log_n)
        self.check_fits(f"proving key (domain 2^{log_n}, {key.n_vars} signals)", parts)

        matrices = csr_matrices(key)
        state: dict[str, Any] = {"log_n": log_n}
        try:
            for tag, m in matrices.items():
                vals = self.ops.upload(m.vals)
                # snarkjs stores coef * R^2; one reduction on the device makes it coef * R
                self.ops.coeffs_from_zkey(vals, len(m.vals))
                state[f"{tag}_csr"] = (self.ops.upload(m.ptr), self.ops.upload(m.cols), vals)
            state["n_rows"] = n
            state["abc"] = self.empty(3 * n)
            state["h_dev"] = self.empty(n)
            state["w_dev"] = self.empty(max(1, key.n_vars))
            # the transforms' tables, built now so that a proof allocates nothing
            self.twiddles(log_n, inverse=False)
            self.twiddles(log_n, inverse=True)
            state["coset"] = self.scale_table(root_of_unity(log_n + 1), n, pow(n, -1, P))
        except Exception:
            state.clear()
            raise
        return state

    def quotient(self, state: dict[str, Any], n_vars: int, n: int, witness: FrVector) -> FrVector:
        """H on the device (see the module docstring); returns the host copy."""
        log_n = state["log_n"]
        w_dev = state["w_dev"]
        w_dev[:n_vars] = self.ops.upload(np.ascontiguousarray(witness, dtype=np.uint64))
        self.ops.convert(w_dev, n_vars, True)
        abc = state["abc"]
        self.ops.sparse_abc(state["a_csr"], state["b_csr"], state["n_rows"], w_dev, abc, n)
        # inverse transform of a, b, c together: n * coefficients, bit-reversed
        self.dif_inverse(abc, log_n, 3)
        # coefficient i sits at position bitrev(i): times n^-1 * w_2n^i
        hi, lo, lo_log = state["coset"]
        self.ops.permute_scale(abc, abc, log_n, 3, False, SCALE_DST_BITREV, hi, lo, lo_log)
        self.dit(abc, log_n, 3)
        h = state["h_dev"]
        self.ops.quotient_h(abc, h, n)
        return self.ops.download(h)

    @staticmethod
    def device_scalars(resident: ResidentKey, scalars: FrVector) -> Any | None:
        """The device copy of ``scalars`` when it is the witness given to the last
        ``quotient_evaluations`` (or a row slice of it) or the H it returned, else None.
        Part 2's MSM uses it to skip the upload (the host array must not have been modified
        since; the prover never does). Device copies hold the witness in Montgomery form."""
        found = GpuEngine.device_scalars_form(resident, scalars)
        return None if found is None else found[0]

    @staticmethod
    def device_scalars_form(resident: ResidentKey, scalars: FrVector) -> tuple[Any, bool] | None:
        """As :meth:`device_scalars`, with the form: (buffer, True) for the witness (Montgomery
        on the device), (buffer, False) for H (standard form)."""
        st = resident.private
        for host_key, dev_key, mont in (("w_host", "w_dev", True), ("h_host", "h_dev", False)):
            host = st.get(host_key)
            if host is None or not isinstance(scalars, np.ndarray) or not np.shares_memory(host, scalars):
                continue
            offset = scalars.__array_interface__["data"][0] - host.__array_interface__["data"][0]
            if offset % 32 == 0 and scalars.flags.c_contiguous and scalars.shape[1:] == (4,):
                start = offset // 32
                return st[dev_key][start : start + len(scalars)], mont
        return None


def _fq_from_mont(limbs: np.ndarray) -> int:
    return int.from_bytes(np.ascontiguousarray(limbs, dtype="<u8").tobytes(), "little") * _RINV_Q % Q


def xyzz_to_affine(row: np.ndarray | None, g2: bool) -> Any:
    """A raw XYZZ row (X, Y, ZZ, ZZZ, Montgomery over Fq or Fq2) -> affine (x, y) = (X/ZZ,
    Y/ZZZ) as prover.field.curve tuples; None (infinity) for ZZ = 0 or a missing row."""
    if row is None:
        return None
    F = FQ2 if g2 else FQ
    words = 8 if g2 else 4

    def coord(k: int) -> Any:
        c = row[k * words : (k + 1) * words]
        return (_fq_from_mont(c[:4]), _fq_from_mont(c[4:])) if g2 else _fq_from_mont(c)

    x, y, zz, zzz = (coord(k) for k in range(4))
    if zz == F.zero:
        return None
    return (F.mul(x, F.inv(zz)), F.mul(y, F.inv(zzz)))
