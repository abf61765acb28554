"""``deploy/scripts/make-secrets.sh`` makes what the compose file and the manifests mount: a
server started from its files speaks TLS, takes its tokens, and passes the image's health probe
dialling 127.0.0.1 with the names the deploy files give."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest

from prover.jobs.sqlite import SqliteJobStore
from prover.service.auth import TokenTable, server_credentials
from prover.service.client import connect
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.server import ProverServer
from tests.service.helpers import make_core

SCRIPTS = Path(__file__).resolve().parents[2] / "deploy" / "scripts"


def _healthcheck():
    spec = importlib.util.spec_from_file_location("healthcheck", SCRIPTS / "healthcheck.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(shutil.which("openssl") is None, reason="make-secrets.sh needs openssl")
def test_made_secrets_start_a_tls_server_with_tokens(tmp_path):
    out = tmp_path / "secrets"
    subprocess.run(["bash", str(SCRIPTS / "make-secrets.sh"), str(out)], check=True, capture_output=True)
    files = {p.name for p in out.iterdir()}
    assert {"ca.crt", "server.crt", "server.key", "tokens", "ops.token", "operator.token", "postgres_password"} <= files
    table = TokenTable.from_sources(str(out / "tokens"), env={})
    assert len(table) == 2 and table.lookup((out / "ops.token").read_text().strip()).role == "admin"

    tls = server_credentials(str(out / "server.crt"), str(out / "server.key"))
    store = SqliteJobStore(tmp_path / "jobs.db")
    srv = ProverServer(make_core(store), address="127.0.0.1:0", workers=0, tls=tls, tokens=table)
    port = srv.start()
    try:
        probe = _healthcheck()
        for name in ("localhost", "zkprover"):  # compose's and the Kubernetes probe's names
            ok, detail = probe.check_grpc(f"127.0.0.1:{port}", "", 5, str(out / "ca.crt"), name)
            assert ok, detail
        ok, _ = probe.check_grpc(f"127.0.0.1:{port}", "", 5)  # plaintext to a TLS server fails
        assert not ok
        operator = (out / "operator.token").read_text().strip()
        channel = connect(f"127.0.0.1:{port}", token=operator, ca=str(out / "ca.crt"))
        stub = pb_grpc.ProverServiceStub(channel)
        assert stub.ListJobs(pb.ListJobsRequest(), timeout=5).jobs == []
        with pytest.raises(grpc.RpcError) as e:
            stub.CancelJob(pb.CancelJobRequest(job_id="x"), timeout=5)
        assert e.value.code() == grpc.StatusCode.NOT_FOUND  # a submitter may cancel, but not others' jobs
        channel.close()
        # running it again keeps every file as it is
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        subprocess.run(["bash", str(SCRIPTS / "make-secrets.sh"), str(out)], check=True, capture_output=True)
        assert before == {p.name: p.read_bytes() for p in out.iterdir()}
    finally:
        srv.stop(1)
