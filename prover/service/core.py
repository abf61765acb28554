"""What the service does, in internal types: submit batches, read jobs and state, cancel.

The servicer (protobuf) calls into this; so do tests and the in-process demo. Submission is
the one place the rollup state changes:

1. A batch id seen before returns its job (the same transactions) or ALREADY_EXISTS (others),
   *before* the state is consulted: a client retrying after a lost reply must get its job even
   though the state has moved past the batch.
2. The operator checks and applies the batch in memory (all or nothing, BatchRejected names
   each bad transaction), the store writes the changed accounts, moves the head and inserts the
   job in one transaction, and only then is the in-memory change kept; any failure reverts it.
3. Submissions in one process are serialised by a lock; across servers sharing PostgreSQL the
   store's head check (StaleState) makes a server whose state is behind reload and retry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prover import metrics
from prover.jobs import STATES, JobRecord, JobStore, NewJob, StaleState
from prover.service.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from prover.service.rollup_api import (
    AccountView,
    CircuitEntry,
    CircuitRegistry,
    RollupOperator,
    TxRequest,
    inputs_json_safe,
    smallest_fitting,
)

log = logging.getLogger("zkprover.service")

MAX_BATCH_ID = 128
MAX_PAGE = 1000


@dataclass(frozen=True)
class StateInfo:
    root: str
    batch_number: int
    proven_batch_number: int
    proven_root: str


class ProverCore:
    def __init__(
        self,
        store: JobStore,
        operator: RollupOperator,
        registry: CircuitRegistry,
        *,
        max_attempts: int = 3,
        backend_description: str = "",
    ) -> None:
        self.store = store
        self.operator = operator
        self.registry = registry
        self.max_attempts = max_attempts
        self.backend_description = backend_description
        self._submit_lock = threading.Lock()

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Migrate the schema, create or check the state head, rebuild the state from the store."""
        self.store.migrate()
        genesis = str(self.operator.genesis_root())
        head = self.store.init_head(genesis)
        if head.batch_number == 0 and head.root != genesis:
            raise RuntimeError(
                f"the store's genesis root {head.root} is not this rollup's {genesis} (another capacity or chain?)"
            )
        self._sync(force=True)
        for size in self.registry.batch_sizes():
            metrics.CIRCUIT_CONSTRAINTS.labels(self.registry.name(size), str(size))  # filled on first use

    def _sync(self, force: bool = False) -> None:
        """Reload the operator's state if the store's head moved (another server submitted)."""
        head = self.store.head()
        if force or head.batch_number != self.operator.batch_number():
            t = time.perf_counter()
            accounts = self.store.load_accounts()
            self.operator.load(accounts, head.batch_number, int(head.root))
            log.info(
                "state loaded: batch %d, %d accounts, %.2f s",
                head.batch_number,
                len(accounts),
                time.perf_counter() - t,
            )

    # --- submission ----------------------------------------------------------------------------------
    def submit(self, batch_id: str, txs: Sequence[TxRequest], batch_size: int = 0) -> tuple[JobRecord, bool]:
        if not batch_id or len(batch_id) > MAX_BATCH_ID or not batch_id.isprintable():
            raise InvalidArgument(f"batch_id must be 1..{MAX_BATCH_ID} printable characters")
        if not txs:
            raise InvalidArgument("transactions: a batch needs at least one transaction")
        sizes = self.registry.batch_sizes()
        if batch_size == 0:
            fit = smallest_fitting(sizes, len(txs))
            if fit is None:
                raise InvalidArgument(f"transactions: {len(txs)} do not fit the largest batch size {max(sizes)}")
            batch_size = fit
        elif batch_size not in sizes:
            raise InvalidArgument(f"batch_size {batch_size} is not one of {sizes}")
        elif len(txs) > batch_size:
            raise InvalidArgument(f"transactions: {len(txs)} do not fit batch_size {batch_size}")
        request_hash = hashlib.sha256(
            json.dumps([batch_size, [t.canonical() for t in txs]], separators=(",", ":")).encode()
        ).hexdigest()

        with self._submit_lock:
            for _ in range(3):
                existing = self.store.get_by_batch(batch_id)
                if existing is not None:
                    if existing.request_hash != request_hash:
                        raise AlreadyExists(f"batch_id {batch_id!r} was submitted before with other transactions")
                    metrics.BATCHES_SUBMITTED.labels("duplicate").inc()
                    return existing, False
                self._sync()
                try:
                    applied = self.operator.apply_batch(txs, batch_size)
                except ValueError:
                    metrics.BATCHES_SUBMITTED.labels("rejected").inc()
                    raise
                new = NewJob(
                    batch_id=batch_id,
                    request_hash=request_hash,
                    batch_number=applied.batch_number,
                    batch_size=batch_size,
                    tx_count=len(txs),
                    circuit=self.registry.name(batch_size),
                    inputs=inputs_json_safe(applied.circuit_inputs),
                    old_root=str(applied.old_root),
                    new_root=str(applied.new_root),
                    public_data=applied.public_data.hex(),
                    max_attempts=self.max_attempts,
                )
                try:
                    job, created = self.store.submit(
                        new, applied.accounts, expect_batch_number=applied.batch_number - 1
                    )
                except StaleState:
                    self.operator.revert(applied)
                    log.info("state head moved under batch %s; reloading and retrying", batch_id)
                    continue
                except BaseException:
                    self.operator.revert(applied)
                    raise
                if not created:  # the same batch id committed by another server meanwhile
                    self.operator.revert(applied)
                    self._sync(force=True)
                    if job.request_hash != request_hash:
                        raise AlreadyExists(f"batch_id {batch_id!r} was submitted before with other transactions")
                metrics.BATCHES_SUBMITTED.labels("created" if created else "duplicate").inc()
                log.info(
                    "batch %s submitted: job=%s batch_number=%d txs=%d size=%d",
                    batch_id,
                    job.job_id,
                    job.batch_number,
                    len(txs),
                    batch_size,
                )
                return job, created
            raise FailedPrecondition("the state kept moving under this batch (other servers submitting); retry")

    # --- jobs ------------------------------------------------------------------------------------------
    def get_job(self, job_id: str = "", batch_id: str = "") -> JobRecord:
        if bool(job_id) == bool(batch_id):
            raise InvalidArgument("give exactly one of job_id and batch_id")
        job = self.store.get(job_id) if job_id else self.store.get_by_batch(batch_id)
        if job is None:
            raise NotFound(f"no job with {'job_id' if job_id else 'batch_id'} {job_id or batch_id!r}")
        return job

    def cancel(self, job_id: str, reason: str = "") -> JobRecord:
        if not job_id:
            raise InvalidArgument("job_id is required")
        job = self.store.cancel(job_id, reason)
        log.info("cancel job=%s state=%s reason=%s", job_id, job.state, reason or "-")
        return job

    def list_jobs(self, state: str | None, page_size: int, page_token: str) -> tuple[list[JobRecord], str]:
        if state is not None and state not in STATES:
            raise InvalidArgument(f"state {state!r} is not one of {', '.join(STATES)}")
        if page_size > MAX_PAGE:
            raise InvalidArgument(f"page_size {page_size} exceeds {MAX_PAGE}")
        size = page_size or 100
        try:
            after = int(page_token) if page_token else -1
        except ValueError:
            raise InvalidArgument(f"page_token {page_token!r} is not one this server gave") from None
        jobs = self.store.list(state, size + 1, after)  # one more tells whether a next page exists
        more = len(jobs) > size
        jobs = jobs[:size]
        return jobs, (str(jobs[-1].batch_number) if more else "")

    def watch(self, job_id: str, active: Callable[[], bool], poll_s: float = 0.1) -> Iterator[JobRecord]:
        """The job now, then each new version, until it is final or ``active()`` turns false.

        Polls the store, because the change may come from a worker in another process or on
        another machine; the version column makes each change visible exactly once.
        """
        job = self.get_job(job_id=job_id)
        yield job
        version = job.version
        while not job.final and active():
            time.sleep(poll_s)
            current = self.store.get(job_id)
            if current is None:
                return
            if current.version != version:
                job, version = current, current.version
                yield job

    # --- circuits and state ------------------------------------------------------------------------------
    def circuit(self, batch_size: int) -> CircuitEntry:
        if batch_size not in self.registry.batch_sizes():
            raise InvalidArgument(f"batch_size {batch_size} is not one of {self.registry.batch_sizes()}")
        entry = self.registry.get(batch_size)
        metrics.CIRCUIT_CONSTRAINTS.labels(entry.name, str(batch_size)).set(entry.circuit.n_constraints)
        return entry

    def circuits(self) -> list[CircuitEntry]:
        return [self.circuit(s) for s in self.registry.batch_sizes()]

    def account(self, index: int) -> AccountView | None:
        if not 0 <= index < self.operator.capacity:
            raise InvalidArgument(f"index {index} is outside the state (capacity {self.operator.capacity})")
        with self._submit_lock:
            self._sync()
            return self.operator.account(index)

    def state(self) -> StateInfo:
        head = self.store.head()
        proven = self.store.last_proven()
        return StateInfo(
            head.root, head.batch_number, proven.batch_number if proven else 0, proven.root if proven else ""
        )
