"""The native rollup (operator): keys, the sparse state tree, atomic batches, public data."""

from __future__ import annotations

import hashlib

import pytest

from circuits.native.merkle import root_from_path, zero_hashes
from circuits.native.poseidon import poseidon_hash
from circuits.native.poseidon_constants import P
from circuits.rollup.params import ARITY, DEFAULT_DEPTH, TxType
from prover.rollup import accounts as acc
from prover.rollup import public_data as pd
from prover.rollup.accounts import Account, PrivateKey
from prover.rollup.batch import BatchRejected, Reason, apply_batch
from prover.rollup.state import State
from prover.rollup.transactions import (
    Deposit,
    ForcedExit,
    NoOp,
    Transfer,
    Withdrawal,
    address_from_hex,
    address_to_hex,
)

CHAIN = 31337
ROLLUP = address_from_hex("0x5fbdb2315678afecb367f032d93f642f64180aa3")
DOMAIN = pd.Domain(CHAIN, ROLLUP)
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
PUBS = [k.public_key() for k in KEYS]
ADDR = address_from_hex("0x00000000000000000000000000000000deadbeef")
OWNERS = [0x1000 + i for i in range(3)]  # the depositors that create accounts 0, 1, 2


def funded(depth: int = 2) -> State:
    st = State(depth)
    txs = [Deposit(PUBS[0], 1000, OWNERS[0]), Deposit(PUBS[1], 500, OWNERS[1])]
    apply_batch(st, txs, batch_size=4, domain=DOMAIN, batch_number=1)
    return st


def test_keys_serialize_and_sign() -> None:
    key = acc.generate_key()
    again = acc.load_private_key(acc.serialize_private_key(key))
    assert again.public_key() == key.public_key()
    pub = acc.load_public_key(acc.serialize_public_key(key.public_key()))
    tx = Transfer(0, 1, 5, 1, 0).signed(key, DOMAIN)
    sig = acc.load_signature(acc.serialize_signature(tx.signature))
    assert pub.verify(tx.message(DOMAIN), sig)
    assert not pub.verify(tx.message(pd.Domain(CHAIN + 1, ROLLUP)), sig)  # the chain id is signed
    assert not pub.verify(tx.message(pd.Domain(CHAIN, ROLLUP + 1)), sig)  # and the Rollup's address
    assert tx.message(DOMAIN) != Withdrawal(0, 1, 5, 1, 0).message(DOMAIN)  # so is the type
    assert address_to_hex(ADDR) == "0x00000000000000000000000000000000deadbeef"


def test_default_state_is_sparse_2_24() -> None:
    st = State()
    assert st.depth == DEFAULT_DEPTH and st.capacity == 1 << 24
    assert st.root == zero_hashes(DEFAULT_DEPTH, ARITY)[DEFAULT_DEPTH]
    a = Account.for_key(PUBS[0], 7, 1, OWNERS[0])
    assert a.leaf() == poseidon_hash([a.ax, a.ay, 7 + (1 << 64), OWNERS[0]])
    st.set(12_345_678, a)
    assert st.get(12_345_678) == a and len(st) == 1
    assert root_from_path(a.leaf(), 12_345_678, st.path(12_345_678), ARITY) == st.root


def test_batch_applies_in_order_and_collects_fees() -> None:
    st = funded()
    txs = [
        Transfer(0, 1, 100, 3, 0).signed(KEYS[0], DOMAIN),
        Transfer(1, 0, 600, 0, 0).signed(KEYS[1], DOMAIN),  # spends what tx 0 just credited
        Withdrawal(0, ADDR, 50, 2, 1).signed(KEYS[0], DOMAIN),
        Deposit(PUBS[2], 9, OWNERS[2]),  # creates account 2 (the next free index)
        Deposit(None, 4, ADDR, index=1),  # a top-up by someone else: account 1 stays OWNERS[1]'s
    ]
    res = apply_batch(st, txs, batch_size=6, domain=DOMAIN, batch_number=2, fee_account=1)
    assert [st.get(i).balance for i in range(3)] == [1000 - 103 + 600 - 52, 500 + 100 - 600 + 5 + 4, 9]
    assert [st.get(i).nonce for i in range(3)] == [2, 1, 0]
    assert [st.get(i).owner for i in range(3)] == OWNERS
    assert st.get(2).key == PUBS[2].point and st.get(1).key == PUBS[1].point
    assert res.new_root == st.root and res.old_root != res.new_root
    assert res.withdrawals == [(ADDR, 50)] == res.payouts and res.forced_exits == []
    assert res.l1_entries == [
        pd.L1Entry(TxType.WITHDRAWAL, 0, 50, ADDR),
        pd.L1Entry(TxType.DEPOSIT, 2, 9, OWNERS[2], *PUBS[2].point),
        pd.L1Entry(TxType.DEPOSIT, 1, 4, ADDR),
    ]
    assert [e.creates_account for e in res.deposits] == [True, False]
    data = pd.PublicData.decode(res.public_data_bytes, st.depth)
    assert data == res.public_data
    assert [r.tx_type for r in data.records] == [2, 2, 3, 1, 1, 0]
    assert data.records[3] == pd.Record(TxType.DEPOSIT, 2, 0, 9, 0)
    assert data.l1_digest == pd.l1_digest([(0, 0, ADDR), (*PUBS[2].point, OWNERS[2]), (0, 0, ADDR)])
    assert len(res.public_data_bytes) == 1 + 32 + 6 * pd.record_bytes(st.depth)
    msg = (
        CHAIN.to_bytes(8, "big") + ROLLUP.to_bytes(20, "big") + (2).to_bytes(8, "big")
        + res.old_root.to_bytes(32, "big") + res.new_root.to_bytes(32, "big") + res.public_data_bytes
    )  # fmt: skip
    assert res.public_input == int.from_bytes(hashlib.sha256(msg).digest(), "big") % P
    # the same batch data under another Rollup address is another public input
    other = pd.Domain(CHAIN, ROLLUP ^ 1)
    assert pd.public_input(other, 2, res.old_root, res.new_root, res.public_data_bytes) != res.public_input


def test_forced_exit_pays_the_owner_min_balance_and_cap() -> None:
    cap = (1 << 40) - 1
    st = funded()
    st.set(2, Account.for_key(PUBS[2], cap + 7, 3, OWNERS[2]))
    txs = [
        ForcedExit(0, OWNERS[1]),  # not the owner: consumed, pays 0
        ForcedExit(1, OWNERS[1]),  # the owner: everything
        ForcedExit(2, OWNERS[2]),  # the owner of more than the cap: the cap, 7 stay
        ForcedExit(1, OWNERS[1]),  # again: nothing left
    ]
    res = apply_batch(st, txs, batch_size=4, domain=DOMAIN, batch_number=2)
    assert [(st.get(i).balance, st.get(i).nonce) for i in range(3)] == [(1000, 0), (0, 0), (7, 3)]
    assert res.forced_exits == [(0, OWNERS[1], 0), (1, OWNERS[1], 500), (2, OWNERS[2], cap), (1, OWNERS[1], 0)]
    assert res.payouts == [(a, m) for _, a, m in res.forced_exits]
    assert [r.amount for r in res.public_data.records] == [0, 500, cap, 0]
    assert res.public_data.l1_digest == pd.l1_digest([(0, 0, OWNERS[1])] * 2 + [(0, 0, OWNERS[2]), (0, 0, OWNERS[1])])
    # a claimed amount must be the due one
    with pytest.raises(BatchRejected) as info:
        apply_batch(st, [ForcedExit(0, OWNERS[0], amount=999)], batch_size=1, domain=DOMAIN, batch_number=3)
    assert info.value.errors[0].reason == Reason.WRONG_AMOUNT and "pays 1000" in str(info.value)


def test_next_free_index_is_the_lowest_unused_one() -> None:
    """Indices with a gap: new accounts fill it instead of colliding with the account above it."""
    st = State(2)
    txs = [Deposit(PUBS[0], 1, OWNERS[0]), Deposit(PUBS[1], 1, OWNERS[1], index=3)]  # leaves 1, 2 free
    apply_batch(st, txs, batch_size=2, domain=DOMAIN, batch_number=1)
    assert len(st) == 2 and st.next_free_index() == 1  # not len(accounts) = 2, which is free too, but
    apply_batch(st, [Deposit(PUBS[2], 1, OWNERS[2])] * 2, batch_size=2, domain=DOMAIN, batch_number=2)
    assert [st.get(i).owner for i in range(4)] == [OWNERS[0], OWNERS[2], OWNERS[2], OWNERS[1]]
    assert st.next_free_index() == 4  # ... and 3 is skipped, not overwritten
    st.begin()
    st.set(1, None)
    assert st.next_free_index() == 1
    st.rollback()
    assert st.next_free_index() == 4
    full = State(1)
    apply_batch(full, [Deposit(PUBS[0], 1, 1)] * 4, batch_size=4, domain=DOMAIN, batch_number=1)
    with pytest.raises(BatchRejected, match="tree full"):
        apply_batch(full, [Deposit(PUBS[0], 1, 1)], batch_size=1, domain=DOMAIN, batch_number=2)


def test_rejected_batch_leaves_state_untouched_and_names_every_bad_tx() -> None:
    st = funded()
    st.set(2, Account.for_key(PUBS[2], (1 << 64) - 10))
    before = (st.root, {i: st.get(i) for i in range(3)})
    good = Transfer(0, 1, 1, 0, 0).signed(KEYS[0], DOMAIN)
    txs = [
        good,  # valid, applied first, then undone
        Transfer(1, 0, 1, 0, 0).signed(KEYS[0], DOMAIN),  # signed by the wrong key
        good,  # replay: nonce is now 1
        Transfer(1, 0, 600, 0, 0).signed(KEYS[1], DOMAIN),  # holds 500 + 1
        Transfer(1, 9, 1, 0, 0).signed(KEYS[1], DOMAIN),  # receiver does not exist
        Transfer(1, 0, 1 << 40, 0, 0).signed(KEYS[1], DOMAIN),
        Transfer(1, 0, 1, 1 << 16, 0).signed(KEYS[1], DOMAIN),
        Transfer(1, 2, 20, 0, 0).signed(KEYS[1], DOMAIN),  # 2^64 - 10 + 20
        Deposit(PUBS[1], 5, OWNERS[1], index=0),  # a key creates an account: 0 exists
        Withdrawal(1, 1 << 160, 1, 0, 0).signed(KEYS[1], DOMAIN),
        Transfer(1, 0, 1, 0, 0).signed(KEYS[1], pd.Domain(CHAIN, ROLLUP + 1)),  # another deployment
        Deposit(None, 5, OWNERS[1], index=5),  # top-up of an account that does not exist
        Deposit(PUBS[1], 5, 1 << 160),  # depositor address too wide
        ForcedExit(1, 1 << 160),  # requester address too wide
        ForcedExit(16, OWNERS[1]),  # outside the tree
    ]
    with pytest.raises(BatchRejected) as info:
        apply_batch(st, txs, batch_size=len(txs), domain=DOMAIN, batch_number=2)
    reasons = {e.position: e.reason for e in info.value.errors}
    assert reasons == {
        1: Reason.BAD_SIGNATURE,
        2: Reason.WRONG_NONCE,
        3: Reason.INSUFFICIENT_BALANCE,
        4: Reason.UNKNOWN_ACCOUNT,
        5: Reason.OUT_OF_RANGE,
        6: Reason.OUT_OF_RANGE,
        7: Reason.OVERFLOW,
        8: Reason.ACCOUNT_EXISTS,
        9: Reason.OUT_OF_RANGE,
        10: Reason.BAD_SIGNATURE,
        11: Reason.UNKNOWN_ACCOUNT,
        12: Reason.OUT_OF_RANGE,
        13: Reason.OUT_OF_RANGE,
        14: Reason.UNKNOWN_ACCOUNT,
    }
    assert "depositor address" in str(info.value) and "requester address" in str(info.value)
    assert (st.root, {i: st.get(i) for i in range(3)}) == before
    # a fee account that does not exist, and a batch that is too long
    with pytest.raises(BatchRejected, match="fee account"):
        paying = Transfer(0, 1, 1, 1, 0).signed(KEYS[0], DOMAIN)
        apply_batch(st, [paying], batch_size=1, domain=DOMAIN, batch_number=2, fee_account=5)
    with pytest.raises(BatchRejected, match="too large"):
        apply_batch(st, [NoOp(), NoOp()], batch_size=1, domain=DOMAIN, batch_number=2)
    assert st.root == before[0]
    apply_batch(st, [good], batch_size=1, domain=DOMAIN, batch_number=2)  # still usable afterwards
    assert st.get(0).nonce == 1


def test_public_data_layout_widths() -> None:
    assert pd.record_bytes(12) == 14 and pd.record_bytes(16) == 16 and pd.record_bytes(2) == 10
    rec = pd.Record(TxType.TRANSFER, 0x010203, 0x0A0B0C, 0x0102030405, 0xBEEF)
    assert rec.encode(12).hex() == "02" + "010203" + "0a0b0c" + "0102030405" + "beef"
    assert len(pd.hashed_message(DOMAIN, 0, 0, 0, b"")) == 8 + 20 + 8 + 32 + 32
    with pytest.raises(ValueError, match="chain id"):
        pd.Domain(1 << 64, 0)
    with pytest.raises(ValueError, match="rollup address"):
        pd.Domain(1, 1 << 160)
    assert pd.Domain(1, 2).value == (1 << 160) + 2
    with pytest.raises(ValueError, match="must name the account"):
        Deposit(None, 5, ADDR)
