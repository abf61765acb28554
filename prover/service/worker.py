"""Workers: claim a job, build its witness, prove, check, store the proof.

A worker runs inside ``zkprover serve`` (a thread) or as ``zkprover worker`` (a process per
GPU, pointed at the shared store). While it holds a job a heartbeat thread extends the lease;
if the worker dies the lease runs out and the next claim anywhere requeues the job (attempts
are counted at claim, so a job that kills its workers stops after ``max_attempts``).

Between stages (witness, prove, verify) the worker asks the store whether the job was
cancelled (it stops, CANCELLED) or whether it lost the lease (it drops the work: another worker
owns the job now). On shutdown (``stop`` set, e.g. by SIGTERM) it takes no new job and
finishes the current one, unless that takes longer than ``grace_s``: then it releases the job
at the next stage boundary, without spending an attempt, for another worker to redo.

Pipeline (``pipeline_depth`` > 1): a witness thread claims the next job and builds its witness
while the backend proves the current one, keeping up to ``pipeline_depth`` jobs claimed (one
proving, the others prepared or in preparation), and a store thread checks and stores each proof
while the backend goes on with the next, so that a fast backend does not wait for the host. Jobs
are claimed, proved and stored in batch order. A prepared job keeps its lease by heartbeats;
just before proving, the worker checks the lease again, so the witness of a job that was
cancelled, requeued, or reverted meanwhile (``ProverCore.revert_from`` cancels the jobs it takes
out of the sequence; the rebuilt batch is a new job) is discarded, never proved. A killed worker
leaves all its claimed jobs to expire; each has spent an attempt. The job's ``stage`` in the
store follows it: witness, ready (waiting for the backend), proving. The gap between one proof's
end and the next one's start, while the next job was already submitted, is the backend's idle
time: ``zkprover_backend_idle_seconds``, ``idle_before`` in the job's stage seconds, and a log
line when it exceeds ``IDLE_LOG_S``.

Errors: a witness that does not satisfy the circuit is permanent (FAILED at once, the batch
will never prove); anything else (a backend error, out of memory) is retried on the next claim.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from prover import metrics
from prover.backend.interface import Backend, ResidentKey
from prover.field.arrays import fr_vector
from prover.groth16.formats import proof_to_json
from prover.groth16.prover import ProveResult, WitnessError, prove
from prover.groth16.verifier import verify
from prover.jobs import JobRecord, JobStore, Lease
from prover.jobs.store import STAGE_PROVING, STAGE_READY
from prover.service.rollup_api import CircuitEntry, CircuitRegistry, inputs_from_json

log = logging.getLogger("zkprover.worker")

#: a backend idle gap (between consecutive proofs, work waiting) longer than this is logged
IDLE_LOG_S = 0.05


class _Stop(Exception):
    """Leave the job at a stage boundary; ``action`` says what to record."""

    def __init__(self, action: str, why: str) -> None:
        self.action = action  # "cancelled" | "lost" | "release"
        super().__init__(why)


@dataclass
class WorkerStats:
    succeeded: int = 0
    failed: int = 0
    cancelled: int = 0
    released: int = 0
    lost: int = 0


@dataclass
class _Claimed:
    """A job this worker holds, between its stages."""

    job: JobRecord
    jlog: logging.LoggerAdapter
    lost: threading.Event = field(default_factory=threading.Event)
    cancel: threading.Event = field(default_factory=threading.Event)
    beating: threading.Event = field(default_factory=threading.Event)
    beat: threading.Thread | None = None
    stages: dict[str, float] = field(default_factory=dict)
    t_start: float = field(default_factory=time.perf_counter)
    entry: CircuitEntry | None = None
    witness: Any = None
    ready_at: float = 0.0
    proof_started: float = 0.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        store: JobStore,
        registry: CircuitRegistry,
        backend: Backend,
        *,
        worker_id: str | None = None,
        lease_s: float = 30.0,
        poll_s: float = 0.5,
        verify_proofs: bool = True,
        grace_s: float = 30.0,
        hold_s: float = 0.0,
        pipeline_depth: int = 1,
    ) -> None:
        if pipeline_depth < 1:
            raise ValueError(f"pipeline_depth must be at least 1 (jobs in flight per worker), not {pipeline_depth}")
        self.store = store
        self.registry = registry
        self.backend = backend
        self.worker_id = worker_id or default_worker_id()
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.verify_proofs = verify_proofs
        self.grace_s = grace_s
        self.hold_s = hold_s  # test hook: pause after the witness stage (to kill a worker mid-job)
        self.stop = threading.Event()
        self.stats = WorkerStats()
        self._stop_at: float | None = None
        self._resident: dict[str, ResidentKey] = {}
        self.pipeline_depth = pipeline_depth
        self._last_proof_end: tuple[float, float] | None = None  # (perf_counter, epoch) of the last proof

    # --- loop ------------------------------------------------------------------------------------------
    def run(self) -> None:
        """Claim and prove until ``stop`` is set; then finish (or release) the current job."""
        log.info(
            "worker %s started (backend %s, lease %.0f s, pipeline depth %d)", self.worker_id,
            self.backend.describe(), self.lease_s, self.pipeline_depth,
        )  # fmt: skip
        if self.pipeline_depth > 1:
            self._run_pipelined()
        while not self.stop.is_set():
            try:
                done = self.run_once()
            except Exception:
                log.exception("worker %s: store unavailable; retrying", self.worker_id)
                done = None
            if done is None:
                self.stop.wait(self.poll_s)
        for resident in self._resident.values():
            self.backend.release_key(resident)
        self._resident.clear()
        log.info("worker %s stopped: %s", self.worker_id, self.stats)

    def request_stop(self) -> None:
        self._stop_at = time.monotonic()
        self.stop.set()

    def run_once(self) -> JobRecord | None:
        """Claim one job and process it; None if the queue was empty."""
        job = self._claim()
        if job is None:
            return None
        return self.process(job)

    def _claim(self) -> JobRecord | None:
        job = self.store.claim(self.worker_id, self.lease_s)
        if job is not None and job.started_at is not None:
            metrics.JOB_STAGE_SECONDS.labels("queued").observe(max(0.0, job.started_at - job.created_at))
        return job

    def _run_pipelined(self) -> None:
        """Prove prepared jobs in claim order while a witness thread prepares the next ones."""
        ready: queue.Queue[_Claimed | None] = queue.Queue()
        slots = threading.BoundedSemaphore(self.pipeline_depth)  # jobs claimed and not yet finished
        witness = threading.Thread(target=self._witness_loop, args=(ready, slots), name=f"witness-{self.worker_id}")
        witness.daemon = True
        witness.start()
        proved: queue.Queue[tuple[_Claimed, ProveResult | None] | None] = queue.Queue()
        storer = threading.Thread(target=self._store_loop, args=(proved, slots), name=f"store-{self.worker_id}")
        storer.daemon = True
        storer.start()
        try:
            while (claimed := ready.get()) is not None:
                if self.stop.is_set():  # shutting down: finish the proof under way, not the prepared ones
                    self._finish_stage(claimed, _Stop("release", f"worker {self.worker_id} shutting down"))
                    slots.release()
                    continue
                result = self._proof(claimed, lambda c: proved.put((c, None)))
                if isinstance(result, JobRecord):
                    slots.release()
                else:  # checked and stored while the backend goes on with the next job
                    proved.put((claimed, result))
        finally:
            proved.put(None)
            storer.join()
            witness.join()

    def _store_loop(self, proved: queue.Queue[tuple[_Claimed, ProveResult | None] | None], slots) -> None:
        """Write what the proving thread hands over, in order: (job, None) its move to the
        proving stage, (job, proof) the proof to check and store."""
        while (item := proved.get()) is not None:
            claimed, result = item
            if result is None:
                try:
                    self.store.heartbeat(claimed.job.job_id, self.worker_id, self.lease_s, stage=STAGE_PROVING)
                except Exception as exc:  # only the stage shown is late; the lease has slack
                    log.warning("job=%s proving stage not recorded: %s", claimed.job.job_id, exc)
                continue
            try:
                self._store_proof(claimed, result)
            finally:
                slots.release()

    def _witness_loop(self, ready: queue.Queue[_Claimed | None], slots: threading.BoundedSemaphore) -> None:
        try:
            while not self.stop.is_set():
                if not slots.acquire(timeout=self.poll_s):
                    continue
                try:
                    job = self._claim()
                except Exception:
                    log.exception("worker %s: store unavailable; retrying", self.worker_id)
                    job = None
                if job is None:
                    slots.release()
                    self.stop.wait(self.poll_s)
                    continue
                claimed = self._witness_stage(job)
                if claimed is None:  # the job ended in its witness stage (failed, cancelled, lost)
                    slots.release()
                    continue
                ready.put(claimed)
        finally:
            ready.put(None)  # the prover loop ends after the jobs already prepared

    # --- one job ----------------------------------------------------------------------------------------
    def process(self, job: JobRecord) -> JobRecord:
        """Both stages of one claimed job, one after the other (no pipeline)."""
        claimed = self._witness_stage(job)
        if claimed is None:
            return self.store.get(job.job_id) or job
        return self._prove_stage(claimed)

    def _witness_stage(self, job: JobRecord) -> _Claimed | None:
        """Start the job's heartbeat and build its witness; the job is then ``ready`` (None if it
        ended here: failed, cancelled or lost)."""
        c = _Claimed(job, logging.LoggerAdapter(log, {"job_id": job.job_id}))
        c.jlog.info(
            "job=%s claimed: batch %d (%s), attempt %d/%d", job.job_id, job.batch_number, job.circuit,
            job.attempts, job.max_attempts,
        )  # fmt: skip
        c.beat = threading.Thread(
            target=self._heartbeat, args=(job.job_id, c.lost, c.cancel, c.beating), name=f"heartbeat-{job.job_id[:8]}"
        )
        c.beat.daemon = True
        c.beat.start()
        try:
            c.entry = self.registry.by_name(job.circuit)
            t = time.perf_counter()
            # as the backend's (n, 4) array: no Python int per wire, and nothing left to encode
            # on the backend's path (at batch 32 the list's encoding took longer than the witness)
            witness = c.entry.circuit.witness(inputs_from_json(job.inputs), vector=True)
            c.witness = fr_vector(witness) if isinstance(witness, list) else witness
            c.stages["witness"] = time.perf_counter() - t
            metrics.JOB_STAGE_SECONDS.labels("witness").observe(c.stages["witness"])
            if self.hold_s:
                time.sleep(self.hold_s)
            self._boundary(c, STAGE_READY)
            c.ready_at = time.perf_counter()
            return c
        except BaseException as exc:
            self._finish_stage(c, exc)
            return None

    def _prove_stage(self, c: _Claimed) -> JobRecord:
        """Prove a ready job, check the proof and store it."""
        result = self._proof(c)
        if isinstance(result, JobRecord):
            return result
        return self._store_proof(c, result)

    def _proof(self, c: _Claimed, mark_proving: Callable[[_Claimed], None] | None = None) -> ProveResult | JobRecord:
        """The backend's part: prove a ready job unless it was cancelled, requeued or reverted
        while it waited (then the job as it ended, its witness discarded).

        ``mark_proving`` (pipelined): the job's lease is only read before the proof, and its move
        to the proving stage is written by the store thread, so that no write (an fsync) stands
        between two proofs. A job reverted between that read and the proof's end is caught at the
        next boundary: its proof is never stored.
        """
        entry, stages = c.entry, c.stages
        assert entry is not None
        try:
            if mark_proving is None:
                self._boundary(c, STAGE_PROVING)
            else:
                self._judge(c, self.store.lease(c.job.job_id, self.worker_id))
                mark_proving(c)
            now = time.perf_counter()
            stages["ready"] = now - c.ready_at
            metrics.JOB_STAGE_SECONDS.labels("ready").observe(stages["ready"])
            self._note_idle(c, now)
            witness, c.witness = c.witness, None  # the proof is the witness's last use: free it early
            result = prove(entry.pk, witness, self.backend, resident=self._resident_key(entry))
            self._last_proof_end = (time.perf_counter(), time.time())
            c.proof_started = now
            return result
        except BaseException as exc:
            return self._finish_stage(c, exc)

    def _store_proof(self, c: _Claimed, result: ProveResult) -> JobRecord:
        """The host's part after a proof: check it and store it (a pipelined worker does this
        while the backend proves the next job)."""
        job, entry, stages = c.job, c.entry, c.stages
        assert entry is not None
        try:
            msm = sum(v for k, v in result.timings.items() if k.startswith("msm"))
            stages["ntt"] = result.timings.get("quotient", 0.0)
            stages["msm"] = msm
            stages["prove"] = result.timings.get("total", 0.0)
            self._boundary(c)

            if self.verify_proofs:
                # A wrong proof (a GPU kernel bug, a bit flip) must not reach L1, where it would
                # cost gas and stall the rollup; the pairing check is cheap next to proving.
                t = time.perf_counter()
                ok = verify(entry.pk.vk, result.public_signals, result.proof)
                stages["verify"] = time.perf_counter() - t
                if not ok:
                    raise RuntimeError("the proof failed its own verification (backend fault?)")
            metrics.JOB_STAGE_SECONDS.labels("proving").observe(time.perf_counter() - c.proof_started)
            stages["total"] = time.perf_counter() - c.t_start
            done = self.store.succeed(
                job.job_id,
                self.worker_id,
                json.dumps(proof_to_json(result.proof)),
                [str(s) for s in result.public_signals],
                stages,
                entry.key_hash,
            )
            if done is None:
                raise _Stop("lost", "lease lost before the proof was stored")
            metrics.proof_done(stages)
            metrics.JOBS_FINISHED.labels("succeeded").inc()
            self.stats.succeeded += 1
            c.jlog.info(
                "job=%s SUCCEEDED in %.3f s (witness %.3f, ready %.3f, ntt %.3f, msm %.3f)", job.job_id,
                stages["total"], stages["witness"], stages["ready"], stages["ntt"], stages["msm"],
            )  # fmt: skip
            self._end_heartbeat(c)
            return done
        except BaseException as exc:
            return self._finish_stage(c, exc)

    def _note_idle(self, c: _Claimed, now: float) -> None:
        """The backend's idle time before this proof, counted only when the job was already
        submitted as the previous proof ended (otherwise the backend had nothing to do)."""
        if self._last_proof_end is None:
            return
        end, end_epoch = self._last_proof_end
        if c.job.created_at > end_epoch:
            return
        gap = now - end
        c.stages["idle_before"] = gap
        metrics.BACKEND_IDLE_SECONDS.observe(gap)
        if gap > IDLE_LOG_S:
            c.jlog.info("job=%s backend idle %.3f s before its proof (work was waiting)", c.job.job_id, gap)

    def _finish_stage(self, c: _Claimed, exc: BaseException) -> JobRecord:
        """End a job that left its stages early: stopped, failed (for good or to retry)."""
        job, jlog = c.job, c.jlog
        try:
            if isinstance(exc, _Stop):
                return self._stopped(job, exc, c.stages, jlog)
            if isinstance(exc, WitnessError | ValueError):
                # CircuitError / UnsatisfiedConstraint are ValueErrors: the batch cannot prove, ever.
                return self._failed(job, f"{type(exc).__name__}: {exc}", c.stages, retry=False, jlog=jlog)
            if not isinstance(exc, Exception):
                raise exc  # KeyboardInterrupt, SystemExit: not the job's fault
            jlog.error("job=%s attempt %d failed", job.job_id, job.attempts, exc_info=exc)
            return self._failed(job, f"{type(exc).__name__}: {exc}", c.stages, retry=True, jlog=jlog)
        finally:
            self._end_heartbeat(c)

    @staticmethod
    def _end_heartbeat(c: _Claimed) -> None:
        c.beating.set()
        if c.beat is not None and c.beat is not threading.current_thread():
            c.beat.join(timeout=5)

    def _resident_key(self, entry: CircuitEntry) -> ResidentKey:
        # Loading a key (device upload, layout conversion) once per circuit, not per proof.
        resident = self._resident.get(entry.key_hash)
        if resident is None:
            resident = self.backend.load_key(entry.pk.arrays)
            self._resident[entry.key_hash] = resident
        return resident

    def _heartbeat(self, job_id: str, lost: threading.Event, cancel: threading.Event, done: threading.Event) -> None:
        interval = max(0.05, self.lease_s / 3)
        while not done.wait(interval):
            try:
                lease = self.store.heartbeat(job_id, self.worker_id, self.lease_s)
            except Exception as exc:  # the store is briefly away: the lease has slack for this
                log.warning("job=%s heartbeat failed: %s", job_id, exc)
                continue
            if not lease.owned:
                lost.set()
                return
            if lease.cancel_requested:
                cancel.set()

    def _boundary(self, c: _Claimed, stage: str | None = None) -> None:
        """Between stages: record progress and the next ``stage`` (also a heartbeat) and stop if
        we should."""
        self._judge(c, self.store.heartbeat(c.job.job_id, self.worker_id, self.lease_s, stages=c.stages, stage=stage))

    def _judge(self, c: _Claimed, lease: Lease) -> None:
        """Stop (``_Stop``) if the job is no longer ours, was cancelled, or we are shutting down."""
        if c.lost.is_set() or not lease.owned:
            raise _Stop("lost", "lease lost (expired and requeued, cancelled, reverted, or finished elsewhere)")
        if c.cancel.is_set() or lease.cancel_requested:
            raise _Stop("cancelled", "cancel requested")
        if self._stop_at is not None and time.monotonic() - self._stop_at > self.grace_s:
            raise _Stop("release", f"worker {self.worker_id} shutting down")

    def _stopped(self, job: JobRecord, stop: _Stop, stages: dict[str, float], jlog) -> JobRecord:
        if stop.action == "cancelled":
            done = self.store.mark_cancelled(job.job_id, self.worker_id)
            metrics.JOBS_FINISHED.labels("cancelled").inc()
            self.stats.cancelled += 1
            jlog.info("job=%s CANCELLED between stages", job.job_id)
        elif stop.action == "release":
            done = self.store.release(job.job_id, self.worker_id, str(stop))
            metrics.JOBS_FINISHED.labels("released").inc()
            self.stats.released += 1
            jlog.info("job=%s released: %s", job.job_id, stop)
        else:
            done = None
            metrics.JOBS_FINISHED.labels("lost").inc()
            self.stats.lost += 1
            jlog.warning("job=%s dropped: %s", job.job_id, stop)
        return done or self.store.get(job.job_id) or job

    def _failed(self, job: JobRecord, error: str, stages: dict[str, float], *, retry: bool, jlog) -> JobRecord:
        done = self.store.fail(job.job_id, self.worker_id, error, retry=retry, stages=stages)
        if done is None:
            return self.store.get(job.job_id) or job
        outcome = "failed" if done.state == "FAILED" else "requeued"
        metrics.JOBS_FINISHED.labels(outcome).inc()
        if outcome == "failed":
            self.stats.failed += 1
        jlog.warning("job=%s %s after attempt %d: %s", job.job_id, done.state, job.attempts, error)
        return done


def spawn(worker: Worker) -> threading.Thread:
    """Run a worker on a daemon thread (the in-process workers of ``zkprover serve``)."""
    t = threading.Thread(target=worker.run, name=f"worker-{worker.worker_id}", daemon=True)
    t.start()
    return t
