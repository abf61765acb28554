"""The deterministic randomness of snarkjs's phase 2, reproduced bit for bit.

A phase-2 contribution's G2 point ``g2_sp`` is not chosen by the contributor: it is derived from
the transcript hash, by seeding ffjavascript's ChaCha20 stream (8 big-endian words of the hash)
and drawing a point with its ``fromRng``. A beacon contribution derives its whole key the same
way from iterated SHA-256 of the beacon hash. Verifiers recompute both, so these draws must
match ffjavascript's exactly:

* ChaCha: the 20-round block function over the state (constants, seed, 4 counter words, no
  nonce); words are handed out in order, a fresh block every 16; ``nextU64`` is hi * 2^32 + lo.
* A field element: n64 u64 draws, limb i shifted by 64 i, masked to the prime's bit length,
  redrawn while >= p; the result is taken as a *Montgomery* representation (value = v / 2^256).
* A point: x from the field, then one bool ``greatest``; redrawn while x^3 + b is not a square;
  y is the square root whose sign (``isNegative``: > (p - 1) / 2, for Fq2 on c1 unless it is
  zero, then c0) equals ``greatest``; a G2 point is then multiplied by the cofactor.
"""

from __future__ import annotations

import hashlib
import struct

from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, MONT_R
from prover.field.curve import G2, _fq2_mul, _fq2_sqr

Q = FQ_MODULUS
_MASK32 = 0xFFFFFFFF
_G2_COFACTOR = 0x30644E72E131A029B85045B68181585E06CEECDA572A2489345F2299C0F9FA8D
_TWIST_B = G2.b


def _rotl(v: int, n: int) -> int:
    return ((v << n) | (v >> (32 - n))) & _MASK32


def _quarter(s: list[int], a: int, b: int, c: int, d: int) -> None:
    s[a] = (s[a] + s[b]) & _MASK32
    s[d] = _rotl(s[d] ^ s[a], 16)
    s[c] = (s[c] + s[d]) & _MASK32
    s[b] = _rotl(s[b] ^ s[c], 12)
    s[a] = (s[a] + s[b]) & _MASK32
    s[d] = _rotl(s[d] ^ s[a], 8)
    s[c] = (s[c] + s[d]) & _MASK32
    s[b] = _rotl(s[b] ^ s[c], 7)


class ChaCha:
    """ffjavascript's ChaCha stream (seeded with 8 u32 words)."""

    def __init__(self, seed: list[int]) -> None:
        if len(seed) != 8:
            raise ValueError("a ChaCha seed is 8 32-bit words")
        self.state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *seed, 0, 0, 0, 0]
        self.buff: list[int] = []
        self.idx = 16

    @classmethod
    def from_hash(cls, digest: bytes) -> ChaCha:
        """Seeded with the first 32 bytes of a hash read as 8 big-endian words."""
        return cls(list(struct.unpack(">8I", digest[:32])))

    def _update(self) -> None:
        x = list(self.state)
        for _ in range(10):
            _quarter(x, 0, 4, 8, 12)
            _quarter(x, 1, 5, 9, 13)
            _quarter(x, 2, 6, 10, 14)
            _quarter(x, 3, 7, 11, 15)
            _quarter(x, 0, 5, 10, 15)
            _quarter(x, 1, 6, 11, 12)
            _quarter(x, 2, 7, 8, 13)
            _quarter(x, 3, 4, 9, 14)
        self.buff = [(a + b) & _MASK32 for a, b in zip(x, self.state, strict=True)]
        self.idx = 0
        for i in range(12, 16):  # the 128-bit counter, carried word by word
            self.state[i] = (self.state[i] + 1) & _MASK32
            if self.state[i]:
                break

    def next_u32(self) -> int:
        if self.idx == 16:
            self._update()
        v = self.buff[self.idx]
        self.idx += 1
        return v

    def next_u64(self) -> int:
        hi = self.next_u32()
        return (hi << 32) | self.next_u32()

    def next_bool(self) -> bool:
        return bool(self.next_u32() & 1)


def field_from_rng(rng: ChaCha, p: int) -> int:
    """ffjavascript's ``F.fromRng`` for a 4-limb prime field, as a standard-form integer."""
    mask = (1 << p.bit_length()) - 1
    while True:
        v = 0
        for i in range(4):
            v |= rng.next_u64() << (64 * i)
        v &= mask
        if v < p:
            return v * pow(MONT_R, -1, p) % p  # the draw is a Montgomery representation


def _is_negative(v: int) -> bool:
    return v > (Q - 1) // 2


def _fq_sqrt(a: int) -> int | None:
    r = pow(a, (Q + 1) // 4, Q)  # q = 3 mod 4
    return r if r * r % Q == a % Q else None


def _fq2_pow(a: tuple[int, int], e: int) -> tuple[int, int]:
    out = (1, 0)
    while e:
        if e & 1:
            out = _fq2_mul(out, a)
        a = _fq2_sqr(a)
        e >>= 1
    return out


def _fq2_sqrt(a: tuple[int, int]) -> tuple[int, int] | None:
    """A square root in Fq2 = Fq[u]/(u^2 + 1), q = 3 mod 4 (Adj & Rodriguez-Henriquez, alg. 9)."""
    if a == (0, 0):
        return (0, 0)
    a1 = _fq2_pow(a, (Q - 3) // 4)
    alpha = _fq2_mul(_fq2_sqr(a1), a)
    x0 = _fq2_mul(a1, a)
    if alpha == (Q - 1, 0):
        x = (-x0[1] % Q, x0[0])  # u * x0
    else:
        b = _fq2_pow(((1 + alpha[0]) % Q, alpha[1]), (Q - 1) // 2)
        x = _fq2_mul(b, x0)
    return x if _fq2_sqr(x) == (a[0] % Q, a[1] % Q) else None


def g1_from_rng(rng: ChaCha) -> tuple[int, int]:
    """ffjavascript's ``G1.fromRng`` (affine, standard form)."""
    while True:
        x = field_from_rng(rng, Q)
        greatest = rng.next_bool()
        y = _fq_sqrt((x * x * x + 3) % Q)
        if y is not None:
            break
    if greatest != _is_negative(y):
        y = (Q - y) % Q
    return (x, y)


def g2_from_rng(rng: ChaCha):
    """ffjavascript's ``G2.fromRng``: a point of the twist times the cofactor (affine)."""
    while True:
        x = (field_from_rng(rng, Q), field_from_rng(rng, Q))
        greatest = rng.next_bool()
        x3 = _fq2_mul(_fq2_sqr(x), x)
        y = _fq2_sqrt(((x3[0] + _TWIST_B[0]) % Q, (x3[1] + _TWIST_B[1]) % Q))
        if y is not None:
            break
    negative = _is_negative(y[0]) if y[1] == 0 else _is_negative(y[1])
    if greatest != negative:
        y = ((Q - y[0]) % Q, (Q - y[1]) % Q)
    # not affine_mul: that reduces the scalar mod r, and the cofactor is above r
    return G2.to_affine(G2._double_and_add(G2.from_affine((x, y)), _G2_COFACTOR))


def hash_to_g2(transcript: bytes):
    """snarkjs's ``hashToG2``: the G2 point a phase-2 contribution's transcript commits to."""
    return g2_from_rng(ChaCha.from_hash(transcript))


def beacon_rng(beacon_hash: bytes, num_iterations_exp: int) -> ChaCha:
    """snarkjs's ``rngFromBeaconParams``: SHA-256 iterated 2^exp times, then ChaCha."""
    h = beacon_hash
    for _ in range(1 << num_iterations_exp):
        h = hashlib.sha256(h).digest()
    return ChaCha.from_hash(h)


def fr_from_rng(rng: ChaCha) -> int:
    return field_from_rng(rng, FR_MODULUS)


def keypair_from_rng(rng: ChaCha) -> tuple[int, tuple[int, int]]:
    """A phase-2 key the way snarkjs draws one: the secret delta, then the G1 point g1_s."""
    return fr_from_rng(rng), g1_from_rng(rng)


__all__ = ["ChaCha", "beacon_rng", "g1_from_rng", "g2_from_rng", "hash_to_g2", "keypair_from_rng"]
