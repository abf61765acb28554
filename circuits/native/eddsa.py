"""EdDSA-Poseidon on Baby Jubjub, exactly as circomlibjs 0.1.x ``eddsa.js``.

- ``prv2pub``: s = prune(BLAKE-512(private key))[0:32] as little-endian; A = (s >> 3)·B8.
- ``sign_poseidon``: r = LE(BLAKE-512(h[32:64] ‖ M as 32 bytes LE)) mod ℓ; R8 = r·B8;
  h = Poseidon(R8x, R8y, Ax, Ay, M); S = (r + h·s) mod ℓ (ℓ the subgroup order; note s, not
  s >> 3: pruning cleared its low 3 bits, so s·B8 = 8·A and the verifier's 8·h·A matches).
- ``verify_poseidon``: points on the curve, S < ℓ, A not of low order (8·A ≠ identity, the
  circomlib circuit's check, which circomlibjs's ``verifyPoseidon`` lacks), and
  S·B8 == R8 + (8·h)·A.

Keys are 32-byte strings; their serialization is hex for the private key and the packed point
(``pack_point``, 32 bytes) for the public key; a signature packs to 64 bytes (R8 packed ‖ S LE),
as circomlibjs ``packSignature``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from circuits.native import babyjub
from circuits.native.babyjub import B8, SUBORDER, Point
from circuits.native.blake512 import blake512
from circuits.native.poseidon import poseidon_hash
from circuits.native.poseidon_constants import P


@dataclass(frozen=True)
class Signature:
    """An EdDSA signature: the point R8 and the scalar S."""

    r8: Point
    s: int

    def pack(self) -> bytes:
        """circomlibjs ``packSignature``: packed R8 (32 bytes) ‖ S little-endian (32 bytes)."""
        return babyjub.pack_point(self.r8) + self.s.to_bytes(32, "little")

    @classmethod
    def unpack(cls, buf: bytes) -> Signature:
        """Inverse of ``pack``; raises ValueError for a malformed buffer."""
        if len(buf) != 64:
            raise ValueError("a packed signature is 64 bytes")
        r8 = babyjub.unpack_point(buf[:32])
        if r8 is None:
            raise ValueError("R8 is not a Baby Jubjub point")
        return cls(r8, int.from_bytes(buf[32:], "little"))


def _prune(buf: bytes) -> bytes:
    b = bytearray(buf)
    b[0] &= 0xF8
    b[31] &= 0x7F
    b[31] |= 0x40
    return bytes(b)


def _expand(prv: bytes) -> tuple[int, bytes]:
    """Private key → (secret scalar s, the 32-byte nonce prefix)."""
    if len(prv) != 32:
        # circomlibjs hashes any length, but a key is 32 bytes; reject others to catch mix-ups.
        raise ValueError("private key must be 32 bytes")
    h = _prune(blake512(prv))
    return int.from_bytes(h[:32], "little"), h[32:]


def prv2pub(prv: bytes) -> Point:
    """Public key A of a 32-byte private key (circomlibjs ``prv2pub``)."""
    s, _ = _expand(prv)
    return babyjub.mul(B8, s >> 3)


def hash_message(r8: Point, a: Point, msg: int) -> int:
    """The challenge h = Poseidon(R8x, R8y, Ax, Ay, M)."""
    return poseidon_hash([r8[0], r8[1], a[0], a[1], msg])


def sign_poseidon(prv: bytes, msg: int) -> Signature:
    """Sign field element ``msg`` (circomlibjs ``signPoseidon``); deterministic."""
    msg %= P
    s, prefix = _expand(prv)
    a = babyjub.mul(B8, s >> 3)
    r = int.from_bytes(blake512(prefix + msg.to_bytes(32, "little")), "little") % SUBORDER
    r8 = babyjub.mul(B8, r)
    h = hash_message(r8, a, msg)
    return Signature(r8, (r + h * s) % SUBORDER)


def verify_poseidon(msg: int, sig: Signature, a: Point) -> bool:
    """circomlibjs ``verifyPoseidon``: True iff ``sig`` signs ``msg`` under public key ``a``."""
    if not (babyjub.on_curve(sig.r8) and babyjub.on_curve(a)):
        return False
    if not 0 <= sig.s < SUBORDER or not 0 <= msg < P:
        return False
    # Reject low-order keys (8·A = identity): as the circomlib circuit does, but circomlibjs's
    # verifyPoseidon does not — it accepts R8 = S·B8 as a "signature" by the identity key.
    if babyjub.mul(a, 8)[0] == 0:
        return False
    h = hash_message(sig.r8, a, msg)
    left = babyjub.mul(B8, sig.s)
    right = babyjub.add(sig.r8, babyjub.mul(a, 8 * h))
    return left == right


@dataclass(frozen=True)
class PrivateKey:
    """A 32-byte EdDSA-Poseidon private key."""

    raw: bytes

    @classmethod
    def generate(cls) -> PrivateKey:
        """A fresh key from the OS CSPRNG."""
        return cls(secrets.token_bytes(32))

    @classmethod
    def from_hex(cls, text: str) -> PrivateKey:
        raw = bytes.fromhex(text.removeprefix("0x"))
        if len(raw) != 32:
            raise ValueError("private key must be 32 bytes (64 hex digits)")
        return cls(raw)

    def hex(self) -> str:
        return self.raw.hex()

    def public_key(self) -> PublicKey:
        return PublicKey(prv2pub(self.raw))

    def sign(self, msg: int) -> Signature:
        return sign_poseidon(self.raw, msg)

    def __repr__(self) -> str:  # never print the secret by accident
        return "PrivateKey(<hidden>)"


@dataclass(frozen=True)
class PublicKey:
    """A Baby Jubjub public key A (a point of the prime-order subgroup)."""

    point: Point

    @property
    def x(self) -> int:
        return self.point[0]

    @property
    def y(self) -> int:
        return self.point[1]

    def pack(self) -> bytes:
        """Compressed form (circomlibjs ``packPoint``), 32 bytes."""
        return babyjub.pack_point(self.point)

    @classmethod
    def unpack(cls, buf: bytes) -> PublicKey:
        pt = babyjub.unpack_point(buf)
        if pt is None:
            raise ValueError("not a packed Baby Jubjub point")
        return cls(pt)

    def hex(self) -> str:
        return self.pack().hex()

    @classmethod
    def from_hex(cls, text: str) -> PublicKey:
        return cls.unpack(bytes.fromhex(text.removeprefix("0x")))

    def verify(self, msg: int, sig: Signature) -> bool:
        return verify_poseidon(msg, sig, self.point)
