"""The job store interface, its record types, and the SQL both implementations share.

A job is one batch's proof: QUEUED -> PROVING -> SUCCEEDED | FAILED | CANCELLED. The store also
keeps the rollup state the batches were applied to (an accounts table and a one-row head with
the batch number and root), because a batch's state change and its job row must commit in one
transaction: a crash between the two would leave a state no proof will ever cover, or a job for
a state that never existed.

Workers claim a job with a lease (``lease_expires``) that they extend with heartbeats. A job
whose lease ran out (its worker died or hung) goes back to QUEUED, or to FAILED once
``max_attempts`` claims have been made, as zkSync's prover does with its stuck jobs. Every
change bumps ``version`` so that watchers see each state once.

Inside its state a job also has a ``stage`` (``JOB_STAGES``), so that an operator sees where a
batch waits: ``queued``; claimed by a worker (PROVING) it is in ``witness``, then ``ready`` (its
witness made, waiting for the backend: a pipelined worker prepares the next batch while one
proves), then ``proving`` (proof and self-check); SUCCEEDED it is ``settling`` until its L1
settlement is recorded (``settled``) where the store follows an L1, else ``done``; FAILED and
CANCELLED jobs are ``done``. ``stage_at`` is when the job entered its stage.

Times are seconds since the epoch from the database's clock, not the caller's, so that workers
on machines with skewed clocks agree on when a lease expires.

The store knows nothing about accounts or transactions: an account is an opaque JSON text under
an integer index, and a job's circuit inputs are a JSON text the worker hands to the circuit.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from prover.jobs import migrations

QUEUED, PROVING, SUCCEEDED, FAILED, CANCELLED = "QUEUED", "PROVING", "SUCCEEDED", "FAILED", "CANCELLED"
STATES = (QUEUED, PROVING, SUCCEEDED, FAILED, CANCELLED)
FINAL_STATES = frozenset((SUCCEEDED, FAILED, CANCELLED))

STAGE_QUEUED, STAGE_WITNESS, STAGE_READY, STAGE_PROVING = "queued", "witness", "ready", "proving"
STAGE_SETTLING, STAGE_SETTLED, STAGE_DONE = "settling", "settled", "done"
JOB_STAGES = (STAGE_QUEUED, STAGE_WITNESS, STAGE_READY, STAGE_PROVING, STAGE_SETTLING, STAGE_SETTLED, STAGE_DONE)
#: the stages a worker moves its claimed job through (heartbeat(stage=...))
WORKER_STAGES = (STAGE_WITNESS, STAGE_READY, STAGE_PROVING)
#: a succeeded job settles where the store follows an L1 (its watcher keeps a cursor)
_SUCCEEDED_STAGE = "CASE WHEN EXISTS (SELECT 1 FROM l1_cursor) THEN 'settling' ELSE 'done' END"


class JobStoreError(RuntimeError):
    """The store cannot do what was asked."""


class JobNotFound(JobStoreError):
    pass


class JobFinal(JobStoreError):
    """The job is already in a final state (e.g. cancelling a job that succeeded)."""


class StaleState(JobStoreError):
    """The state head moved since the caller read it (another server submitted a batch)."""


class BatchIdConflict(JobStoreError):
    """The batch id was submitted before with different contents."""


class StoreFull(JobStoreError):
    """The database has no room left (disk full, or a configured size cap reached)."""


@dataclass(frozen=True)
class Head:
    batch_number: int
    root: str


@dataclass(frozen=True)
class NewJob:
    """What a submit writes: the job row of one applied batch."""

    batch_id: str
    request_hash: str  # digest of the submitted transactions, to tell a retry from a conflict
    batch_number: int
    batch_size: int
    tx_count: int
    circuit: str  # registry key of the batch circuit
    inputs: Mapping[str, Any]  # circuit inputs (JSON-serialisable) for the worker's witness
    old_root: str
    new_root: str
    public_data: str  # hex
    max_attempts: int = 3
    owner: str = ""  # the client that submitted it; only it (and admins) may see or cancel it


@dataclass
class JobRecord:
    job_id: str
    batch_id: str
    request_hash: str
    batch_number: int
    state: str
    batch_size: int
    tx_count: int
    circuit: str
    inputs: dict[str, Any]
    old_root: str
    new_root: str
    public_data: str
    attempts: int
    max_attempts: int
    worker_id: str | None
    lease_expires: float | None
    heartbeat_at: float | None
    last_error: str
    cancel_requested: bool
    created_at: float
    updated_at: float
    started_at: float | None
    finished_at: float | None
    stage_seconds: dict[str, float] = field(default_factory=dict)
    proof_json: str = ""
    public_signals: list[str] = field(default_factory=list)
    key_hash: str = ""
    version: int = 1
    owner: str = ""
    stage: str = STAGE_QUEUED
    stage_at: float | None = None

    @property
    def final(self) -> bool:
        return self.state in FINAL_STATES


@dataclass(frozen=True)
class Lease:
    """A heartbeat's answer: does the worker still hold the job, and should it stop?"""

    owned: bool
    cancel_requested: bool


COLUMNS = (
    "job_id, batch_id, request_hash, batch_number, state, batch_size, tx_count, circuit, inputs, old_root, "
    "new_root, public_data, attempts, max_attempts, worker_id, lease_expires, heartbeat_at, last_error, "
    "cancel_requested, created_at, updated_at, started_at, finished_at, stage_seconds, proof_json, "
    "public_signals, key_hash, version, owner, stage, stage_at"
)


def _record(row: Sequence[Any]) -> JobRecord:
    r = dict(zip(COLUMNS.split(", "), row, strict=True))
    r["inputs"] = json.loads(r["inputs"])
    r["stage_seconds"] = json.loads(r["stage_seconds"])
    r["public_signals"] = json.loads(r["public_signals"])
    r["cancel_requested"] = bool(r["cancel_requested"])
    return JobRecord(**r)


class JobStore(ABC):
    """Persistence of jobs and rollup state; SQLite and PostgreSQL implement it (one SQL text).

    Subclasses supply a connection per thread, a transaction context, the placeholder style, the
    database clock expression and the row-lock clause for claims.
    """

    #: SQL expression for "now" in epoch seconds, from the database clock
    now_sql: str = ""
    #: appended to the claim's SELECT (PostgreSQL: FOR UPDATE SKIP LOCKED)
    claim_lock_sql: str = ""
    #: appended to the head SELECT inside submit (PostgreSQL: FOR UPDATE, serialising submitters)
    head_lock_sql: str = ""
    dialect: str = ""

    def __init__(self) -> None:
        self._local = threading.local()
        self._conns: list[Any] = []
        self._conns_lock = threading.Lock()

    # --- connection plumbing (per implementation) ---------------------------------------------
    @abstractmethod
    def _connect(self) -> Any: ...

    @abstractmethod
    @contextmanager
    def _tx(self, write: bool = True, snapshot: bool = False) -> Iterator[Any]:
        """A transaction; yields a cursor whose ``execute(sql, params)`` takes ``?`` placeholders.
        ``write=False`` promises reads only (SQLite then takes no write lock); ``snapshot=True``
        asks that every statement see the same committed state (PostgreSQL: REPEATABLE READ)."""

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for c in conns:
            # closing a connection another thread still uses may fail; the store is done anyway
            with contextlib.suppress(Exception):
                c.close()
        self._local = threading.local()

    def _sql(self, text: str) -> str:
        return text.replace("{now}", self.now_sql)

    # --- schema ---------------------------------------------------------------------------------
    def migrate(self) -> int:
        """Apply pending schema migrations in order; return the schema version now in place."""
        with self._tx() as cur:
            self._lock_for_migration(cur)
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
            )
            cur.execute("SELECT version FROM schema_migrations")
            done = {r[0] for r in cur.fetchall()}
            for m in migrations.MIGRATIONS:
                if m.version in done:
                    continue
                for stmt in m.statements(self.dialect):
                    cur.execute(stmt)
                cur.execute(
                    self._sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, {now})"),
                    (m.version, m.name),
                )
            return max([m.version for m in migrations.MIGRATIONS] + list(done))

    def _lock_for_migration(self, cur: Any) -> None:  # noqa: B027 - a hook, empty by default
        """Serialise concurrent migrations (SQLite's write lock already does)."""

    def schema_version(self) -> int:
        with self._tx(write=False) as cur:
            cur.execute("SELECT MAX(version) FROM schema_migrations")
            return cur.fetchone()[0] or 0

    # --- rollup state ----------------------------------------------------------------------------
    def init_head(self, genesis_root: str) -> Head:
        """Create the state head at batch 0 if absent; return the head now in the store."""
        with self._tx() as cur:
            cur.execute(
                "INSERT INTO rollup_head (id, batch_number, root) VALUES (1, 0, ?) ON CONFLICT (id) DO NOTHING",
                (genesis_root,),
            )
            cur.execute("SELECT batch_number, root FROM rollup_head WHERE id = 1")
            n, root = cur.fetchone()
            return Head(int(n), root)

    def head(self) -> Head:
        with self._tx(write=False) as cur:
            cur.execute("SELECT batch_number, root FROM rollup_head WHERE id = 1")
            row = cur.fetchone()
            if row is None:
                raise JobStoreError("the store has no state head; start a server once to initialise it")
            return Head(int(row[0]), row[1])

    def load_accounts(self, since_batch: int = -1) -> list[tuple[int, str]]:
        """Accounts (index, JSON) written after ``since_batch`` (all by default), by index."""
        with self._tx(write=False) as cur:
            cur.execute("SELECT idx, data FROM accounts WHERE batch_number > ? ORDER BY idx", (since_batch,))
            return [(int(i), d) for i, d in cur.fetchall()]

    def snapshot(self) -> tuple[Head, list[tuple[int, str]]]:
        """The head and every account, read in one transaction so that they belong together.

        Read separately, a batch committed by another server between the two reads would pair
        the old head with the new accounts (or the reverse), and the rebuilt state would not
        hash to the head's root.
        """
        with self._tx(write=False, snapshot=True) as cur:
            cur.execute("SELECT batch_number, root FROM rollup_head WHERE id = 1")
            row = cur.fetchone()
            if row is None:
                raise JobStoreError("the store has no state head; start a server once to initialise it")
            cur.execute("SELECT idx, data FROM accounts ORDER BY idx")
            return Head(int(row[0]), row[1]), [(int(i), d) for i, d in cur.fetchall()]

    @staticmethod
    def _write_accounts(cur: Any, accounts: Mapping[int, str], batch_number: int) -> None:
        """Insert or replace ``accounts`` (index → JSON), as written by batch ``batch_number``."""
        for idx, data in accounts.items():
            cur.execute(
                "INSERT INTO accounts (idx, data, batch_number) VALUES (?, ?, ?) "
                "ON CONFLICT (idx) DO UPDATE SET data = excluded.data, batch_number = excluded.batch_number",
                (idx, data, batch_number),
            )

    def account(self, index: int) -> str | None:
        with self._tx(write=False) as cur:
            cur.execute("SELECT data FROM accounts WHERE idx = ?", (index,))
            row = cur.fetchone()
            return row[0] if row else None

    def submit(
        self, job: NewJob, accounts: Mapping[int, str], expect_batch_number: int, l1_queue: Sequence[int] = ()
    ) -> tuple[JobRecord, bool]:
        """In one transaction: write the batch's accounts, move the head, insert the job, and mark
        the L1 requests it consumes (queue indices ``l1_queue``) as taken by this batch.

        Returns (job, created). A batch id seen before returns its job with created False and
        writes nothing (BatchIdConflict if its transactions differ). StaleState if the head is
        no longer at ``expect_batch_number`` or an L1 request is no longer waiting.
        """
        with self._tx() as cur:
            existing = self._by_batch(cur, job.batch_id)
            if existing is not None:
                if existing.request_hash != job.request_hash:
                    raise BatchIdConflict(f"batch id {job.batch_id!r} was submitted before with other transactions")
                return existing, False
            cur.execute("SELECT batch_number, root FROM rollup_head WHERE id = 1" + self.head_lock_sql)
            row = cur.fetchone()
            if row is None or int(row[0]) != expect_batch_number:
                raise StaleState(f"state head is at batch {row and row[0]}, expected {expect_batch_number}")
            # The number alone is not enough: after a revert the operator rebuilds the same number
            # on another root, and a server that loaded the head before that must not commit a
            # batch built on the root that was reverted.
            if str(row[1]) != job.old_root:
                raise StaleState(f"state head is at batch {row[0]} with another root than this batch was built on")
            self._write_accounts(cur, accounts, job.batch_number)
            for queue_index in l1_queue:
                cur.execute(
                    "UPDATE l1_requests SET batch_number = ? WHERE queue_index = ? AND batch_number IS NULL "
                    "RETURNING queue_index",
                    (job.batch_number, queue_index),
                )
                if cur.fetchone() is None:
                    raise StaleState(f"L1 request {queue_index} is no longer waiting for a batch")
            cur.execute(
                "UPDATE rollup_head SET batch_number = ?, root = ? WHERE id = 1", (job.batch_number, job.new_root)
            )
            job_id = uuid.uuid4().hex
            cur.execute(
                self._sql(
                    "INSERT INTO jobs (job_id, batch_id, request_hash, batch_number, state, batch_size, tx_count, "
                    "circuit, inputs, old_root, new_root, public_data, max_attempts, owner, created_at, updated_at, "
                    "stage, stage_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {now}, {now}, 'queued', {now})"
                ),
                (
                    job_id,
                    job.batch_id,
                    job.request_hash,
                    job.batch_number,
                    QUEUED,
                    job.batch_size,
                    job.tx_count,
                    job.circuit,
                    json.dumps(job.inputs, separators=(",", ":")),
                    job.old_root,
                    job.new_root,
                    job.public_data,
                    job.max_attempts,
                    job.owner,
                ),
            )
            return self._get(cur, job_id), True  # type: ignore[return-value]

    # --- reading ---------------------------------------------------------------------------------
    def _get(self, cur: Any, job_id: str) -> JobRecord | None:
        cur.execute(f"SELECT {COLUMNS} FROM jobs WHERE job_id = ?", (job_id,))
        row = cur.fetchone()
        return _record(row) if row else None

    def _by_batch(self, cur: Any, batch_id: str) -> JobRecord | None:
        cur.execute(f"SELECT {COLUMNS} FROM jobs WHERE batch_id = ?", (batch_id,))
        row = cur.fetchone()
        return _record(row) if row else None

    def get(self, job_id: str) -> JobRecord | None:
        with self._tx(write=False) as cur:
            return self._get(cur, job_id)

    def get_by_batch(self, batch_id: str) -> JobRecord | None:
        with self._tx(write=False) as cur:
            return self._by_batch(cur, batch_id)

    def list(
        self, state: str | None = None, limit: int = 100, after_batch: int = -1, owner: str | None = None
    ) -> list[JobRecord]:
        """Jobs with batch_number > ``after_batch`` in batch order, optionally of one state and
        of one owner (None: every owner)."""
        where, params = "batch_number > ?", [after_batch]
        if state is not None:
            where += " AND state = ?"
            params.append(state)
        if owner is not None:
            where += " AND owner = ?"
            params.append(owner)
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT {COLUMNS} FROM jobs WHERE {where} ORDER BY batch_number LIMIT ?", (*params, limit))
            return [_record(r) for r in cur.fetchall()]

    def versions(self, job_ids: Sequence[str]) -> dict[str, int]:
        """The current version of each of ``job_ids`` that exists (one query, for watchers)."""
        if not job_ids:
            return {}
        marks = ", ".join("?" for _ in job_ids)
        with self._tx(write=False) as cur:
            cur.execute(f"SELECT job_id, version FROM jobs WHERE job_id IN ({marks})", tuple(job_ids))
            return {j: int(v) for j, v in cur.fetchall()}

    def counts(self) -> dict[str, int]:
        """Jobs per state (every state present, zero where none)."""
        with self._tx(write=False) as cur:
            cur.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state")
            found = {s: int(n) for s, n in cur.fetchall()}
        return {s: found.get(s, 0) for s in STATES}

    def stage_counts(self) -> dict[str, int]:
        """Jobs per stage (every stage present, zero where none)."""
        with self._tx(write=False) as cur:
            cur.execute("SELECT stage, COUNT(*) FROM jobs GROUP BY stage")
            found = {s: int(n) for s, n in cur.fetchall()}
        return {s: found.get(s, 0) for s in JOB_STAGES}

    def last_proven(self) -> Head | None:
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT batch_number, new_root FROM jobs WHERE state = ? ORDER BY batch_number DESC LIMIT 1",
                (SUCCEEDED,),
            )
            row = cur.fetchone()
            return Head(int(row[0]), row[1]) if row else None

    # --- worker side -------------------------------------------------------------------------------
    def _requeue_expired(self, cur: Any) -> list[str]:
        # Attempts were counted at claim time, so a job whose worker died on its last allowed
        # attempt fails here instead of looping forever through dying workers.
        cur.execute(
            self._sql(
                "UPDATE jobs SET "
                "state = CASE WHEN attempts >= max_attempts THEN ? ELSE ? END, "
                "finished_at = CASE WHEN attempts >= max_attempts THEN {now} ELSE NULL END, "
                "stage = CASE WHEN attempts >= max_attempts THEN 'done' ELSE 'queued' END, stage_at = {now}, "
                "last_error = 'lease of worker ' || COALESCE(worker_id, 'unknown') || ' expired (attempt ' "
                "|| CAST(attempts AS TEXT) || ' of ' || CAST(max_attempts AS TEXT) || ')', "
                "worker_id = NULL, lease_expires = NULL, updated_at = {now}, version = version + 1 "
                "WHERE state = ? AND lease_expires < {now} RETURNING job_id"
            ),
            (FAILED, QUEUED, PROVING),
        )
        return [r[0] for r in cur.fetchall()]

    def requeue_expired(self) -> list[str]:
        """Requeue (or fail, at the attempts cap) every PROVING job whose lease ran out."""
        with self._tx() as cur:
            return self._requeue_expired(cur)

    def claim(self, worker_id: str, lease_s: float) -> JobRecord | None:
        """Take the oldest queued job (lowest batch number) with a lease, or None if none."""
        with self._tx() as cur:
            self._requeue_expired(cur)
            cur.execute(
                f"SELECT job_id FROM jobs WHERE state = ? ORDER BY batch_number LIMIT 1{self.claim_lock_sql}",
                (QUEUED,),
            )
            row = cur.fetchone()
            if row is None:
                return None
            cur.execute(
                self._sql(
                    "UPDATE jobs SET state = ?, attempts = attempts + 1, worker_id = ?, "
                    "lease_expires = {now} + ?, heartbeat_at = {now}, started_at = {now}, updated_at = {now}, "
                    "stage_seconds = '{}', stage = 'witness', stage_at = {now}, version = version + 1 "
                    "WHERE job_id = ?"
                ),
                (PROVING, worker_id, lease_s, row[0]),
            )
            return self._get(cur, row[0])

    def heartbeat(
        self,
        job_id: str,
        worker_id: str,
        lease_s: float,
        stages: Mapping[str, float] | None = None,
        stage: str | None = None,
    ) -> Lease:
        """Extend the lease (and record stage times, or the job's move to ``stage``, one of
        ``WORKER_STAGES``); says whether the job is still ours."""
        sets, params = "lease_expires = {now} + ?, heartbeat_at = {now}", [lease_s]
        if stages is not None:
            sets += ", stage_seconds = ?"
            params.append(json.dumps(dict(stages)))
        if stage is not None:
            if stage not in WORKER_STAGES:
                raise ValueError(f"stage {stage!r} is not one a worker sets ({', '.join(WORKER_STAGES)})")
            sets += ", stage = ?, stage_at = {now}"
            params.append(stage)
        if stages is not None or stage is not None:
            sets += ", updated_at = {now}, version = version + 1"
        with self._tx() as cur:
            cur.execute(
                self._sql(
                    f"UPDATE jobs SET {sets} "
                    "WHERE job_id = ? AND worker_id = ? AND state = ? RETURNING cancel_requested"
                ),
                (*params, job_id, worker_id, PROVING),
            )
            row = cur.fetchone()
            return Lease(owned=row is not None, cancel_requested=bool(row and row[0]))

    def lease(self, job_id: str, worker_id: str) -> Lease:
        """Whether ``worker_id`` still holds the job and should stop, read without writing (a
        heartbeat also extends the lease; this costs no commit)."""
        with self._tx(write=False) as cur:
            cur.execute(
                "SELECT cancel_requested FROM jobs WHERE job_id = ? AND worker_id = ? AND state = ?",
                (job_id, worker_id, PROVING),
            )
            row = cur.fetchone()
            return Lease(owned=row is not None, cancel_requested=bool(row and row[0]))

    def _finish(self, job_id: str, worker_id: str, sets: str, params: Sequence[Any]) -> JobRecord | None:
        with self._tx() as cur:
            cur.execute(
                self._sql(
                    f"UPDATE jobs SET {sets}, lease_expires = NULL, updated_at = {{now}}, version = version + 1 "
                    "WHERE job_id = ? AND worker_id = ? AND state = ? RETURNING job_id"
                ),
                (*params, job_id, worker_id, PROVING),
            )
            if cur.fetchone() is None:
                return None  # the lease was lost (requeued, or cancelled) meanwhile
            return self._get(cur, job_id)

    def succeed(
        self,
        job_id: str,
        worker_id: str,
        proof_json: str,
        public_signals: Sequence[str],
        stages: Mapping[str, float],
        key_hash: str,
    ) -> JobRecord | None:
        """PROVING -> SUCCEEDED with the proof; None if the worker no longer held the job."""
        return self._finish(
            job_id,
            worker_id,
            "state = ?, proof_json = ?, public_signals = ?, stage_seconds = ?, key_hash = ?, "
            f"finished_at = {{now}}, last_error = '', stage = {_SUCCEEDED_STAGE}, stage_at = {{now}}",
            (SUCCEEDED, proof_json, json.dumps(list(public_signals)), json.dumps(dict(stages)), key_hash),
        )

    def fail(
        self, job_id: str, worker_id: str, error: str, *, retry: bool, stages: Mapping[str, float] | None = None
    ) -> JobRecord | None:
        """Record an error: back to QUEUED if ``retry`` and attempts remain, else FAILED."""
        state_expr = "CASE WHEN ? AND attempts < max_attempts THEN ? ELSE ? END"
        return self._finish(
            job_id,
            worker_id,
            f"state = {state_expr}, last_error = ?, stage_seconds = ?, "
            f"finished_at = CASE WHEN {state_expr} = ? THEN {{now}} ELSE NULL END, "
            f"stage = CASE WHEN {state_expr} = ? THEN 'done' ELSE 'queued' END, stage_at = {{now}}",
            (
                retry,
                QUEUED,
                FAILED,
                error,
                json.dumps(dict(stages or {})),
                retry,
                QUEUED,
                FAILED,
                FAILED,
                retry,
                QUEUED,
                FAILED,
                FAILED,
            ),
        )

    def release(self, job_id: str, worker_id: str, reason: str) -> JobRecord | None:
        """Give a job back to the queue without spending an attempt (graceful shutdown)."""
        return self._finish(
            job_id,
            worker_id,
            "state = ?, attempts = attempts - 1, last_error = ?, started_at = NULL, stage = 'queued', stage_at = {now}",
            (QUEUED, f"released: {reason}"),
        )

    def mark_cancelled(self, job_id: str, worker_id: str) -> JobRecord | None:
        """The worker saw the cancel request and stopped: PROVING -> CANCELLED."""
        return self._finish(
            job_id, worker_id, "state = ?, finished_at = {now}, stage = 'done', stage_at = {now}", (CANCELLED,)
        )

    def cancel(self, job_id: str, reason: str = "") -> JobRecord:
        """QUEUED -> CANCELLED now; PROVING -> cancel requested (the worker stops at its next
        stage). Cancelling a cancelled job is a no-op; a succeeded or failed one is JobFinal."""
        note = f"cancelled: {reason}" if reason else "cancelled"
        with self._tx() as cur:
            job = self._get(cur, job_id)
            if job is None:
                raise JobNotFound(f"no job {job_id!r}")
            if job.state == CANCELLED:
                return job
            if job.final:
                raise JobFinal(f"job {job_id} already {job.state}")
            if job.state == QUEUED:
                cur.execute(
                    self._sql(
                        "UPDATE jobs SET state = ?, last_error = ?, finished_at = {now}, updated_at = {now}, "
                        "cancel_requested = 1, stage = 'done', stage_at = {now}, version = version + 1 "
                        "WHERE job_id = ? AND state = ?"
                    ),
                    (CANCELLED, note, job_id, QUEUED),
                )
            else:
                cur.execute(
                    self._sql(
                        "UPDATE jobs SET cancel_requested = 1, last_error = ?, updated_at = {now}, "
                        "version = version + 1 WHERE job_id = ?"
                    ),
                    (note, job_id),
                )
            return self._get(cur, job_id)  # type: ignore[return-value]

    # --- reverting batches that cannot reach L1 ---------------------------------------------------
    def revert_after(
        self, batch_number: int, root: str, accounts: Mapping[int, str | None], reason: str
    ) -> list[JobRecord]:
        """In one transaction: take every batch after ``batch_number`` out of the sequence, put
        the head back to (``batch_number``, ``root``) with ``accounts`` as they were there (None:
        the account did not exist), and return their L1 requests to waiting.

        The jobs keep their ids but leave the batch sequence: each gets a negative batch number
        and ``~reverted`` appended to its batch id (so the batch id is free for the rebuilt batch);
        one not final is CANCELLED with ``reason``. Returns the jobs as they were, in batch order.
        """
        with self._tx() as cur:
            cur.execute(f"SELECT {COLUMNS} FROM jobs WHERE batch_number > ? ORDER BY batch_number", (batch_number,))
            jobs = [_record(r) for r in cur.fetchall()]
            cur.execute("SELECT MIN(batch_number) FROM jobs")
            low = min(0, int(cur.fetchone()[0] or 0))
            for i, job in enumerate(jobs):
                out = low - 1 - i
                cur.execute(
                    self._sql(
                        "UPDATE jobs SET batch_number = ?, batch_id = ?, cancel_requested = 1, "
                        "state = CASE WHEN state IN (?, ?) THEN ? ELSE state END, "
                        "last_error = CASE WHEN last_error = '' OR state IN (?, ?, ?) THEN ? ELSE last_error END, "
                        "finished_at = COALESCE(finished_at, {now}), updated_at = {now}, stage = 'done', "
                        "stage_at = {now}, version = version + 1 WHERE job_id = ?"
                    ),
                    (
                        out,
                        f"{job.batch_id}~reverted{-out}",
                        QUEUED,
                        PROVING,
                        CANCELLED,
                        QUEUED,
                        PROVING,
                        SUCCEEDED,
                        reason,
                        job.job_id,
                    ),
                )
            cur.execute("UPDATE l1_requests SET batch_number = NULL WHERE batch_number > ?", (batch_number,))
            for idx, data in accounts.items():
                if data is None:
                    cur.execute("DELETE FROM accounts WHERE idx = ?", (idx,))
                else:
                    cur.execute(
                        "INSERT INTO accounts (idx, data, batch_number) VALUES (?, ?, ?) ON CONFLICT (idx) "
                        "DO UPDATE SET data = excluded.data, batch_number = excluded.batch_number",
                        (idx, data, batch_number),
                    )
            cur.execute("UPDATE rollup_head SET batch_number = ?, root = ? WHERE id = 1", (batch_number, root))
            return jobs


def open_store(url: str) -> JobStore:
    """A store from a URL: ``sqlite:///path/to/jobs.db`` (or a bare path) or ``postgresql://...``.

    A PostgreSQL URL may carry ``?schema=NAME`` to keep the tables in their own schema; a
    SQLite URL ``?synchronous=NORMAL`` to trade the durability of the last commits for speed.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from prover.jobs.postgres import PostgresJobStore

        return PostgresJobStore.from_url(url)
    from prover.jobs.sqlite import SqliteJobStore

    path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url.removeprefix("sqlite://")
    path, _, query = path.partition("?")
    options = dict(parse_qsl(query))
    synchronous = options.pop("synchronous", "FULL")
    if options:
        raise ValueError(f"SQLite store URL: unknown option(s) {', '.join(sorted(options))} (known: synchronous)")
    return SqliteJobStore(path, synchronous=synchronous)
