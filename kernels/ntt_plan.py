"""Host-side plans and tables for the NTT kernels (pure Python + NumPy, no CUDA needed).

Shared by the GPU backend (``prover.backend.gpu``), which launches ``kernels/ntt.cu`` with
them, and by the CPU mirror in ``tests/test_gpu_mirror.py``, which runs the same plan through a
NumPy/Python re-implementation of the kernels. Keeping the plan here (and not inside the
backend) means the mirror validates the exact pass decomposition the GPU will run.

* :func:`plan_passes`: how the log_n butterfly stages are grouped into shared-memory passes
  (stage bits ``[p0, p0 + k)``, ``c`` column bits) for a tile of ``2^tile_log`` elements.
* :func:`two_level_table`: the (hi, lo) tables with ``x^i = hi[i >> L] * lo[i & (2^L - 1)]``,
  used for coset factors and to expand the twiddle tables on the device.
* Montgomery encoding of Fr constants for upload.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from prover.field.bn254 import FR_MODULUS, MONT_R

P = FR_MODULUS
#: columns per tile after the first pass: 2^3 consecutive 32-byte elements = 256 bytes per run
MIN_COLUMN_LOG = 3
DEFAULT_TILE_LOG = 10


class Pass(NamedTuple):
    p0: int  # lowest stage bit of the pass (global stage s = bit + 1)
    k: int  # number of stages (stage bits [p0, p0 + k))
    c: int  # column bits: the c lowest index bits also vary inside a tile (c <= p0)


def plan_passes(log_n: int, tile_log: int = DEFAULT_TILE_LOG) -> list[Pass]:
    """The DIT passes for a 2^log_n transform, from stage bit 0 upward (DIF: reversed).

    The first pass has contiguous tiles (c = 0) and takes up to ``tile_log`` stages; later
    passes keep at least ``MIN_COLUMN_LOG`` column bits for coalescing, and when few stages are
    left they widen the columns so a block still holds a full tile.
    """
    if log_n < 0 or tile_log < 1:
        raise ValueError(f"bad NTT plan request: log_n {log_n}, tile_log {tile_log}")
    passes: list[Pass] = []
    p0 = 0
    while p0 < log_n:
        if p0 == 0:
            k, c = min(tile_log, log_n), 0
        else:
            k = min(tile_log - min(MIN_COLUMN_LOG, p0, tile_log - 1), log_n - p0)
            c = min(p0, tile_log - k)
        passes.append(Pass(p0, k, c))
        p0 += k
    return passes


def to_mont_limbs(values: list[int]) -> np.ndarray:
    """Integers mod r -> (n, 4) uint64 Montgomery form (x * 2^256 mod r), the device layout."""
    raw = b"".join((v * MONT_R % P).to_bytes(32, "little") for v in values)
    return np.frombuffer(raw, dtype="<u8").reshape(len(values), 4).copy()


def two_level_powers(x: int, count: int, scale: int = 1) -> tuple[list[int], list[int], int]:
    """(hi, lo, L) as integers with ``scale * x^i = hi[i >> L] * lo[i & (2^L - 1)]`` for
    i < count. ``scale`` is folded into ``lo`` (e.g. n^-1 after an inverse transform).

    L is about half of log2(count), so both tables stay small (2^13 entries at 2^26).
    """
    log_count = max(1, (count - 1).bit_length())
    lo_log = (log_count + 1) // 2
    n_lo = 1 << lo_log
    n_hi = max(1, (count + n_lo - 1) >> lo_log)
    x %= P
    lo = [scale % P] * n_lo
    for i in range(1, n_lo):
        lo[i] = lo[i - 1] * x % P
    step = pow(x, n_lo, P)
    hi = [1] * n_hi
    for i in range(1, n_hi):
        hi[i] = hi[i - 1] * step % P
    return hi, lo, lo_log


def two_level_table(x: int, count: int, scale: int = 1) -> tuple[np.ndarray, np.ndarray, int]:
    """:func:`two_level_powers` encoded for the device (Montgomery form)."""
    hi, lo, lo_log = two_level_powers(x, count, scale)
    return to_mont_limbs(hi), to_mont_limbs(lo), lo_log
