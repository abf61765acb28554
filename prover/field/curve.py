"""BN254 G1 and G2 in Jacobian coordinates over plain Python integers.

This is the reference arithmetic: the pure-Python backend, the prover's final point
combinations, the development setup and the tests use it. One generic implementation serves
both groups; a group is its coordinate field (Fq or Fq2) plus the curve constant b.

Affine points are tuples (x, y) of field elements, ``None`` is the point at infinity. An Fq2
element is a tuple (c0, c1) meaning c0 + c1*u with u^2 = -1, the order snarkjs JSON uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, G1_GENERATOR, G2_GENERATOR

Q = FQ_MODULUS

Fq2 = tuple[int, int]
G1Affine = tuple[int, int] | None
G2Affine = tuple[Fq2, Fq2] | None


def _fq2_mul(a: Fq2, b: Fq2) -> Fq2:
    a0, a1 = a
    b0, b1 = b
    t0 = a0 * b0
    t1 = a1 * b1
    return ((t0 - t1) % Q, ((a0 + a1) * (b0 + b1) - t0 - t1) % Q)


def _fq2_sqr(a: Fq2) -> Fq2:
    a0, a1 = a
    return ((a0 + a1) * (a0 - a1) % Q, 2 * a0 * a1 % Q)


def _fq2_inv(a: Fq2) -> Fq2:
    a0, a1 = a
    t = pow((a0 * a0 + a1 * a1) % Q, -1, Q)
    return (a0 * t % Q, -a1 * t % Q)


@dataclass(frozen=True)
class CoordField:
    """The operations a curve group needs from its coordinate field."""

    zero: Any
    one: Any
    add: Callable[[Any, Any], Any]
    sub: Callable[[Any, Any], Any]
    mul: Callable[[Any, Any], Any]
    sqr: Callable[[Any], Any]
    inv: Callable[[Any], Any]
    small: Callable[[Any, int], Any]  # multiply by a small integer


FQ = CoordField(
    zero=0,
    one=1,
    add=lambda a, b: (a + b) % Q,
    sub=lambda a, b: (a - b) % Q,
    mul=lambda a, b: a * b % Q,
    sqr=lambda a: a * a % Q,
    inv=lambda a: pow(a, -1, Q),
    small=lambda a, k: a * k % Q,
)

FQ2 = CoordField(
    zero=(0, 0),
    one=(1, 0),
    add=lambda a, b: ((a[0] + b[0]) % Q, (a[1] + b[1]) % Q),
    sub=lambda a, b: ((a[0] - b[0]) % Q, (a[1] - b[1]) % Q),
    mul=_fq2_mul,
    sqr=_fq2_sqr,
    inv=_fq2_inv,
    small=lambda a, k: (a[0] * k % Q, a[1] * k % Q),
)


class Group:
    """A short-Weierstrass group y^2 = x^3 + b (a = 0) in Jacobian coordinates (X, Y, Z)."""

    def __init__(self, name: str, field: CoordField, b: Any, generator: Any) -> None:
        self.name = name
        self.F = field
        self.b = b
        self.generator = generator
        self.infinity = (field.one, field.one, field.zero)

    # --- representation -------------------------------------------------------------------
    def from_affine(self, p: Any) -> tuple:
        if p is None:
            return self.infinity
        return (p[0], p[1], self.F.one)

    def to_affine(self, p: tuple) -> Any:
        F = self.F
        x, y, z = p
        if z == F.zero:
            return None
        zi = F.inv(z)
        zi2 = F.sqr(zi)
        return (F.mul(x, zi2), F.mul(y, F.mul(zi2, zi)))

    def is_on_curve(self, p: Any) -> bool:
        if p is None:
            return True
        F = self.F
        x, y = p
        return F.sqr(y) == F.add(F.mul(F.sqr(x), x), self.b)

    def in_subgroup(self, p: Any) -> bool:
        """Order-r check; G1 has cofactor 1 so only G2 needs it, but it is correct for both."""
        # multiply by r itself: mul() reduces its scalar mod r, and r mod r = 0 would pass
        # every point on the curve, including the twist's points outside G2
        return self.is_on_curve(p) and self.to_affine(self._double_and_add(self.from_affine(p), FR_MODULUS)) is None

    # --- group law ------------------------------------------------------------------------
    def double(self, p: tuple) -> tuple:
        F = self.F
        x, y, z = p
        if z == F.zero:
            return p
        a = F.sqr(x)
        b = F.sqr(y)
        c = F.sqr(b)
        d = F.small(F.sub(F.sub(F.sqr(F.add(x, b)), a), c), 2)
        e = F.small(a, 3)
        f = F.sqr(e)
        x3 = F.sub(f, F.small(d, 2))
        y3 = F.sub(F.mul(e, F.sub(d, x3)), F.small(c, 8))
        z3 = F.small(F.mul(y, z), 2)
        return (x3, y3, z3)

    def add(self, p: tuple, q: tuple) -> tuple:
        F = self.F
        x1, y1, z1 = p
        x2, y2, z2 = q
        if z1 == F.zero:
            return q
        if z2 == F.zero:
            return p
        z1z1 = F.sqr(z1)
        z2z2 = F.sqr(z2)
        u1 = F.mul(x1, z2z2)
        u2 = F.mul(x2, z1z1)
        s1 = F.mul(F.mul(y1, z2), z2z2)
        s2 = F.mul(F.mul(y2, z1), z1z1)
        h = F.sub(u2, u1)
        rr = F.sub(s2, s1)
        if h == F.zero:
            return self.double(p) if rr == F.zero else self.infinity
        hh = F.sqr(h)
        hhh = F.mul(h, hh)
        v = F.mul(u1, hh)
        x3 = F.sub(F.sub(F.sqr(rr), hhh), F.small(v, 2))
        y3 = F.sub(F.mul(rr, F.sub(v, x3)), F.mul(s1, hhh))
        z3 = F.mul(F.mul(z1, z2), h)
        return (x3, y3, z3)

    def add_affine(self, p: tuple, q: Any) -> tuple:
        """Mixed addition: p Jacobian, q affine (or None)."""
        F = self.F
        if q is None:
            return p
        x1, y1, z1 = p
        if z1 == F.zero:
            return (q[0], q[1], F.one)
        x2, y2 = q
        z1z1 = F.sqr(z1)
        u2 = F.mul(x2, z1z1)
        s2 = F.mul(F.mul(y2, z1), z1z1)
        h = F.sub(u2, x1)
        rr = F.sub(s2, y1)
        if h == F.zero:
            return self.double(p) if rr == F.zero else self.infinity
        hh = F.sqr(h)
        hhh = F.mul(h, hh)
        v = F.mul(x1, hh)
        x3 = F.sub(F.sub(F.sqr(rr), hhh), F.small(v, 2))
        y3 = F.sub(F.mul(rr, F.sub(v, x3)), F.mul(y1, hhh))
        z3 = F.mul(z1, h)
        return (x3, y3, z3)

    def neg(self, p: tuple) -> tuple:
        x, y, z = p
        return (x, self.F.sub(self.F.zero, y), z)

    def mul(self, p: tuple, k: int) -> tuple:
        """Scalar multiplication by double-and-add; k is reduced mod r, so -1 works."""
        return self._double_and_add(p, k % FR_MODULUS)

    def _double_and_add(self, p: tuple, k: int) -> tuple:
        acc = self.infinity
        for bit in bin(k)[2:]:
            acc = self.double(acc)
            if bit == "1":
                acc = self.add(acc, p)
        return acc

    # --- affine conveniences (single points, not hot paths) -------------------------------
    def affine_add(self, *points: Any) -> Any:
        acc = self.infinity
        for p in points:
            acc = self.add_affine(acc, p)
        return self.to_affine(acc)

    def affine_mul(self, p: Any, k: int) -> Any:
        return self.to_affine(self.mul(self.from_affine(p), k))

    def affine_neg(self, p: Any) -> Any:
        return None if p is None else (p[0], self.F.sub(self.F.zero, p[1]))


G1 = Group("G1", FQ, 3, G1_GENERATOR)
_TWIST_B = _fq2_mul((3, 0), _fq2_inv((9, 1)))
G2 = Group("G2", FQ2, _TWIST_B, G2_GENERATOR)


# --- py_ecc interop (for the pairing-based verifier) --------------------------------------
# py_ecc is imported where it is used: importing it costs tens of milliseconds, and the prove
# path (``zkprover prove``, a worker's proof) never converts a point to py_ecc's types.
def g1_to_pyecc(p: G1Affine) -> tuple:
    from py_ecc import optimized_bn128 as _opt

    if p is None:
        return _opt.Z1
    return (_opt.FQ(p[0]), _opt.FQ(p[1]), _opt.FQ.one())


def g2_to_pyecc(p: G2Affine) -> tuple:
    from py_ecc import optimized_bn128 as _opt

    if p is None:
        return _opt.Z2
    (x0, x1), (y0, y1) = p
    return (_opt.FQ2([x0, x1]), _opt.FQ2([y0, y1]), _opt.FQ2.one())


def _check() -> None:
    # the twist constant's agreement with py_ecc is a test (tests/test_field.py), not an import cost
    if not G1.is_on_curve(G1.generator) or not G2.is_on_curve(G2.generator):
        raise ImportError("BN254 generator not on curve")


_check()


def batch_to_affine(group: Group, points: list[tuple]) -> list:
    """Jacobian -> affine for many points with one field inversion (Montgomery's trick)."""
    F = group.F
    zs = [p[2] for p in points]
    prefix = []
    acc = F.one
    for z in zs:
        prefix.append(acc)
        if z != F.zero:
            acc = F.mul(acc, z)
    inv = F.inv(acc)
    out: list = [None] * len(points)
    for i in range(len(points) - 1, -1, -1):
        x, y, z = points[i]
        if z == F.zero:
            continue
        zi = F.mul(inv, prefix[i])
        inv = F.mul(inv, z)
        zi2 = F.sqr(zi)
        out[i] = (F.mul(x, zi2), F.mul(y, F.mul(zi2, zi)))
    return out


class FixedBase:
    """Many multiples of one base point: a table of d * 2^(w*j) * base, then one mixed
    addition per w-bit window of the scalar. The development setup uses it for every query."""

    def __init__(self, group: Group, base: Any, window: int = 8) -> None:
        self.group = group
        self.window = window
        n_windows = (FR_MODULUS.bit_length() + window - 1) // window
        rows = []
        start = group.from_affine(base)
        for _ in range(n_windows):
            row = [group.infinity]
            for _d in range(1, 1 << window):
                row.append(group.add(row[-1], start))
            rows.append(row)
            start = group.add(row[-1], start)  # 2^window * previous start
        flat = batch_to_affine(group, [p for row in rows for p in row])
        size = 1 << window
        self.table = [flat[i * size : (i + 1) * size] for i in range(n_windows)]

    def mul(self, k: int) -> tuple:
        g = self.group
        k %= FR_MODULUS
        acc = g.infinity
        mask = (1 << self.window) - 1
        j = 0
        while k:
            d = k & mask
            if d:
                acc = g.add_affine(acc, self.table[j][d])
            k >>= self.window
            j += 1
        return acc

    def batch(self, scalars: list[int]) -> list:
        """Affine multiples, one per scalar (0 gives None, the point at infinity)."""
        return batch_to_affine(self.group, [self.mul(k) for k in scalars])
