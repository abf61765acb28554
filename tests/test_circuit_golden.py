"""The batch circuit's R1CS and witness are pinned: proving keys on disk are cached by the SHA-256
of the .r1cs (``prover.rollup.circuit_cache``), so a builder or gadget change that renumbers a
wire, reorders a constraint or rewrites a coefficient silently orphans every cached key.

The constants were first recorded from the builder before its rewrite for speed (2026-11-21),
and re-recorded on 2026-12-07 when the batch circuit changed by design (issue #13: account
owner in the leaf, forced exits, the domain of chain id and Rollup address), with the builder
untouched. A change that alters them on purpose must say so and replace them, knowing that
cached keys go stale. The shapes are the test fixtures' (4-ary depth 2), small enough to build
in seconds.
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
from prover.rollup.public_data import Domain
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, ForcedExit, Transfer, Withdrawal

DEPTH = 2
DOMAIN = Domain(5, 0x5FBDB2315678AFECB367F032D93F642F64180AA3)
OWNERS = [0x1000, 0x1001, 0x1002]
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
PUBS = [k.public_key() for k in KEYS]

GOLDEN = {
    1: (
        "30cac436216d3f7491a658b17894cd97376c168aab52f3f2986ab3f7ecdd8bef",
        "58d4c950ba2f90525ea8b15a6151afcc28846eccad03236392f2a7b808e30f09",
    ),
    2: (
        "be741bd5bf6d44054fb02c2e1cf0564923247b4abeaaff3411acaefc9e8f535b",
        "2106ff5ddbb942a5799c155c9c7b55f5d2ab2a91fe1f17916a99ecadeec05e8c",
    ),
    4: (
        "9c07eb3a44e80d7835484f06896ca0fdfab8eff1931ce3da36c01d7dfd9dfe41",
        "ed57b6070b69be6edd8c16c52bcfe8ddaaef6e32d466a9b085400b71e381e4a7",
    ),
}


def batch_inputs(n: int) -> dict:
    """A funded state, then a batch mixing a transfer, a withdrawal, a top-up and a forced exit
    (padded to n)."""
    st = State(DEPTH)
    funding = [Deposit(PUBS[i], amount, OWNERS[i]) for i, amount in enumerate((1000, 500, 5))][:n]
    apply_batch(st, funding, batch_size=n, domain=DOMAIN, batch_number=1)
    if n == 1:
        txs = [Transfer(0, 0, 100, 3, 0).signed(KEYS[0], DOMAIN)]
    else:
        txs = [
            Transfer(0, 1, 100, 3, 0).signed(KEYS[0], DOMAIN),
            Withdrawal(1, 0xDEADBEEF, 1, 0, 0).signed(KEYS[1], DOMAIN),
            Deposit(None, 7, 0xBEEF, index=0),
            ForcedExit(2, OWNERS[2]),
        ][:n]
    return apply_batch(st, txs, batch_size=n, domain=DOMAIN, batch_number=2, fee_account=1 if n > 1 else 0).inputs


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
