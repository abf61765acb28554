"""The native rollup (operator): keys, the sparse state tree, atomic batches, public data."""

from __future__ import annotations

import hashlib

import pytest

from circuits.native.merkle import root_from_path, zero_hashes
from circuits.native.poseidon_constants import P
from circuits.rollup.params import ARITY, DEFAULT_DEPTH, TxType
from prover.rollup import accounts as acc
from prover.rollup import public_data as pd
from prover.rollup.accounts import Account, PrivateKey
from prover.rollup.batch import BatchRejected, Reason, apply_batch
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, NoOp, Transfer, Withdrawal, address_from_hex, address_to_hex

CHAIN = 31337
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
PUBS = [k.public_key() for k in KEYS]
ADDR = address_from_hex("0x00000000000000000000000000000000deadbeef")


def funded(depth: int = 2) -> State:
    st = State(depth)
    apply_batch(st, [Deposit(PUBS[0], 1000), Deposit(PUBS[1], 500)], batch_size=4, chain_id=CHAIN, batch_number=1)
    return st


def test_keys_serialize_and_sign() -> None:
    key = acc.generate_key()
    again = acc.load_private_key(acc.serialize_private_key(key))
    assert again.public_key() == key.public_key()
    pub = acc.load_public_key(acc.serialize_public_key(key.public_key()))
    tx = Transfer(0, 1, 5, 1, 0).signed(key, CHAIN)
    sig = acc.load_signature(acc.serialize_signature(tx.signature))
    assert pub.verify(tx.message(CHAIN), sig)
    assert not pub.verify(tx.message(CHAIN + 1), sig)  # the chain id is signed
    assert tx.message(CHAIN) != Withdrawal(0, 1, 5, 1, 0).message(CHAIN)  # so is the type
    assert address_to_hex(ADDR) == "0x00000000000000000000000000000000deadbeef"


def test_default_state_is_sparse_2_24() -> None:
    st = State()
    assert st.depth == DEFAULT_DEPTH and st.capacity == 1 << 24
    assert st.root == zero_hashes(DEFAULT_DEPTH, ARITY)[DEFAULT_DEPTH]
    a = Account.for_key(PUBS[0], 7, 1)
    st.set(12_345_678, a)
    assert st.get(12_345_678) == a and len(st) == 1
    assert root_from_path(a.leaf(), 12_345_678, st.path(12_345_678), ARITY) == st.root


def test_batch_applies_in_order_and_collects_fees() -> None:
    st = funded()
    txs = [
        Transfer(0, 1, 100, 3, 0).signed(KEYS[0], CHAIN),
        Transfer(1, 0, 600, 0, 0).signed(KEYS[1], CHAIN),  # spends what tx 0 just credited
        Withdrawal(0, ADDR, 50, 2, 1).signed(KEYS[0], CHAIN),
        Deposit(PUBS[2], 9),
    ]
    res = apply_batch(st, txs, batch_size=6, chain_id=CHAIN, batch_number=2, fee_account=1)
    assert [st.get(i).balance for i in range(3)] == [1000 - 103 + 600 - 52, 500 + 100 - 600 + 5, 9]
    assert [st.get(i).nonce for i in range(3)] == [2, 1, 0]
    assert res.new_root == st.root and res.old_root != res.new_root
    assert res.withdrawals == [(ADDR, 50)]
    assert res.deposits == [(*PUBS[2].point, 9)]
    data = pd.PublicData.decode(res.public_data_bytes, st.depth)
    assert data == res.public_data
    assert [r.tx_type for r in data.records] == [2, 2, 3, 1, 0, 0]
    assert data.records[3] == pd.Record(TxType.DEPOSIT, 2, 0, 9, 0)
    assert data.l1_digest == pd.l1_digest([(ADDR, 0), PUBS[2].point])
    assert len(res.public_data_bytes) == 1 + 32 + 6 * pd.record_bytes(st.depth)
    msg = (
        CHAIN.to_bytes(4, "big") + (2).to_bytes(8, "big") + res.old_root.to_bytes(32, "big")
        + res.new_root.to_bytes(32, "big") + res.public_data_bytes
    )  # fmt: skip
    assert res.public_input == int.from_bytes(hashlib.sha256(msg).digest(), "big") % P
    # existing key: the operator credits the key's account instead of opening a new one
    apply_batch(st, [Deposit(PUBS[0], 1)], batch_size=1, chain_id=CHAIN, batch_number=3)
    assert st.get(0).balance == 1000 - 103 + 600 - 52 + 1 and len(st) == 3


def test_rejected_batch_leaves_state_untouched_and_names_every_bad_tx() -> None:
    st = funded()
    st.set(2, Account.for_key(PUBS[2], (1 << 64) - 10))
    before = (st.root, {i: st.get(i) for i in range(3)})
    good = Transfer(0, 1, 1, 0, 0).signed(KEYS[0], CHAIN)
    txs = [
        good,  # valid, applied first, then undone
        Transfer(1, 0, 1, 0, 0).signed(KEYS[0], CHAIN),  # signed by the wrong key
        good,  # replay: nonce is now 1
        Transfer(1, 0, 600, 0, 0).signed(KEYS[1], CHAIN),  # holds 500 + 1
        Transfer(1, 9, 1, 0, 0).signed(KEYS[1], CHAIN),  # receiver does not exist
        Transfer(1, 0, 1 << 40, 0, 0).signed(KEYS[1], CHAIN),
        Transfer(1, 0, 1, 1 << 16, 0).signed(KEYS[1], CHAIN),
        Transfer(1, 2, 20, 0, 0).signed(KEYS[1], CHAIN),  # 2^64 - 10 + 20
        Deposit(PUBS[1], 5, index=0),  # account 0 has another key
        Withdrawal(1, 1 << 160, 1, 0, 0).signed(KEYS[1], CHAIN),
    ]
    with pytest.raises(BatchRejected) as info:
        apply_batch(st, txs, batch_size=10, chain_id=CHAIN, batch_number=2)
    reasons = {e.position: e.reason for e in info.value.errors}
    assert reasons == {
        1: Reason.BAD_SIGNATURE,
        2: Reason.WRONG_NONCE,
        3: Reason.INSUFFICIENT_BALANCE,
        4: Reason.UNKNOWN_ACCOUNT,
        5: Reason.OUT_OF_RANGE,
        6: Reason.OUT_OF_RANGE,
        7: Reason.OVERFLOW,
        8: Reason.KEY_MISMATCH,
        9: Reason.OUT_OF_RANGE,
    }
    assert (st.root, {i: st.get(i) for i in range(3)}) == before
    # a fee account that does not exist, and a batch that is too long
    with pytest.raises(BatchRejected, match="fee account"):
        paying = Transfer(0, 1, 1, 1, 0).signed(KEYS[0], CHAIN)
        apply_batch(st, [paying], batch_size=1, chain_id=CHAIN, batch_number=2, fee_account=5)
    with pytest.raises(BatchRejected, match="too large"):
        apply_batch(st, [NoOp(), NoOp()], batch_size=1, chain_id=CHAIN, batch_number=2)
    assert st.root == before[0]
    apply_batch(st, [good], batch_size=1, chain_id=CHAIN, batch_number=2)  # still usable afterwards
    assert st.get(0).nonce == 1


def test_public_data_layout_widths() -> None:
    assert pd.record_bytes(12) == 14 and pd.record_bytes(16) == 16 and pd.record_bytes(2) == 10
    rec = pd.Record(TxType.TRANSFER, 0x010203, 0x0A0B0C, 0x0102030405, 0xBEEF)
    assert rec.encode(12).hex() == "02" + "010203" + "0a0b0c" + "0102030405" + "beef"
    with pytest.raises(ValueError):
        pd.hashed_message(1 << 32, 0, 0, 0, b"")
