"""Identity and roles over a real loopback server: bearer tokens, per-client jobs, TLS and
mutual TLS with certificates made here, health and reflection open, failures in the metrics."""

from __future__ import annotations

import hashlib
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from prover.cli import main as zkprover
from prover.service.auth import METHOD_ROLES, AuthConfigError, Caller, TokenTable, server_credentials
from prover.service.client import connect
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.server import ProverServer, is_loopback
from tests.service.helpers import deposit, free_port, make_core
from tests.service.tls_certs import make_certs

TOKENS = {
    "alice": "alice-submit-token-0001",
    "alice-ro": "alice-read-token-00001",
    "bob": "bob-submit-token-000001",
    "root": "admin-token-0000000001",
}
TOKENS_FILE = f"""# client role token
alice  submit {TOKENS["alice"]}
alice  read   {TOKENS["alice-ro"]}
bob    submit {TOKENS["bob"]}
root   admin  sha256:{hashlib.sha256(TOKENS["root"].encode()).hexdigest()}
"""


@pytest.fixture
def secured(sqlite_store):
    metrics_port = free_port()
    srv = ProverServer(make_core(sqlite_store), address="127.0.0.1:0", workers=0, metrics_port=metrics_port,
                       tokens=TokenTable.parse(TOKENS_FILE, "test tokens"))  # fmt: skip
    port = srv.start()
    channels: list[grpc.Channel] = []

    def stub(who: str | None = None, token: str | None = None) -> pb_grpc.ProverServiceStub:
        channel = connect(f"127.0.0.1:{port}", token=token or (TOKENS[who] if who else None))
        channels.append(channel)
        return pb_grpc.ProverServiceStub(channel)

    yield stub, port, metrics_port
    for c in channels:
        c.close()
    srv.stop(1)


def _calls(job_id: str) -> dict:
    """One well-formed request per ProverService method (calling it returns or raises)."""
    return {
        "SubmitBatch": lambda s: s.SubmitBatch(pb.SubmitBatchRequest(batch_id="x", transactions=[deposit(1, 5)])),
        "CancelJob": lambda s: s.CancelJob(pb.CancelJobRequest(job_id=job_id)),
        "GetJob": lambda s: s.GetJob(pb.GetJobRequest(job_id=job_id)),
        "WatchJob": lambda s: next(iter(s.WatchJob(pb.WatchJobRequest(job_id=job_id), timeout=5))),
        "ListJobs": lambda s: s.ListJobs(pb.ListJobsRequest()),
        "GetVerifyingKey": lambda s: s.GetVerifyingKey(pb.GetVerifyingKeyRequest(batch_size=1)),
        "GetCircuitInfo": lambda s: s.GetCircuitInfo(pb.GetCircuitInfoRequest()),
        "GetAccount": lambda s: s.GetAccount(pb.GetAccountRequest(index=0)),
        "GetStateRoot": lambda s: s.GetStateRoot(pb.GetStateRootRequest()),
    }


def _code(fn, stub) -> grpc.StatusCode:
    try:
        fn(stub)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def test_every_method_needs_a_known_token_and_the_right_role(secured):
    stub, _, metrics_port = secured
    job = stub("alice").SubmitBatch(pb.SubmitBatchRequest(batch_id="a-1", transactions=[deposit(0, 5)])).job
    calls = _calls(job.job_id)
    assert set(calls) == set(METHOD_ROLES), "every method of the service is covered"
    for name, fn in calls.items():
        assert _code(fn, stub()) == grpc.StatusCode.UNAUTHENTICATED, name
        assert _code(fn, stub(token="not-a-token-anyone-has")) == grpc.StatusCode.UNAUTHENTICATED, name
        reader = _code(fn, stub("alice-ro"))
        if METHOD_ROLES[name] == "read":
            assert reader == grpc.StatusCode.OK, name
        else:
            assert reader == grpc.StatusCode.PERMISSION_DENIED, name
    # a reader cannot cancel even its own client's job; the submitter can
    assert stub("alice").CancelJob(pb.CancelJobRequest(job_id=job.job_id)).state == pb.JOB_STATE_CANCELLED

    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    assert 'zkprover_auth_failures_total{reason="missing_token"} 9.0' in text
    assert 'zkprover_auth_failures_total{reason="unknown_token"} 9.0' in text
    assert 'zkprover_auth_failures_total{reason="permission_denied"} 2.0' in text


def test_health_and_reflection_need_no_token(secured):
    _, port, _ = secured
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        assert health.Check(health_pb2.HealthCheckRequest(), timeout=5).status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(channel)
        answer = next(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")])))
        assert "prover.v1.ProverService" in {s.name for s in answer.list_services_response.service}


def test_clients_see_and_cancel_only_their_own_jobs(secured):
    stub, _, _ = secured
    alice, bob, root, alice_ro = stub("alice"), stub("bob"), stub("root"), stub("alice-ro")
    a = alice.SubmitBatch(pb.SubmitBatchRequest(batch_id="a-1", transactions=[deposit(0, 5)])).job
    b = bob.SubmitBatch(pb.SubmitBatchRequest(batch_id="b-1", transactions=[deposit(1, 5)])).job

    for fn in (
        lambda: bob.GetJob(pb.GetJobRequest(job_id=a.job_id)),
        lambda: bob.GetJob(pb.GetJobRequest(batch_id="a-1")),
        lambda: bob.CancelJob(pb.CancelJobRequest(job_id=a.job_id)),
        lambda: next(iter(bob.WatchJob(pb.WatchJobRequest(job_id=a.job_id), timeout=5))),
    ):
        with pytest.raises(grpc.RpcError) as e:
            fn()
        assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value.details()
    assert [j.batch_id for j in bob.ListJobs(pb.ListJobsRequest()).jobs] == ["b-1"]
    assert [j.batch_id for j in alice_ro.ListJobs(pb.ListJobsRequest()).jobs] == ["a-1"]  # same client, read role
    assert alice_ro.GetJob(pb.GetJobRequest(job_id=a.job_id)).owner == "alice"
    # a batch id is one client's: another client reusing it is refused, not handed the job
    with pytest.raises(grpc.RpcError) as e:
        bob.SubmitBatch(pb.SubmitBatchRequest(batch_id="a-1", transactions=[deposit(0, 5)]))
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    # the admin sees and cancels everyone's
    assert [j.batch_id for j in root.ListJobs(pb.ListJobsRequest()).jobs] == ["a-1", "b-1"]
    assert root.CancelJob(pb.CancelJobRequest(job_id=b.job_id)).state == pb.JOB_STATE_CANCELLED
    assert bob.GetJob(pb.GetJobRequest(job_id=b.job_id)).state == pb.JOB_STATE_CANCELLED


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


def _tls_server(store, certs, *, mutual: bool) -> tuple[ProverServer, int]:
    tls = server_credentials(certs["server"].cert, certs["server"].key, certs["ca"].cert if mutual else None)
    srv = ProverServer(make_core(store), address="127.0.0.1:0", workers=0, tls=tls,
                       tokens=TokenTable.parse(TOKENS_FILE, "test tokens"))  # fmt: skip
    return srv, srv.start()


def _state_root(channel: grpc.Channel) -> grpc.StatusCode:
    try:
        pb_grpc.ProverServiceStub(channel).GetStateRoot(pb.GetStateRootRequest(), timeout=5)
    except grpc.RpcError as exc:
        return exc.code()
    finally:
        channel.close()
    return grpc.StatusCode.OK


def test_tls_with_a_token(sqlite_store, certs):
    srv, port = _tls_server(sqlite_store, certs, mutual=False)
    try:
        addr = f"127.0.0.1:{port}"
        assert _state_root(connect(addr, token=TOKENS["alice"], ca=certs["ca"].cert)) == grpc.StatusCode.OK
        assert _state_root(connect(addr, ca=certs["ca"].cert)) == grpc.StatusCode.UNAUTHENTICATED
        # plaintext to a TLS port, and TLS trusting another CA, never reach the service
        assert _state_root(connect(addr, token=TOKENS["alice"])) == grpc.StatusCode.UNAVAILABLE
        other_ca = connect(addr, token=TOKENS["alice"], ca=certs["stranger"].cert)
        assert _state_root(other_ca) == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.stop(1)


def test_mutual_tls_needs_a_client_certificate_from_the_ca(sqlite_store, certs):
    srv, port = _tls_server(sqlite_store, certs, mutual=True)
    try:
        addr, ca, token = f"127.0.0.1:{port}", certs["ca"].cert, TOKENS["alice"]
        good = connect(addr, token=token, ca=ca, cert=certs["client"].cert, key=certs["client"].key)
        assert _state_root(good) == grpc.StatusCode.OK
        assert _state_root(connect(addr, token=token, ca=ca)) == grpc.StatusCode.UNAVAILABLE
        bad = connect(addr, token=token, ca=ca, cert=certs["stranger"].cert, key=certs["stranger"].key)
        assert _state_root(bad) == grpc.StatusCode.UNAVAILABLE
    finally:
        srv.stop(1)


def test_only_loopback_without_tls_and_tokens(sqlite_store, certs):
    assert is_loopback("127.0.0.1:50051") and is_loopback("[::1]:1") and is_loopback("localhost:1")
    assert not is_loopback("0.0.0.0:50051") and not is_loopback("[::]:1") and not is_loopback("zkprover:1")
    core = make_core(sqlite_store)
    with pytest.raises(ValueError, match=r"refusing to listen on 0\.0\.0\.0"):
        ProverServer(core, address="0.0.0.0:0", workers=0)
    tokens = TokenTable.parse(TOKENS_FILE, "t")
    with pytest.raises(ValueError, match="without TLS and tokens"):
        ProverServer(core, address="0.0.0.0:0", workers=0, tokens=tokens)  # tokens in plaintext: sniffable
    tls = server_credentials(certs["server"].cert, certs["server"].key)
    ProverServer(core, address="0.0.0.0:0", workers=0, tokens=tokens, tls=tls)  # both: allowed
    ProverServer(core, address="0.0.0.0:0", workers=0, allow_insecure=True)  # said explicitly


def test_token_table_parsing():
    table = TokenTable.parse(TOKENS_FILE, "f")
    assert len(table) == 4
    assert table.lookup(TOKENS["alice-ro"]) == Caller("alice", "read")
    assert table.lookup(TOKENS["root"]) == Caller("root", "admin")  # configured by digest only
    assert table.lookup("alice-submit-token-0002") is None
    assert Caller("root", "admin").owner_filter is None and Caller("a", "submit").owner_filter == "a"
    assert not Caller("a", "read").may("submit") and Caller("a", "submit").may("read")
    for text, needle in (
        ("alice submit", "expected 'CLIENT ROLE TOKEN'"),
        ("alice owner 0123456789abcdef0", "role 'owner' is not one of read, submit, admin"),
        ("alice read short", "at least 16 characters"),
        ("al/ice read 0123456789abcdef0", "client name"),
    ):
        with pytest.raises(AuthConfigError, match="entry 1") as e:
            TokenTable.parse(text, "f")
        assert needle in str(e.value)
    env = {"ZKPROVER_TOKENS": f"carol read {'c' * 20}; dave admin {'d' * 20}"}
    assert len(TokenTable.from_sources(None, env)) == 2
    assert not TokenTable.from_sources(None, {}).enabled


def test_store_password_never_on_the_command_line(capsys, tmp_path):
    rc = zkprover(["serve", "--store", "postgresql://zk:hunter2-secret@127.0.0.1:1/db", "--workers", "0"])
    err = capsys.readouterr().err
    assert rc == 2 and "must not carry a password" in err and "hunter2" not in err
    pw = tmp_path / "pw"
    pw.write_text("p@ss:word/1\n")
    from prover.cli import build_parser
    from prover.service.cli import _store_url

    args = build_parser().parse_args(
        ["serve", "--store", "postgresql://zk@db.example:5432/x?schema=s", "--store-password-file", str(pw)]
    )
    assert _store_url(args) == "postgresql://zk:p%40ss%3Aword%2F1@db.example:5432/x?schema=s"


def test_cli_client_over_tls_with_a_token_from_the_environment(sqlite_store, certs, monkeypatch, capsys):
    srv, port = _tls_server(sqlite_store, certs, mutual=False)
    try:
        addr, ca = f"127.0.0.1:{port}", certs["ca"].cert
        monkeypatch.setenv("ZKPROVER_TOKEN", TOKENS["alice"])
        assert zkprover(["status", "--server", addr, "--tls-ca", ca]) == 0
        assert "state root" in capsys.readouterr().out
        monkeypatch.setenv("ZKPROVER_TOKEN", TOKENS["alice"] + "x")
        assert zkprover(["status", "--server", addr, "--tls-ca", ca]) == 2
        assert "UNAUTHENTICATED" in capsys.readouterr().err
    finally:
        srv.stop(1)


def test_example_rollup_server_and_worker_share_a_key_by_default(tmp_path, monkeypatch):
    """Without --cache-dir, the example registry's keys live under $ZKPROVER_CACHE_DIR, so a
    server and a worker process set up (or load) one key instead of one each."""
    from prover.cli import build_parser
    from prover.service.cli import build_rollup

    monkeypatch.setenv("ZKPROVER_CACHE_DIR", str(tmp_path / "cache"))
    hashes = []
    for verb in ("serve", "worker"):
        args = build_parser().parse_args([verb, "--rollup", "example", "--batch-sizes", "1", "--depth", "2"])
        _, registry = build_rollup(args)
        hashes.append(registry.get(1).key_hash)
    assert hashes[0] == hashes[1]
    assert list((tmp_path / "cache" / "example-keys").glob("*.zkey"))
