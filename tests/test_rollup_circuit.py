"""The batch circuit: end-to-end proofs, and soundness (each broken rule is refused by the circuit).

One circuit (batch size 4, 4-ary depth 2: 16 accounts, 123,762 constraints) is compiled once for
the module. Its proving key comes from the on-disk cache (``prover.rollup.circuit_cache``,
``$ZKPROVER_CACHE_DIR`` or ``~/.cache/zkprover``): the first run on a machine runs the pure-Python
development setup for it (several minutes), later runs only load it.

Soundness tests build the inputs of a batch that breaks one rule (``apply_batch(check=False)``
applies the arithmetic mod r without the rules) or tamper with one input, then require that
the witness fails *only* the constraints of that rule: the circuit, not a lucky side effect,
refuses it. Where one wrong input necessarily breaks several constraints (a type of 5 changes
every selector), the test requires the rule's own constraint to be among those that fail.
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
from prover.rollup.transactions import Deposit, ForcedExit, Transfer, Withdrawal

SHAPE = BatchShape(batch_size=4, depth=2)
CHAIN = 5
ROLLUP = 0x5FBDB2315678AFECB367F032D93F642F64180AA3
DOMAIN = pd.Domain(CHAIN, ROLLUP)
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
PUBS = [k.public_key() for k in KEYS]
ADDR = 0x00000000000000000000000000000000DEADBEEF
OWNERS = [0x1000 + i for i in range(3)]  # the depositors that created accounts 0, 1, 2
CAP = (1 << 40) - 1


@pytest.fixture(scope="module")
def circuit() -> CompiledCircuit:
    return build_batch_circuit(SHAPE)


def run(st: State, txs, number: int = 2, fee_account: int = 0, check: bool = True) -> BatchResult:
    return apply_batch(
        st, txs, batch_size=SHAPE.batch_size, domain=DOMAIN, batch_number=number, fee_account=fee_account, check=check
    )


def funded() -> State:
    st = State(SHAPE.depth)
    run(st, [Deposit(PUBS[i], amount, OWNERS[i]) for i, amount in enumerate((1000, 500, 5))], number=1)
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


def refused_by(circuit: CompiledCircuit, inputs: dict, label: str) -> set[str]:
    """The inputs give a witness that fails, and the constraint named ``label`` is among the failures."""
    witness = circuit.witness(inputs, check=False)
    labels = failing(circuit, witness)
    assert any(label in lb for lb in labels), labels
    return labels


def with_slot0(inputs: dict, **values: int) -> dict:
    """A copy of ``inputs`` with slot 0's value of each named per-slot input replaced."""
    out = dict(inputs)
    for name, v in values.items():
        out[name] = [v, *inputs[name][1:]]
    return out


def accepted(circuit: CompiledCircuit, res: BatchResult) -> None:
    circuit.check(circuit.witness(res.inputs))
    assert circuit.public_signals(circuit.witness(res.inputs)) == [independent_public_input(res)]


def independent_public_input(res: BatchResult) -> int:
    """The public input from the public data alone, as the L1 contract computes it."""
    msg = (
        res.domain.chain_id.to_bytes(8, "big")
        + res.domain.rollup_address.to_bytes(20, "big")
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
        [Deposit(PUBS[i], amount, OWNERS[i]) for i, amount in enumerate((1000, 500, 5))],
        [
            Transfer(0, 1, 100, 3, 0).signed(KEYS[0], DOMAIN),
            Transfer(1, 2, 50, 1, 0).signed(KEYS[1], DOMAIN),
            Withdrawal(0, ADDR, 200, 2, 1).signed(KEYS[0], DOMAIN),
            Deposit(None, 7, ADDR, index=0),  # a top-up by a stranger
        ],
        # a self-transfer by the fee account, then padding: it pays its fee to itself
        [Transfer(2, 2, 10, 1, 0).signed(KEYS[2], DOMAIN)],
        # forced exits: the owner's (all of it), a stranger's (nothing), and a new account
        [ForcedExit(1, OWNERS[1]), ForcedExit(0, ADDR), Deposit(PUBS[0], 3, ADDR)],
    ]
    for number, txs in enumerate(batches, start=1):
        res = run(st, txs, number=number, fee_account=2 if number > 1 else 0)
        witness = circuit.witness(res.inputs)
        result = prove(cached.pk, witness, backend)
        assert result.public_signals == [res.public_input] == [independent_public_input(res)]
        assert verify(cached.pk.vk, result.public_signals, result.proof)
        assert not verify(cached.pk.vk, [(res.public_input + 1) % P], result.proof)
    assert [st.get(i).balance for i in range(4)] == [1000 - 103 - 202 + 7, 0, 5 + 50 + 3 + 1 + 2, 3]
    assert res.forced_exits == [(1, OWNERS[1], 500 + 100 - 51), (0, ADDR, 0)]


def test_honest_witness_and_public_input(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(
        st, [Transfer(0, 1, 100, 3, 0).signed(KEYS[0], DOMAIN), Withdrawal(1, ADDR, 1, 0, 0).signed(KEYS[1], DOMAIN)]
    )
    accepted(circuit, res)
    assert res.public_data.l1_digest == pd.l1_digest([(0, 0, ADDR)])


# --- soundness: one broken rule each ------------------------------------------------------------


def test_signature_by_another_key_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(0, 1, 100, 0, 0).signed(KEYS[1], DOMAIN)], check=False)
    refused(circuit, res.inputs, "tx0/signature")


@pytest.mark.parametrize("other", [pd.Domain(CHAIN + 1, ROLLUP), pd.Domain(CHAIN, ROLLUP + 1)])
def test_signature_for_another_domain_is_refused(circuit: CompiledCircuit, other: pd.Domain) -> None:
    """Signed for another chain, or for another Rollup deployment on the same chain."""
    st = funded()
    res = run(st, [Transfer(0, 1, 100, 0, 0).signed(KEYS[0], other)], check=False)
    refused(circuit, res.inputs, "tx0/signature")


def test_replayed_nonce_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    tx = Transfer(0, 1, 100, 0, 0).signed(KEYS[0], DOMAIN)
    run(st, [tx])
    res = run(st, [tx], number=3, check=False)  # same signed transfer again: the nonce is now 1
    refused(circuit, res.inputs, "tx0/signature")


def test_insufficient_balance_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(1, 0, 500, 1, 0).signed(KEYS[1], DOMAIN)], check=False)  # 500 < 500 + 1
    refused(circuit, res.inputs, "tx0/account_a/bits64")


def test_balance_overflow_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    st.set(2, Account.for_key(PUBS[2], (1 << 64) - 10, 0, OWNERS[2]))
    res = run(st, [Transfer(0, 2, 20, 0, 0).signed(KEYS[0], DOMAIN)], check=False)
    refused(circuit, res.inputs, "tx0/account_b/bits64")


def test_fee_account_overflow_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    st.set(2, Account.for_key(PUBS[2], (1 << 64) - 1, 0, OWNERS[2]))
    res = run(st, [Transfer(0, 1, 1, 1, 0).signed(KEYS[0], DOMAIN)], fee_account=2, check=False)
    refused(circuit, res.inputs, "fees/bits64")


@pytest.mark.parametrize("field", ["amount", "fee"])
def test_field_wrap_around_cannot_create_balance(circuit: CompiledCircuit, field: str) -> None:
    """A 'negative' amount or fee (r - 100) would move 100 to the sender: the range check stops it."""
    st = funded()
    amount, fee = (P - 100, 0) if field == "amount" else (0, P - 100)
    res = run(st, [Transfer(2, 0, amount, fee, 0).signed(KEYS[2], DOMAIN)], fee_account=1, check=False)
    assert st.get(2).balance == 105  # what the field arithmetic alone would allow
    refused(circuit, res.inputs, "tx0/bits40" if field == "amount" else "tx0/bits16")


def test_negative_withdrawal_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Withdrawal(2, ADDR, P - 1000, 0, 0).signed(KEYS[2], DOMAIN)], check=False)
    refused(circuit, res.inputs, "tx0/bits40")


def test_leaf_not_in_the_tree_is_refused(circuit: CompiledCircuit) -> None:
    """The operator proves against a state in which account 1 holds more than it does."""
    real = funded()
    fake = copy.deepcopy(real)
    fake.set(1, Account.for_key(PUBS[1], 10_000, 0, OWNERS[1]))
    res = run(fake, [Transfer(1, 0, 5000, 0, 0).signed(KEYS[1], DOMAIN)], check=False)
    inputs = dict(res.inputs)
    inputs["old_root"] = real.root
    inputs["public_input"] = pd.public_input(DOMAIN, 2, real.root, res.new_root, res.public_data_bytes)
    refused(circuit, inputs, "tx0/account_a: old leaf under the root")


def test_tampered_merkle_sibling_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(0, 1, 1, 0, 0).signed(KEYS[0], DOMAIN)])
    inputs = dict(res.inputs)
    inputs["b_path"] = list(inputs["b_path"])
    inputs["b_path"][0] += 1
    witness = circuit.witness(inputs, check=False)
    with pytest.raises(UnsatisfiedConstraint, match="tx0/account_b: old leaf under the root"):
        circuit.check(witness)


def test_receiver_must_exist(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Transfer(0, 9, 1, 0, 0).signed(KEYS[0], DOMAIN)], check=False)
    refused(circuit, res.inputs, "receiver exists")


# --- deposits: create vs top-up ------------------------------------------------------------------


def test_top_up_carrying_a_key_is_refused(circuit: CompiledCircuit) -> None:
    """A deposit with a key onto an existing account (the L1's deposit(ax, ay) always names a fresh
    index): applied unchecked as a top-up, the circuit refuses the key it carries."""
    st = funded()
    res = run(st, [Deposit(PUBS[1], 5, OWNERS[1], index=0)], check=False)
    assert st.get(0).key == PUBS[0].point and st.get(0).owner == OWNERS[0]  # key and owner kept
    refused(circuit, res.inputs, "top-up carries no key")


def test_created_account_is_owned_by_the_depositor(circuit: CompiledCircuit) -> None:
    """The operator records another owner than the depositor the L1 digest names: the new leaf
    the circuit computes (owner = l1_addr) gives another root, so the next path read against it
    (the padding's) and the public input fail."""
    st = State(SHAPE.depth)
    res = run(st, [Deposit(PUBS[0], 10, ADDR)], number=1)  # the operator's state: owner ADDR
    assert st.get(0).owner == ADDR
    inputs = with_slot0(res.inputs, l1_addr=OWNERS[0])  # the depositor the L1 queue really holds
    data = pd.PublicData(0, pd.l1_digest([(*PUBS[0].point, OWNERS[0])]), res.public_data.records)
    inputs["public_input"] = pd.public_input(DOMAIN, 1, res.old_root, res.new_root, data.encode(SHAPE.depth))
    refused(circuit, inputs, "old leaf under the root", "public input = sha256")
    inputs = with_slot0(inputs, l1_addr=ADDR)  # the owner the operator recorded: the tree is consistent again
    refused(circuit, inputs, "public input = sha256")  # ... but not with the L1's digest


def test_top_up_keeps_key_and_owner(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Deposit(None, 5, ADDR, index=1)])
    assert st.get(1) == Account.for_key(PUBS[1], 505, 0, OWNERS[1])
    accepted(circuit, res)


# --- forced exits --------------------------------------------------------------------------------


def test_forced_exits_are_accepted(circuit: CompiledCircuit) -> None:
    st = funded()
    st.set(2, Account.for_key(PUBS[2], CAP + 12, 4, OWNERS[2]))
    res = run(st, [ForcedExit(0, OWNERS[0]), ForcedExit(1, ADDR), ForcedExit(2, OWNERS[2]), ForcedExit(9, ADDR)])
    assert res.forced_exits == [(0, OWNERS[0], 1000), (1, ADDR, 0), (2, OWNERS[2], CAP), (9, ADDR, 0)]
    assert [st.get(i).balance for i in range(3)] == [0, 500, 12] and st.get(9) is None
    accepted(circuit, res)


def test_forced_exit_by_non_owner_paying_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [ForcedExit(0, ADDR, amount=10)], check=False)
    refused(circuit, res.inputs, "forced exit by a non-owner pays 0")


def test_forced_exit_of_an_empty_account_paying_is_refused(circuit: CompiledCircuit) -> None:
    """Even a witness claiming the requester 'owns' the empty slot cannot draw from it."""
    st = funded()
    res = run(st, [ForcedExit(9, ADDR, amount=10)], check=False)
    inputs = with_slot0(res.inputs, a_owner=ADDR)
    refused(circuit, inputs, "tx0/account_a/bits64", "forced exit pays min")  # 0 - 10 wraps


def test_forced_exit_by_owner_paying_less_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [ForcedExit(1, OWNERS[1], amount=499)], check=False)
    refused(circuit, res.inputs, "forced exit pays min(balance, cap)")


def test_forced_exit_by_owner_paying_more_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [ForcedExit(1, OWNERS[1], amount=501)], check=False)
    refused(circuit, res.inputs, "tx0/account_a/bits64", "forced exit pays min")  # 500 - 501 wraps


def test_forced_exit_pays_exactly_the_cap_from_a_larger_balance(circuit: CompiledCircuit) -> None:
    st = funded()
    st.set(1, Account.for_key(PUBS[1], CAP + 1000, 0, OWNERS[1]))
    before = copy.deepcopy(st)
    accepted(circuit, run(st, [ForcedExit(1, OWNERS[1])]))
    assert st.get(1).balance == 1000
    res = run(before, [ForcedExit(1, OWNERS[1], amount=CAP - 1)], check=False)
    refused(circuit, res.inputs, "forced exit pays min(balance, cap)")


def test_stored_balance_is_range_checked(circuit: CompiledCircuit) -> None:
    """(balance + 2^64, nonce - 1) packs into the same leaf as (balance, nonce): without the range
    check on the balance an account is read with, a forced exit could pay the cap out of 5."""
    honest = funded()
    honest.set(2, Account.for_key(PUBS[2], 5, 3, OWNERS[2]))
    st = funded()
    st.set(2, Account.for_key(PUBS[2], 5 + (1 << 64), 2, OWNERS[2]))
    assert st.root == honest.root
    res = run(st, [ForcedExit(2, OWNERS[2], amount=CAP)], check=False)  # every other rule holds
    refused(circuit, res.inputs, "tx0/account_a/stored/bits64")


# --- type, L1 address, domain --------------------------------------------------------------------


@pytest.mark.parametrize("tx_type", [5, 6, 7])
def test_types_above_4_are_refused(circuit: CompiledCircuit, tx_type: int) -> None:
    st = funded()
    res = run(st, [ForcedExit(0, ADDR)])
    refused_by(circuit, with_slot0(res.inputs, tx_type=tx_type), "tx0: type in 0..4")


def test_withdrawal_address_of_160_bits_or_more_is_refused(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [Withdrawal(1, 1 << 160, 1, 0, 0).signed(KEYS[1], DOMAIN)], check=False)
    refused(circuit, res.inputs, "tx0/l1_addr/bits160")


@pytest.mark.parametrize("what", ["l1_x", "l1_addr"])
def test_l1_fields_must_be_zero_on_a_transfer(circuit: CompiledCircuit, what: str) -> None:
    st = funded()
    res = run(st, [Transfer(0, 1, 1, 0, 0).signed(KEYS[0], DOMAIN)])
    inputs = with_slot0(res.inputs, **{what: 7})
    refused_by(circuit, inputs, "l1_x = 0 unless deposit" if what == "l1_x" else "l1_addr = 0 unless L1 entry")


def test_public_input_binds_the_rollup_address(circuit: CompiledCircuit) -> None:
    st = funded()
    res = run(st, [ForcedExit(0, ADDR)])
    other = pd.Domain(CHAIN, ROLLUP + 1)
    assert pd.public_input(other, 2, res.old_root, res.new_root, res.public_data_bytes) != res.public_input
    inputs = dict(res.inputs)
    inputs["rollup_address"] = ROLLUP + 1  # a proof for another deployment: the public input differs
    refused(circuit, inputs, "public input = sha256")


@pytest.mark.parametrize("what", ["public_input", "batch_number", "chain_id", "rollup_address"])
def test_public_input_binds_the_batch(circuit: CompiledCircuit, what: str) -> None:
    st = funded()
    res = run(
        st, [Transfer(0, 1, 1, 0, 0).signed(KEYS[0], DOMAIN), Withdrawal(1, ADDR, 1, 0, 0).signed(KEYS[1], DOMAIN)]
    )
    inputs = dict(res.inputs)
    inputs[what] += 1
    # a different domain also changes the signed messages, so their checks fail as well
    signed = what in ("chain_id", "rollup_address")
    refused(circuit, inputs, "public input = sha256", *(["signature"] if signed else []))


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


def test_stored_nonce_of_a_receiver_is_range_checked(circuit: CompiledCircuit) -> None:
    """Read as (0, n') with n' = (2^64 - 10)/2^64 mod r, a receiver holding 2^64 - 10 packs into the
    same leaf; a credit of 20 would then pass its overflow check (0 + 20 < 2^64)."""
    honest = funded()
    honest.set(2, Account.for_key(PUBS[2], (1 << 64) - 10, 0, OWNERS[2]))
    st = funded()
    odd_nonce = ((1 << 64) - 10) * pow(1 << 64, -1, P) % P
    st.set(2, Account.for_key(PUBS[2], 0, odd_nonce, OWNERS[2]))
    assert st.root == honest.root
    res = run(st, [Transfer(0, 2, 20, 0, 0).signed(KEYS[0], DOMAIN)], check=False)
    refused(circuit, res.inputs, "tx0/account_b/stored/bits32")
