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

Errors: a witness that does not satisfy the circuit is permanent (FAILED at once, the batch
will never prove); anything else (a backend error, out of memory) is retried on the next claim.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass

from prover import metrics
from prover.backend.interface import Backend, ResidentKey
from prover.groth16.formats import proof_to_json
from prover.groth16.prover import WitnessError, prove
from prover.groth16.verifier import verify
from prover.jobs import JobRecord, JobStore
from prover.service.rollup_api import CircuitEntry, CircuitRegistry, inputs_from_json

log = logging.getLogger("zkprover.worker")


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
    ) -> None:
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

    # --- loop ------------------------------------------------------------------------------------------
    def run(self) -> None:
        """Claim and prove until ``stop`` is set; then finish (or release) the current job."""
        log.info("worker %s started (backend %s, lease %.0f s)", self.worker_id, self.backend.describe(), self.lease_s)
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
        job = self.store.claim(self.worker_id, self.lease_s)
        if job is None:
            return None
        return self.process(job)

    # --- one job ----------------------------------------------------------------------------------------
    def process(self, job: JobRecord) -> JobRecord:
        jlog = logging.LoggerAdapter(log, {"job_id": job.job_id})
        jlog.info(
            "job=%s claimed: batch %d (%s), attempt %d/%d", job.job_id, job.batch_number, job.circuit,
            job.attempts, job.max_attempts,
        )  # fmt: skip
        stages: dict[str, float] = {}
        lost = threading.Event()
        cancel = threading.Event()
        beating = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(job.job_id, lost, cancel, beating), name=f"heartbeat-{job.job_id[:8]}"
        )
        beat.daemon = True
        beat.start()
        t_job = time.perf_counter()
        try:
            entry = self.registry.by_name(job.circuit)

            t = time.perf_counter()
            witness = entry.circuit.witness(inputs_from_json(job.inputs))
            stages["witness"] = time.perf_counter() - t
            if self.hold_s:
                time.sleep(self.hold_s)
            self._boundary(job, stages, lost, cancel)

            result = prove(entry.pk, witness, self.backend, resident=self._resident_key(entry))
            msm = sum(v for k, v in result.timings.items() if k.startswith("msm"))
            stages["ntt"] = result.timings.get("quotient", 0.0)
            stages["msm"] = msm
            stages["prove"] = result.timings.get("total", 0.0)
            self._boundary(job, stages, lost, cancel)

            if self.verify_proofs:
                # A wrong proof (a GPU kernel bug, a bit flip) must not reach L1, where it would
                # cost gas and stall the rollup; the pairing check is cheap next to proving.
                t = time.perf_counter()
                ok = verify(entry.pk.vk, result.public_signals, result.proof)
                stages["verify"] = time.perf_counter() - t
                if not ok:
                    raise RuntimeError("the proof failed its own verification (backend fault?)")
            stages["total"] = time.perf_counter() - t_job
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
            jlog.info(
                "job=%s SUCCEEDED in %.3f s (witness %.3f, ntt %.3f, msm %.3f)", job.job_id, stages["total"],
                stages["witness"], stages["ntt"], stages["msm"],
            )  # fmt: skip
            return done
        except _Stop as stop:
            return self._stopped(job, stop, stages, jlog)
        except (WitnessError, ValueError) as exc:
            # CircuitError / UnsatisfiedConstraint are ValueErrors: the batch cannot prove, ever.
            return self._failed(job, f"{type(exc).__name__}: {exc}", stages, retry=False, jlog=jlog)
        except Exception as exc:
            jlog.exception("job=%s attempt %d failed", job.job_id, job.attempts)
            return self._failed(job, f"{type(exc).__name__}: {exc}", stages, retry=True, jlog=jlog)
        finally:
            beating.set()
            beat.join(timeout=5)

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

    def _boundary(
        self, job: JobRecord, stages: dict[str, float], lost: threading.Event, cancel: threading.Event
    ) -> None:
        """Between stages: record progress (also a heartbeat) and stop if we should."""
        lease = self.store.heartbeat(job.job_id, self.worker_id, self.lease_s, stages=stages)
        if lost.is_set() or not lease.owned:
            raise _Stop("lost", "lease lost (expired and requeued, or the job was finished elsewhere)")
        if cancel.is_set() or lease.cancel_requested:
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
