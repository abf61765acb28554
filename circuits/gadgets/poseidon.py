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

Partial rounds are where building time goes: the cells stay linear combinations of every earlier
S-box output (t + round terms), and mixing them round by round costs t² · terms per round. But
only cell 0 is needed each round (it is the S-box input), and the state is linear in the S-box
outputs with coefficients that depend on the round alone: after the S-box of round q, the
output z_q enters as column 0 of M, and every later round multiplies the state by N = M with
column 0 zeroed (cell 0 is overwritten by the next S-box). So the coefficient of z_k in cell i
at round q is (N^(q-1-k) · M e0)[i], the same for every hash of width t; the cells entering the
partial rounds evolve by N^q, and the round constants add a fixed vector. ``_PartialPlan``
precomputes these per t once, and each round then builds its S-box input directly (no
multiplications for the S-box terms); all t cells are formed once, after the last partial round.

The linear combinations come out exactly as round-by-round mixing makes them, terms in the same
order (newest S-box output first, then the entering signals, then the constant), so the R1CS is
unchanged; an unusual entering state (cells over different signals, e.g. constant inputs) takes
the round-by-round path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from operator import mul

from circuits.builder import LC, ONE, ConstraintSystem, Signal, as_lc
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


def _mat_vec(m: Sequence[Sequence[int]], v: Sequence[int]) -> list[int]:
    return [sum(a * b for a, b in zip(row, v, strict=True)) % P for row in m]


@dataclass(frozen=True)
class _PartialPlan:
    """The partial rounds of width t as fixed linear maps (see the module docstring)."""

    z0: tuple[int, ...]  # z0[a]: coefficient in cell 0 of the S-box output from a rounds back
    z_final: tuple[tuple[int, ...], ...]  # z_final[i][a]: the same in cell i after the last round
    entry0: tuple[tuple[int, ...], ...]  # entry0[q]: row 0 of N^q, applied to the entering cells
    entry_final: tuple[tuple[int, ...], ...]  # N^R_P
    const0: tuple[int, ...]  # const0[q]: constant of cell 0 at round q (constants of rounds < q)
    const_final: tuple[int, ...]  # constant of each cell after the last round
    regular: bool  # no zero coefficient anywhere, so no term drops out of one cell but not another


@cache
def _partial_plan(t: int) -> _PartialPlan:
    consts, mds = poseidon_params(t)
    r_p = n_rounds_p(t)
    first = N_ROUNDS_F // 2
    n_mat = [[0, *row[1:]] for row in mds]
    u = [row[0] for row in mds]  # M e0: where the S-box output lands
    ages: list[list[int]] = []
    for _ in range(r_p):
        ages.append(u)
        u = _mat_vec(n_mat, u)
    power = [[int(i == j) for j in range(t)] for i in range(t)]  # N^q, q = 0 first
    d = [0] * t
    entry0, const0 = [], []
    for q in range(r_p):
        c = consts[(first + q) * t : (first + q + 1) * t]
        entry0.append(tuple(power[0]))
        const0.append((d[0] + c[0]) % P)
        d = _mat_vec(n_mat, [(x + k) % P for x, k in zip(d, c, strict=True)])
        power = [[sum(n_mat[i][k] * power[k][j] for k in range(t)) % P for j in range(t)] for i in range(t)]
    # Entering coefficients depend on the inputs and vanish only by chance (about 1/r each); the
    # S-box coefficients are fixed per t, so check them.
    regular = all(x for age in ages for x in age)
    return _PartialPlan(
        z0=tuple(age[0] for age in ages),
        z_final=tuple(tuple(age[i] for age in ages) for i in range(t)),
        entry0=tuple(entry0),
        entry_final=tuple(tuple(row) for row in power),
        const0=tuple(const0),
        const_final=tuple(d),
        regular=regular,
    )


def _terms(zs: list[int], zc: Sequence[int], keys: Sequence[int], cols: list[list[int]], w: Sequence[int], k: int):
    """Newest-first S-box outputs with coefficients ``zc``, then the entering ``keys`` combined
    with weights ``w`` over their columns, then the constant ``k``: one cell, as a dict."""
    terms = dict(zip(zs, zc, strict=False))
    for key, col in zip(keys, cols, strict=True):
        v = sum(map(mul, w, col)) % P
        if key == ONE:
            v = (v + k) % P
        if v:
            terms[key] = v
    if ONE not in keys and k:
        terms[ONE] = k
    return terms


def _partial_rounds(cs: ConstraintSystem, s: list[LC]) -> list[LC] | None:
    """The partial rounds by the precomputed plan, or None when the entering state is unusual."""
    t = len(s)
    plan = _partial_plan(t)
    keys = list(s[0].terms)
    if not plan.regular or any(list(x.terms) != keys for x in s):
        return None
    if not keys or keys == [ONE]:
        return None  # constant cells: the S-boxes fold, which the plan does not model
    # cols[j][i]: coefficient of the j-th entering key in cell i
    cols = [[x.terms[key] for x in s] for key in keys]
    zs: list[int] = []  # S-box outputs, newest first
    for q in range(len(plan.z0)):
        x = LC(_terms(zs, plan.z0, keys, cols, plan.entry0[q], plan.const0[q]))
        z = sbox(cs, x)
        assert isinstance(z, Signal)  # x is not constant (it has the entering terms), so x^5 is a new signal
        zs.insert(0, z.index)
    return [LC(_terms(zs, plan.z_final[i], keys, cols, plan.entry_final[i], plan.const_final[i])) for i in range(t)]


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
        r = 0
        while r < N_ROUNDS_F + r_p:
            if r == half_f:
                fast = _partial_rounds(cs, s)
                if fast is not None:
                    s, r = fast, r + r_p
                    continue
            s = [_add_const(x, consts[r * t + i]) for i, x in enumerate(s)]
            if r < half_f or r >= half_f + r_p:
                s = [sbox(cs, x) for x in s]
            else:
                s[0] = sbox(cs, s[0])
            s = _mix(mds, s)
            r += 1
    return s


def poseidon(cs: ConstraintSystem, inputs: Sequence[LC | int]) -> LC:
    """Poseidon hash of 1..16 inputs (circomlib ``Poseidon(n)``): a linear combination."""
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {len(inputs)}")
    return poseidon_permutation(cs, [0, *inputs])[0]
