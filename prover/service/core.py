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

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prover import metrics
from prover.jobs import CANCELLED, FAILED, STATES, JobRecord, JobStore, NewJob, StaleState
from prover.jobs.l1_ledger import L1Ledger, L1Request
from prover.service.errors import Aborted, AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
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


#: batch ids of the operator's own batches of L1 requests
L1_BATCH_PREFIX = "l1-"
L1_KINDS = ("deposit", "forced_exit")


def l1_tx(r: L1Request) -> TxRequest:
    """The batch transaction consuming L1 queue entry ``r``."""
    if r.kind == "forced_exit":
        return TxRequest(kind="forced_exit", from_index=r.account_index, l1_address=r.address)
    key = (r.ax, r.ay) if r.kind == "deposit" else None
    return TxRequest(kind="deposit", from_index=r.account_index, amount=r.amount, pubkey=key, l1_address=r.address)


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
        requests_from_l1: bool = False,
    ) -> None:
        self.store = store
        self.operator = operator
        self.registry = registry
        self.max_attempts = max_attempts
        self.backend_description = backend_description
        #: deposits and forced exits come from the L1 ledger only (an operator linked to L1);
        #: False keeps the library's offline use, where the caller supplies them
        self.requests_from_l1 = requests_from_l1
        self.ledger = L1Ledger(store)
        #: why this operator must not change the state (its store diverged from L1); "" if it may
        self.halted = ""
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

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        """Hold off every submission and revert of this process (the L1 resync rebuilds the state
        under it)."""
        with self._submit_lock:
            yield

    def halt(self, reason: str) -> None:
        """Refuse every batch and revert from now on (FAILED_PRECONDITION naming ``reason``)."""
        self.halted = reason

    def _check_running(self) -> None:
        if self.halted:
            raise FailedPrecondition(f"this operator is halted: {self.halted}")

    def reload(self) -> None:
        """Load the state from the store again (after the store changed under the operator)."""
        self._sync(force=True)

    def close(self) -> None:
        self.watch_hub.close()
        self.store.close()

    def _sync(self, force: bool = False) -> None:
        """Reload the operator's state if the store's head moved (another server submitted or reverted).

        The head and the accounts come from one read transaction (``store.snapshot``): read
        apart, a batch committed in between would pair one batch's head with another's accounts.
        """
        head = self.store.head()
        # The root too: after another server reverted a batch and built a new one under the same
        # number (the L1 operator does, on a cancel or a refused settlement), only the root differs.
        moved = head.batch_number != self.operator.batch_number() or head.root != str(self.operator.state_root())
        if force or moved:
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
        if batch_id.startswith(L1_BATCH_PREFIX) and self.requests_from_l1:
            raise InvalidArgument(
                f"batch_id: the prefix {L1_BATCH_PREFIX!r} is kept for the operator's L1-only batches"
            )
        if not txs:
            raise InvalidArgument("transactions: a batch needs at least one transaction")
        self._check_running()
        if self.requests_from_l1:
            for i, t in enumerate(txs):
                if t.kind in L1_KINDS:
                    raise InvalidArgument(
                        f"transactions[{i}]: a {t.kind} is made on L1 (the Rollup contract), not by a client; "
                        "the operator takes it from L1 once confirmed"
                    )
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
                    result = self._store_batch(
                        batch_id, request_hash, self._l1_ahead_of(len(txs)), txs, batch_size, owner
                    )
                except StaleState:
                    log.info("state head moved under batch %s; reloading and retrying", batch_id)
                    continue
                if result is None:
                    continue
                return result
            raise Aborted(
                f"the state kept moving under this batch ({SUBMIT_TRIES} tries; other servers submitting); retry"
            )

    def submit_l1_only(self) -> JobRecord | None:
        """A batch of waiting L1 requests alone (none waiting: None). The operator's L1 loop calls
        this when requests wait and no client batch came to carry them."""
        if not self.requests_from_l1:
            raise FailedPrecondition("this operator takes no requests from L1")
        self._check_running()
        sizes = self.registry.batch_sizes()
        with self._submit_lock:
            self._sync()
            l1 = self.ledger.waiting(max(sizes))
            if not l1:
                return None
            result = self._store_batch(self._l1_batch_id(l1), "", l1, [], 0)
            return result[0] if result else None

    def _l1_ahead_of(self, n_client: int) -> list[L1Request]:
        """The waiting L1 requests to put in front of ``n_client`` client transactions. L1
        requests go first, in queue order (their deadlines bind the operator); those that do
        not fit next to the client's go into L1-only batches stored before it."""
        if not self.requests_from_l1:
            return []
        largest = max(self.registry.batch_sizes())
        while True:
            l1 = self.ledger.waiting(largest)
            if len(l1) + n_client <= largest:
                return l1
            self._store_batch(self._l1_batch_id(l1), "", l1, [], 0)

    @staticmethod
    def _l1_batch_id(l1: Sequence[L1Request]) -> str:
        return f"{L1_BATCH_PREFIX}{l1[0].queue_index}-{l1[-1].queue_index}"

    def _store_batch(
        self,
        batch_id: str,
        request_hash: str,
        l1: Sequence[L1Request],
        txs: Sequence[TxRequest],
        batch_size: int,
        owner: str = "",
    ) -> tuple[JobRecord, bool] | None:
        """Apply L1 requests ``l1`` then ``txs`` and persist the batch (caller holds the lock).

        None when another server stored the same batch id first (the caller looks again);
        StaleState when the head moved (the state was reloaded; the caller retries).
        """
        all_txs = [l1_tx(r) for r in l1] + list(txs)
        fit = smallest_fitting(self.registry.batch_sizes(), len(all_txs))
        if fit is None:  # cannot happen: callers keep the total within the largest size
            raise InvalidArgument(f"{len(all_txs)} transactions do not fit any batch size")
        batch_size = max(batch_size, fit)
        if not request_hash:  # an L1-only batch: its identity is the queue entries it takes
            request_hash = hashlib.sha256(json.dumps([r.queue_index for r in l1]).encode()).hexdigest()
        t_apply = time.perf_counter()
        try:
            applied = self.operator.apply_batch(all_txs, batch_size)
        except ValueError:
            metrics.BATCHES_SUBMITTED.labels("rejected").inc()
            raise
        metrics.JOB_STAGE_SECONDS.labels("apply").observe(time.perf_counter() - t_apply)
        new = NewJob(
            batch_id=batch_id,
            request_hash=request_hash,
            batch_number=applied.batch_number,
            batch_size=batch_size,
            tx_count=len(all_txs),
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
                new,
                applied.accounts,
                expect_batch_number=applied.batch_number - 1,
                l1_queue=[r.queue_index for r in l1],
            )
        except StaleState:
            self.operator.revert(applied)
            self._sync(force=True)
            raise
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
            "batch %r submitted: job=%s batch_number=%d txs=%d (L1 requests %d) size=%d",
            batch_id,
            job.job_id,
            job.batch_number,
            len(all_txs),
            len(l1),
            batch_size,
        )
        return job, created

    # --- reverting what cannot be proven or settled ---------------------------------------------------
    def revert_from(self, batch_number: int, reason: str, job_id: str = "") -> list[JobRecord]:
        """Take batch ``batch_number`` and every later one out of the sequence and rebuild.

        The state goes back to batch ``batch_number - 1`` (the last one still provable), the
        L1 requests of the removed batches wait again, and the client transactions of the
        *later* batches are re-validated and rebuilt under their batch ids, in order (with the
        waiting L1 requests in front); a client batch that no longer applies is dropped (logged;
        its batch id then finds no job, its old job is CANCELLED with ``reason``). The
        transactions of batch ``batch_number`` itself are dropped: it was cancelled, failed for
        good or refused by L1. Returns the removed jobs.

        ``job_id`` names the job the caller saw at ``batch_number``: if another thread reverted it
        meanwhile (a client's cancel and the L1 loop's reconcile race for the same batch), the
        batch number now holds a rebuilt, innocent batch, and nothing is reverted.
        """
        self._check_running()
        unapply = getattr(self.operator, "unapply", None)
        if unapply is None:
            raise FailedPrecondition("this rollup cannot revert batches")
        with self._submit_lock:
            self._sync()
            head = self.store.head()
            if not 1 <= batch_number <= head.batch_number:
                return []
            jobs = self.store.list(None, head.batch_number - batch_number + 1, batch_number - 1)
            if job_id and jobs[0].job_id != job_id:
                log.info("batch %d is no longer job %s (reverted meanwhile): nothing to revert", batch_number, job_id)
                return []
            client: dict[str, list[TxRequest]] = {}
            touched: set[int] = set()
            try:
                for job in reversed(jobs):
                    client[job.job_id], changed = unapply(job.inputs)
                    touched |= changed
                accounts = {i: self.operator.encoded(i) for i in sorted(touched)}  # type: ignore[attr-defined]
                self.store.revert_after(batch_number - 1, str(self.operator.state_root()), accounts, reason)
            except BaseException:
                self._sync(force=True)
                raise
            metrics.BATCHES_REVERTED.inc(len(jobs))
            log.warning("reverted batches %d..%d (%s)", batch_number, head.batch_number, reason)
            for job in jobs[1:]:
                txs = client[job.job_id]
                if not txs:  # an L1-only batch: its requests are waiting again
                    continue
                try:
                    self._store_batch(
                        job.batch_id, job.request_hash, self._l1_ahead_of(len(txs)), txs, job.batch_size, job.owner
                    )
                except (ValueError, StaleState) as exc:
                    log.warning("batch %s not rebuilt after the revert: %s", job.batch_id, exc)
            return jobs

    def reconcile(self) -> list[JobRecord]:
        """Revert from the first batch in the sequence whose job failed for good or was
        cancelled (no L1 stall: its successors are rebuilt); the removed jobs, if any."""
        stuck = [j for s in (FAILED, CANCELLED) for j in self.store.list(s, 1, 0)]
        if not stuck:
            return []
        first = min(stuck, key=lambda j: j.batch_number)
        reason = f"reverted: batch {first.batch_number} {first.state.lower()}"
        return self.revert_from(first.batch_number, reason, first.job_id)

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
        if self.requests_from_l1:  # a cancel reverts batches: not while halted
            self._check_running()
        self.get_job(job_id=_job_id(job_id), owner=owner)  # another client's job is NOT_FOUND
        job = self.store.cancel(job_id, reason)
        log.info("cancel job=%s state=%s reason=%r", job_id, job.state, reason)
        if self.requests_from_l1 and job.state == CANCELLED and job.batch_number > 0:
            # A batch that will never be proven blocks every later one on L1: revert now (a
            # proving job is reverted once its worker stops, by reconcile()).
            self.revert_from(job.batch_number, f"reverted: batch {job.batch_number} cancelled", job.job_id)
            job = self.store.get(job_id) or job
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
