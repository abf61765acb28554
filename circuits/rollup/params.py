"""Rollup constants shared by the batch circuit and the operator (``prover.rollup``).

They live here, in the lower layer, because the circuit may not import the operator; the operator
imports them from here. The byte layout of the public data that uses these widths is documented
in exactly one place, ``prover.rollup.public_data``.

Widths are chosen so that every arithmetic result stays far below r (no field wrap-around):
a balance is < 2^64 and an amount or fee < 2^40, so a sum or difference of a few of them is an
integer of at most ~66 bits and a range check on the result is a check on the integer.
"""

from __future__ import annotations

from dataclasses import dataclass

#: State tree arity: 4-ary Poseidon trees cost 7,274 constraints per update at 2^24 leaves against
#: 11,594 for binary ones (``circuits.gadgets.merkle``).
ARITY = 4
#: Default depth: 4^12 = 2^24 accounts.
DEFAULT_DEPTH = 12

BALANCE_BITS = 64
AMOUNT_BITS = 40
FEE_BITS = 16
NONCE_BITS = 32
CHAIN_ID_BITS = 64
BATCH_NUMBER_BITS = 64
L1_ADDRESS_BITS = 160
TYPE_BITS = 8  # one byte in the public data; only values 0..4 are valid
#: A forced exit pays at most this (the widest amount a record carries): min(balance, cap).
FORCED_EXIT_CAP = (1 << AMOUNT_BITS) - 1


class TxType:
    """Transaction type codes (the type byte of a public-data record and a signed-message field).

    The circuit takes the type's three low bits as selectors: bit 1 set means signed (transfer,
    withdrawal); bit 2 set means forced exit and allows no other bit (so 5..7 are refused); a
    slot has an L1 entry (deposit, withdrawal, forced exit) when bit 0 or bit 2 is set.
    """

    NOOP = 0
    DEPOSIT = 1
    TRANSFER = 2
    WITHDRAWAL = 3
    FORCED_EXIT = 4


#: Types that carry an L1 entry (and so a link of the L1 digest).
L1_TYPES = (TxType.DEPOSIT, TxType.WITHDRAWAL, TxType.FORCED_EXIT)


def index_bits(depth: int) -> int:
    """Bits of an account index in a 4-ary tree of ``depth`` levels."""
    return 2 * depth


def index_bytes(depth: int) -> int:
    """Bytes of an account index in the public data: the index bits rounded up to whole bytes."""
    return (index_bits(depth) + 7) // 8


def depth_for_capacity(capacity: int) -> int:
    """Depth of the 4-ary tree holding exactly ``capacity`` accounts (a power of 4)."""
    depth = 0
    while ARITY**depth < capacity:
        depth += 1
    if ARITY**depth != capacity:
        raise ValueError(f"capacity {capacity} is not a power of {ARITY}")
    return depth


@dataclass(frozen=True)
class BatchShape:
    """What a batch circuit is compiled for: transactions per batch and tree depth."""

    batch_size: int
    depth: int = DEFAULT_DEPTH

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError("batch size must be at least 1")
        if not 1 <= self.depth <= 63:
            raise ValueError("depth must be 1..63")

    @property
    def capacity(self) -> int:
        return ARITY**self.depth

    @property
    def siblings_per_path(self) -> int:
        return (ARITY - 1) * self.depth
