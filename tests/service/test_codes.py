"""Honest status codes and clean logs: each malformed input gets its code and names its field,
a rejected call is one INFO line without a traceback, free text is bounded; durable SQLite
commits; a full store is RESOURCE_EXHAUSTED; two servers on one store never answer INTERNAL."""

from __future__ import annotations

import logging
import socket
import threading

import grpc
import pytest

from prover import metrics
from prover.jobs import StoreFull, open_store
from prover.service.client import connect
from prover.service.core import ProverCore
from prover.service.errors import status_for
from prover.service.example_rollup import ExampleOperator
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.server import ProverServer
from tests.service.helpers import deposit, make_core, registry

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@pytest.fixture
def wire(sqlite_store):
    srv = ProverServer(make_core(sqlite_store), address="127.0.0.1:0", workers=0)
    port = srv.start()
    channel = connect(f"127.0.0.1:{port}")
    yield pb_grpc.ProverServiceStub(channel), channel
    channel.close()
    srv.stop(1)


def _reject(fn) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value.code(), e.value.details()


def test_malformed_inputs_get_their_code_and_name_the_field(wire, caplog):
    stub, channel = wire
    job = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="ok", transactions=[deposit(0, 5)])).job
    cases = [
        # a non-ASCII digit passes str.isdigit() but not int()
        (
            lambda: stub.SubmitBatch(
                pb.SubmitBatchRequest(
                    batch_id="d",
                    transactions=[
                        pb.Transaction(deposit=pb.Deposit(to_index=1, pubkey_ax="1", pubkey_ay="2", amount="\u00b2"))
                    ],
                )
            ),
            INVALID,
            "transactions[0].deposit.amount",
        ),
        (lambda: stub.ListJobs(pb.ListJobsRequest(page_token="9" * 40)), INVALID, "page_token"),
        (lambda: stub.ListJobs(pb.ListJobsRequest(page_token="99999999999999999999")), INVALID, "page_token"),
        (lambda: stub.ListJobs(pb.ListJobsRequest(page_token="-1")), INVALID, "page_token"),
        (lambda: stub.ListJobs(pb.ListJobsRequest(page_size=5000)), INVALID, "page_size"),
        (
            lambda: stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id, reason="x\nERROR forged line")),
            INVALID,
            "reason",
        ),
        (lambda: stub.CancelJob(pb.CancelJobRequest(job_id=job.job_id, reason="r" * 257)), INVALID, "reason"),
        (lambda: stub.CancelJob(pb.CancelJobRequest(job_id="")), INVALID, "job_id"),
        (lambda: stub.GetJob(pb.GetJobRequest(job_id="j" * 65)), INVALID, "job_id"),
        (lambda: next(stub.WatchJob(pb.WatchJobRequest(job_id="a\x00b"), timeout=5)), INVALID, "job_id"),
        (lambda: stub.GetAccount(pb.GetAccountRequest(index=2**64 - 1)), INVALID, "index"),
        # bytes that are no SubmitBatchRequest (gRPC alone would say INTERNAL)
        (
            lambda: channel.unary_unary("/prover.v1.ProverService/SubmitBatch")(b"\xff\xff\xff\xff", timeout=5),
            INVALID,
            "request",
        ),
    ]
    for n, (fn, code, field) in enumerate(cases):
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            got, details = _reject(fn)
        assert got == code and field in details, (n, got, details)
        lines = [r for r in caplog.records if r.name.startswith(("zkprover", "grpc"))]
        assert len(lines) == 1 and lines[0].levelno == logging.INFO and not lines[0].exc_info, (n, lines)
        assert "\n" not in lines[0].getMessage()
    after = stub.GetJob(pb.GetJobRequest(job_id=job.job_id))
    assert after.state == pb.JOB_STATE_QUEUED and after.version == job.version  # nothing was written


def test_a_full_store_is_resource_exhausted(sqlite_store):
    core = make_core(sqlite_store)
    core.submit("first", [_deposit(0)])
    conn = sqlite_store._conn()  # the store's connection for this thread, which submit uses
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(StoreFull) as e:
        for i in range(1, 200):  # until a commit needs a page the cap does not allow
            core.submit(f"more-{i}", [_deposit(i)])
    assert status_for(e.value)[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    # the in-memory state was reverted with the failed commit: it matches the store's head
    assert core.operator.batch_number() == sqlite_store.head().batch_number == i


def test_sqlite_commits_are_synced_by_default(tmp_path):
    full = open_store(f"sqlite:///{tmp_path / 'a.db'}")
    assert full._conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    fast = open_store(f"sqlite:///{tmp_path / 'b.db'}?synchronous=NORMAL")
    assert fast._conn().execute("PRAGMA synchronous").fetchone()[0] == 1
    with pytest.raises(ValueError, match="synchronous='SOMETIMES'"):
        open_store(f"sqlite:///{tmp_path / 'c.db'}?synchronous=SOMETIMES")
    with pytest.raises(ValueError, match="unknown option"):
        open_store(f"sqlite:///{tmp_path / 'c.db'}?journal=off")


def test_metrics_listen_on_loopback_by_default():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.255.255.255", 1))  # picks the outward interface; sends nothing
        outward = s.getsockname()[0]
    if outward.startswith("127."):
        pytest.skip("no non-loopback interface to probe")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    stop = metrics.serve_http(port)
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        with pytest.raises(OSError):
            socket.create_connection((outward, port), timeout=2).close()
    finally:
        stop()


def _deposit(index: int, amount: int = 5):
    from prover.service.rollup_api import TxRequest

    return TxRequest(kind="deposit", from_index=index, amount=amount, pubkey=(1, 2))


def test_two_servers_on_one_store_never_answer_internal(store_url):
    """Two servers (each its own state in memory) on one store, four clients each: a server
    whose state is behind reloads it (one read transaction) and retries; a lost race is ABORTED."""
    servers, stubs = [], []
    for _ in range(2):
        core = ProverCore(open_store(store_url), ExampleOperator(capacity=1024), registry())
        core.start()
        srv = ProverServer(core, address="127.0.0.1:0", workers=0)
        port = srv.start()
        servers.append(srv)
        stubs.append(pb_grpc.ProverServiceStub(connect(f"127.0.0.1:{port}")))
    codes: list[grpc.StatusCode] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        stub = stubs[k % 2]
        for i in range(10):
            req = pb.SubmitBatchRequest(batch_id=f"c{k}-{i}", transactions=[deposit(10 * k + i, 1 + i)])
            try:
                stub.SubmitBatch(req, timeout=60)
                stub.GetAccount(pb.GetAccountRequest(index=10 * k + i), timeout=60)
                code = grpc.StatusCode.OK
            except grpc.RpcError as exc:
                code = exc.code()
            with lock:
                codes.append(code)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert len(codes) == 80
        assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.ABORTED}, codes
        assert codes.count(grpc.StatusCode.OK) >= 60, codes
        # a third reader rebuilds the state from the store and agrees with the head
        check = ProverCore(open_store(store_url), ExampleOperator(capacity=1024), registry())
        check.start()
        assert str(check.operator.state_root()) == check.store.head().root
        check.store.close()
    finally:
        for srv in servers:
            srv.stop(1)


def test_a_submit_that_keeps_losing_the_race_is_aborted(sqlite_store, monkeypatch):
    from prover.jobs import StaleState
    from prover.service.errors import Aborted

    core = make_core(sqlite_store)
    calls = []

    def always_stale(*args, **kwargs):
        calls.append(1)
        raise StaleState("state head is at batch 7, expected 0")

    monkeypatch.setattr(sqlite_store, "submit", always_stale)
    with pytest.raises(Aborted) as e:
        core.submit("racing", [_deposit(0)])
    assert status_for(e.value)[0] == grpc.StatusCode.ABORTED and "retry" in str(e.value)
    assert len(calls) > 1  # it reloaded and retried before giving up
    assert core.operator.batch_number() == 0 and core.operator.account(0) is None  # nothing kept
