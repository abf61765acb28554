"""Fixtures for the service tests: a job store of each kind, behind one fixture.

PostgreSQL tests run against the server at 127.0.0.1:5432 (trust auth, user postgres, database
test) in a schema unique to the test, dropped afterwards; they skip, with the reason, where no
server answers. ZKPROVER_TEST_PG overrides the DSN.
"""

from __future__ import annotations

import os
import uuid

import pytest

from prover.jobs.sqlite import SqliteJobStore

PG_DSN = os.environ.get("ZKPROVER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_reason() -> str | None:
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg missing: {exc}"
    try:
        psycopg.connect(PG_DSN, connect_timeout=3).close()
    except Exception as exc:
        return f"PostgreSQL at {PG_DSN} unavailable: {exc}"
    return None


_PG_REASON = _pg_reason()


@pytest.fixture
def pg_url():
    """A PostgreSQL store URL with a fresh schema; the schema is dropped after the test."""
    if _PG_REASON:
        pytest.skip(_PG_REASON)
    from prover.jobs.postgres import PostgresJobStore

    schema = f"zkp_test_{uuid.uuid4().hex[:12]}"
    yield f"{PG_DSN}?schema={schema}"
    cleanup = PostgresJobStore(PG_DSN, schema=schema)
    cleanup.drop_schema()
    cleanup.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request, tmp_path):
    """A job store URL of each kind (same tests run over both)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        yield request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url):
    from prover.jobs import open_store

    s = open_store(store_url)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def sqlite_store(tmp_path):
    s = SqliteJobStore(tmp_path / "jobs.db")
    s.migrate()
    yield s
    s.close()
