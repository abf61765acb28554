"""The L1 ledger in the job store (SQLite and PostgreSQL): L1 requests recorded once by queue
index, taken by a batch in the batch's own transaction, back to waiting when batches are
reverted; settlements; the event cursor; batches recovered from L1."""

from __future__ import annotations

from dataclasses import replace

import pytest

from prover.jobs import StaleState
from prover.jobs.l1_ledger import L1Ledger, L1Request, L1RequestConflict, RecoveredBatch, Settlement
from tests.service.test_job_store import new_job

DEP = L1Request(0, "deposit", 0, 1000, 0xA1, 5, 6, block_number=7)
TOP = L1Request(1, "top_up", 0, 20, 0xB2, block_number=8)
EXIT = L1Request(2, "forced_exit", 0, 0, 0xA1, block_number=9)


def test_requests_are_recorded_once_in_queue_order(store):
    ledger = L1Ledger(store)
    assert [ledger.record(r) for r in (EXIT, DEP, TOP)] == [True, True, True]
    assert ledger.record(DEP) is False  # a redelivered event changes nothing
    assert ledger.waiting() == [DEP, TOP, EXIT] and ledger.waiting(2) == [DEP, TOP]
    with pytest.raises(L1RequestConflict, match="queue entry 0"):
        ledger.record(L1Request(0, "deposit", 0, 999, 0xA1, 5, 6))
    with pytest.raises(ValueError, match="kind"):
        L1Request(3, "mint", 0, 1, 0)


def test_a_batch_takes_requests_with_it_and_a_revert_gives_them_back(store):
    ledger = L1Ledger(store)
    for r in (DEP, TOP, EXIT):
        ledger.record(r)
    store.init_head("0")
    store.submit(new_job(1), {0: "a"}, expect_batch_number=0, l1_queue=[0, 1])
    assert ledger.waiting() == [EXIT] and [r.queue_index for r in ledger.taken_by(1)] == [0, 1]
    with pytest.raises(L1RequestConflict, match="taken by batch 1"):
        ledger.retract(0)
    # a second batch cannot take a request already taken; nothing of it is written
    with pytest.raises(StaleState, match="L1 request 1"):
        store.submit(new_job(2), {0: "b"}, expect_batch_number=1, l1_queue=[2, 1])
    assert store.head().batch_number == 1 and ledger.waiting() == [EXIT]
    store.submit(new_job(2), {1: "c"}, expect_batch_number=1, l1_queue=[2])
    reverted = store.revert_after(0, "0", {0: None, 1: None}, "reverted: test")
    assert [j.batch_number for j in reverted] == [1, 2]
    assert ledger.waiting() == [DEP, TOP, EXIT] and store.head().batch_number == 0
    assert store.load_accounts() == []
    gone = store.get(reverted[0].job_id)
    assert gone.batch_number < 0 and gone.state == "CANCELLED" and gone.batch_id == "b1~reverted1"
    assert store.get_by_batch("b1") is None  # free for the rebuilt batch
    assert ledger.retract(2) is True and ledger.retract(2) is False


def test_settlements_and_cursor(store):
    ledger = L1Ledger(store)
    assert ledger.last_settled() == 0 and ledger.load_cursor() is None
    ledger.record_settlement(Settlement(1, "ab", 300_000, 10**15, 4))
    ledger.record_settlement(Settlement(1, "cd", 1, 1, 1))  # recorded once
    assert ledger.settlements() == [Settlement(1, "ab", 300_000, 10**15, 4)] and ledger.last_settled() == 1
    ledger.save_cursor({"block_number": 3})
    ledger.save_cursor({"block_number": 4})
    assert ledger.load_cursor() == {"block_number": 4}


def _recovered(n: int, old: str, new: str) -> RecoveredBatch:
    return RecoveredBatch(n, 4, 2, "rollup_b4_d2", old, new, "00", '{"pi_a": []}', ("7",))


def test_batches_recovered_from_l1_go_in_with_their_requests_in_one_transaction(store):
    ledger = L1Ledger(store)
    store.init_head("0")
    ledger.record(TOP)  # seen by the event follower before the resync
    taken = [replace(DEP, batch_number=1), replace(TOP, batch_number=2)]
    batches = [_recovered(1, "0", "11"), _recovered(2, "11", "22")]
    settled = [Settlement(1, "aa", 5, 6, 2), Settlement(2, "bb", 7, 8, 2)]
    with pytest.raises(StaleState, match="expected 1"):  # the head is not where the recovery starts
        ledger.install_settled(1, batches, {0: "a"}, taken, settled)
    with pytest.raises(L1RequestConflict, match="L1 says"):  # L1's entry is not the one recorded
        ledger.install_settled(0, batches, {0: "a"}, [replace(TOP, amount=21, batch_number=2)], settled)
    assert store.head().batch_number == 0 and store.list() == [] and store.load_accounts() == []
    ledger.install_settled(0, batches, {0: "a", 3: "b"}, taken, settled)
    assert (store.head().batch_number, store.head().root) == (2, "22")
    jobs = store.list()
    assert [(j.batch_id, j.state, j.stage, j.new_root, j.public_signals) for j in jobs] == [
        ("l1-settled-1", "SUCCEEDED", "settled", "11", ["7"]),
        ("l1-settled-2", "SUCCEEDED", "settled", "22", ["7"]),
    ]
    assert ledger.waiting() == [] and [r.batch_number for r in ledger.all()] == [1, 2]
    assert ledger.settlements() == settled and store.load_accounts() == [(0, "a"), (3, "b")]
