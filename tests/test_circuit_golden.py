"""The batch circuit's R1CS and witness are pinned: proving keys on disk are cached by the SHA-256
of the .r1cs (``prover.rollup.circuit_cache``), so a builder or gadget change that renumbers a
wire, reorders a constraint or rewrites a coefficient silently orphans every cached key.

The constants were recorded from the builder before its rewrite for speed (2026-11-21); a change
that alters them on purpose must say so and replace them, knowing that cached keys go stale.
The shapes are the test fixtures' (4-ary depth 2, chain 5), small enough to build in seconds.
"""

from __future__ import annotations

import dataclasses
import hashlib

import pytest

from circuits.builder import ConstraintSystem
from circuits.r1cs import R1CS
from circuits.rollup.batch_circuit import build_batch_circuit
from circuits.rollup.params import BatchShape
from prover.rollup.accounts import PrivateKey
from prover.rollup.batch import apply_batch
from prover.rollup.circuit_cache import r1cs_digest
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, Transfer, Withdrawal

DEPTH = 2
CHAIN = 5
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
PUBS = [k.public_key() for k in KEYS]

GOLDEN = {
    1: (
        "0622dc06a3c8549c7a3e9b06bb9e63b05b608372177d210c812f5f9e2f96ead8",
        "c75cec054e4d22c9f89a819c3c5b18bf30142806537d34a33246951d36c23986",
    ),
    2: (
        "08d43115bb848119f28295c9215f43431bbfb65eedbad26d36cad771a2be97db",
        "0024e3dfea3d70874a6bae61f71305e487ec671161a45f34c0c907e85b1a7fb8",
    ),
    4: (
        "814d41eba9b8dfe8b615851eb1267932c99529a1d90d949056a9801488644e43",
        "a1a2b7a9b7d1ef06897c6c10a72596f14220eb2d2ab3323268099aa442c3fc67",
    ),
}


def batch_inputs(n: int) -> dict:
    """A funded state, then a batch mixing a transfer, a withdrawal and a deposit (padded to n)."""
    st = State(DEPTH)
    funding = [Deposit(PUBS[0], 1000), Deposit(PUBS[1], 500), Deposit(PUBS[2], 5)][:n]
    apply_batch(st, funding, batch_size=n, chain_id=CHAIN, batch_number=1)
    if n == 1:
        txs = [Transfer(0, 0, 100, 3, 0).signed(KEYS[0], CHAIN)]
    else:
        txs = [
            Transfer(0, 1, 100, 3, 0).signed(KEYS[0], CHAIN),
            Withdrawal(1, 0xDEADBEEF, 1, 0, 0).signed(KEYS[1], CHAIN),
            Deposit(PUBS[2], 7),
        ][:n]
    return apply_batch(st, txs, batch_size=n, chain_id=CHAIN, batch_number=2, fee_account=1 if n > 1 else 0).inputs


@pytest.mark.parametrize("n", sorted(GOLDEN))
def test_batch_circuit_r1cs_and_witness_are_unchanged(n: int) -> None:
    circuit = build_batch_circuit(BatchShape(n, DEPTH))
    witness = circuit.witness(batch_inputs(n))
    witness_hash = hashlib.sha256(b"".join(v.to_bytes(32, "little") for v in witness)).hexdigest()
    assert (r1cs_digest(circuit.r1cs), witness_hash) == GOLDEN[n]


def _permutation(t: int, kind: str, round_by_round: bool, monkeypatch) -> tuple[list, list]:
    from circuits.gadgets import poseidon as gadget

    if round_by_round:
        monkeypatch.setattr(gadget, "_partial_rounds", lambda cs, s: None)
    cs = ConstraintSystem(f"poseidon_t{t}")
    xs = cs.private_input("x", t + 1)
    if kind == "signals":
        state = list(xs[:t])
    else:  # linear combinations with constants, and a constant cell
        state = [xs[i] * (i + 3) - xs[i + 1] + i if i else 7 for i in range(t)]
    out = gadget.poseidon_permutation(cs, state)
    monkeypatch.undo()
    # term order too: a fresh setup records coefficients in dict order
    constraints = [tuple(tuple(lc.items()) for lc in c) for c in cs.compile().r1cs.constraints]
    return constraints, [tuple(x.terms.items()) for x in out]


@pytest.mark.parametrize("t", [2, 3, 5, 6, 8, 17])
@pytest.mark.parametrize("kind", ["signals", "combinations"])
def test_poseidon_partial_rounds_match_round_by_round_mixing(t: int, kind: str, monkeypatch) -> None:
    assert _permutation(t, kind, False, monkeypatch) == _permutation(t, kind, True, monkeypatch)


def _plain(r1cs: R1CS) -> R1CS:
    """The same system with its constraints as a list of dicts (the reader's form)."""
    return dataclasses.replace(r1cs, constraints=list(r1cs.constraints))


@pytest.mark.parametrize("terms", [1, 2])
def test_many_distinct_coefficients(terms: int) -> None:
    """Past 65,536 distinct coefficients the builder widens its coefficient indices mid-build."""
    cs = ConstraintSystem("coefficients")
    x = cs.private_input("x")
    n = 70_000
    for i in range(n):
        lc = x * (i + 2) if terms == 1 else x * (i + 2) + 3 * i + 1
        cs.enforce(lc, 1, lc)
    c = cs.compile()
    assert c.r1cs.constraints.cidx.typecode == "I"  # type: ignore[attr-defined]  # the widening happened
    last = {1: n + 1} if terms == 1 else {1: n + 1, 0: 3 * n - 2}
    assert c.r1cs.constraints[-1] == (last, {0: 1}, last)
    c.witness({"x": 3})
    assert r1cs_digest(c.r1cs) == r1cs_digest(_plain(c.r1cs))


def test_constraint_table_writes_what_the_dict_writer_writes() -> None:
    c = build_batch_circuit(BatchShape(1, 1))
    assert r1cs_digest(c.r1cs) == r1cs_digest(_plain(c.r1cs))
    assert _plain(c.r1cs).constraints == c.r1cs.constraints
