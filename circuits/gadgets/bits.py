"""Binary decomposition, booleanity and range checks.

``to_bits(cs, x, n)`` costs n + 1 constraints: one booleanity constraint per bit and one that
the weighted sum equals x. Widths are limited to 253 bits: with 254 bits a value and the same
value plus r would both decompose, and the decomposition would stop being unique.
"""

from __future__ import annotations

from circuits import hints
from circuits.builder import LC, CircuitError, ConstraintSystem, Signal, as_lc, lincomb

MAX_BITS = 253


def assert_bool(cs: ConstraintSystem, b: LC | int) -> None:
    """b * (b - 1) = 0."""
    b = as_lc(b)
    cs.enforce(b, b - 1, 0, label="boolean")


def to_bits(cs: ConstraintSystem, x: LC | int, n: int) -> list[Signal]:
    """Little-endian bits of x, proving 0 <= x < 2^n."""
    if not 1 <= n <= MAX_BITS:
        raise CircuitError(f"to_bits: width {n} outside 1..{MAX_BITS}")
    bits = cs.hint(hints.low_bits(n), x, count=n, name="bit")
    with cs.scope(f"bits{n}"):
        for b in bits:
            assert_bool(cs, b)
        cs.assert_equal(from_bits(bits), x, label="bits sum to the value")
    return bits


def from_bits(bits: list[LC]) -> LC:
    """The number sum(b_i * 2^i) as a linear combination (free)."""
    return lincomb((b, 1 << i) for i, b in enumerate(bits))


def range_check(cs: ConstraintSystem, x: LC | int, n: int) -> None:
    """Prove 0 <= x < 2^n (n + 1 constraints)."""
    to_bits(cs, x, n)
