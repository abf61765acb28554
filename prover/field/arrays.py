"""Array encodings of field elements and curve points, shared by every layer that moves bulk data.

Bulk data crosses layers as NumPy ``uint64`` arrays whose bytes are exactly those of the iden3
files, so that loading a ``.wtns`` or ``.zkey`` is a zero-copy view and a native or GPU backend
takes the memory as it is:

* ``FrVector``  shape (n, 4): scalars mod r, **standard form**, 4 little-endian 64-bit limbs
  (the ``.wtns`` value layout).
* ``G1Array``   shape (n, 2, 4): affine (x, y) over Fq in **Montgomery form** (x * 2^256 mod q),
  the ``.zkey`` point layout; the point at infinity is all zeros.
* ``G2Array``   shape (n, 2, 2, 4): affine (x.c0, x.c1, y.c0, y.c1), Montgomery form, likewise.

The helpers here convert between those arrays and Python integers / affine tuples; they are for
tests, small keys and the pure-Python backend, not for hot paths.
"""

from __future__ import annotations

import numpy as np

from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, MONT_R

FrVector = np.ndarray
G1Array = np.ndarray
G2Array = np.ndarray

_R_MOD_Q = MONT_R % FQ_MODULUS
_RINV_MOD_Q = pow(MONT_R, -1, FQ_MODULUS)


def fr_vector(values: list[int] | tuple[int, ...]) -> FrVector:
    """Encode integers (reduced mod r) as an (n, 4) uint64 standard-form vector."""
    raw = b"".join((v % FR_MODULUS).to_bytes(32, "little") for v in values)
    return np.frombuffer(raw, dtype="<u8").reshape(len(values), 4).copy()


def fr_ints(vec: FrVector) -> list[int]:
    """Decode an (n, 4) uint64 vector into Python integers."""
    raw = np.ascontiguousarray(vec, dtype="<u8").tobytes()
    return [int.from_bytes(raw[i : i + 32], "little") for i in range(0, len(raw), 32)]


def fr_zeros(n: int) -> FrVector:
    return np.zeros((n, 4), dtype=np.uint64)


def check_fr_vector(vec: np.ndarray, what: str) -> None:
    """Raise ValueError unless ``vec`` is an (n, 4) uint64 array of canonical elements (< r)."""
    if not isinstance(vec, np.ndarray) or vec.dtype != np.uint64 or vec.ndim != 2 or vec.shape[1] != 4:
        raise ValueError(f"{what}: expected an (n, 4) uint64 array, got {getattr(vec, 'shape', type(vec))}")
    if len(vec) and not _below(vec, FR_MODULUS):
        raise ValueError(f"{what}: element not reduced mod r")


def _below(vec: np.ndarray, modulus: int) -> bool:
    """Vectorised check that every 4-limb value is < modulus (limb 3 most significant)."""
    m = [(modulus >> (64 * i)) & 0xFFFFFFFFFFFFFFFF for i in range(4)]
    lt = np.zeros(len(vec), dtype=bool)
    eq = np.ones(len(vec), dtype=bool)
    for i in (3, 2, 1, 0):
        lt |= eq & (vec[:, i] < np.uint64(m[i]))
        eq &= vec[:, i] == np.uint64(m[i])
    return bool(lt.all())


def _to_mont(v: int) -> bytes:
    return (v * _R_MOD_Q % FQ_MODULUS).to_bytes(32, "little")


def _from_mont(raw: bytes) -> int:
    return int.from_bytes(raw, "little") * _RINV_MOD_Q % FQ_MODULUS


def g1_array(points: list) -> G1Array:
    """Affine G1 tuples (None = infinity) -> (n, 2, 4) Montgomery array."""
    zero = bytes(64)
    raw = b"".join(zero if p is None else _to_mont(p[0]) + _to_mont(p[1]) for p in points)
    return np.frombuffer(raw, dtype="<u8").reshape(len(points), 2, 4).copy()


def g2_array(points: list) -> G2Array:
    """Affine G2 tuples ((x0, x1), (y0, y1)) (None = infinity) -> (n, 2, 2, 4) Montgomery array."""
    zero = bytes(128)
    raw = b"".join(zero if p is None else b"".join(_to_mont(c) for c in (*p[0], *p[1])) for p in points)
    return np.frombuffer(raw, dtype="<u8").reshape(len(points), 2, 2, 4).copy()


def g1_points(arr: G1Array) -> list:
    """(n, 2, 4) Montgomery array -> affine G1 tuples (None = infinity)."""
    raw = np.ascontiguousarray(arr, dtype="<u8").tobytes()
    out = []
    for i in range(0, len(raw), 64):
        chunk = raw[i : i + 64]
        if not any(chunk):
            out.append(None)
        else:
            out.append((_from_mont(chunk[:32]), _from_mont(chunk[32:])))
    return out


def g2_points(arr: G2Array) -> list:
    """(n, 2, 2, 4) Montgomery array -> affine G2 tuples (None = infinity)."""
    raw = np.ascontiguousarray(arr, dtype="<u8").tobytes()
    out = []
    for i in range(0, len(raw), 128):
        chunk = raw[i : i + 128]
        if not any(chunk):
            out.append(None)
        else:
            c = [_from_mont(chunk[j : j + 32]) for j in range(0, 128, 32)]
            out.append(((c[0], c[1]), (c[2], c[3])))
    return out
