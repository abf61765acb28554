"""Poseidon round constants and MDS matrices for BN254, generated from the Grain LFSR.

This reproduces the Poseidon reference script ``generate_parameters_grain.sage`` (hadeshash) as
circomlib/circomlibjs ran it: ``sage generate_parameters_grain.sage 1 0 254 t 8 R_P p``, i.e.
field = 1 (GF(p)), S-box = 0 (x^5), n = 254 bits, t cells, R_F = 8, R_P from the table below.
The constants are derived here rather than pasted so they can be audited against the paper.

Generation is lazy and cached per t (``functools.cache``): t = 3 takes a few milliseconds, all sixteen
widths together well under a second.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

#: BN254 scalar field (the circuit field), ARCHITECTURE §3.
P = 21888242871839275222246405745257275088548364400416034343698204186575808495617

#: Full rounds (4 before and 4 after the partial rounds), the same for every width.
N_ROUNDS_F = 8
#: Partial rounds by t = 2..17 (circomlib's table; Poseidon paper table 2/8, rounded up).
N_ROUNDS_P = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)

MIN_T = 2
MAX_T = 17
_FIELD_SIZE = 254

# LFSR of the Grain-like generator: b[k+80] = b[k+62] ^ b[k+51] ^ b[k+38] ^ b[k+23] ^ b[k+13] ^ b[k].
_DEGREE = 80
_TAPS = (62, 51, 38, 23, 13, 0)
# Over GF(2) the sequence also satisfies the recurrence of p(x)^16 = p(x^16) (taps times 16),
# whose nearest tap is 16 * 18 = 288 bits behind the new bit: one word-wide XOR of Python ints
# yields 288 new bits at once. That, and filtering pairs with a regex, keeps generation in pure
# Python fast (all sixteen widths in a fraction of a second).
_SPREAD = 16
# A pair "0x" yields "" and a pair "1b" yields b; every match consumes exactly two bits, so the
# pairing stays aligned, and findall + join do the filtering in C.
_SHRINK = re.compile(r"0.|1(.)")


def n_rounds_p(t: int) -> int:
    """Partial rounds for state width ``t`` (= number of inputs + 1)."""
    if not MIN_T <= t <= MAX_T:
        raise ValueError(f"Poseidon width t must be in {MIN_T}..{MAX_T}, got {t}")
    return N_ROUNDS_P[t - MIN_T]


def _raw_bits(init: str) -> Iterator[str]:
    """Raw LFSR output after the 80 initial bits, oldest first, in chunks of '0'/'1' strings."""
    hist = int(init[::-1], 2)  # bit i of ``hist`` is b[i]
    length = _DEGREE

    def extend(degree: int, taps: tuple[int, ...]) -> str:
        nonlocal hist, length
        chunk = degree - taps[0]
        k = length - degree  # the new bits are b[k+degree .. k+degree+chunk-1]
        new = 0
        for tau in taps:
            new ^= hist >> (k + tau)
        new &= (1 << chunk) - 1
        hist |= new << length
        length += chunk
        return format(new, f"0{chunk}b")[::-1]

    # Bootstrap with the plain recurrence until the long one has its full history.
    while length < _DEGREE * _SPREAD:
        yield extend(_DEGREE, _TAPS)
    big_degree = _DEGREE * _SPREAD
    big_taps = tuple(tau * _SPREAD for tau in _TAPS)
    while True:
        # Keep exactly ``big_degree`` bits of history so the ints stay small.
        hist >>= length - big_degree
        length = big_degree
        yield extend(big_degree, big_taps)


class _Grain:
    """The self-shrinking Grain LFSR of the Poseidon paper (appendix E / the reference script).

    Init: field (2 bits), S-box (4), n (12), t (12), R_F (10), R_P (10), thirty 1s; the first 160
    raw bits are discarded; then of each raw pair (a, b) the output is b when a == 1, nothing
    otherwise — exactly the script's ``grain_sr_generator`` loop.
    """

    def __init__(self, field: int, sbox: int, n: int, t: int, r_f: int, r_p: int) -> None:
        init = (
            format(field, "02b")
            + format(sbox, "04b")
            + format(n, "012b")
            + format(t, "012b")
            + format(r_f, "010b")
            + format(r_p, "010b")
            + "1" * 30
        )
        self._raw = _raw_bits(init)
        self._pending = ""  # raw bits not yet paired
        self._out = ""  # filtered output bits not yet consumed
        while len(self._pending) < 160:
            self._pending += next(self._raw)
        self._pending = self._pending[160:]

    def bits(self, count: int) -> str:
        """Next ``count`` output bits of the shrinking generator, as a '0'/'1' string."""
        out = self._out
        while len(out) < count:
            # ~4 raw bits per output bit on average.
            parts = [self._pending]
            have = len(self._pending)
            while have < 4 * (count - len(out)) + 64:
                chunk = next(self._raw)
                parts.append(chunk)
                have += len(chunk)
            raw = "".join(parts)
            even = len(raw) - len(raw) % 2
            out += "".join(_SHRINK.findall(raw[:even]))
            self._pending = raw[even:]
        self._out = out[count:]
        return out[:count]

    def random_int(self, n: int) -> int:
        """``grain_random_bits(n)``: n output bits read MSB first."""
        return int(self.bits(n), 2)


def _inv(a: int) -> int:
    return pow(a, P - 2, P)


@cache
def poseidon_params(t: int) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """Return ``(C, M)`` for width ``t``: (R_F + R_P)·t round constants and the t×t MDS matrix.

    ``C[r*t + i]`` is the constant added to cell i in round r; ``M[i][j]`` multiplies cell j into
    cell i — the same layout as circomlibjs ``poseidon_constants.json``.
    """
    r_p = n_rounds_p(t)
    grain = _Grain(1, 0, _FIELD_SIZE, t, N_ROUNDS_F, r_p)

    # Round constants: rejection-sample 254-bit integers below p (field == 1 branch).
    consts: list[int] = []
    for _ in range((N_ROUNDS_F + r_p) * t):
        v = grain.random_int(_FIELD_SIZE)
        while v >= P:
            v = grain.random_int(_FIELD_SIZE)
        consts.append(v)

    # MDS: Cauchy matrix 1/(x_i + y_j) from 2t LFSR draws reduced mod p (F(grain_random_bits(n))),
    # redrawn if the draws repeat or some x_i + y_j = 0. The reference script also redraws when
    # its invariant-subspace checks (algorithms 1-3) fail; for every t used by circomlib the first
    # Cauchy matrix passes them, which the interop tests confirm against circomlibjs's matrices.
    while True:
        draws = [grain.random_int(_FIELD_SIZE) % P for _ in range(2 * t)]
        while len(set(draws)) != len(draws):
            draws = [grain.random_int(_FIELD_SIZE) % P for _ in range(2 * t)]
        xs, ys = draws[:t], draws[t:]
        if all((x + y) % P for x in xs for y in ys):
            break
    mds = tuple(tuple(_inv((x + y) % P) for y in ys) for x in xs)
    return tuple(consts), mds
