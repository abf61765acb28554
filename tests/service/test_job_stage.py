"""The job's pipeline stage (migration 4): every transition, over SQLite and PostgreSQL, the
upgrade of a store made before the column, the gRPC field and the ``--pipeline-depth`` option."""

from __future__ import annotations

import argparse
import time

import pytest

from prover.jobs import JOB_STAGES, open_store
from prover.jobs.l1_ledger import L1Ledger, Settlement
from prover.jobs.migrations import MIGRATIONS
from prover.service.gen import prover_pb2 as pb
from prover.service.servicer import job_to_pb
from tests.service.test_job_store import submit


def test_a_job_moves_through_its_stages(store):
    job, _ = submit(store, 1)
    assert job.stage == "queued" and job.stage_at is not None
    claimed = store.claim("w", 30)
    assert claimed.stage == "witness" and claimed.stage_at >= job.stage_at
    for stage in ("ready", "proving"):
        assert store.heartbeat(job.job_id, "w", 30, stage=stage).owned
        assert store.get(job.job_id).stage == stage
    assert store.stage_counts() == {s: int(s == "proving") for s in JOB_STAGES}
    done = store.succeed(job.job_id, "w", "{}", ["1"], {"total": 1.0}, "k")
    assert done.stage == "done"  # no L1 followed by this store: nothing to settle


def test_a_succeeded_job_settles_where_the_store_follows_l1(store):
    ledger = L1Ledger(store)
    ledger.save_cursor({"block": 1})
    job, _ = submit(store, 1)
    store.claim("w", 30)
    assert store.succeed(job.job_id, "w", "{}", ["1"], {}, "k").stage == "settling"
    version = store.get(job.job_id).version
    ledger.record_settlement(Settlement(1, "0xab", 100, 1, 1))
    settled = store.get(job.job_id)
    assert settled.stage == "settled" and settled.version == version + 1  # watchers see the change
    ledger.record_settlement(Settlement(1, "0xab", 100, 1, 1))  # a repeat changes nothing
    assert store.get(job.job_id).version == settled.version


def test_requeue_failure_release_and_cancel_set_the_stage(store):
    a, _ = submit(store, 1, max_attempts=2)
    b, _ = submit(store, 2)
    store.claim("w", 30)
    assert store.fail(a.job_id, "w", "oom", retry=True).stage == "queued"
    store.claim("w", 30)
    assert store.fail(a.job_id, "w", "bad witness", retry=False).stage == "done"
    store.claim("w", 30)
    assert store.release(b.job_id, "w", "shutdown").stage == "queued"
    store.claim("w", 0.01)
    time.sleep(0.05)
    assert store.requeue_expired() == [b.job_id] and store.get(b.job_id).stage == "queued"
    assert store.cancel(b.job_id, "no").stage == "done"


def test_only_the_job_owner_moves_it_and_only_to_a_worker_stage(store):
    job, _ = submit(store, 1)
    store.claim("w", 30)
    with pytest.raises(ValueError, match="stage 'settled' is not one a worker sets"):
        store.heartbeat(job.job_id, "w", 30, stage="settled")
    assert not store.heartbeat(job.job_id, "other", 30, stage="proving").owned
    assert store.get(job.job_id).stage == "witness"


def test_lease_is_read_without_extending_it(store):
    job, _ = submit(store, 1)
    assert not store.lease(job.job_id, "w").owned  # queued: nobody holds it
    before = store.claim("w", 30).lease_expires
    assert store.lease(job.job_id, "w").owned and not store.lease(job.job_id, "other").owned
    store.cancel(job.job_id, "stop")
    lease = store.lease(job.job_id, "w")
    assert lease.owned and lease.cancel_requested and store.get(job.job_id).lease_expires == before


def test_migration_4_gives_existing_jobs_their_stage(store_url, monkeypatch):
    import prover.jobs.migrations as migrations

    old = open_store(store_url)
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS[:3])
    assert old.migrate() == 3
    old.init_head("0")
    with old._tx() as cur:  # jobs as a version-3 server left them (no stage column yet)
        for n, state in enumerate(("QUEUED", "PROVING", "SUCCEEDED", "SUCCEEDED", "CANCELLED"), start=1):
            cur.execute(
                "INSERT INTO jobs (job_id, batch_id, request_hash, batch_number, state, batch_size, tx_count, "
                "circuit, inputs, old_root, new_root, public_data, max_attempts, created_at, updated_at) "
                "VALUES (?, ?, 'h', ?, ?, 1, 1, 'c', '{}', '0', '0', '', 3, 1.0, 2.0)",
                (f"j{n}", f"b{n}", n, state),
            )
        cur.execute("INSERT INTO l1_cursor (id, data) VALUES (1, '{}')")
        cur.execute("INSERT INTO settlements VALUES (3, '0x', 1, '1', 1, 1.0)")
    monkeypatch.setattr(migrations, "MIGRATIONS", MIGRATIONS)
    assert old.migrate() == 4
    stages = [old.get(f"j{n}").stage for n in range(1, 6)]
    assert stages == ["queued", "proving", "settled", "settling", "done"]
    assert old.get("j1").stage_at == 2.0
    old.close()


def test_job_status_carries_the_stage(store):
    job, _ = submit(store, 1)
    assert job_to_pb(job).stage == pb.JOB_STAGE_QUEUED
    store.claim("w", 30)
    store.heartbeat(job.job_id, "w", 30, stage="ready")
    status = job_to_pb(store.get(job.job_id))
    assert status.stage == pb.JOB_STAGE_READY and status.stage_since.seconds > 0
    from prover.service.cli import _job_line

    assert " PROVING/ready " in _job_line(status)  # zkprover status shows it
    assert " QUEUED " in _job_line(pb.Job(state=pb.JOB_STATE_QUEUED))  # an older server: no stage
    # every stage the store knows has its own enum value
    assert len({pb.JobStage.Value(f"JOB_STAGE_{s.upper()}") for s in JOB_STAGES}) == len(JOB_STAGES)


def test_pipeline_depth_option():
    from prover.cli import build_parser

    args = build_parser().parse_args(["serve", "--pipeline-depth", "3"])
    assert args.pipeline_depth == 3
    assert build_parser().parse_args(["worker"]).pipeline_depth == 2
    from prover.service.cli import _pipeline_depth

    for bad, why in (("0", "at least 1"), ("two", "not an integer")):
        with pytest.raises(argparse.ArgumentTypeError, match=why):
            _pipeline_depth(bad)
