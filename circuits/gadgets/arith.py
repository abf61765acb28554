"""Field inverse and conditional selection."""

from __future__ import annotations

from circuits import hints
from circuits.builder import LC, ConstraintSystem, Signal, as_lc


def inverse(cs: ConstraintSystem, x: LC | int) -> Signal:
    """1/x (one constraint); no witness satisfies it when x = 0."""
    inv = cs.hint(hints.inverse, x, name="inverse")
    cs.enforce(x, inv, 1, label="x * inverse = 1")
    return inv


def select(cs: ConstraintSystem, cond: LC | int, when_true: LC | int, when_false: LC | int) -> LC:
    """cond ? when_true : when_false for a boolean cond (one constraint).

    cond's booleanity is not re-proved here: callers pass a signal already known to be a bit
    (a comparator output, a decomposed bit) or call ``assert_bool`` themselves.
    """
    t, f = as_lc(when_true), as_lc(when_false)
    return f + cs.mul(cond, t - f, name="select")
