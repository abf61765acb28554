"""Rollup transactions: deposits (from the L1 queue), signed transfers and withdrawals, no-ops.

Transfers and withdrawals are signed with EdDSA-Poseidon (circomlibjs ``signPoseidon``) over

    Poseidon(chain_id, type, from, to, amount, fee, nonce)

where ``type`` is 2 (transfer) or 3 (withdrawal), ``to`` the receiver's account index or the
withdrawal's L1 address (uint160), and ``nonce`` the sender's current nonce. The chain id stops a
signature from replaying on another rollup, the nonce within this one, and the type between a
transfer to account k and a withdrawal to address k. The layout of these fields in the batch's
public data is in ``public_data`` (the one place it is documented).

Deposits come from the L1 contract's deposit queue and carry no signature: the L1 took the
funds. ``index`` is chosen by the operator when left None (the key's existing account, else the
next free index).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from circuits.native.eddsa import PrivateKey, PublicKey, Signature
from circuits.rollup.params import TxType
from prover.rollup.public_data import tx_message


@dataclass(frozen=True)
class Deposit:
    """L1 → L2: credit ``amount`` to the account of ``public_key`` (created if needed)."""

    public_key: PublicKey
    amount: int
    index: int | None = None

    tx_type = TxType.DEPOSIT


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

    def message(self, chain_id: int) -> int:
        return tx_message(chain_id, self.tx_type, self.from_index, self.to_index, self.amount, self.fee, self.nonce)

    def signed(self, key: PrivateKey, chain_id: int) -> Transfer:
        return replace(self, signature=key.sign(self.message(chain_id)))


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

    def message(self, chain_id: int) -> int:
        return tx_message(chain_id, self.tx_type, self.from_index, self.address, self.amount, self.fee, self.nonce)

    def signed(self, key: PrivateKey, chain_id: int) -> Withdrawal:
        return replace(self, signature=key.sign(self.message(chain_id)))


@dataclass(frozen=True)
class NoOp:
    """Padding: changes nothing."""

    tx_type = TxType.NOOP


Transaction = Deposit | Transfer | Withdrawal | NoOp


def address_from_hex(text: str) -> int:
    """An L1 address (``0x`` + 40 hex digits) as the integer that is signed and hashed."""
    raw = bytes.fromhex(text.removeprefix("0x"))
    if len(raw) != 20:
        raise ValueError("an L1 address is 20 bytes")
    return int.from_bytes(raw, "big")


def address_to_hex(address: int) -> str:
    return "0x" + address.to_bytes(20, "big").hex()
