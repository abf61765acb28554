"""Poseidon's optimized form (the Poseidon paper's appendix B, as circomlib's
``poseidon_constants_opt``): the same permutation with one constant and a sparse matrix per
partial round, derived from the plain constants of ``poseidon_constants``.

Two users: the generated Solidity Poseidon (``l1.solidity_export``) and the native operator
(``circuits.native.fast``, ``prover/backend/native/operator.c``).
"""

from __future__ import annotations

from dataclasses import dataclass

from circuits.native.poseidon_constants import N_ROUNDS_F, P, n_rounds_p, poseidon_params


def _mat_inv(m: list[list[int]]) -> list[list[int]]:
    """Inverse of a square matrix over F_r (Gauss-Jordan)."""
    n = len(m)
    a = [[x % P for x in row] + [int(i == j) for j in range(n)] for i, row in enumerate(m)]
    for col in range(n):
        piv = next(i for i in range(col, n) if a[i][col])
        a[col], a[piv] = a[piv], a[col]
        inv = pow(a[col][col], P - 2, P)
        a[col] = [x * inv % P for x in a[col]]
        for i in range(n):
            if i != col and a[i][col]:
                f = a[i][col]
                a[i] = [(x - f * y) % P for x, y in zip(a[i], a[col], strict=True)]
    return [row[n:] for row in a]


def _mat_mul(a: list[list[int]], b: list[list[int]]) -> list[list[int]]:
    cols = list(zip(*b, strict=True))
    return [[sum(x * y for x, y in zip(row, col, strict=True)) % P for col in cols] for row in a]


def _mat_pow(m: list[list[int]], e: int) -> list[list[int]]:
    out = [[int(i == j) for j in range(len(m))] for i in range(len(m))]
    while e:
        if e & 1:
            out = _mat_mul(out, m)
        m = _mat_mul(m, m)
        e >>= 1
    return out


@dataclass(frozen=True)
class OptimizedPoseidon:
    """Poseidon's optimized form (Poseidon paper, appendix B; as circomlib's ``poseidon_constants_opt``),
    derived here from the plain Grain-LFSR constants and MDS matrix of one width ``t``.

    Round r adds ``constants[r]`` (a full row in full rounds, one value for cell 0 in partial
    rounds), applies the S-box (to every cell, or to cell 0), then its linear layer: ``mds`` in
    full rounds except ``pre_sparse`` in the last full round before the partial rounds, and in
    partial round k the sparse matrix [[mds[0][0], v[k]], [w[k], I]]:
    cell 0 <- mds[0][0]·s0 + v[k]·(s1..), cell j <- w[k][j-1]·s0 + s_j.

    Why it is the same permutation: (1) in a partial round the constants of cells 1.. pass the
    S-box unchanged, so M·b can be added to the next round's constants instead (pushed forward
    to the first of the final full rounds); (2) a partial round's matrix factors as
    L = [[L00, L0r·H^-1], [Lr0, I]]·diag(1, H), H the lower-right block of L, and diag(1, H)
    commutes with the cell-0-only constant and S-box, so it moves into the previous round's
    matrix (diag(1, H)·M), from the last partial round back to the last full round.
    """

    t: int
    full_rounds: int
    partial_rounds: int
    constants: tuple[tuple[int, ...], ...]
    mds: tuple[tuple[int, ...], ...]
    pre_sparse: tuple[tuple[int, ...], ...]
    v: tuple[tuple[int, ...], ...]
    w: tuple[tuple[int, ...], ...]


def optimized_poseidon_params(t: int) -> OptimizedPoseidon:
    consts, mds = poseidon_params(t)
    r_p = n_rounds_p(t)
    half = N_ROUNDS_F // 2
    n_rounds = N_ROUNDS_F + r_p
    m = [list(row) for row in mds]
    c = [list(consts[r * t : (r + 1) * t]) for r in range(n_rounds)]
    # (1) constants of cells 1.. in partial rounds: pushed forward through the MDS.
    for r in range(half, half + r_p):
        rest = [0, *c[r][1:]]
        c[r][1:] = [0] * (t - 1)
        pushed = [sum(a * b for a, b in zip(row, rest, strict=True)) for row in m]
        c[r + 1] = [(x + y) % P for x, y in zip(c[r + 1], pushed, strict=True)]
    # (2) sparse factorisation, from the last partial round back. Step k's matrix is
    # diag(1, Ĥ^k)·M (Ĥ the lower-right block of M), so its blocks are powers of Ĥ: row 0 stays
    # M's, v_k = M[0][1:]·Ĥ^-(k+1) and w_k = Ĥ^k·M[1:][0], each one product from the last.
    hat = [row[1:] for row in m[1:]]
    hat_inv = _mat_inv(hat)
    v_k = _mat_mul([m[0][1:]], hat_inv)[0]
    w_k = [row[0] for row in m[1:]]
    v: list[tuple[int, ...]] = []
    w: list[tuple[int, ...]] = []
    for _ in range(r_p):
        v.append(tuple(v_k))
        w.append(tuple(w_k))
        v_k = _mat_mul([v_k], hat_inv)[0]
        w_k = [x for (x,) in _mat_mul(hat, [[y] for y in w_k])]
    power = _mat_pow(hat, r_p)
    lift = [[int(i == j) if i == 0 or j == 0 else power[i - 1][j - 1] for j in range(t)] for i in range(t)]
    layer = _mat_mul(lift, m)
    consts_opt = tuple(tuple(row) if not half <= r < half + r_p else (row[0],) for r, row in enumerate(c))
    return OptimizedPoseidon(
        t=t,
        full_rounds=N_ROUNDS_F,
        partial_rounds=r_p,
        constants=consts_opt,
        mds=tuple(tuple(row) for row in m),
        pre_sparse=tuple(tuple(row) for row in layer),
        v=tuple(reversed(v)),
        w=tuple(reversed(w)),
    )


def optimized_poseidon_permutation(state: list[int], params: OptimizedPoseidon) -> list[int]:
    """The permutation computed in the optimized form (a check of the derivation, and the
    reference the generated contract follows round by round)."""
    p = P
    half, r_p = params.full_rounds // 2, params.partial_rounds
    s = [x % p for x in state]
    for r, c in enumerate(params.constants):
        if half <= r < half + r_p:
            k = r - half
            s[0] = pow(s[0] + c[0], 5, p)
            v, w = params.v[k], params.w[k]
            s0 = (params.mds[0][0] * s[0] + sum(a * b for a, b in zip(v, s[1:], strict=True))) % p
            s = [s0, *((wj * s[0] + sj) % p for wj, sj in zip(w, s[1:], strict=True))]
        else:
            s = [pow(x + k, 5, p) for x, k in zip(s, c, strict=True)]
            mat = params.pre_sparse if r == half - 1 else params.mds
            s = [sum(a * b for a, b in zip(row, s, strict=True)) % p for row in mat]
    return s
