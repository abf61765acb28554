"""Poseidon hash over the BN254 scalar field, as circomlib/circomlibjs (current version).

``poseidon(inputs)`` for 1..16 inputs: state = [0, *inputs] (t = len(inputs) + 1, the capacity
cell first), R_F = 8 full rounds split 4/4 around R_P partial rounds, S-box x^5, each round
"add constants, S-box, multiply by the MDS matrix"; the output is state[0]. This is the plain
(reference) form of circomlibjs ``poseidon_reference.js``; it is about 0.1 ms per t = 3 hash,
which is enough for the rollup's Merkle updates.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.native.poseidon_constants import N_ROUNDS_F, P, n_rounds_p, poseidon_params

MAX_INPUTS = 16


def poseidon_permutation(state: Sequence[int]) -> list[int]:
    """Apply the Poseidon permutation for width ``t = len(state)`` and return the new state."""
    t = len(state)
    consts, mds = poseidon_params(t)
    r_p = n_rounds_p(t)
    half_f = N_ROUNDS_F // 2
    p = P
    s = [x % p for x in state]
    rows = [tuple(row) for row in mds]
    for r in range(N_ROUNDS_F + r_p):
        c = consts[r * t : (r + 1) * t]
        if r < half_f or r >= half_f + r_p:
            s = [x + k for x, k in zip(s, c, strict=True)]
            # x^5 as x * (x^2)^2; the products stay below 2^1100, cheaper than pow(x, 5, p).
            s = [x * (x2 := x * x % p) * x2 % p for x in s]
        else:
            # Partial round: only the first cell goes through the S-box; the others need no
            # reduction here because the MDS sum below reduces everything.
            x = s[0] + c[0]
            x2 = x * x % p
            s = [x * x2 * x2 % p, *(y + k for y, k in zip(s[1:], c[1:], strict=True))]
        s = [sum(map(int.__mul__, row, s)) % p for row in rows]
    return s


def poseidon(inputs: Sequence[int], init_state: int = 0, n_out: int = 1) -> int | list[int]:
    """Poseidon hash of 1..16 field elements (reduced mod r), as circomlibjs ``poseidon``.

    ``init_state`` is the capacity cell (0 for the standard hash); with ``n_out > 1`` the first
    ``n_out`` cells of the final state are returned as a list, as circomlibjs does.
    """
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {len(inputs)}")
    out = poseidon_permutation([init_state, *inputs])
    return out[0] if n_out == 1 else out[:n_out]


def poseidon_hash(inputs: Sequence[int]) -> int:
    """``poseidon`` with a single output, typed as ``int`` (what Merkle trees and EdDSA use)."""
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {len(inputs)}")
    return poseidon_permutation([0, *inputs])[0]
