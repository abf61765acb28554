"""Zero tests, equality and ordering.

``less_than`` follows circomlib's LessThan: it assumes both operands are below 2^n and proves
the comparison through the top bit of a + 2^n - b. The operands' ranges are the caller's to
prove (``range_check``) unless ``check_inputs`` asks the gadget to do it.
"""

from __future__ import annotations

from circuits.builder import LC, CircuitError, ConstraintSystem, Signal, as_lc
from circuits.gadgets.bits import MAX_BITS, range_check, to_bits
from prover.field.bn254 import FR_MODULUS


def is_zero(cs: ConstraintSystem, x: LC | int) -> Signal:
    """1 if x == 0 else 0 (two constraints)."""
    x = as_lc(x)
    with cs.scope("is_zero"):
        inv = cs.hint(lambda v: pow(v, -1, FR_MODULUS) if v else 0, x, name="inv")
        out = cs.hint(lambda v: 0 if v else 1, x, name="is_zero")
        # x * inv = 1 - out forces out = 0 when x != 0; x * out = 0 forces out = 0 or x = 0.
        cs.enforce(x, inv, cs.one - out, label="x*inv = 1-out")
        cs.enforce(x, out, 0, label="x*out = 0")
    return out


def is_equal(cs: ConstraintSystem, a: LC | int, b: LC | int) -> Signal:
    return is_zero(cs, as_lc(a) - as_lc(b))


def less_than(cs: ConstraintSystem, a: LC | int, b: LC | int, n: int, check_inputs: bool = False) -> LC:
    """1 if a < b else 0, for a, b < 2^n (n <= 252)."""
    if not 1 <= n < MAX_BITS:
        raise CircuitError(f"less_than: width {n} outside 1..{MAX_BITS - 1}")
    a, b = as_lc(a), as_lc(b)
    with cs.scope(f"less_than{n}"):
        if check_inputs:
            range_check(cs, a, n)
            range_check(cs, b, n)
        bits = to_bits(cs, a + (1 << n) - b, n + 1)
    return cs.one - bits[n]
