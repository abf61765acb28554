"""Baby Jubjub point arithmetic in-circuit (twin of ``circuits.native.babyjub``).

Points are pairs of linear combinations. The twisted Edwards addition law is complete on this
curve, so the same formulas serve for doubling, adding the identity, and adding a point to itself.
Divisions are a hint plus one constraint (den · out = num); for points on the curve the
denominators 1 ± d·x1·x2·y1·y2 never vanish.

============================================  ===========
operation                                     constraints
============================================  ===========
``on_curve``                                  3 (4 gated)
``add`` (two variable points)                 6
``add`` with one constant point               3
``double``                                    5
``mul_fixed``, 253-bit scalar (2-bit window)  882
``mul_var``, 254-bit scalar                   3,291
============================================  ===========

Scalars are given as little-endian bit lists whose booleanity the caller has proved (``to_bits``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from circuits import hints
from circuits.builder import LC, ConstraintSystem, Signal, as_lc
from circuits.native import babyjub as native

A = native.A
D = native.D
Point = tuple[LC, LC]
IDENTITY: Point = (as_lc(0), as_lc(1))


def _div(cs: ConstraintSystem, num: LC, den: LC, name: str) -> Signal:
    out = cs.hint(hints.quotient, num, den, name=name)
    cs.enforce(den, out, num, label=name)
    return out


def point(p: tuple[LC | int, LC | int]) -> Point:
    return as_lc(p[0]), as_lc(p[1])


def on_curve(cs: ConstraintSystem, p: tuple[LC | int, LC | int], enabled: LC | int | None = None) -> None:
    """a·x² + y² = 1 + d·x²·y² (only when ``enabled`` = 1, if given)."""
    x, y = point(p)
    with cs.scope("on_curve"):
        x2 = cs.mul(x, x, name="x2")
        y2 = cs.mul(y, y, name="y2")
        if enabled is None:
            cs.enforce(x2 * D, y2, x2 * A + y2 - 1, label="curve equation")
        else:
            x2y2 = cs.mul(x2, y2, name="x2y2")
            cs.enforce(x2 * A + y2 - 1 - x2y2 * D, enabled, 0, label="curve equation if enabled")


def add(cs: ConstraintSystem, p1: tuple[LC | int, LC | int], p2: tuple[LC | int, LC | int]) -> Point:
    """p1 + p2 (circomlib ``BabyAdd``): 6 constraints, 3 when either point is a constant."""
    x1, y1 = point(p1)
    x2, y2 = point(p2)
    with cs.scope("babyjub_add"):
        beta = cs.mul(x1, y2, name="beta")
        gamma = cs.mul(y1, x2, name="gamma")
        delta = cs.mul(y1 - x1 * A, x2 + y2, name="delta")
        tau = cs.mul(beta, gamma, name="tau")
        xout = _div(cs, beta + gamma, 1 + tau * D, "x")
        yout = _div(cs, delta + beta * A - gamma, 1 - tau * D, "y")
    return xout, yout


def double(cs: ConstraintSystem, p: tuple[LC | int, LC | int]) -> Point:
    """2·p: the addition law with beta = gamma (5 constraints)."""
    x, y = point(p)
    with cs.scope("babyjub_double"):
        beta = cs.mul(x, y, name="beta")
        delta = cs.mul(y - x * A, x + y, name="delta")
        tau = cs.mul(beta, beta, name="tau")
        xout = _div(cs, beta * 2, 1 + tau * D, "x")
        yout = _div(cs, delta + beta * (A - 1), 1 - tau * D, "y")
    return xout, yout


def select(cs: ConstraintSystem, bit: LC | int, if_one: Point, if_zero: Point) -> Point:
    """bit ? if_one : if_zero (2 constraints)."""
    b = as_lc(bit)
    return (
        if_zero[0] + cs.mul(b, if_one[0] - if_zero[0], name="sel_x"),
        if_zero[1] + cs.mul(b, if_one[1] - if_zero[1], name="sel_y"),
    )


def mul_fixed(cs: ConstraintSystem, bits: Sequence[LC | int], base: native.Point = native.B8) -> Point:
    """scalar·base for a constant ``base``, with a 2-bit window over precomputed multiples.

    Each window picks one of {0, 1, 2, 3}·4^k·base as a linear combination of b0, b1 and b0·b1
    (one constraint), then adds it to the accumulator (6). The first window needs no addition.
    """
    bits = [as_lc(b) for b in bits]
    acc: Point | None = None
    with cs.scope("mul_fixed"):
        for k, (t1, t2, t3) in zip(range(0, len(bits), 2), _windows(tuple(base), len(bits)), strict=True):
            b0 = bits[k]
            if k + 1 < len(bits):
                b1 = bits[k + 1]
                b01 = cs.mul(b0, b1, name="b0b1")
                # T(b0, b1) = T0 + b0 (T1 - T0) + b1 (T2 - T0) + b0 b1 (T3 - T2 - T1 + T0), T0 = (0, 1).
                win = tuple(
                    as_lc(o) + b0 * (u1 - o) + b1 * (u2 - o) + b01 * (u3 - u2 - u1 + o)
                    for o, u1, u2, u3 in zip((0, 1), t1, t2, t3, strict=True)
                )
            else:
                win = (b0 * t1[0], 1 + b0 * (t1[1] - 1))
            acc = win if acc is None else add(cs, acc, win)  # type: ignore[arg-type]
    return acc if acc is not None else IDENTITY


@cache
def _windows(base: native.Point, n_bits: int) -> tuple[tuple[native.Point, native.Point, native.Point], ...]:
    """1, 2 and 3 times 4^k·base for each 2-bit window k of ``mul_fixed`` (native arithmetic with a
    field inversion per operation: computed once per base, not per signature)."""
    out = []
    step = base
    for _ in range(0, n_bits, 2):
        t2 = native.double(step)
        out.append((step, t2, native.add(t2, step)))
        step = native.double(native.double(step))
    return tuple(out)


def mul_var(cs: ConstraintSystem, bits: Sequence[LC | int], p: tuple[LC | int, LC | int]) -> Point:
    """scalar·p for a variable point (double-and-add, LSB first): ~13 constraints per bit."""
    bits = [as_lc(b) for b in bits]
    base = point(p)
    acc: Point = IDENTITY
    with cs.scope("mul_var"):
        for i, b in enumerate(bits):
            if i == 0:
                acc = select(cs, b, base, IDENTITY)
            else:
                acc = select(cs, b, add(cs, acc, base), acc)
            if i + 1 < len(bits):
                base = double(cs, base)
    return acc
