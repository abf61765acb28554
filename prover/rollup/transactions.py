"""Rollup transactions: L1 entries (deposits, forced exits), signed transfers and withdrawals, no-ops.

Transfers and withdrawals are signed with EdDSA-Poseidon (circomlibjs ``signPoseidon``) over

    Poseidon(domain, type, from, to, amount, fee, nonce)

where ``domain`` = chain_id · 2^160 + rollup_address (``public_data.Domain``), ``type`` is 2
(transfer) or 3 (withdrawal), ``to`` the receiver's account index or the withdrawal's L1 address
(uint160), and ``nonce`` the sender's current nonce. The domain stops a signature from replaying
on another chain or another Rollup deployment, the nonce within this one, and the type between
a transfer to account k and a withdrawal to address k. The layout of these fields in the batch's
public data is in ``public_data`` (the one place it is documented).

Deposits and forced exits come from the L1 contract's priority queue and carry no signature: the
L1 took the funds, or the L1 caller asked for the exit. The L1 assigns account indices, so a
deposit names its account: with a key it creates that account (``index`` None: the operator's
next free index, which is the L1's as long as every account came from the L1), without one it
tops up an existing account.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from circuits.native.eddsa import PrivateKey, PublicKey, Signature
from circuits.rollup.params import TxType
from prover.rollup.public_data import Domain, tx_message


@dataclass(frozen=True)
class Deposit:
    """L1 → L2: credit ``amount``, paid on L1 by ``depositor`` (uint160).

    With ``public_key`` (L1 ``deposit(ax, ay)``) it creates account ``index`` with that key and
    owner ``depositor``; with ``public_key`` None (L1 ``depositTo(index)``) it tops up the
    existing account ``index``, whose key and owner stay.
    """

    public_key: PublicKey | None
    amount: int
    depositor: int
    index: int | None = None

    tx_type = TxType.DEPOSIT

    def __post_init__(self) -> None:
        if self.public_key is None and self.index is None:
            raise ValueError("a top-up deposit (no public key) must name the account index")


@dataclass(frozen=True)
class ForcedExit:
    """L1 ``requestExit(index)`` by ``requester``: pay out account ``index`` to its owner on L1.

    The amount is not the requester's to choose: if ``requester`` owns the account it is
    min(balance, 2^40 - 1), else 0 (the request is consumed and pays nothing). ``amount`` None
    lets the operator compute it; a number is a claim that ``apply_batch`` checks (and, with
    ``check=False``, applies as given: tests use it to build a wrong witness).
    """

    index: int
    requester: int
    amount: int | None = None

    tx_type = TxType.FORCED_EXIT


@dataclass(frozen=True)
class Transfer:
    """L2 → L2: move ``amount`` from ``from_index`` to ``to_index``, paying ``fee``."""

    from_index: int
    to_index: int
    amount: int
    fee: int
    nonce: int
    signature: Signature | None = None

    tx_type = TxType.TRANSFER

    def message(self, domain: Domain) -> int:
        return tx_message(domain, self.tx_type, self.from_index, self.to_index, self.amount, self.fee, self.nonce)

    def signed(self, key: PrivateKey, domain: Domain) -> Transfer:
        return replace(self, signature=key.sign(self.message(domain)))


@dataclass(frozen=True)
class Withdrawal:
    """L2 → L1: take ``amount`` (plus ``fee``) from ``from_index``, paid out to L1 ``address``."""

    from_index: int
    address: int
    amount: int
    fee: int
    nonce: int
    signature: Signature | None = None

    tx_type = TxType.WITHDRAWAL

    def message(self, domain: Domain) -> int:
        return tx_message(domain, self.tx_type, self.from_index, self.address, self.amount, self.fee, self.nonce)

    def signed(self, key: PrivateKey, domain: Domain) -> Withdrawal:
        return replace(self, signature=key.sign(self.message(domain)))


@dataclass(frozen=True)
class NoOp:
    """Padding: changes nothing."""

    tx_type = TxType.NOOP


Transaction = Deposit | ForcedExit | Transfer | Withdrawal | NoOp


def address_from_hex(text: str) -> int:
    """An L1 address (``0x`` + 40 hex digits) as the integer that is signed and hashed."""
    raw = bytes.fromhex(text.removeprefix("0x"))
    if len(raw) != 20:
        raise ValueError("an L1 address is 20 bytes")
    return int.from_bytes(raw, "big")


def address_to_hex(address: int) -> str:
    return "0x" + address.to_bytes(20, "big").hex()
