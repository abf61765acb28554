"""Bounded resources on a loopback server: open WatchJob streams do not starve unary calls or
health checks, per-client stream caps and request rates, message sizes, vanished clients."""

from __future__ import annotations

import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from prover.service.auth import TokenTable
from prover.service.client import connect
from prover.service.errors import ResourceExhausted
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.limits import Limits, RateLimiter, StreamSlots
from prover.service.server import ProverServer
from tests.service.helpers import deposit, make_core, top_up

TOKENS = {"alice": "alice-token-0000000001", "bob": "bob-token-00000000000001"}
TABLE = "\n".join(f"{c} submit {t}" for c, t in TOKENS.items())


def _server(store, limits: Limits | None = None, tokens: bool = True) -> tuple[ProverServer, int]:
    srv = ProverServer(make_core(store), address="127.0.0.1:0", workers=0, limits=limits,
                       tokens=TokenTable.parse(TABLE, "t") if tokens else None)  # fmt: skip
    return srv, srv.start()


def test_64_open_streams_leave_health_and_submit_answering_within_a_second(sqlite_store):
    srv, port = _server(sqlite_store)  # default limits: 32 streams per client, 128 in all
    channels, streams = [], []
    try:
        for k, who in enumerate(("alice", "bob")):
            channel = connect(f"127.0.0.1:{port}", token=TOKENS[who])
            channels.append(channel)
            stub = pb_grpc.ProverServiceStub(channel)
            job = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id=f"{who}-0", transactions=[deposit(k, 1)])).job
            for _ in range(32):  # no worker runs: each stream stays open on a queued job
                call = stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=120)
                assert next(call).state == pb.JOB_STATE_QUEUED
                streams.append(call)
        assert len(streams) == 64 and srv.interceptor.streams.open == 64

        with pytest.raises(grpc.RpcError) as e:  # alice's 33rd stream is over her cap
            next(stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=10))
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "per client" in e.value.details()

        health = health_pb2_grpc.HealthStub(channels[0])
        for i in range(5):
            t = time.perf_counter()
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
            resp = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id=f"more-{i}", transactions=[top_up(0, 1)]),
                                    timeout=1)  # fmt: skip
            elapsed = time.perf_counter() - t
            assert status == health_pb2.HealthCheckResponse.SERVING and resp.created and elapsed < 1.0, elapsed
    finally:
        for call in streams:
            call.cancel()
        for c in channels:
            c.close()
        srv.stop(1)


def test_a_vanished_stream_gives_its_slot_back(sqlite_store):
    srv, port = _server(sqlite_store, Limits(max_streams=2, max_streams_per_client=2), tokens=False)
    try:
        stub = pb_grpc.ProverServiceStub(connect(f"127.0.0.1:{port}"))
        job = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="w", transactions=[deposit(0, 1)])).job
        calls = [stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=60) for _ in range(2)]
        for c in calls:
            next(c)
        with pytest.raises(grpc.RpcError) as e:
            next(stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=10))
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        calls[0].cancel()  # the client goes away; the server notices within its wait (1 s)
        deadline = time.monotonic() + 5
        while srv.interceptor.streams.open > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert srv.interceptor.streams.open == 1
        assert next(stub.WatchJob(pb.WatchJobRequest(job_id=job.job_id), timeout=10)).job_id == job.job_id
        calls[1].cancel()
    finally:
        srv.stop(1)


def test_request_rate_per_client(sqlite_store):
    srv, port = _server(sqlite_store, Limits(rate_per_client=20, burst_per_client=5))
    try:
        alice = pb_grpc.ProverServiceStub(connect(f"127.0.0.1:{port}", token=TOKENS["alice"]))
        bob = pb_grpc.ProverServiceStub(connect(f"127.0.0.1:{port}", token=TOKENS["bob"]))
        for _ in range(5):
            alice.GetStateRoot(pb.GetStateRootRequest(), timeout=5)
        with pytest.raises(grpc.RpcError) as e:
            alice.GetStateRoot(pb.GetStateRootRequest(), timeout=5)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and "rate limit" in e.value.details()
        bob.GetStateRoot(pb.GetStateRootRequest(), timeout=5)  # another client's budget is its own
        time.sleep(0.2)  # 20/s refills 4 calls
        alice.GetStateRoot(pb.GetStateRootRequest(), timeout=5)
    finally:
        srv.stop(1)


def test_message_size_bound(sqlite_store):
    srv, port = _server(sqlite_store, tokens=False)
    try:
        stub = pb_grpc.ProverServiceStub(connect(f"127.0.0.1:{port}"))
        with pytest.raises(grpc.RpcError) as e:
            stub.CancelJob(pb.CancelJobRequest(job_id="x", reason="r" * (9 << 20)), timeout=10)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        with pytest.raises(grpc.RpcError) as e:  # under the bound, over the field's own limit
            stub.CancelJob(pb.CancelJobRequest(job_id="x", reason="r" * (4 << 20)), timeout=10)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "reason" in e.value.details()
    finally:
        srv.stop(1)


def test_rate_limiter_and_stream_slots_alone():
    rates = RateLimiter(rate=1000.0, burst=2)
    rates.take("a")
    rates.take("a")
    with pytest.raises(ResourceExhausted):
        rates.take("a")
    rates.take("b")
    slots = StreamSlots(total=3, per_client=2)
    with slots.hold("a"), slots.hold("a"):
        with pytest.raises(ResourceExhausted, match="per client"), slots.hold("a"):
            pass
        with slots.hold("b"), pytest.raises(ResourceExhausted, match="server's 3"), slots.hold("c"):
            pass
    assert slots.open == 0
    with pytest.raises(ValueError, match="max_streams"):
        Limits(max_streams=0)
