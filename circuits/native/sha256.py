"""SHA-256 twin of the in-circuit gadget, with the gadget's bit order.

The gadget (``circuits.gadgets.sha256``, like circomlib's ``Sha256``) works on a big-endian bit
stream: message bit 0 is the most significant bit of byte 0, and the 256 output bits come most
significant first. ``bytes_to_bits``/``bits_to_bytes`` convert with that order; the digest itself
is plain ``hashlib.sha256``. ``sha256_to_field`` is how the rollup's single public input is made
(SHA-256 of the public data, read big-endian, mod r — as Hermez and the L1 contract do).

``compress`` is the bare compression function on words, for checking one block of the gadget.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from circuits.native.poseidon_constants import P

#: Initial hash value H(0) (FIPS 180-4 §5.3.3).
IV = (
    0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19,
)  # fmt: skip

#: Round constants K (FIPS 180-4 §4.2.2).
K = (
    0x428A2F98, 0x71374491, 0xB5C0FBCF, 0xE9B5DBA5, 0x3956C25B, 0x59F111F1, 0x923F82A4, 0xAB1C5ED5,
    0xD807AA98, 0x12835B01, 0x243185BE, 0x550C7DC3, 0x72BE5D74, 0x80DEB1FE, 0x9BDC06A7, 0xC19BF174,
    0xE49B69C1, 0xEFBE4786, 0x0FC19DC6, 0x240CA1CC, 0x2DE92C6F, 0x4A7484AA, 0x5CB0A9DC, 0x76F988DA,
    0x983E5152, 0xA831C66D, 0xB00327C8, 0xBF597FC7, 0xC6E00BF3, 0xD5A79147, 0x06CA6351, 0x14292967,
    0x27B70A85, 0x2E1B2138, 0x4D2C6DFC, 0x53380D13, 0x650A7354, 0x766A0ABB, 0x81C2C92E, 0x92722C85,
    0xA2BFE8A1, 0xA81A664B, 0xC24B8B70, 0xC76C51A3, 0xD192E819, 0xD6990624, 0xF40E3585, 0x106AA070,
    0x19A4C116, 0x1E376C08, 0x2748774C, 0x34B0BCB5, 0x391C0CB3, 0x4ED8AA4A, 0x5B9CCA4F, 0x682E6FF3,
    0x748F82EE, 0x78A5636F, 0x84C87814, 0x8CC70208, 0x90BEFFFA, 0xA4506CEB, 0xBEF9A3F7, 0xC67178F2,
)  # fmt: skip

_M32 = 0xFFFFFFFF


def sha256(data: bytes) -> bytes:
    """The SHA-256 digest of ``data``."""
    return hashlib.sha256(bytes(data)).digest()


def bytes_to_bits(data: bytes) -> list[int]:
    """Big-endian bit stream: bit 8·i + j is bit (7 - j) of byte i (MSB first)."""
    return [(byte >> (7 - j)) & 1 for byte in data for j in range(8)]


def bits_to_bytes(bits: Sequence[int]) -> bytes:
    """Inverse of ``bytes_to_bits`` (len(bits) must be a multiple of 8)."""
    if len(bits) % 8:
        raise ValueError("bit count must be a multiple of 8")
    return bytes(sum(bits[i + j] << (7 - j) for j in range(8)) for i in range(0, len(bits), 8))


def sha256_bits(bits: Sequence[int]) -> list[int]:
    """What the gadget outputs for message ``bits``: the digest as 256 bits, MSB first."""
    return bytes_to_bits(sha256(bits_to_bytes(bits)))


def sha256_to_field(data: bytes) -> int:
    """SHA-256 of ``data`` as a big-endian integer, reduced mod r (the rollup public input)."""
    return int.from_bytes(sha256(data), "big") % P


def pad(data: bytes) -> bytes:
    """FIPS 180-4 padding: 0x80, zeros, 64-bit big-endian bit length, to a multiple of 64 bytes."""
    n = len(data)
    return bytes(data) + b"\x80" + b"\x00" * ((55 - n) % 64) + (8 * n).to_bytes(8, "big")


def _rotr(x: int, n: int) -> int:
    return ((x >> n) | (x << (32 - n))) & _M32


def compress(state: Sequence[int], block: bytes) -> list[int]:
    """One SHA-256 compression of a 64-byte block into the 8-word ``state``."""
    if len(block) != 64:
        raise ValueError("a block is 64 bytes")
    w = [int.from_bytes(block[4 * i : 4 * i + 4], "big") for i in range(16)]
    for i in range(16, 64):
        s0 = _rotr(w[i - 15], 7) ^ _rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
        s1 = _rotr(w[i - 2], 17) ^ _rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
        w.append((w[i - 16] + s0 + w[i - 7] + s1) & _M32)
    a, b, c, d, e, f, g, h = state
    for i in range(64):
        t1 = (h + (_rotr(e, 6) ^ _rotr(e, 11) ^ _rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i]) & _M32
        t2 = ((_rotr(a, 2) ^ _rotr(a, 13) ^ _rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) & _M32
        a, b, c, d, e, f, g, h = (t1 + t2) & _M32, a, b, c, (d + t1) & _M32, e, f, g
    return [(x + y) & _M32 for x, y in zip(state, (a, b, c, d, e, f, g, h), strict=True)]
