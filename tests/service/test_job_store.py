"""The job store contract, run over SQLite and PostgreSQL through one fixture."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest

from prover.jobs import (
    CANCELLED,
    FAILED,
    PROVING,
    QUEUED,
    SUCCEEDED,
    BatchIdConflict,
    JobFinal,
    JobNotFound,
    NewJob,
    StaleState,
    open_store,
)
from prover.jobs.migrations import MIGRATIONS


def new_job(n: int, batch_id: str | None = None, max_attempts: int = 3, request_hash: str = "h") -> NewJob:
    return NewJob(
        batch_id=batch_id or f"b{n}",
        request_hash=request_hash,
        batch_number=n,
        batch_size=2,
        tx_count=1,
        circuit="c2",
        inputs={"x": n, "list": [1, 2]},
        old_root=str(n - 1),
        new_root=str(n),
        public_data="00",
        max_attempts=max_attempts,
    )


def submit(store, n: int, **kw):
    store.init_head("0")
    return store.submit(new_job(n, **kw), {n: f'{{"balance": {n}}}'}, expect_batch_number=n - 1)


def test_migrate_is_versioned_and_idempotent(store):
    latest = MIGRATIONS[-1].version
    assert store.migrate() == latest
    assert store.migrate() == latest
    assert store.schema_version() == latest


def test_submit_moves_head_and_writes_accounts_atomically(store):
    assert store.init_head("0").batch_number == 0
    job, created = store.submit(new_job(1), {7: '{"b": 1}'}, expect_batch_number=0)
    assert created and job.state == QUEUED and job.attempts == 0 and job.inputs == {"x": 1, "list": [1, 2]}
    assert store.head().batch_number == 1 and store.head().root == "1"
    assert store.account(7) == '{"b": 1}'
    # a stale head writes nothing: not the accounts, not the job
    with pytest.raises(StaleState):
        store.submit(new_job(2), {8: "{}"}, expect_batch_number=0)
    assert store.account(8) is None and store.get_by_batch("b2") is None and store.head().batch_number == 1


def test_submit_refuses_a_batch_built_on_another_root_at_the_same_number(store):
    """After a revert the same batch number comes back on another root: a server that loaded
    the head before the revert must not commit its batch built on the reverted root."""
    submit(store, 1)
    built_on_reverted = dataclasses.replace(new_job(2), old_root="reverted")
    with pytest.raises(StaleState, match="another root"):
        store.submit(built_on_reverted, {9: "{}"}, expect_batch_number=1)
    assert store.account(9) is None and store.get_by_batch("b2") is None and store.head().batch_number == 1


def test_submit_is_idempotent_by_batch_id(store):
    job, _ = submit(store, 1)
    again, created = store.submit(new_job(1), {}, expect_batch_number=1)
    assert not created and again.job_id == job.job_id
    with pytest.raises(BatchIdConflict):
        store.submit(new_job(2, batch_id="b1", request_hash="other"), {}, expect_batch_number=1)


def test_claim_heartbeat_succeed(store):
    job, _ = submit(store, 1)
    claimed = store.claim("w1", lease_s=30)
    assert claimed.job_id == job.job_id and claimed.state == PROVING and claimed.attempts == 1
    assert claimed.worker_id == "w1" and claimed.lease_expires > time.time()
    assert store.claim("w2", lease_s=30) is None
    lease = store.heartbeat(job.job_id, "w1", 30, stages={"witness": 0.5})
    assert lease.owned and not lease.cancel_requested
    assert not store.heartbeat(job.job_id, "w2", 30).owned
    assert store.succeed(job.job_id, "w2", "{}", ["1"], {}, "k") is None  # not its job
    done = store.succeed(job.job_id, "w1", '{"pi_a": []}', ["5", "6"], {"total": 1.5}, "keyhash")
    assert done.state == SUCCEEDED and done.public_signals == ["5", "6"] and done.finished_at
    assert done.version > claimed.version
    assert store.last_proven().batch_number == 1


def test_claims_in_batch_order(store):
    for n in (1, 2, 3):
        submit(store, n)
    assert [store.claim(f"w{i}", 30).batch_number for i in range(3)] == [1, 2, 3]


def test_expired_lease_requeues_then_attempts_cap_fails(store):
    job, _ = submit(store, 1, max_attempts=2)
    store.claim("dead-1", lease_s=0.05)
    time.sleep(0.1)
    again = store.claim("w2", lease_s=0.05)  # the claim reaps the expired lease first
    assert again.job_id == job.job_id and again.attempts == 2 and "dead-1" in again.last_error
    time.sleep(0.1)
    assert store.requeue_expired() == [job.job_id]
    final = store.get(job.job_id)
    assert final.state == FAILED and "attempt 2 of 2" in final.last_error
    assert store.claim("w3", 30) is None


def test_fail_retries_until_cap(store):
    job, _ = submit(store, 1, max_attempts=2)
    store.claim("w", 30)
    assert store.fail(job.job_id, "w", "GPU out of memory", retry=True).state == QUEUED
    store.claim("w", 30)
    failed = store.fail(job.job_id, "w", "GPU out of memory", retry=True)
    assert failed.state == FAILED and failed.last_error == "GPU out of memory" and failed.finished_at


def test_permanent_failure_does_not_retry(store):
    job, _ = submit(store, 1)
    store.claim("w", 30)
    assert store.fail(job.job_id, "w", "bad witness", retry=False).state == FAILED


def test_release_does_not_spend_an_attempt(store):
    job, _ = submit(store, 1)
    store.claim("w", 30)
    released = store.release(job.job_id, "w", "shutting down")
    assert released.state == QUEUED and released.attempts == 0 and "shutting down" in released.last_error


def test_cancel(store):
    first, _ = submit(store, 1)
    second, _ = submit(store, 2)
    c = store.cancel(second.job_id, "operator")  # queued: cancelled at once
    assert c.state == CANCELLED and "operator" in c.last_error and c.finished_at
    assert store.cancel(second.job_id).state == CANCELLED  # idempotent
    claimed = store.claim("w", 30)
    assert claimed.job_id == first.job_id and store.claim("w2", 30) is None  # cancelled is never claimed
    requested = store.cancel(first.job_id)  # proving: a request the worker sees
    assert requested.state == PROVING and requested.cancel_requested
    assert store.heartbeat(first.job_id, "w", 30).cancel_requested
    assert store.mark_cancelled(first.job_id, "w").state == CANCELLED
    with pytest.raises(JobNotFound):
        store.cancel("nope")


def test_cancel_final_job_refused(store):
    job, _ = submit(store, 1)
    store.claim("w", 30)
    store.succeed(job.job_id, "w", "{}", [], {}, "k")
    with pytest.raises(JobFinal):
        store.cancel(job.job_id)


def test_list_pages_and_counts(store):
    for n in range(1, 6):
        submit(store, n)
    store.claim("w", 30)
    page1 = store.list(limit=2)
    page2 = store.list(limit=2, after_batch=page1[-1].batch_number)
    assert [j.batch_number for j in page1 + page2] == [1, 2, 3, 4]
    assert [j.batch_number for j in store.list(state=QUEUED)] == [2, 3, 4, 5]
    assert store.counts() == {QUEUED: 4, PROVING: 1, SUCCEEDED: 0, FAILED: 0, CANCELLED: 0}


def test_concurrent_claims_take_each_job_once(store_url):
    """Four workers (own connections) race for 12 jobs: each job is claimed exactly once."""
    s = open_store(store_url)
    s.migrate()
    for n in range(1, 13):
        submit(s, n)
    taken: list[str] = []
    lock = threading.Lock()

    def worker(name: str) -> None:
        w = open_store(store_url)
        while (job := w.claim(name, 30)) is not None:
            with lock:
                taken.append(job.job_id)
        w.close()

    threads = [threading.Thread(target=worker, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 12 and len(set(taken)) == 12
    s.close()
