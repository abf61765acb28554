"""The shared job store: PostgreSQL, for many servers and workers on many machines.

Claims use ``SELECT ... FOR UPDATE SKIP LOCKED`` (as zkSync's prover does): concurrent workers
each lock a different queued row instead of queueing behind one another, and a row locked by a
claim in flight is simply skipped. Submitters serialise on the one-row state head (``FOR
UPDATE``), because batches apply in order to one state. The clock is the server's
(``clock_timestamp()``), so leases mean the same on every machine.

Tables live in the schema named by ``schema`` (default ``public``), which lets several
deployments, or test runs, share one database.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from prover.jobs.store import JobStore, JobStoreError, StaleState, StoreFull

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class _Cursor:
    """A psycopg cursor that takes the store's ``?`` placeholders (the SQL has no literal ``?``
    or ``%``, so the rewrite is exact)."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur

    def execute(self, sql: str, params: Any = ()) -> None:
        self._cur.execute(sql.replace("?", "%s"), params)

    def fetchone(self) -> Any:
        return self._cur.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cur.fetchall()


class PostgresJobStore(JobStore):
    now_sql = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"
    claim_lock_sql = " FOR UPDATE SKIP LOCKED"
    head_lock_sql = " FOR UPDATE"
    dialect = "postgresql"

    def __init__(self, dsn: str, schema: str = "public", connect_timeout_s: int = 10) -> None:
        super().__init__()
        if not _SCHEMA_NAME.match(schema):
            raise ValueError(f"bad schema name {schema!r}")
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - psycopg is a dependency
            raise JobStoreError(f"PostgreSQL store needs psycopg (pip install 'psycopg[binary]'): {exc}") from exc
        self._psycopg = psycopg
        self.dsn = dsn
        self.schema = schema
        self.connect_timeout_s = connect_timeout_s
        conn = self._conn()
        with conn.transaction():
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')

    @classmethod
    def from_url(cls, url: str) -> PostgresJobStore:
        """``postgresql://user@host:port/db?schema=NAME``: ``schema`` is ours, the rest libpq's."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        schema = query.pop("schema", "public")
        return cls(urlunsplit(parts._replace(query=urlencode(query))), schema=schema)

    def __repr__(self) -> str:
        return f"PostgresJobStore(schema={self.schema!r})"

    def _connect(self) -> Any:
        try:
            return self._psycopg.connect(
                self.dsn,
                autocommit=True,  # transactions are explicit, via conn.transaction()
                connect_timeout=self.connect_timeout_s,
                options=f"-c search_path={self.schema}",
                application_name="zkprover",
            )
        except self._psycopg.OperationalError as exc:
            raise JobStoreError(f"cannot connect to PostgreSQL: {exc}") from exc

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and (conn.closed or conn.broken):
            self._local.conn = None  # the server restarted or the network dropped: reconnect
        return super()._conn()

    @contextmanager
    def _tx(self, write: bool = True, snapshot: bool = False) -> Iterator[Any]:
        conn = self._conn()
        try:
            with conn.transaction(), conn.cursor() as cur:
                if snapshot:
                    # READ COMMITTED gives each statement its own snapshot; a reload needs one
                    cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield _Cursor(cur)
        except self._psycopg.errors.DiskFull as exc:
            raise StoreFull(f"PostgreSQL is out of disk: {exc}") from exc
        except self._psycopg.errors.TransactionRollback as exc:  # deadlock or serialisation failure
            raise StaleState(f"PostgreSQL rolled the transaction back: {exc}") from exc
        except self._psycopg.OperationalError as exc:  # connection lost, server shutting down
            raise JobStoreError(f"PostgreSQL: {exc}") from exc

    def _lock_for_migration(self, cur: Any) -> None:
        # Servers and workers starting together would otherwise race to create the tables.
        digest = hashlib.sha256(f"zkprover.migrate.{self.schema}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        cur.execute("SELECT pg_advisory_xact_lock(?)", (key,))

    def drop_schema(self) -> None:
        """Drop the whole schema (tests use a schema per run)."""
        conn = self._conn()
        with conn.transaction():
            conn.execute(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
