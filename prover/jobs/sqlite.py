"""The embedded job store: one SQLite file in WAL mode.

WAL lets readers (GetJob, WatchJob, metrics) proceed while a writer commits. Every write
transaction starts with ``BEGIN IMMEDIATE``, taking SQLite's single write lock up front, so a
claim's SELECT and UPDATE cannot interleave with another claim (SQLite has no row locks; the
database lock is what ``FOR UPDATE SKIP LOCKED`` is in PostgreSQL). Processes on one machine
may share the file (``serve`` plus ``worker`` processes); machines should share PostgreSQL.

Durability: ``synchronous=FULL`` by default, so WAL is fsynced at every commit and a
SubmitBatch the server acknowledged survives a power loss, as a PostgreSQL commit does
(``NORMAL`` syncs only at checkpoints: faster, but the last commits may vanish with the power).
``sqlite:///path?synchronous=NORMAL`` opts out, for throwaway stores and benchmarks.

SQLite's own errors become the store's: a full disk (or ``max_page_count`` reached) is
``StoreFull``, any other database error ``JobStoreError``, so the service maps them to status
codes instead of INTERNAL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prover.jobs.store import JobStore, JobStoreError, StoreFull

#: julianday('now') has sub-millisecond resolution; unixepoch('subsec') needs SQLite 3.42
_NOW = "((julianday('now') - 2440587.5) * 86400.0)"
_SYNC_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")


class SqliteJobStore(JobStore):
    now_sql = _NOW
    dialect = "sqlite"

    def __init__(self, path: str | Path, busy_timeout_s: float = 30.0, synchronous: str = "FULL") -> None:
        super().__init__()
        if synchronous.upper() not in _SYNC_MODES:
            raise ValueError(f"synchronous={synchronous!r} is not one of {', '.join(_SYNC_MODES)}")
        self.path = str(path)
        self.busy_timeout_s = busy_timeout_s
        self.synchronous = synchronous.upper()
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # the journal mode cannot change inside a transaction; it persists in the file
        self._conn().execute("PRAGMA journal_mode=WAL")

    def __repr__(self) -> str:
        return f"SqliteJobStore({self.path!r})"

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the module issues no implicit BEGINs; _tx says exactly when.
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA synchronous={self.synchronous}")
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
        return conn

    @contextmanager
    def _tx(self, write: bool = True, snapshot: bool = False) -> Iterator[Any]:
        # A WAL read transaction sees one snapshot from its first read on, so ``snapshot``
        # needs nothing more here.
        conn = self._conn()
        cur = conn.cursor()
        try:
            # readers take no lock up front, so in WAL mode they never wait for a writer
            cur.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            try:
                yield cur
            except BaseException:
                conn.rollback()
                raise
            else:
                conn.commit()
        except sqlite3.Error as exc:
            raise _store_error(exc) from exc
        finally:
            cur.close()


def _store_error(exc: sqlite3.Error) -> JobStoreError:
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or "disk is full" in str(exc):
        return StoreFull(f"the SQLite store is full: {exc}")
    return JobStoreError(f"SQLite: {exc}")
