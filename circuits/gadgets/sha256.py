"""SHA-256 in-circuit over bits (twin of ``circuits.native.sha256``; circomlib ``Sha256`` order).

Messages are big-endian bit streams (bit 0 = MSB of byte 0) and the digest comes back as 256 bits,
most significant first — ``native.sha256.bytes_to_bits`` converts. Internally a 32-bit word is a
list of 32 bit-LCs, least significant first, so rotations and shifts are free re-indexing.

Costs per bit: XOR 1 constraint (a + b - 2ab), Ch 1 (g + e(f - g)), Maj 2 (ab + c(a ⊕ b)); a sum of
k words mod 2^32 is one binary decomposition of the whole sum (32 + ⌈log2 k⌉ bits + 1).
Operations on constants fold away (the IV in the first block, the padding words).

=======================================================  ===========
part                                                     constraints
=======================================================  ===========
compression of one block (variable state and block)           26,416
``sha256`` of a 32-byte message (1 block, IV constant)        25,468
``sha256`` of a 64-byte message (2nd block all padding)       45,280
=======================================================  ===========

The message bits must already be proven boolean by the caller (``to_bits`` or ``assert_bool``).
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.builder import LC, ConstraintSystem, P, Signal, as_lc, lincomb
from circuits.gadgets.bits import to_bits
from circuits.native.sha256 import IV, K

Word = list[LC]  # 32 bits, least significant first


def _const(x: LC) -> int | None:
    return x.constant_value()


def const_word(value: int) -> Word:
    return [as_lc((value >> i) & 1) for i in range(32)]


def word_value(w: Word) -> int | None:
    """The word's value if all its bits are constants."""
    bits = [_const(b) for b in w]
    if any(b is None for b in bits):
        return None
    return sum(b << i for i, b in enumerate(bits))  # type: ignore[operator]


def _xor(cs: ConstraintSystem, a: LC, b: LC) -> LC:
    ka, kb = _const(a), _const(b)
    if ka is not None:
        return b if ka == 0 else 1 - b
    if kb is not None:
        return a if kb == 0 else 1 - a
    ab = cs.mul(a, b, name="xor")
    assert isinstance(ab, Signal)  # neither side is a constant
    out = a + b
    out.terms[ab.index] = P - 2  # a + b - 2ab; ab is a new signal, so its term goes last (out is not shared yet)
    return out


def _xor_words(cs: ConstraintSystem, *words: Word) -> Word:
    out = words[0]
    for w in words[1:]:
        out = [_xor(cs, x, y) for x, y in zip(out, w, strict=True)]
    return out


def _rotr(w: Word, n: int) -> Word:
    return [w[(i + n) % 32] for i in range(32)]


def _shr(w: Word, n: int) -> Word:
    return [w[i + n] if i + n < 32 else as_lc(0) for i in range(32)]


def _ch(cs: ConstraintSystem, e: Word, f: Word, g: Word) -> Word:
    return [gi + cs.mul(ei, fi - gi, name="ch") for ei, fi, gi in zip(e, f, g, strict=True)]


def _maj(cs: ConstraintSystem, a: Word, b: Word, c: Word) -> Word:
    out = []
    for ai, bi, ci in zip(a, b, c, strict=True):
        ab = cs.mul(ai, bi, name="maj_ab")
        out.append(ab + cs.mul(ci, ai + bi - ab * 2, name="maj"))
    return out


def _add(cs: ConstraintSystem, *words: Word | int) -> Word:
    """The sum of words (or int constants) mod 2^32."""
    total = lincomb(
        pair for w in words for pair in ([(w, 1)] if isinstance(w, int) else [(b, 1 << i) for i, b in enumerate(w)])
    )
    k = total.constant_value()
    if k is not None:
        return const_word(k % (1 << 32))
    extra = (len(words) - 1).bit_length()
    return list(to_bits(cs, total, 32 + extra)[:32])


def compress(cs: ConstraintSystem, state: Sequence[Word], block: Sequence[LC]) -> list[Word]:
    """One compression: 8-word ``state`` and a 512-bit block (big-endian bit stream)."""
    if len(block) != 512:
        raise ValueError("a block is 512 bits")
    with cs.scope("sha256_compress"):
        # Message words, big-endian bits -> LSB-first lists.
        w: list[Word] = [[as_lc(b) for b in reversed(block[32 * j : 32 * j + 32])] for j in range(16)]
        for i in range(16, 64):
            s0 = _xor_words(cs, _rotr(w[i - 15], 7), _rotr(w[i - 15], 18), _shr(w[i - 15], 3))
            s1 = _xor_words(cs, _rotr(w[i - 2], 17), _rotr(w[i - 2], 19), _shr(w[i - 2], 10))
            w.append(_add(cs, w[i - 16], s0, w[i - 7], s1))
        a, b, c, d, e, f, g, h = (list(x) for x in state)
        for i in range(64):
            s1 = _xor_words(cs, _rotr(e, 6), _rotr(e, 11), _rotr(e, 25))
            ch = _ch(cs, e, f, g)
            s0 = _xor_words(cs, _rotr(a, 2), _rotr(a, 13), _rotr(a, 22))
            maj = _maj(cs, a, b, c)
            # T1 = h + S1 + ch + K + W; a' = T1 + S0 + maj; e' = d + T1 (each one decomposition).
            new_a = _add(cs, h, s1, ch, K[i], w[i], s0, maj)
            new_e = _add(cs, d, h, s1, ch, K[i], w[i])
            a, b, c, d, e, f, g, h = new_a, a, b, c, new_e, e, f, g
        return [_add(cs, x, y) for x, y in zip(state, (a, b, c, d, e, f, g, h), strict=True)]


def pad_bits(n_bits: int) -> list[int]:
    """The constant padding appended to an ``n_bits``-bit message (FIPS 180-4 §5.1.1)."""
    zeros = (447 - n_bits) % 512
    return [1] + [0] * zeros + [(n_bits >> (63 - i)) & 1 for i in range(64)]


def sha256(cs: ConstraintSystem, bits: Sequence[LC | int]) -> list[LC]:
    """SHA-256 of a big-endian bit stream of any length; 256 digest bits, MSB first."""
    msg = [as_lc(b) for b in bits] + [as_lc(b) for b in pad_bits(len(bits))]
    state: list[Word] = [const_word(v) for v in IV]
    with cs.scope("sha256"):
        for k in range(0, len(msg), 512):
            state = compress(cs, state, msg[k : k + 512])
    return [bit for word in state for bit in reversed(word)]


def digest_to_field(digest_bits: Sequence[LC]) -> LC:
    """The digest read as a big-endian integer, mod r — free (the rollup's public input)."""
    return lincomb((b, 1 << (255 - i)) for i, b in enumerate(digest_bits))
