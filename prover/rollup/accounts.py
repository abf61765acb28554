"""Accounts and keys.

An account is a Baby Jubjub public key, a balance, a nonce and an owner (the L1 address whose
deposit created it; forced exits and exodus withdrawals pay it). Its leaf in the state tree is
``Poseidon(Ax, Ay, balance + 2^64·nonce, owner)`` and an empty slot is the leaf 0
(``prover.rollup.public_data`` documents the layout).

Keys are circomlibjs-compatible EdDSA-Poseidon keys (``circuits.native.eddsa``): a 32-byte private
key (serialized as 64 hex digits), a public key packed to 32 bytes as circomlibjs ``packPoint``
(64 hex digits), signatures made exactly as ``signPoseidon``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from circuits.native import fast
from circuits.native.eddsa import PrivateKey, PublicKey, Signature
from circuits.rollup.params import BALANCE_BITS, L1_ADDRESS_BITS, NONCE_BITS

MAX_BALANCE = (1 << BALANCE_BITS) - 1
MAX_NONCE = (1 << NONCE_BITS) - 1


@dataclass(frozen=True)
class Account:
    """One account of the state tree."""

    ax: int
    ay: int
    balance: int = 0
    nonce: int = 0
    owner: int = 0  # L1 address (< 2^160) of the depositor that created the account

    @classmethod
    def for_key(cls, key: PublicKey, balance: int = 0, nonce: int = 0, owner: int = 0) -> Account:
        return cls(key.x, key.y, balance, nonce, owner)

    @property
    def key(self) -> tuple[int, int]:
        return (self.ax, self.ay)

    @property
    def public_key(self) -> PublicKey:
        return PublicKey((self.ax, self.ay))

    def leaf(self) -> int:
        """The leaf hash: Poseidon(Ax, Ay, balance + 2^64·nonce, owner)."""
        return fast.hasher()([self.ax, self.ay, self.balance + (self.nonce << BALANCE_BITS), self.owner])

    def with_balance(self, balance: int) -> Account:
        return replace(self, balance=balance)

    def to_json(self) -> dict:
        return {
            "public_key": self.public_key.hex(),
            "balance": str(self.balance),
            "nonce": self.nonce,
            "owner": "0x" + self.owner.to_bytes(L1_ADDRESS_BITS // 8, "big").hex(),
        }


def generate_key() -> PrivateKey:
    """A fresh private key from the OS CSPRNG."""
    return PrivateKey.generate()


def serialize_private_key(key: PrivateKey) -> str:
    """64 hex digits (the raw 32-byte key circomlibjs takes)."""
    return key.hex()


def load_private_key(text: str) -> PrivateKey:
    return PrivateKey.from_hex(text)


def serialize_public_key(key: PublicKey) -> str:
    """64 hex digits: the packed point (circomlibjs ``packPoint``)."""
    return key.hex()


def load_public_key(text: str) -> PublicKey:
    return PublicKey.from_hex(text)


def serialize_signature(sig: Signature) -> str:
    """128 hex digits: circomlibjs ``packSignature``."""
    return sig.pack().hex()


def load_signature(text: str) -> Signature:
    return Signature.unpack(bytes.fromhex(text.removeprefix("0x")))


__all__ = [
    "MAX_BALANCE",
    "MAX_NONCE",
    "Account",
    "PrivateKey",
    "PublicKey",
    "Signature",
    "generate_key",
    "load_private_key",
    "load_public_key",
    "load_signature",
    "serialize_private_key",
    "serialize_public_key",
    "serialize_signature",
]
