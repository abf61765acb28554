"""Zero tests, equality and ordering.

``less_than`` follows circomlib's LessThan: it proves the comparison through the top bit of
a + 2^n - b, which is only meaningful for operands below 2^n. It therefore range-checks both
operands itself (2n + 2 more constraints); without that, a prover could show r - 1 < 0. A caller
that has already range-checked both operands may skip the checks, but only by naming it:
``assume_operands_in_range=True``.
"""

from __future__ import annotations

from circuits import hints
from circuits.builder import LC, CircuitError, ConstraintSystem, Signal, as_lc
from circuits.gadgets.bits import MAX_BITS, range_check, to_bits


def is_zero(cs: ConstraintSystem, x: LC | int) -> Signal:
    """1 if x == 0 else 0 (two constraints)."""
    x = as_lc(x)
    with cs.scope("is_zero"):
        inv = cs.hint(hints.inverse, x, name="inv")
        out = cs.hint(hints.is_zero, x, name="is_zero")
        # x * inv = 1 - out forces out = 0 when x != 0; x * out = 0 forces out = 0 or x = 0.
        cs.enforce(x, inv, cs.one - out, label="x*inv = 1-out")
        cs.enforce(x, out, 0, label="x*out = 0")
    return out


def is_equal(cs: ConstraintSystem, a: LC | int, b: LC | int) -> Signal:
    return is_zero(cs, as_lc(a) - as_lc(b))


def less_than(cs: ConstraintSystem, a: LC | int, b: LC | int, n: int, *, assume_operands_in_range: bool = False) -> LC:
    """1 if a < b else 0, proving a, b < 2^n (n <= 252) unless ``assume_operands_in_range``
    says the caller already has (then out-of-range operands give a meaningless answer)."""
    if not 1 <= n < MAX_BITS:
        raise CircuitError(f"less_than: width {n} outside 1..{MAX_BITS - 1}")
    a, b = as_lc(a), as_lc(b)
    with cs.scope(f"less_than{n}"):
        if not assume_operands_in_range:
            range_check(cs, a, n)
            range_check(cs, b, n)
        bits = to_bits(cs, a + (1 << n) - b, n + 1)
    return cs.one - bits[n]
