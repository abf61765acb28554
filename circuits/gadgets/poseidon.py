"""Poseidon permutation and hash in-circuit, the twin of ``circuits.native.poseidon``.

Each S-box x^5 costs 3 constraints (x² = x·x, x⁴ = x²·x², x⁵ = x⁴·x); full rounds have t S-boxes,
partial rounds one; round constants and the MDS layer are linear and free. An S-box whose input
is a known constant (the zero capacity cell in the first round) folds away, so Poseidon with n
inputs costs 3·(8·t + R_P) - 3 constraints:

=====  ========  ===========
 t      inputs   constraints
=====  ========  ===========
 3        2          240
 5        4          297
 6        5          321
=====  ========  ===========

(t = 3 matches circom's count for circomlib ``Poseidon(2)``.)

The MDS products are accumulated straight into coefficient dicts instead of chaining ``LC``
additions: in partial rounds the cells stay linear combinations of every earlier S-box output
(t + round terms), and chained additions would copy those dicts t² times per round.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.builder import LC, ONE, ConstraintSystem, as_lc
from circuits.native.poseidon import MAX_INPUTS
from circuits.native.poseidon_constants import N_ROUNDS_F, P, n_rounds_p, poseidon_params


def _add_const(x: LC, c: int) -> LC:
    terms = dict(x.terms)
    v = (terms.get(ONE, 0) + c) % P
    if v:
        terms[ONE] = v
    else:
        terms.pop(ONE, None)
    return LC(terms)


def _mix(mds: Sequence[Sequence[int]], state: list[LC]) -> list[LC]:
    out = []
    for row in mds:
        acc: dict[int, int] = {}
        for m, cell in zip(row, state, strict=True):
            for sig, coef in cell.terms.items():
                acc[sig] = acc.get(sig, 0) + m * coef
        out.append(LC({k: v % P for k, v in acc.items() if v % P}))
    return out


def sbox(cs: ConstraintSystem, x: LC) -> LC:
    """x^5 with 3 constraints (none when x is a constant)."""
    x2 = cs.mul(x, x, name="x2")
    x4 = cs.mul(x2, x2, name="x4")
    return cs.mul(x4, x, name="x5")


def poseidon_permutation(cs: ConstraintSystem, state: Sequence[LC | int]) -> list[LC]:
    """The Poseidon permutation of width t = len(state) (2..17); returns the t output cells."""
    t = len(state)
    consts, mds = poseidon_params(t)
    r_p = n_rounds_p(t)
    half_f = N_ROUNDS_F // 2
    s = [as_lc(x) for x in state]
    with cs.scope(f"poseidon_t{t}"):
        for r in range(N_ROUNDS_F + r_p):
            s = [_add_const(x, consts[r * t + i]) for i, x in enumerate(s)]
            if r < half_f or r >= half_f + r_p:
                s = [sbox(cs, x) for x in s]
            else:
                s[0] = sbox(cs, s[0])
            s = _mix(mds, s)
    return s


def poseidon(cs: ConstraintSystem, inputs: Sequence[LC | int]) -> LC:
    """Poseidon hash of 1..16 inputs (circomlib ``Poseidon(n)``): a linear combination."""
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {len(inputs)}")
    return poseidon_permutation(cs, [0, *inputs])[0]
