"""The native operator (circuits.native.fast, prover/backend/native/operator.c) against the Python
references: every primitive on random and tampered inputs, and ``apply_batch`` on random batches,
valid and rejected, with the same errors, roots, public data and circuit inputs on both paths."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from circuits.native import babyjub, fast, merkle
from circuits.native.eddsa import PrivateKey, verify_poseidon
from circuits.native.poseidon import poseidon_hash
from circuits.native.poseidon_constants import P
from prover.rollup import public_data as pd
from prover.rollup.batch import BatchRejected, Reason, apply_batch
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, ForcedExit, NoOp, Transfer, Withdrawal

pytestmark = pytest.mark.skipif(not fast.built(), reason="native extension not built")

DOMAIN = pd.Domain(31337, 0x5FBDB2315678AFECB367F032D93F642F64180AA3)
KEYS = [PrivateKey(bytes([i + 7]) * 32) for i in range(4)]
PUBS = [k.public_key() for k in KEYS]


@pytest.fixture
def python_path(monkeypatch: pytest.MonkeyPatch):
    """A switch between the paths: ``python_path(True)`` selects the Python reference."""

    def select(python: bool) -> None:
        if python:
            monkeypatch.setenv("ZKPROVER_NO_NATIVE", "1")
        else:
            monkeypatch.delenv("ZKPROVER_NO_NATIVE", raising=False)

    return select


# ---------------------------------------------------------------- primitives


def test_poseidon_every_width_matches_python() -> None:
    rng = random.Random(1)
    for n in range(1, 17):
        batch = [[rng.randrange(P) for _ in range(n)] for _ in range(2)]
        batch.append([rng.choice((0, P - 1, P, 2**256 - 1, -5)) for _ in range(n)])  # reduced as Python does
        assert fast.poseidon_hash_many(batch) == [poseidon_hash(x) for x in batch]
        assert fast.poseidon_hash(batch[0]) == poseidon_hash(batch[0])
    for bad in ([], list(range(17))):
        with pytest.raises(ValueError, match=r"1\.\.16 inputs"):
            fast.poseidon_hash(bad)


def test_point_add_and_mul_match_python_on_and_off_the_curve() -> None:
    rng = random.Random(2)
    on = [babyjub.mul(babyjub.B8, rng.randrange(1, babyjub.SUBORDER)) for _ in range(3)]
    off = [(rng.randrange(P), rng.randrange(P)) for _ in range(2)]
    for p1 in on + off:
        for p2 in on + off:
            try:
                want = babyjub.add(p1, p2)
            except ZeroDivisionError:
                with pytest.raises(ZeroDivisionError):
                    fast.add(p1, p2)
                continue
            assert fast.add(p1, p2) == want
        for k in (0, 1, 8, rng.randrange(babyjub.SUBORDER), 8 * (P - 1), 2**300 + 3):
            assert fast.mul(p1, k) == babyjub.mul(p1, k)
    assert fast.add(babyjub.IDENTITY, on[0]) == on[0]
    with pytest.raises(ValueError, match="non-negative"):
        fast.mul(on[0], -1)


def test_eddsa_verify_matches_python_on_valid_and_tampered_signatures() -> None:
    rng = random.Random(3)
    items = []
    for key, pub in zip(KEYS[:2], PUBS[:2], strict=True):
        msg = rng.randrange(P)
        sig = key.sign(msg)
        r8, s, a = sig.r8, sig.s, pub.point
        other = PUBS[3].point
        items += [
            (msg, r8, s, a),  # valid
            (msg, babyjub.add(r8, babyjub.B8), s, a),  # wrong R
            (msg, (r8[0], (r8[1] + 1) % P), s, a),  # R off the curve
            (msg, r8, s + babyjub.SUBORDER, a),  # S ≥ subgroup order (same point, refused)
            (msg, r8, (s + 1) % babyjub.SUBORDER, a),  # wrong S
            (msg, r8, s, other),  # wrong key
            (msg, r8, s, (0, 1)),  # the identity key (low order)
            ((msg + 1) % P, r8, s, a),  # wrong message
            (P + msg, r8, s, a),  # message not below r
            (msg, r8, -1, a),  # negative S
        ]
    want = [verify_poseidon(m, _sig(r8, s), a) for m, r8, s, a in items]
    assert want[0] and want.count(True) == 2  # only the two untampered ones
    assert fast.verify_many(items) == want
    assert [fast.verify_poseidon(m, _sig(r8, s), a) for m, r8, s, a in items[:3]] == want[:3]
    assert fast.verify_many([]) == []


def _sig(r8, s):
    from circuits.native.eddsa import Signature

    return Signature(r8, s)


def test_merkle_path_nodes_match_python() -> None:
    rng = random.Random(4)
    for arity, depth in ((2, 5), (4, 12), (4, 1)):
        for _ in range(3):
            index = rng.randrange(arity**depth)
            sibs = [tuple(rng.randrange(P) for _ in range(arity - 1)) for _ in range(depth)]
            leaf = rng.randrange(P)
            assert fast.path_nodes(leaf, index, sibs, arity) == merkle.path_nodes(leaf, index, sibs, arity)
    with pytest.raises(ValueError, match="out of range"):
        fast.path_nodes(0, 4**3, [(0, 0, 0)] * 3, 4)
    with pytest.raises(ValueError, match="3 siblings"):
        fast.path_nodes(0, 1, [(0, 0)] * 3, 4)


def test_tree_updates_match_python(python_path) -> None:
    rng = random.Random(5)
    writes = [(rng.randrange(4**6), rng.choice((0, rng.randrange(P)))) for _ in range(40)]
    roots = []
    for python in (True, False):
        python_path(python)
        tree = merkle.SparseMerkleTree(6, 4)
        roots.append([(tree.update(i, v), tree.root) for i, v in writes])
        roots[-1].append(tree._nodes)
    assert roots[0] == roots[1]


def test_no_native_env_selects_python(python_path) -> None:
    python_path(True)
    assert not fast.enabled() and fast.hasher() is poseidon_hash
    python_path(False)
    assert fast.enabled() and fast.hasher() is fast.poseidon_hash


# ---------------------------------------------------------------- apply_batch


def _state(depth: int = 3) -> State:
    st = State(depth)
    txs = [Deposit(PUBS[i], 10**6, 0x1000 + i) for i in range(3)]
    apply_batch(st, txs, batch_size=4, domain=DOMAIN, batch_number=0)
    return st


def _random_batch(rng: random.Random, size: int, bad: float) -> list:
    """Transactions on accounts 0..2 (nonces tracked), a new account 3 that signs in the same
    batch, and a share ``bad`` of broken ones (wrong key, nonce, amount or receiver, a top-up of
    a missing account, a wrong forced-exit claim)."""
    nonces = [0, 0, 0, 0]
    txs: list = [Deposit(PUBS[3], 500, 0x1003)]  # creates account 3 (the next free index)
    while len(txs) < size:
        kind = rng.randrange(6)
        src, dst = rng.randrange(4), rng.randrange(4)
        broken = rng.random() < bad
        if kind <= 2:  # transfers and withdrawals
            amount, fee, nonce = rng.randrange(1, 100), rng.randrange(3), nonces[src]
            how = rng.randrange(4) if broken else -1
            nonce += how == 1
            tx = Transfer(src, 9 if how == 2 else dst, amount, fee, nonce)
            if kind == 2:
                tx = Withdrawal(src, 0xBEEF, amount, fee, nonce)
            signed = tx.signed(KEYS[(src + 1) % 4] if how == 0 else KEYS[src], DOMAIN)
            if how == 3:  # signed for another amount
                signed = replace(tx, amount=amount + 1, signature=signed.signature)
            txs.append(signed)
            nonces[src] += 1
        elif kind == 3:
            txs.append(Deposit(None, rng.randrange(100), 0x1000 + src, index=60 if broken else src))
        elif kind == 4:  # the owner claiming a wrong amount, or a stranger (paid nothing)
            txs.append(ForcedExit(src, 0x1000 + src, 5) if broken else ForcedExit(src, 0xF00))
        else:
            txs.append(NoOp())
    return txs


def _outcome(txs: list, size: int) -> tuple:
    st = _state()
    try:
        res = apply_batch(st, txs, batch_size=size, domain=DOMAIN, batch_number=1, fee_account=1)
    except BatchRejected as rejected:
        return ("rejected", rejected.errors, st.root)
    return ("applied", res.new_root, res.inputs, res.public_data_bytes, res.l1_entries, st.root)


def test_apply_batch_native_equals_python_on_random_batches(python_path) -> None:
    rng = random.Random(7)
    outcomes = {"applied": 0, "rejected": 0}
    reasons = set()
    for bad in (0.0, 0.0, 0.3, 0.3, 0.6, 0.6):
        txs = _random_batch(rng, 8, bad)
        results = []
        for python in (True, False):
            python_path(python)
            results.append(_outcome(txs, 8))
        assert results[0] == results[1], txs
        outcomes[results[0][0]] += 1
        if results[0][0] == "rejected":
            reasons |= {e.reason for e in results[0][1]}
    assert outcomes["applied"] >= 2 and outcomes["rejected"] >= 2  # both kinds were compared
    assert {Reason.BAD_SIGNATURE, Reason.WRONG_NONCE, Reason.UNKNOWN_ACCOUNT, Reason.WRONG_AMOUNT} <= reasons


def test_a_verdict_missing_from_the_prepass_is_checked_on_the_spot(monkeypatch: pytest.MonkeyPatch) -> None:
    from prover.rollup import batch

    txs = _random_batch(random.Random(8), 6, 0.5)
    want = _outcome(txs, 6)
    monkeypatch.setattr(batch, "_presigned", lambda *args: {})
    assert _outcome(txs, 6) == want


def test_extension_refuses_malformed_input() -> None:
    from prover.backend import _native

    fast.poseidon_hash([1, 2])  # sets up t = 3
    with pytest.raises(ValueError, match="whole number"):
        _native.operator_poseidon(3, b"\0" * 33)
    with pytest.raises(ValueError, match="not below r"):
        _native.operator_poseidon(3, P.to_bytes(32, "little") * 2)
    with pytest.raises(ValueError, match="width t must be"):
        _native.operator_poseidon(18, b"\0" * 32)
    with pytest.raises(ValueError, match="64 bytes"):
        _native.operator_bjj_add(b"\0" * 63, b"\0" * 64)
    with pytest.raises(ValueError, match="\\(msg, R8x"):
        _native.operator_eddsa_verify(b"\0" * 100, 1)


def test_state_set_returns_the_path_it_leaves_unchanged() -> None:
    st = _state()
    before = st.path(1)
    assert st.set(1, st.get(1).with_balance(7)) == before == st.path(1)
    assert st.root != _state().root
