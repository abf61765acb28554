"""What the service does, in internal types: submit batches, read jobs and state, cancel.

The servicer (protobuf) calls into this; so do tests and the in-process demo. Submission is
the one place the rollup state changes:

1. A batch id seen before returns its job (the same transactions) or ALREADY_EXISTS (others),
   *before* the state is consulted: a client retrying after a lost reply must get its job even
   though the state has moved past the batch.
2. The operator checks and applies the batch in memory (all or nothing, BatchRejected names
   each bad transaction), the store writes the changed accounts, moves the head and inserts the
   job in one transaction, and only then is the in-memory change kept; any failure reverts it.
3. Submissions in one process are serialised by a lock; across servers sharing a store the
   store's head check (StaleState) makes a server whose state is behind reload and retry; a
   server that keeps losing that race answers ABORTED, which the client may retry at once.

Jobs belong to the client that submitted them (``owner``). Methods that read or cancel jobs take
the caller's owner filter: None (an admin) sees every job, a client name only its own; another
client's job is NOT_FOUND, so job ids do not leak who submitted what.
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
from prover.service.errors import Aborted, AlreadyExists, InvalidArgument, NotFound
from prover.service.rollup_api import (
    AccountView,
    CircuitEntry,
    CircuitRegistry,
    RollupOperator,
    TxRequest,
    inputs_json_safe,
    smallest_fitting,
)
from prover.service.watch import WatchHub

log = logging.getLogger("zkprover.service")

MAX_BATCH_ID = 128
MAX_JOB_ID = 64
MAX_REASON = 256
MAX_PAGE = 1000
SUBMIT_TRIES = 5
_MAX_PAGE_TOKEN = 2**62  # batch numbers are BIGINT; a larger token was not one this server gave


def _text(value: str, where: str, limit: int) -> str:
    """A client-given text, bounded and printable (no newline to forge a log line with)."""
    if len(value) > limit:
        raise InvalidArgument(f"{where}: {len(value)} characters exceed {limit}")
    if not value.isprintable():
        raise InvalidArgument(f"{where}: control characters are not allowed")
    return value


def _job_id(job_id: str) -> str:
    if not job_id:
        raise InvalidArgument("job_id is required")
    return _text(job_id, "job_id", MAX_JOB_ID)


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
        self.watch_hub = WatchHub(store)

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

    def close(self) -> None:
        self.watch_hub.close()
        self.store.close()

    def _sync(self, force: bool = False) -> None:
        """Reload the operator's state if the store's head moved (another server submitted).

        The head and the accounts come from one read transaction (``store.snapshot``): read
        apart, a batch committed in between would pair one batch's head with another's accounts.
        """
        head = self.store.head()
        if force or head.batch_number != self.operator.batch_number():
            t = time.perf_counter()
            head, accounts = self.store.snapshot()
            self.operator.load(accounts, head.batch_number, int(head.root))
            log.info(
                "state loaded: batch %d, %d accounts, %.2f s",
                head.batch_number,
                len(accounts),
                time.perf_counter() - t,
            )

    # --- submission ----------------------------------------------------------------------------------
    def submit(
        self, batch_id: str, txs: Sequence[TxRequest], batch_size: int = 0, owner: str = ""
    ) -> tuple[JobRecord, bool]:
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
            for _ in range(SUBMIT_TRIES):
                existing = self.store.get_by_batch(batch_id)
                if existing is not None:
                    if existing.owner != owner:
                        raise AlreadyExists(f"batch_id {batch_id!r} is taken by another client")
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
                    owner=owner,
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
                    if job.owner != owner:
                        raise AlreadyExists(f"batch_id {batch_id!r} is taken by another client")
                    if job.request_hash != request_hash:
                        raise AlreadyExists(f"batch_id {batch_id!r} was submitted before with other transactions")
                metrics.BATCHES_SUBMITTED.labels("created" if created else "duplicate").inc()
                log.info(
                    "batch %r submitted: job=%s batch_number=%d txs=%d size=%d",
                    batch_id,
                    job.job_id,
                    job.batch_number,
                    len(txs),
                    batch_size,
                )
                return job, created
            raise Aborted(
                f"the state kept moving under this batch ({SUBMIT_TRIES} tries; other servers submitting); retry"
            )

    # --- jobs ------------------------------------------------------------------------------------------
    def get_job(self, job_id: str = "", batch_id: str = "", owner: str | None = None) -> JobRecord:
        if bool(job_id) == bool(batch_id):
            raise InvalidArgument("give exactly one of job_id and batch_id")
        if job_id:
            job = self.store.get(_text(job_id, "job_id", MAX_JOB_ID))
        else:
            job = self.store.get_by_batch(_text(batch_id, "batch_id", MAX_BATCH_ID))
        if job is None or (owner is not None and job.owner != owner):
            raise NotFound(f"no job with {'job_id' if job_id else 'batch_id'} {job_id or batch_id!r}")
        return job

    def cancel(self, job_id: str, reason: str = "", owner: str | None = None) -> JobRecord:
        reason = _text(reason, "reason", MAX_REASON)
        self.get_job(job_id=_job_id(job_id), owner=owner)  # another client's job is NOT_FOUND
        job = self.store.cancel(job_id, reason)
        log.info("cancel job=%s state=%s reason=%r", job_id, job.state, reason)
        return job

    def list_jobs(
        self, state: str | None, page_size: int, page_token: str, owner: str | None = None
    ) -> tuple[list[JobRecord], str]:
        if state is not None and state not in STATES:
            raise InvalidArgument(f"state {state!r} is not one of {', '.join(STATES)}")
        if page_size > MAX_PAGE:
            raise InvalidArgument(f"page_size {page_size} exceeds {MAX_PAGE}")
        size = page_size or 100
        after = -1
        if page_token:
            if not (page_token.isascii() and page_token.isdigit() and len(page_token) <= 19):
                raise InvalidArgument(f"page_token {page_token[:40]!r} is not one this server gave")
            after = int(page_token)
            if after >= _MAX_PAGE_TOKEN:
                raise InvalidArgument(f"page_token {page_token!r} is not one this server gave")
        jobs = self.store.list(state, size + 1, after, owner=owner)  # one more: is there a next page?
        more = len(jobs) > size
        jobs = jobs[:size]
        return jobs, (str(jobs[-1].batch_number) if more else "")

    def watch(
        self, job_id: str, active: Callable[[], bool], owner: str | None = None, wait_s: float = 1.0
    ) -> Iterator[JobRecord]:
        """The job now, then its latest version after each change, until it is final or
        ``active()`` turns false.

        Changes are polled (``WatchHub``), so versions that follow one another within a poll
        interval arrive as one message: the latest. Versions only increase, and the final state
        is always sent.
        """
        job = self.get_job(job_id=_job_id(job_id), owner=owner)
        yield job
        while not job.final and active():
            if not self.watch_hub.wait_for_change(job_id, job.version, wait_s):
                continue
            current = self.store.get(job_id)
            if current is None:
                return
            if current.version > job.version:
                job = current
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
