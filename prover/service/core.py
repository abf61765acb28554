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
from prover.jobs import CANCELLED, FAILED, STATES, JobRecord, JobStore, NewJob, StaleState
from prover.jobs.l1_ledger import L1Ledger, L1Request
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
        if batch_id.startswith(L1_BATCH_PREFIX) and self.requests_from_l1:
            raise InvalidArgument(
                f"batch_id: the prefix {L1_BATCH_PREFIX!r} is kept for the operator's L1-only batches"
            )
        if not txs:
            raise InvalidArgument("transactions: a batch needs at least one transaction")
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
            for _ in range(3):
                existing = self.store.get_by_batch(batch_id)
                if existing is not None:
                    if existing.request_hash != request_hash:
                        raise AlreadyExists(f"batch_id {batch_id!r} was submitted before with other transactions")
                    metrics.BATCHES_SUBMITTED.labels("duplicate").inc()
                    return existing, False
                self._sync()
                try:
                    result = self._store_batch(batch_id, request_hash, self._l1_ahead_of(len(txs)), txs, batch_size)
                except StaleState:
                    log.info("state head moved under batch %s; reloading and retrying", batch_id)
                    continue
                if result is None:
                    continue
                return result
            raise FailedPrecondition("the state kept moving under this batch (other servers submitting); retry")

    def submit_l1_only(self) -> JobRecord | None:
        """A batch of waiting L1 requests alone (none waiting: None). The operator's L1 loop calls
        this when requests wait and no client batch came to carry them."""
        if not self.requests_from_l1:
            raise FailedPrecondition("this operator takes no requests from L1")
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
        self, batch_id: str, request_hash: str, l1: Sequence[L1Request], txs: Sequence[TxRequest], batch_size: int
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
        try:
            applied = self.operator.apply_batch(all_txs, batch_size)
        except ValueError:
            metrics.BATCHES_SUBMITTED.labels("rejected").inc()
            raise
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
            if job.request_hash != request_hash:
                raise AlreadyExists(f"batch_id {batch_id!r} was submitted before with other transactions")
        metrics.BATCHES_SUBMITTED.labels("created" if created else "duplicate").inc()
        log.info(
            "batch %s submitted: job=%s batch_number=%d txs=%d (L1 requests %d) size=%d",
            batch_id,
            job.job_id,
            job.batch_number,
            len(all_txs),
            len(l1),
            batch_size,
        )
        return job, created

    # --- reverting what cannot be proven or settled ---------------------------------------------------
    def revert_from(self, batch_number: int, reason: str) -> list[JobRecord]:
        """Take batch ``batch_number`` and every later one out of the sequence and rebuild.

        The state goes back to batch ``batch_number - 1`` (the last one still provable), the
        L1 requests of the removed batches wait again, and the client transactions of the
        *later* batches are re-validated and rebuilt under their batch ids, in order (with the
        waiting L1 requests in front); a client batch that no longer applies is dropped (logged;
        its batch id then finds no job, its old job is CANCELLED with ``reason``). The transactions of batch ``batch_number`` itself are dropped:
        it was cancelled, failed for good or refused by L1. Returns the removed jobs.
        """
        unapply = getattr(self.operator, "unapply", None)
        if unapply is None:
            raise FailedPrecondition("this rollup cannot revert batches")
        with self._submit_lock:
            self._sync()
            head = self.store.head()
            if not 1 <= batch_number <= head.batch_number:
                return []
            jobs = self.store.list(None, head.batch_number - batch_number + 1, batch_number - 1)
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
                    self._store_batch(job.batch_id, job.request_hash, self._l1_ahead_of(len(txs)), txs, job.batch_size)
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
        return self.revert_from(first.batch_number, f"reverted: batch {first.batch_number} {first.state.lower()}")

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
        if self.requests_from_l1 and job.state == CANCELLED and job.batch_number > 0:
            # A batch that will never be proven blocks every later one on L1: revert now (a
            # proving job is reverted once its worker stops, by reconcile()).
            self.revert_from(job.batch_number, f"reverted: batch {job.batch_number} cancelled")
            job = self.store.get(job_id) or job
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
