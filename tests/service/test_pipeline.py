"""The worker pipeline: the next job's witness is built while the backend proves, jobs finish in
batch order, and a prepared witness whose job was cancelled or reverted meanwhile is dropped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from prover.backend.python_backend import PythonBackend
from prover.jobs import CANCELLED, SUCCEEDED
from prover.service.rollup_api import TxRequest
from prover.service.worker import Worker
from tests.service.helpers import make_core, registry


class ObservingBackend(PythonBackend):
    """The Python backend, recording its proofs; during the first one it waits (bounded) until
    ``condition`` holds, to see what the rest of the worker does while the backend is busy."""

    def __init__(self, condition: Callable[[], bool] = lambda: True, wait_s: float = 10.0) -> None:
        super().__init__()
        self.condition = condition
        self.wait_s = wait_s
        self.proofs = 0
        self.seen: bool | None = None

    def quotient_evaluations(self, resident, w):
        self.proofs += 1
        if self.proofs == 1:
            deadline = time.monotonic() + self.wait_s
            while not (seen := self.condition()) and time.monotonic() < deadline:
                time.sleep(0.02)
            self.seen = seen
        return super().quotient_evaluations(resident, w)


def _deposits(core, n: int) -> list:
    def deposit(i: int) -> list[TxRequest]:
        return [TxRequest(kind="deposit", from_index=i, amount=5, pubkey=(1, 2))]

    return [core.submit(f"b{i}", deposit(i))[0] for i in range(n)]


def _run_until_done(worker: Worker, store, jobs: list, timeout_s: float = 60.0) -> list:
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not all(store.get(j.job_id).final for j in jobs):
        time.sleep(0.05)
    worker.request_stop()
    t.join(timeout=30)
    assert not t.is_alive()
    return [store.get(j.job_id) for j in jobs]


def test_pipeline_builds_the_next_witness_while_the_backend_proves(sqlite_store):
    core = make_core(sqlite_store)
    jobs = _deposits(core, 3)
    # while the backend proves batch 1, batch 2 must reach "ready" (its witness built)
    backend = ObservingBackend(lambda: sqlite_store.get(jobs[1].job_id).stage == "ready")
    worker = Worker(sqlite_store, registry(), backend, poll_s=0.05, pipeline_depth=2)
    done = _run_until_done(worker, sqlite_store, jobs)
    assert backend.seen is True
    assert [j.state for j in done] == [SUCCEEDED] * 3 and [j.stage for j in done] == ["done"] * 3
    assert [j.finished_at for j in done] == sorted(j.finished_at for j in done)  # batch order
    assert all("ready" in j.stage_seconds for j in done)
    # jobs 2 and 3 were submitted before the proof ahead of them ended: the idle gap is recorded
    assert "idle_before" not in done[0].stage_seconds
    assert all(0 <= j.stage_seconds["idle_before"] < 5 for j in done[1:])


def test_without_a_pipeline_the_next_job_waits_in_the_queue(sqlite_store):
    core = make_core(sqlite_store)
    jobs = _deposits(core, 2)
    backend = ObservingBackend(lambda: sqlite_store.get(jobs[1].job_id).stage != "queued", wait_s=1.0)
    worker = Worker(sqlite_store, registry(), backend, poll_s=0.05, pipeline_depth=1)
    done = _run_until_done(worker, sqlite_store, jobs)
    assert backend.seen is False  # batch 2 was never claimed while batch 1 proved
    assert [j.state for j in done] == [SUCCEEDED] * 2


def test_pipeline_depth_must_be_positive(sqlite_store):
    with pytest.raises(ValueError, match="pipeline_depth must be at least 1"):
        Worker(sqlite_store, registry(), PythonBackend(), pipeline_depth=0)


@pytest.mark.parametrize("pipelined", [False, True])
@pytest.mark.parametrize("how", ["cancelled", "reverted"])
def test_a_prepared_witness_is_dropped_when_its_job_left_meanwhile(sqlite_store, how, pipelined):
    core = make_core(sqlite_store)
    job = _deposits(core, 1)[0]
    backend = ObservingBackend()
    worker = Worker(sqlite_store, registry(), backend, worker_id="w")
    prepared = worker._witness_stage(sqlite_store.claim("w", 30))
    assert prepared is not None and sqlite_store.get(job.job_id).stage == "ready"
    if how == "cancelled":
        core.cancel(job.job_id, "operator")
    else:  # what ProverCore.revert_from does to the store: the job leaves the batch sequence
        sqlite_store.revert_after(0, "0", {}, "reverted: L1 refused an earlier batch")
    if pipelined:  # the lease is read (no write) before the proof; the stage write is handed over
        handed: list = []
        done = worker._proof(prepared, handed.append)
        assert handed == []
    else:
        done = worker._prove_stage(prepared)
    assert backend.proofs == 0  # the witness was discarded, never proved
    assert done.state == CANCELLED and done.proof_json == "" and done.stage == "done"
    assert (worker.stats.cancelled, worker.stats.lost) == ((1, 0) if how == "cancelled" else (0, 1))


def test_on_stop_the_proof_under_way_finishes_and_prepared_jobs_are_released(sqlite_store):
    core = make_core(sqlite_store)
    jobs = _deposits(core, 3)
    worker = Worker(sqlite_store, registry(), PythonBackend(), poll_s=0.05, pipeline_depth=3)

    def both_prepared_then_stop() -> bool:  # runs inside the first proof
        if all(sqlite_store.get(j.job_id).stage == "ready" for j in jobs[1:]):
            worker.request_stop()
            return True
        return False

    worker.backend = ObservingBackend(both_prepared_then_stop)
    t = threading.Thread(target=worker.run, daemon=True)
    t.start()
    t.join(timeout=60)
    assert not t.is_alive() and worker.backend.seen is True
    first, *prepared = (sqlite_store.get(j.job_id) for j in jobs)
    assert first.state == SUCCEEDED
    # given back without spending an attempt, for another worker to redo
    assert [(j.state, j.stage, j.attempts) for j in prepared] == [("QUEUED", "queued", 0)] * 2
    assert worker.stats.released == 2 and worker.backend.proofs == 1
