"""THE byte layout of a batch's public data and its public input (the L1 contract mirrors this).

**Domain.** A deployment is named by ``domain = chain_id · 2^160 + rollup_address``, with
``chain_id`` the EVM ``block.chainid`` (< 2^64) and ``rollup_address`` the Rollup contract's
address (< 2^160); both enter the public input and the domain enters every signed message, so a
proof or a signature made for one deployment is worthless on any other (another chain, or
another contract on the same chain).

The batch circuit's single public input is::

    public_input = int.from_bytes(sha256(chain_id ‖ rollup_address ‖ batch_number ‖ old_root
                                         ‖ new_root ‖ public_data), "big") mod r

All integers are unsigned, big-endian, fixed width. ``I`` = ``index_bytes(depth)`` = ceil(2·depth/8)
bytes per account index (3 at capacity 2^24, 4 at 2^32, 1 at 16 accounts).

==========================  ===========  ====================================================
field                       bytes        meaning
==========================  ===========  ====================================================
chain_id                    8            ``block.chainid`` of the L1
rollup_address              20           the Rollup contract's address
batch_number                8            sequence number of this batch on L1
old_root                    32           state root before the batch (field element < r)
new_root                    32           state root after the batch (field element < r)
**public_data:**
fee_account                 I            account credited with the batch's fees
l1_digest                   32           Poseidon chain over the batch's L1 entries (below)
records[batch_size]         8 + 2·I      one per slot, in order, no-ops included:
  ├ type                    1            0 no-op, 1 deposit, 2 transfer, 3 withdrawal,
  │                                      4 forced exit
  ├ from                    I            the account: deposit's target (index assigned by L1),
  │                                      sender, or the account a forced exit empties
  ├ to                      I            transfer: receiver; otherwise 0
  ├ amount                  5            < 2^40 (0 for a no-op); forced exit: the amount paid
  └ fee                     2            < 2^16 (0 unless transfer or withdrawal)
==========================  ===========  ====================================================

At 2^24 accounts a record is 14 bytes and the header before the records 135 bytes; at 2^32,
16 and 136; at 16 accounts (the tests) 10 and 133.

**l1_digest** keeps the bulky L1 data out of SHA-256 (each byte hashed in-circuit costs ~413
constraints; Poseidon costs ~1 per byte): ``d = 0``, then for each record, in order, with an L1
entry, ``d = Poseidon(d, x, y, addr)`` (circomlib Poseidon, 4 inputs, t = 5) where (x, y, addr) is

* deposit creating an account (L1 ``deposit(ax, ay)``):       (Ax, Ay, depositor);
* deposit to an existing account (L1 ``depositTo(index)``):    (0, 0, depositor);
* withdrawal:                                                  (0, 0, L1 address paid);
* forced exit (L1 ``requestExit(index)``):                     (0, 0, requester).

No-op and transfer records do not touch the digest. The L1 contract walks the records against
its priority queue (kind, index and amount from the record; key and address through the
digest), pays each withdrawal's amount to the address passed with the batch, credits each
forced exit's amount to its requester, and requires its recomputed digest to equal
``l1_digest``.

**Signed message** (transfers and withdrawals; EdDSA-Poseidon, circomlibjs ``signPoseidon``)::

    Poseidon(domain, type, from, to, amount, fee, nonce)     (7 inputs, t = 8)

with ``to`` the receiver's index for a transfer and the L1 address for a withdrawal, and
``nonce`` the sender's nonce before the transaction (it becomes nonce + 1). Deposits and forced
exits are not signed: the L1 took the funds, or the L1 caller asked for the exit.

**Leaf** (``prover.rollup.accounts.Account.leaf``, enforced by the batch circuit)::

    leaf = Poseidon(Ax, Ay, balance + 2^64 · nonce, owner)     (empty slot: 0)

with ``owner`` the L1 address that created the account (forced exits and exodus withdrawals pay
it); balance < 2^64 and nonce < 2^32 make the packing one-to-one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from circuits.native import fast
from circuits.native.poseidon_constants import P
from circuits.rollup.params import (
    AMOUNT_BITS,
    BATCH_NUMBER_BITS,
    CHAIN_ID_BITS,
    FEE_BITS,
    L1_ADDRESS_BITS,
    TxType,
    index_bytes,
)

ADDRESS_BYTES = L1_ADDRESS_BITS // 8
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


@dataclass(frozen=True)
class Domain:
    """Which deployment a proof or signature is for: the L1 chain id and the Rollup's address."""

    chain_id: int
    rollup_address: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.chain_id < 1 << CHAIN_ID_BITS:
            raise ValueError(f"chain id {self.chain_id} does not fit in {CHAIN_ID_BITS} bits")
        if not 0 <= self.rollup_address < 1 << L1_ADDRESS_BITS:
            raise ValueError(f"rollup address {self.rollup_address:#x} does not fit in {L1_ADDRESS_BITS} bits")

    @property
    def value(self) -> int:
        """chain_id · 2^160 + rollup_address: the first field of every signed message."""
        return (self.chain_id << L1_ADDRESS_BITS) | self.rollup_address

    def encode(self) -> bytes:
        """chain_id (8 bytes) ‖ rollup_address (20 bytes), as the public input hashes them."""
        return self.chain_id.to_bytes(CHAIN_ID_BYTES, "big") + self.rollup_address.to_bytes(ADDRESS_BYTES, "big")


@dataclass(frozen=True)
class L1Entry:
    """A record with an L1 entry, in the terms the L1 contract checks it.

    ``address`` is the depositor (deposit), the L1 address paid (withdrawal) or the requester
    (forced exit); ``ax, ay`` the key of a deposit that creates an account, else 0.
    """

    kind: int
    index: int
    amount: int
    address: int
    ax: int = 0
    ay: int = 0

    @property
    def creates_account(self) -> bool:
        return self.kind == TxType.DEPOSIT and (self.ax, self.ay) != (0, 0)

    def digest_input(self) -> tuple[int, int, int]:
        """(x, y, addr) of this entry's link in the L1 digest."""
        return (self.ax, self.ay, self.address)


def l1_digest_step(digest: int, x: int, y: int, addr: int) -> int:
    """One link of the L1 digest chain: Poseidon(d, x, y, addr)."""
    return fast.hasher()([digest, x, y, addr])


def l1_digest(entries: Iterable[tuple[int, int, int] | L1Entry]) -> int:
    """The digest of a batch's L1 entries, each an :class:`L1Entry` or its (x, y, addr)."""
    d = 0
    for entry in entries:
        x, y, addr = entry.digest_input() if isinstance(entry, L1Entry) else entry
        d = l1_digest_step(d, x, y, addr)
    return d


def hashed_message(domain: Domain, batch_number: int, old_root: int, new_root: int, public_data: bytes) -> bytes:
    """The exact bytes that SHA-256 hashes."""
    if not 0 <= batch_number < 1 << BATCH_NUMBER_BITS:
        raise ValueError(f"batch number {batch_number} does not fit in {BATCH_NUMBER_BITS} bits")
    for name, v in (("old root", old_root), ("new root", new_root)):
        if not 0 <= v < P:
            raise ValueError(f"{name} is not a field element")
    return (
        domain.encode()
        + batch_number.to_bytes(BATCH_NUMBER_BYTES, "big")
        + old_root.to_bytes(FIELD_BYTES, "big")
        + new_root.to_bytes(FIELD_BYTES, "big")
        + public_data
    )


def public_input(domain: Domain, batch_number: int, old_root: int, new_root: int, public_data: bytes) -> int:
    """int(sha256(chain_id ‖ rollup_address ‖ batch_number ‖ old_root ‖ new_root ‖ public_data)) mod r."""
    digest = hashlib.sha256(hashed_message(domain, batch_number, old_root, new_root, public_data)).digest()
    return int.from_bytes(digest, "big") % P


def tx_message(domain: Domain, tx_type: int, from_index: int, to: int, amount: int, fee: int, nonce: int) -> int:
    """The field element a transfer or withdrawal signs (see the module docstring)."""
    if tx_type not in (TxType.TRANSFER, TxType.WITHDRAWAL):
        raise ValueError("only transfers and withdrawals are signed")
    return fast.hasher()([domain.value, tx_type, from_index, to, amount, fee, nonce])


def withdrawals(data: PublicData) -> list[tuple[int, int]]:
    """(from index, amount) of each withdrawal record, in order (the L1 pays them)."""
    return [(r.from_index, r.amount) for r in data.records if r.tx_type == TxType.WITHDRAWAL]


def deposits(data: PublicData) -> list[tuple[int, int]]:
    """(credited index, amount) of each deposit record, in order (the L1 matches its queue)."""
    return [(r.from_index, r.amount) for r in data.records if r.tx_type == TxType.DEPOSIT]


def forced_exits(data: PublicData) -> list[tuple[int, int]]:
    """(account index, amount paid) of each forced-exit record, in order (the L1 matches its queue)."""
    return [(r.from_index, r.amount) for r in data.records if r.tx_type == TxType.FORCED_EXIT]


__all__: Sequence[str] = (
    "Domain",
    "L1Entry",
    "PublicData",
    "Record",
    "deposits",
    "forced_exits",
    "hashed_message",
    "l1_digest",
    "l1_digest_step",
    "public_input",
    "record_bytes",
    "tx_message",
    "withdrawals",
)
