"""Baby Jubjub (twisted Edwards over the BN254 scalar field), as circomlib/circomlibjs.

Curve: a·x² + y² = 1 + d·x²·y² with a = 168700, d = 168696 over Fr (ARCHITECTURE §3). Points are
affine ``(x, y)`` tuples of ints; the identity is (0, 1). The addition law is complete (d is not
a square), so no special cases are needed. Scalar multiplication runs in projective coordinates
(one inversion at the end instead of one per addition: ~100x faster than circomlibjs's affine
double-and-add) but returns exactly the same affine point.

``pack_point``/``unpack_point`` follow circomlibjs ``packPoint``/``unpackPoint``: y as 32 bytes
little-endian, with bit 255 set when x > (p-1)/2. One deliberate difference: circomlibjs reduces a
non-canonical y (≥ p) and accepts it; ``unpack_point`` rejects it, so each point has one encoding.
"""

from __future__ import annotations

from circuits.native.poseidon_constants import P

Point = tuple[int, int]

A = 168700
D = 168696
#: Order of the whole curve (cofactor 8) and of the prime-order subgroup B8 generates.
ORDER = 21888242871839275222246405745257275088614511777268538073601725287587578984328
SUBORDER = ORDER >> 3
#: Generator of the full group (circomlibjs ``Generator``) and B8 = 8·Generator (``Base8``).
GENERATOR: Point = (
    995203441582195749578291179787384436505546430278305826713579947235728471134,
    5472060717959818805561601436314318772137091100104008585924551046643952123905,
)
B8: Point = (
    5299619240641551281634865583518297030282874472190772894086521144482721001553,
    16950150798460657717958625567821834550301663161624707787222815936182638968203,
)
IDENTITY: Point = (0, 1)
_HALF = (P - 1) // 2


def _inv(a: int) -> int:
    if a % P == 0:
        raise ZeroDivisionError("inverse of 0")
    return pow(a, P - 2, P)


def on_curve(pt: Point) -> bool:
    """True when ``pt`` has coordinates in [0, p) and satisfies the curve equation."""
    x, y = pt
    if not (0 <= x < P and 0 <= y < P):
        return False
    x2, y2 = x * x % P, y * y % P
    return (A * x2 + y2 - 1 - D * x2 * y2) % P == 0


def add(p1: Point, p2: Point) -> Point:
    """Affine addition, the same formula circomlibjs ``addPoint`` evaluates."""
    x1, y1 = p1
    x2, y2 = p2
    beta = x1 * y2 % P
    gamma = y1 * x2 % P
    delta = (y1 - A * x1) * (x2 + y2) % P
    tau = beta * gamma % P
    dtau = D * tau % P
    x3 = (beta + gamma) * _inv(1 + dtau) % P
    y3 = (delta + A * beta - gamma) * _inv(1 - dtau) % P
    return x3, y3


def double(pt: Point) -> Point:
    """2·pt."""
    return add(pt, pt)


def negate(pt: Point) -> Point:
    """-pt = (-x, y)."""
    return (-pt[0]) % P, pt[1]


# Projective (X : Y : Z) with x = X/Z, y = Y/Z; "add-2008-bbjlp" (complete for this curve).
_Proj = tuple[int, int, int]


def _padd(p1: _Proj, p2: _Proj) -> _Proj:
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    a = z1 * z2 % P
    b = a * a % P
    c = x1 * x2 % P
    d = y1 * y2 % P
    e = D * c * d % P
    f = b - e
    g = b + e
    x3 = a * f * ((x1 + y1) * (x2 + y2) - c - d) % P
    y3 = a * g * (d - A * c) % P
    z3 = f * g % P
    return x3, y3, z3


def mul(pt: Point, k: int) -> Point:
    """k·pt for k ≥ 0 (not reduced: callers pass scalars exactly as circomlibjs does)."""
    if k < 0:
        raise ValueError("scalar must be non-negative")
    acc: _Proj = (0, 1, 1)
    base: _Proj = (pt[0] % P, pt[1] % P, 1)
    while k:
        if k & 1:
            acc = _padd(acc, base)
        base = _padd(base, base)
        k >>= 1
    zinv = _inv(acc[2])
    return acc[0] * zinv % P, acc[1] * zinv % P


def in_subgroup(pt: Point) -> bool:
    """On the curve and of order dividing SUBORDER."""
    return on_curve(pt) and mul(pt, SUBORDER) == IDENTITY


def _sqrt(a: int) -> int | None:
    """A square root of a in Fr (Tonelli-Shanks: p - 1 = 2^28·q), or None for a non-residue."""
    a %= P
    if a == 0:
        return 0
    if pow(a, (P - 1) // 2, P) != 1:
        return None
    q, s = P - 1, 0
    while q % 2 == 0:
        q //= 2
        s += 1
    z = 5  # a quadratic non-residue mod r (the one ffjavascript uses)
    m, c, t, r = s, pow(z, q, P), pow(a, q, P), pow(a, (q + 1) // 2, P)
    while t != 1:
        i, t2 = 0, t
        while t2 != 1:
            t2 = t2 * t2 % P
            i += 1
        b = pow(c, 1 << (m - i - 1), P)
        m, c, t, r = i, b * b % P, t * b * b % P, r * b % P
    return r


def pack_point(pt: Point) -> bytes:
    """circomlibjs ``packPoint``: 32 bytes, y little-endian, top bit = (x > (p-1)/2)."""
    x, y = pt
    buf = bytearray(y.to_bytes(32, "little"))
    if x > _HALF:
        buf[31] |= 0x80
    return bytes(buf)


def unpack_point(buf: bytes) -> Point | None:
    """circomlibjs ``unpackPoint``: the point packed in 32 bytes, or None if there is none.

    Unlike circomlibjs, a y ≥ p is rejected rather than reduced (no second encoding per point).
    """
    if len(buf) != 32:
        return None
    b = bytearray(buf)
    sign = bool(b[31] & 0x80)
    b[31] &= 0x7F
    y = int.from_bytes(b, "little")
    if y >= P:
        return None
    y2 = y * y % P
    den = (A - D * y2) % P
    if den == 0:
        return None
    x = _sqrt((1 - y2) * _inv(den))
    if x is None:
        return None
    # Take the "positive" root (≤ (p-1)/2) so that pack(unpack(b)) == b.
    if x > _HALF:
        x = P - x
    if sign:
        x = (P - x) % P
    return x, y


assert on_curve(GENERATOR) and on_curve(B8), "Baby Jubjub constants are broken"
