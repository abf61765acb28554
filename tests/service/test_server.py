"""A real gRPC server on loopback: health, reflection, the API over the wire, status codes,
metrics over HTTP, graceful stop; and ``zkprover worker`` processes killed mid-job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from prover.groth16.formats import proof_from_json, vk_from_json
from prover.groth16.verifier import verify
from prover.jobs import open_store
from prover.service.core import ProverCore
from prover.service.example_rollup import ExampleOperator, ExampleRegistry, KeyCache
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.server import ProverServer
from tests.service.helpers import backend, deposit, free_port, make_core


@pytest.fixture
def server(sqlite_store):
    metrics_port = free_port()
    srv = ProverServer(make_core(sqlite_store), address="127.0.0.1:0", backend=backend(), workers=1,
                       lease_s=5, metrics_port=metrics_port)  # fmt: skip
    port = srv.start()
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    yield srv, channel, metrics_port
    channel.close()
    srv.stop(2)


def test_loopback_end_to_end(server):
    _srv, channel, metrics_port = server
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "prover.v1.ProverService"):
        assert (
            health.Check(health_pb2.HealthCheckRequest(service=name)).status == health_pb2.HealthCheckResponse.SERVING
        )

    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    answer = next(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
    assert "prover.v1.ProverService" in {s.name for s in answer.list_services_response.service}

    stub = pb_grpc.ProverServiceStub(channel)
    t = time.perf_counter()
    resp = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="loop-1", transactions=[deposit(0, 50)]))
    states = [j.state for j in stub.WatchJob(pb.WatchJobRequest(job_id=resp.job.job_id), timeout=60)]
    latency = time.perf_counter() - t
    assert states[-1] == pb.JOB_STATE_SUCCEEDED and pb.JOB_STATE_PROVING in states, states
    job = stub.GetJob(pb.GetJobRequest(job_id=resp.job.job_id))
    vk = vk_from_json(json.loads(stub.GetVerifyingKey(pb.GetVerifyingKeyRequest(batch_size=1)).verification_key_json))
    assert verify(vk, [int(s) for s in job.public_signals], proof_from_json(json.loads(job.proof_json)))
    print(f"submit -> proof over loopback: {latency:.2f} s")

    with pytest.raises(grpc.RpcError) as e:
        stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="bad", transactions=[deposit(0, 0)]))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "amount" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        stub.GetJob(pb.GetJobRequest(job_id="missing"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND

    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    for needle in (
        'zkprover_jobs{state="succeeded"} 1.0',
        'zkprover_grpc_requests_total{code="INVALID_ARGUMENT",method="SubmitBatch"}',
        'zkprover_grpc_requests_total{code="OK",method="WatchJob"}',
        'zkprover_stage_seconds_count{stage="msm"}',
        'zkprover_stage_seconds_count{stage="ntt"}',
        'zkprover_stage_seconds_count{stage="witness"}',
        "zkprover_proofs_total",
        'zkprover_circuit_constraints{batch_size="1",circuit="cube_chain_2"}',
        "zkprover_backend_info{backend=",
    ):
        assert needle in text, needle


def test_graceful_stop_turns_health_not_serving(server):
    srv, channel, _ = server
    srv.stop(2)
    assert srv.wait(5)
    with pytest.raises(grpc.RpcError):
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)


# --- separate worker processes ------------------------------------------------------------------
def _worker(store_url: str, cache: str, worker_id: str, hold_s: float = 0.0, lease: float = 1.0) -> subprocess.Popen:
    env = dict(os.environ, ZKPROVER_TEST_HOLD_S=str(hold_s))
    cmd = [sys.executable, "-m", "prover.cli", "--log-level", "INFO", "worker", "--store", store_url,
           "--rollup", "example", "--batch-sizes", "1", "--cache-dir", cache, "--backend", "python",
           "--lease", str(lease), "--id", worker_id, "--grace", "0"]  # fmt: skip
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _core(store_url: str, cache: str) -> ProverCore:
    # The CLI's example registry: 4 rounds per transaction, keys shared through the cache folder.
    registry = ExampleRegistry(sizes=(1,), keys=KeyCache(os.path.join(cache, "example-keys")))
    core = ProverCore(open_store(store_url), ExampleOperator(capacity=16), registry, max_attempts=2)
    core.start()
    return core


def test_killed_worker_lease_expires_and_job_is_requeued(store_url, tmp_path):
    """SIGKILL a worker process holding a job: its lease expires, another worker proves the job
    (attempt 2); the attempts cap then fails a job whose every worker dies."""
    cache = str(tmp_path / "cache")
    core = _core(store_url, cache)
    job, _ = core.submit("kill-me", [_deposit_req()])
    victim = _worker(store_url, cache, "victim", hold_s=60)
    try:
        _wait_for(lambda: (j := core.store.get(job.job_id)).state == "PROVING" and j.worker_id == "victim", 60,
                  "the victim to claim the job")  # fmt: skip
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        rescuer = _worker(store_url, cache, "rescuer")
        try:
            done = _wait_for(lambda: (j := core.store.get(job.job_id)).final and j, 60, "the rescuer to finish")
        finally:
            rescuer.send_signal(signal.SIGTERM)
            out, _ = rescuer.communicate(timeout=20)
        assert rescuer.returncode == 0, out
        assert done.state == "SUCCEEDED" and done.worker_id == "rescuer" and done.attempts == 2, done
    finally:
        if victim.poll() is None:
            victim.kill()
    core.store.close()


def test_attempts_cap_fails_job_whose_workers_all_die(store_url, tmp_path):
    cache = str(tmp_path / "cache")
    core = _core(store_url, cache)
    job, _ = core.submit("doomed", [_deposit_req()])
    for attempt in (1, 2):
        w = _worker(store_url, cache, f"dies-{attempt}", hold_s=60, lease=0.5)
        _wait_for(lambda a=attempt: _proving(core, job.job_id, a), 60, f"claim {attempt}")
        w.kill()
        w.wait(10)
    time.sleep(0.6)
    core.store.requeue_expired()
    final = core.store.get(job.job_id)
    assert final.state == "FAILED" and "attempt 2 of 2" in final.last_error and "dies-2" in final.last_error
    core.store.close()


def test_sigterm_releases_the_job_and_exits(sqlite_store, tmp_path):
    url = f"sqlite:///{sqlite_store.path}"
    cache = str(tmp_path / "cache")
    core = _core(url, cache)
    job, _ = core.submit("stop-me", [_deposit_req()])
    w = _worker(url, cache, "stopping", hold_s=2, lease=30)
    _wait_for(lambda: core.store.get(job.job_id).state == "PROVING", 60, "claim")
    w.send_signal(signal.SIGTERM)
    out, _ = w.communicate(timeout=30)
    assert w.returncode == 0, out
    after = core.store.get(job.job_id)
    # grace 0: released at the next stage boundary, attempt not spent, ready for another worker
    assert after.state == "QUEUED" and after.attempts == 0 and "shutting down" in after.last_error, after
    core.store.close()


def _proving(core: ProverCore, job_id: str, attempt: int) -> bool:
    job = core.store.get(job_id)
    return job.state == "PROVING" and job.attempts == attempt


def _deposit_req():
    from prover.service.rollup_api import TxRequest

    return TxRequest(kind="deposit", from_index=0, amount=10, pubkey=(1, 2))
