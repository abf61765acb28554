"""The hint functions the gadgets use, each tagged with the operation that the native witness
calculator (``circuits.native_witness``) runs in its place.

A hint is any Python function, so the native calculator cannot know what an arbitrary one does.
The tag is the contract: a function carrying ``native_op`` promises to compute exactly that
operation, and ``tests/test_native_witness.py`` holds every tagged function to it by comparing
the two calculators bit for bit. A circuit with an untagged hint keeps the Python calculator.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import TypeVar

from prover.field.bn254 import FR_MODULUS

P = FR_MODULUS

# Operation codes shared with prover/backend/native/witness.c (WIT_HINT_*).
OP_INVERSE, OP_IS_ZERO, OP_BITS, OP_QUOTIENT = 0, 1, 2, 3

F = TypeVar("F", bound=Callable[..., object])


def _native(op: int, param: int = 0) -> Callable[[F], F]:
    def tag(fn: F) -> F:
        fn.native_op = (op, param)  # type: ignore[attr-defined]
        return fn

    return tag


@_native(OP_INVERSE)
def inverse(v: int) -> int:
    """1/v, or 0 for v = 0 (the constraint that uses it then fails, or selects the zero case)."""
    return pow(v, -1, P) if v else 0


@_native(OP_IS_ZERO)
def is_zero(v: int) -> int:
    return 0 if v else 1


@_native(OP_QUOTIENT)
def quotient(n: int, d: int) -> int:
    """n/d, or 0 for d = 0 (only off the curve or when a gate is off; the constraint decides)."""
    return n * pow(d, -1, P) % P if d else 0


@cache
def low_bits(n: int) -> Callable[[int], list[int]]:
    """The function v -> its ``n`` low bits, little-endian (one object per width, so a circuit
    holds a handful of them whatever its number of decompositions)."""

    @_native(OP_BITS, n)
    def bits(v: int) -> list[int]:
        return [(v >> i) & 1 for i in range(n)]

    return bits
