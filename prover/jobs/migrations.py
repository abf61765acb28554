"""Versioned schema migrations, applied in order by ``JobStore.migrate``.

Each migration runs once, in the same transaction as its row in ``schema_migrations``, so a
failed migration leaves the schema as it was. Never edit a released migration: add the next
version. The SQL is written to run on both SQLite and PostgreSQL; where the two differ, a
migration gives per-dialect statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    common: tuple[str, ...]
    per_dialect: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.common + self.per_dialect.get(dialect, ())


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "jobs, accounts, state head",
        (
            """CREATE TABLE jobs (
                job_id TEXT PRIMARY KEY,
                batch_id TEXT NOT NULL UNIQUE,
                request_hash TEXT NOT NULL,
                batch_number BIGINT NOT NULL UNIQUE,
                state TEXT NOT NULL,
                batch_size INTEGER NOT NULL,
                tx_count INTEGER NOT NULL,
                circuit TEXT NOT NULL,
                inputs TEXT NOT NULL,
                old_root TEXT NOT NULL,
                new_root TEXT NOT NULL,
                public_data TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                max_attempts INTEGER NOT NULL,
                worker_id TEXT,
                lease_expires DOUBLE PRECISION,
                heartbeat_at DOUBLE PRECISION,
                last_error TEXT NOT NULL DEFAULT '',
                cancel_requested INTEGER NOT NULL DEFAULT 0,
                created_at DOUBLE PRECISION NOT NULL,
                updated_at DOUBLE PRECISION NOT NULL,
                started_at DOUBLE PRECISION,
                finished_at DOUBLE PRECISION,
                stage_seconds TEXT NOT NULL DEFAULT '{}',
                proof_json TEXT NOT NULL DEFAULT '',
                public_signals TEXT NOT NULL DEFAULT '[]',
                key_hash TEXT NOT NULL DEFAULT '',
                version BIGINT NOT NULL DEFAULT 1
            )""",
            # claims scan QUEUED by batch number; the reaper scans PROVING by lease
            "CREATE INDEX jobs_state_batch ON jobs (state, batch_number)",
            "CREATE INDEX jobs_state_lease ON jobs (state, lease_expires)",
            "CREATE TABLE accounts (idx BIGINT PRIMARY KEY, data TEXT NOT NULL, batch_number BIGINT NOT NULL)",
            "CREATE INDEX accounts_batch ON accounts (batch_number)",
            "CREATE TABLE rollup_head (id INTEGER PRIMARY KEY, batch_number BIGINT NOT NULL, root TEXT NOT NULL)",
        ),
    ),
    Migration(
        2,
        "job owner",
        (
            # jobs submitted before identities existed belong to no client: admins see them
            "ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT ''",
            "CREATE INDEX jobs_owner_batch ON jobs (owner, batch_number)",
        ),
    ),
    Migration(
        3,
        "L1 requests, settlements, L1 event cursor",
        (
            # One row per confirmed entry of the Rollup's priority queue, keyed by its queue
            # index (so a redelivered event changes nothing); batch_number is the batch that
            # consumed it, NULL while it waits.
            """CREATE TABLE l1_requests (
                queue_index BIGINT PRIMARY KEY,
                kind TEXT NOT NULL,
                account_index BIGINT NOT NULL,
                amount TEXT NOT NULL,
                address TEXT NOT NULL,
                ax TEXT NOT NULL,
                ay TEXT NOT NULL,
                block_number BIGINT NOT NULL,
                batch_number BIGINT
            )""",
            "CREATE INDEX l1_requests_batch ON l1_requests (batch_number)",
            """CREATE TABLE settlements (
                batch_number BIGINT PRIMARY KEY,
                tx_hash TEXT NOT NULL,
                gas_used BIGINT NOT NULL,
                fee_wei TEXT NOT NULL,
                tx_count INTEGER NOT NULL,
                settled_at DOUBLE PRECISION NOT NULL
            )""",
            "CREATE TABLE l1_cursor (id INTEGER PRIMARY KEY, data TEXT NOT NULL)",
        ),
    ),
    Migration(
        4,
        "job pipeline stage",
        (
            # Where a job is inside its state (see store.STAGES), and since when (database clock).
            "ALTER TABLE jobs ADD COLUMN stage TEXT NOT NULL DEFAULT 'queued'",
            "ALTER TABLE jobs ADD COLUMN stage_at DOUBLE PRECISION",
            # Jobs from before the column: a proving job was somewhere in witness or proof
            # (called proving); a finished one settles where the store follows an L1.
            "UPDATE jobs SET stage = CASE "
            "WHEN state = 'PROVING' THEN 'proving' "
            "WHEN state = 'SUCCEEDED' AND batch_number IN (SELECT batch_number FROM settlements) THEN 'settled' "
            "WHEN state = 'SUCCEEDED' AND EXISTS (SELECT 1 FROM l1_cursor) THEN 'settling' "
            "WHEN state = 'QUEUED' THEN 'queued' ELSE 'done' END, stage_at = updated_at",
            "CREATE INDEX jobs_stage ON jobs (stage)",
        ),
    ),
)
