"""THE byte layout of a batch's public data and its public input (the L1 contract mirrors this).

The batch circuit's single public input is::

    public_input = int.from_bytes(sha256(chain_id ‖ batch_number ‖ old_root ‖ new_root ‖ public_data), "big") mod r

All integers are unsigned, big-endian, fixed width. ``I`` = ``index_bytes(depth)`` = ceil(2·depth/8)
bytes per account index (3 at capacity 2^24, 4 at 2^32, 1 at 16 accounts).

==========================  ===========  ====================================================
field                       bytes        meaning
==========================  ===========  ====================================================
chain_id                    4            rollup chain id (also inside every signed message)
batch_number                8            sequence number of this batch on L1
old_root                    32           state root before the batch (field element < r)
new_root                    32           state root after the batch (field element < r)
**public_data:**
fee_account                 I            account credited with the batch's fees
l1_digest                   32           Poseidon chain over the batch's L1 entries (below)
records[batch_size]         8 + 2·I      one per slot, in order, no-ops included:
  ├ type                    1            0 no-op, 1 deposit, 2 transfer, 3 withdrawal
  ├ from                    I            deposit: credited account; transfer, withdrawal: sender
  ├ to                      I            transfer: receiver; otherwise 0
  ├ amount                  5            < 2^40 (0 for a no-op)
  └ fee                     2            < 2^16 (0 for a deposit or no-op)
==========================  ===========  ====================================================

At 2^24 accounts a record is 14 bytes and the header before the records 111 bytes; at 2^32,
16 and 112; at 16 accounts (the tests) 10 and 109.

**l1_digest** keeps the bulky L1 data out of SHA-256 (each byte hashed in-circuit costs ~413
constraints; Poseidon costs ~1 per byte): ``d = 0``, then for each record, in order, of type

* deposit:    ``d = Poseidon(d, Ax, Ay)`` — the public key of the deposit queue entry it consumes;
* withdrawal: ``d = Poseidon(d, address, 0)`` — the L1 address (uint160) the amount is paid to;

(``Poseidon`` = circomlib Poseidon with 3 inputs, t = 4). The L1 contract walks the records: each
deposit record must match the head of its deposit queue (amount from the record, key through the
digest); each withdrawal pays ``amount`` to the next address of the withdrawal list passed with
the batch (checked through the digest); then it requires its recomputed digest to equal
``l1_digest``. No-op and transfer records do not touch the digest.

Signed message (transfers and withdrawals; EdDSA-Poseidon, circomlibjs ``signPoseidon``)::

    Poseidon(chain_id, type, from, to, amount, fee, nonce)     (7 inputs, t = 8)

with ``to`` the receiver's index for a transfer and the L1 address for a withdrawal, and
``nonce`` the sender's nonce before the transaction (it becomes nonce + 1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from circuits.native.poseidon import poseidon_hash
from circuits.native.poseidon_constants import P
from circuits.rollup.params import (
    AMOUNT_BITS,
    BATCH_NUMBER_BITS,
    CHAIN_ID_BITS,
    FEE_BITS,
    TxType,
    index_bytes,
)

CHAIN_ID_BYTES = CHAIN_ID_BITS // 8
BATCH_NUMBER_BYTES = BATCH_NUMBER_BITS // 8
AMOUNT_BYTES = AMOUNT_BITS // 8
FEE_BYTES = FEE_BITS // 8
FIELD_BYTES = 32


def record_bytes(depth: int) -> int:
    """Bytes per transaction record."""
    return 1 + 2 * index_bytes(depth) + AMOUNT_BYTES + FEE_BYTES


@dataclass(frozen=True)
class Record:
    """One slot's public data."""

    tx_type: int
    from_index: int = 0
    to_index: int = 0
    amount: int = 0
    fee: int = 0

    def encode(self, depth: int) -> bytes:
        ib = index_bytes(depth)
        return (
            self.tx_type.to_bytes(1, "big")
            + self.from_index.to_bytes(ib, "big")
            + self.to_index.to_bytes(ib, "big")
            + self.amount.to_bytes(AMOUNT_BYTES, "big")
            + self.fee.to_bytes(FEE_BYTES, "big")
        )

    @classmethod
    def decode(cls, buf: bytes, depth: int) -> Record:
        ib = index_bytes(depth)
        if len(buf) != record_bytes(depth):
            raise ValueError(f"a record is {record_bytes(depth)} bytes at depth {depth}")
        at = 1 + 2 * ib
        return cls(
            tx_type=buf[0],
            from_index=int.from_bytes(buf[1 : 1 + ib], "big"),
            to_index=int.from_bytes(buf[1 + ib : at], "big"),
            amount=int.from_bytes(buf[at : at + AMOUNT_BYTES], "big"),
            fee=int.from_bytes(buf[at + AMOUNT_BYTES :], "big"),
        )


@dataclass(frozen=True)
class PublicData:
    """The public data of one batch (everything after ``new_root`` in the hashed message)."""

    fee_account: int
    l1_digest: int
    records: tuple[Record, ...]

    def encode(self, depth: int) -> bytes:
        return (
            self.fee_account.to_bytes(index_bytes(depth), "big")
            + self.l1_digest.to_bytes(FIELD_BYTES, "big")
            + b"".join(r.encode(depth) for r in self.records)
        )

    @classmethod
    def decode(cls, buf: bytes, depth: int) -> PublicData:
        ib, rb = index_bytes(depth), record_bytes(depth)
        body = buf[ib + FIELD_BYTES :]
        if len(buf) < ib + FIELD_BYTES or len(body) % rb:
            raise ValueError("public data length does not fit the layout")
        return cls(
            fee_account=int.from_bytes(buf[:ib], "big"),
            l1_digest=int.from_bytes(buf[ib : ib + FIELD_BYTES], "big"),
            records=tuple(Record.decode(body[k : k + rb], depth) for k in range(0, len(body), rb)),
        )


def l1_digest_step(digest: int, x: int, y: int) -> int:
    """One link of the L1 digest chain: Poseidon(d, x, y)."""
    return poseidon_hash([digest, x, y])


def l1_digest(entries: Iterable[tuple[int, int]]) -> int:
    """The digest of a batch's L1 entries, (Ax, Ay) per deposit and (address, 0) per withdrawal."""
    d = 0
    for x, y in entries:
        d = l1_digest_step(d, x, y)
    return d


def hashed_message(chain_id: int, batch_number: int, old_root: int, new_root: int, public_data: bytes) -> bytes:
    """The exact bytes that SHA-256 hashes."""
    for name, v, bits in (("chain id", chain_id, CHAIN_ID_BITS), ("batch number", batch_number, BATCH_NUMBER_BITS)):
        if not 0 <= v < 1 << bits:
            raise ValueError(f"{name} {v} does not fit in {bits} bits")
    for name, v in (("old root", old_root), ("new root", new_root)):
        if not 0 <= v < P:
            raise ValueError(f"{name} is not a field element")
    return (
        chain_id.to_bytes(CHAIN_ID_BYTES, "big")
        + batch_number.to_bytes(BATCH_NUMBER_BYTES, "big")
        + old_root.to_bytes(FIELD_BYTES, "big")
        + new_root.to_bytes(FIELD_BYTES, "big")
        + public_data
    )


def public_input(chain_id: int, batch_number: int, old_root: int, new_root: int, public_data: bytes) -> int:
    """int(sha256(chain_id ‖ batch_number ‖ old_root ‖ new_root ‖ public_data)) mod r."""
    digest = hashlib.sha256(hashed_message(chain_id, batch_number, old_root, new_root, public_data)).digest()
    return int.from_bytes(digest, "big") % P


def tx_message(chain_id: int, tx_type: int, from_index: int, to: int, amount: int, fee: int, nonce: int) -> int:
    """The field element a transfer or withdrawal signs (see the module docstring)."""
    if tx_type not in (TxType.TRANSFER, TxType.WITHDRAWAL):
        raise ValueError("only transfers and withdrawals are signed")
    return poseidon_hash([chain_id, tx_type, from_index, to, amount, fee, nonce])


def withdrawals(data: PublicData) -> list[tuple[int, int]]:
    """(from index, amount) of each withdrawal record, in order (the L1 pays them)."""
    return [(r.from_index, r.amount) for r in data.records if r.tx_type == TxType.WITHDRAWAL]


def deposits(data: PublicData) -> list[tuple[int, int]]:
    """(credited index, amount) of each deposit record, in order (the L1 matches its queue)."""
    return [(r.from_index, r.amount) for r in data.records if r.tx_type == TxType.DEPOSIT]


__all__: Sequence[str] = (
    "PublicData",
    "Record",
    "deposits",
    "hashed_message",
    "l1_digest",
    "l1_digest_step",
    "public_input",
    "record_bytes",
    "tx_message",
    "withdrawals",
)
