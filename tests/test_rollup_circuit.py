"""The batch circuit: end-to-end proofs, and soundness (each broken rule is refused by the circuit).

One circuit (batch size 4, 4-ary depth 2: 16 accounts, 121,629 constraints) is compiled once for
the module. Its proving key comes from the on-disk cache (``prover.rollup.circuit_cache``,
``$ZKPROVER_CACHE_DIR`` or ``~/.cache/zkprover``): the first run on a machine runs the pure-Python
development setup for it (several minutes), later runs only load it.

Soundness tests build the inputs of a batch that breaks one rule (``apply_batch(check=False)``
applies the arithmetic mod r without the rules) or tamper with one input, then require that
the witness fails *only* the constraints of that rule: the circuit, not a lucky side effect,
refuses it.
"""

from __future__ import annotations

import copy
import hashlib

import pytest

from circuits.builder import CompiledCircuit, UnsatisfiedConstraint
from circuits.native.poseidon_constants import P
from circuits.rollup.batch_circuit import build_batch_circuit
from circuits.rollup.params import BatchShape
from prover.backend.select import select_backend
from prover.groth16.prover import prove
from prover.groth16.verifier import verify
from prover.rollup import public_data as pd
from prover.rollup.accounts import Account, PrivateKey
from prover.rollup.batch import BatchResult, apply_batch
from prover.rollup.circuit_cache import load_or_setup
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, Transfer, Withdrawal

SHAPE = BatchShape(batch_size=4, depth=2)
CHAIN = 5
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
PUBS = [k.public_key() for k in KEYS]
ADDR = 0x00000000000000000000000000000000DEADBEEF


@pytest.fixture(scope="module")
def circuit() -> CompiledCircuit:
    return build_batch_circuit(SHAPE)


def run(st: State, txs, number: int = 2, fee_account: int = 0, check: bool = True) -> BatchResult:
    return apply_batch(
        st, txs, batch_size=SHAPE.batch_size, chain_id=CHAIN, batch_number=number, fee_account=fee_account, check=check
    )


def funded() -> State:
    st = State(SHAPE.depth)
    run(st, [Deposit(PUBS[0], 1000), Deposit(PUBS[1], 500), Deposit(PUBS[2], 5)], number=1)
    return st


def failing(circuit: CompiledCircuit, witness: list[int]) -> set[str]:
    """Labels of every constraint the witness violates."""
    out = set()
    for i, (a, b, c) in enumerate(circuit.r1cs.constraints):
        av = sum(witness[w] * k for w, k in a.items())
        bv = sum(witness[w] * k for w, k in b.items())
        cv = sum(witness[w] * k for w, k in c.items())
        if (av * bv - cv) % P:
            out.add(circuit.labels[i])
    return out


def refused(circuit: CompiledCircuit, inputs: dict, *fragments: str) -> None:
    """The inputs give a witness that fails, and every failing constraint names one fragment."""
    witness = circuit.witness(inputs, check=False)
    with pytest.raises(UnsatisfiedConstraint):
        circuit.check(witness)
    labels = failing(circuit, witness)
    assert labels and all(any(f in label for f in fragments) for label in labels), labels


def independent_public_input(res: BatchResult) -> int:
    """The public input from the public data alone, as the L1 contract computes it."""
    msg = (
        res.chain_id.to_bytes(4, "big")
        + res.batch_number.to_bytes(8, "big")
        + res.old_root.to_bytes(32, "big")
        + res.new_root.to_bytes(32, "big")
        + res.public_data_bytes
    )
    return int.from_bytes(hashlib.sha256(msg).digest(), "big") % P


# --- end to end -------------------------------------------------------------------------------


@pytest.mark.slow
def test_batches_prove_and_verify(circuit: CompiledCircuit) -> None:
    cached = load_or_setup(circuit)
    backend = select_backend()
    st = State(SHAPE.depth)
    batches = [
        [Deposit(PUBS[0], 1000), Deposit(PUBS[1], 500), Deposit(PUBS[2], 5)],
        [
            Transfer(0, 1, 100, 3, 0).signed(KEYS[0], CHAIN),
            Transfer(1, 2, 50, 1, 0).signed(KEYS[1], CHAIN),
            Withdrawal(0, ADDR, 200, 2, 1).signed(KEYS[0], CHAIN),
            Deposit(PUBS[0], 7),
        ],
        # a self-transfer by the fee account, then padding: it pays its fee to itself
        [Transfer(2, 2, 10, 1, 0).signed(KEYS[2], CHAIN)],
    ]
    for number, txs in enumerate(batches, start=1):
        res = run(st, txs, number=number, fee_account=2 if number > 1 else 0)
        witness = circuit.witness(res.inputs)
        result = prove(cached.pk, witness, backend)
        assert result.public_signals == [res.public_input] == [independent_public_input(res)]
        assert verify(cached.pk.vk, result.public_signals, result.proof)
        assert not verify(cached.pk.vk, [(res.public_input + 1) % P], result.proof)
    assert [st.get(i).balance for i in range(3)] == [1000 - 103 - 202 + 7, 500 + 100 - 51, 5 + 50 + 3 + 1 + 2]


def test_honest_witness_and_public_input(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(
        st, [Transfer(0, 1, 100, 3, 0).signed(KEYS[0], CHAIN), Withdrawal(1, ADDR, 1, 0, 0).signed(KEYS[1], CHAIN)]
    )
    witness = circuit.witness(res.inputs)
    assert circuit.public_signals(witness) == [independent_public_input(res)]
    assert res.public_data.l1_digest == pd.l1_digest([(ADDR, 0)])


# --- soundness: one broken rule each ------------------------------------------------------------


def test_signature_by_another_key_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(0, 1, 100, 0, 0).signed(KEYS[1], CHAIN)], check=False)
    refused(circuit, res.inputs, "tx0/signature")


def test_signature_for_another_chain_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(0, 1, 100, 0, 0).signed(KEYS[0], CHAIN + 1)], check=False)
    refused(circuit, res.inputs, "tx0/signature")


def test_replayed_nonce_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    tx = Transfer(0, 1, 100, 0, 0).signed(KEYS[0], CHAIN)
    run(st, [tx])
    res = run(st, [tx], number=3, check=False)  # same signed transfer again: the nonce is now 1
    refused(circuit, res.inputs, "tx0/signature")


def test_insufficient_balance_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(1, 0, 500, 1, 0).signed(KEYS[1], CHAIN)], check=False)  # 500 < 500 + 1
    refused(circuit, res.inputs, "tx0/account_a/bits64")


def test_balance_overflow_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    st.set(2, Account.for_key(PUBS[2], (1 << 64) - 10))
    res = run(st, [Transfer(0, 2, 20, 0, 0).signed(KEYS[0], CHAIN)], check=False)
    refused(circuit, res.inputs, "tx0/account_b/bits64")


def test_fee_account_overflow_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    st.set(2, Account.for_key(PUBS[2], (1 << 64) - 1))
    res = run(st, [Transfer(0, 1, 1, 1, 0).signed(KEYS[0], CHAIN)], fee_account=2, check=False)
    refused(circuit, res.inputs, "fees/bits64")


@pytest.mark.parametrize("field", ["amount", "fee"])
def test_field_wrap_around_cannot_create_balance(circuit: CompiledCircuit, field: str) -> None:
    """A 'negative' amount or fee (r - 100) would move 100 to the sender: the range check stops it."""
    st = funded()
    amount, fee = (P - 100, 0) if field == "amount" else (0, P - 100)
    res = run(st, [Transfer(2, 0, amount, fee, 0).signed(KEYS[2], CHAIN)], fee_account=1, check=False)
    assert st.get(2).balance == 105  # what the field arithmetic alone would allow
    refused(circuit, res.inputs, "tx0/bits40" if field == "amount" else "tx0/bits16")


def test_negative_withdrawal_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Withdrawal(2, ADDR, P - 1000, 0, 0).signed(KEYS[2], CHAIN)], check=False)
    refused(circuit, res.inputs, "tx0/bits40")


def test_leaf_not_in_the_tree_is_refused(circuit: CompiledCircuit) -> None:
    """The operator proves against a state in which account 1 holds more than it does."""
    real = funded()
    fake = copy.deepcopy(real)
    fake.set(1, Account.for_key(PUBS[1], 10_000))
    res = run(fake, [Transfer(1, 0, 5000, 0, 0).signed(KEYS[1], CHAIN)], check=False)
    inputs = dict(res.inputs)
    inputs["old_root"] = real.root
    inputs["public_input"] = pd.public_input(CHAIN, 2, real.root, res.new_root, res.public_data_bytes)
    refused(circuit, inputs, "tx0/account_a: old leaf under the root")


def test_tampered_merkle_sibling_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(0, 1, 1, 0, 0).signed(KEYS[0], CHAIN)])
    inputs = dict(res.inputs)
    inputs["b_path"] = list(inputs["b_path"])
    inputs["b_path"][0] += 1
    witness = circuit.witness(inputs, check=False)
    with pytest.raises(UnsatisfiedConstraint, match="tx0/account_b: old leaf under the root"):
        circuit.check(witness)


def test_receiver_must_exist(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(0, 9, 1, 0, 0).signed(KEYS[0], CHAIN)], check=False)
    refused(circuit, res.inputs, "receiver exists")


def test_deposit_onto_another_key_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Deposit(PUBS[1], 5, index=0)], check=False)
    refused(circuit, res.inputs, "deposit key matches")


@pytest.mark.parametrize("what", ["public_input", "batch_number", "chain_id"])
def test_public_input_binds_the_batch(circuit: CompiledCircuit, what: str) -> None:
    st = funded()
    res = run(st, [Transfer(0, 1, 1, 0, 0).signed(KEYS[0], CHAIN), Withdrawal(1, ADDR, 1, 0, 0).signed(KEYS[1], CHAIN)])
    inputs = dict(res.inputs)
    inputs[what] += 1
    # a different chain id also changes the signed messages, so their checks fail as well
    refused(circuit, inputs, "public input = sha256", *(["signature"] if what == "chain_id" else []))


# --- compile once, prove many ---------------------------------------------------------------------


def test_key_cache_is_keyed_by_the_circuit(tmp_path) -> None:
    from circuits.examples import cube_chain

    first = load_or_setup(cube_chain(3), cache_dir=tmp_path)
    again = load_or_setup(cube_chain(3), cache_dir=tmp_path)  # a fresh compile finds the stored key
    assert not first.from_cache and again.from_cache and again.digest == first.digest
    assert again.pk.digest() == first.pk.digest()
    other = load_or_setup(cube_chain(4), cache_dir=tmp_path)  # another circuit, another key
    assert not other.from_cache and other.digest != first.digest
    (first.directory / "circuit.r1cs").write_bytes(b"garbage")  # a damaged entry is rebuilt
    rebuilt = load_or_setup(cube_chain(3), cache_dir=tmp_path)
    assert not rebuilt.from_cache and rebuilt.pk.digest() != first.pk.digest()
    c = cube_chain(3)
    w = c.witness({"x": 3, "key": 5})
    assert verify(again.pk.vk, c.public_signals(w), prove(again.pk, w, select_backend("python")).proof)


def test_cached_lookup_writes_nothing(tmp_path) -> None:
    """A worker may mount the key volume read-only: finding a cached key must not write to it."""
    from circuits.examples import cube_chain

    load_or_setup(cube_chain(3), cache_dir=tmp_path)

    def snapshot() -> dict:
        return {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}

    before = snapshot()
    again = load_or_setup(cube_chain(3), cache_dir=tmp_path)
    assert again.from_cache
    assert snapshot() == before
