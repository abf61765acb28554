"""The Grafana dashboard asks only for metrics the service really exports.

A real ``zkprover serve --rollup example`` (subprocess, SQLite, loopback ports) proves one
tiny batch so the histograms have samples; its /metrics is scraped, and every metric name in
every PromQL expression of deploy/grafana/zkprover.json must be a sample name of that scrape
(``_bucket``/``_sum``/``_count`` included), with the labels the expression filters and groups
by. The GPU memory gauge exists only on a GPU; it is checked against the real collector of
``prover.metrics`` fed by a stub CuPy. The L1 panels are checked against a second live scrape:
``zkprover serve --l1 URL`` on anvil (npm), after it settled a batch made of an L1 deposit.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "deploy" / "grafana" / "zkprover.json"

#: exported only while proving on a GPU (``GpuMemoryCollector``); checked by test_gpu_metric_names
GPU_ONLY = {"zkprover_gpu_memory_bytes"}
#: exported with samples only by an L1 operator that has followed and settled (labelled
#: metrics appear once a label set is used); checked by test_dashboard_l1_metrics_in_a_live_operator_scrape
L1_ONLY = {"zkprover_l1_transactions_total", "zkprover_l1_block", "zkprover_l1_events_total"}
#: labels Prometheus adds at scrape time, and the histogram bucket label
TARGET_LABELS = {"job", "instance", "le"}

_PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
    "inf", "nan",
}  # fmt: skip


def dashboard_exprs() -> list[str]:
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", []) if t.get("expr")]
    for var in dash.get("templating", {}).get("list", []):
        q = var.get("query")
        if isinstance(q, dict):
            q = q.get("query")
        if var.get("type") == "query" and q:
            exprs.append(q)
    return exprs


def parse_promql(expr: str) -> tuple[dict[str, set[str]], set[str]]:
    """({metric: labels filtered on}, labels grouped by) of a PromQL expression, by tokens.

    Strings, range selectors and Grafana variables are removed first; an identifier followed by
    ``(`` is a function or aggregation, one inside ``by (...)`` a label, one before ``{`` or
    standing alone a metric name.
    """
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\[[^\]]*\]", "", text)
    grouped: set[str] = set()
    for m in re.finditer(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)", text):
        grouped |= {s.strip() for s in m.group(1).split(",") if s.strip()}
    text = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    metrics: dict[str, set[str]] = {}
    # label_values(metric, label): the second argument is a label
    for m in re.finditer(r"label_values\(\s*([A-Za-z_:][\w:]*)\s*,\s*(\w+)\s*\)", text):
        metrics.setdefault(m.group(1), set()).add(m.group(2))
    text = re.sub(r"label_values\([^)]*\)", " ", text)
    for m in re.finditer(r"([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}", text):
        labels = {kv.split("=")[0].strip(" !~") for kv in m.group(2).split(",") if "=" in kv}
        if m.group(1):
            metrics.setdefault(m.group(1), set()).update(labels)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\$\w+", " ", text)
    for m in re.finditer(r"(?<![\w.])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = m.group(1), m.group(2)
        if call or name.lower() in _PROMQL_WORDS:
            continue
        metrics.setdefault(name, set())
    return metrics, grouped


def test_promql_parser_finds_names():
    metrics, grouped = parse_promql(
        'histogram_quantile(0.95, sum by (le, stage) (rate(zkprover_stage_seconds_bucket{job=~"$job"}[5m])))'
        " / on (stage) max(zkprover_x) * 60"
    )
    assert metrics == {"zkprover_stage_seconds_bucket": {"job"}, "zkprover_x": set()}
    assert grouped == {"le", "stage"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def scrape(tmp_path_factory):
    """Sample name -> label names, from a live server that has proved one batch."""
    import grpc
    from prometheus_client.parser import text_string_to_metric_families

    from prover.service.gen import prover_pb2 as pb
    from prover.service.gen import prover_pb2_grpc as pb_grpc

    tmp = tmp_path_factory.mktemp("scrape")
    mport = _free_port()
    cmd = [
        sys.executable, "-m", "prover.cli", "serve", "--rollup", "example", "--batch-sizes", "1", "--depth", "2",
        "--listen", "127.0.0.1:0", "--metrics-port", str(mport), "--store", f"sqlite:///{tmp}/jobs.db",
        "--cache-dir", str(tmp / "cache"), "--backend", "cpu",
    ]  # fmt: skip
    env = {**os.environ, "ZKPROVER_THREADS": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT)
    try:
        line = proc.stdout.readline()
        m = re.search(r"serving prover\.v1 on [\d.]+:(\d+)", line)
        assert m, f"server did not start: {line}{proc.stdout.read() if proc.poll() is not None else ''}"
        stub = pb_grpc.ProverServiceStub(grpc.insecure_channel(f"127.0.0.1:{m.group(1)}"))
        deposit = pb.Deposit(to_index=0, pubkey_ax="1", pubkey_ay="2", amount="1000", depositor="0x" + "11" * 20)
        tx = pb.Transaction(deposit=deposit)
        resp = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="dash-1", transactions=[tx]), timeout=120)
        states = [j.state for j in stub.WatchJob(pb.WatchJobRequest(job_id=resp.job.job_id), timeout=120)]
        assert states[-1] == pb.JOB_STATE_SUCCEEDED, states
        time.sleep(0.2)
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10) as r:
            text = r.read().decode()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    samples: dict[str, set[str]] = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            samples.setdefault(s.name, set()).update(s.labels)
    return samples


def check_exprs(scrape: dict[str, set[str]], exprs: list[str], skip: set[str]) -> set[str]:
    """Every metric of ``exprs`` (but ``skip``) is in ``scrape`` with the labels the expression
    filters and groups by; the metric names seen."""
    seen = set()
    for expr in exprs:
        metrics, grouped = parse_promql(expr)
        assert metrics, f"no metric in {expr!r}"
        available_labels = set(TARGET_LABELS)
        for name, labels in metrics.items():
            seen.add(name)
            if name in skip:
                available_labels |= {"kind", "outcome", "event", "action"}
                continue
            assert name in scrape, f"{name} (in {expr!r}) is not exported; scrape has {sorted(scrape)}"
            missing = labels - scrape[name] - TARGET_LABELS
            assert not missing, f"{name} has no label(s) {missing} (in {expr!r})"
            available_labels |= scrape[name]
        assert grouped <= available_labels, f"grouping by {grouped - available_labels} in {expr!r}"
    return seen


def test_dashboard_metrics_exist_in_a_live_scrape(scrape):
    exprs = dashboard_exprs()
    assert len(exprs) >= 10
    seen = check_exprs(scrape, exprs, GPU_ONLY | L1_ONLY)
    # the panels the deployment promises: queue depth, outcomes, stages, throughput, GPU memory,
    # and the L1 operator's: settled batch, batches waiting, gas and ETH per batch and per tx, divergence
    for required in ("zkprover_jobs", "zkprover_jobs_finished_total", "zkprover_stage_seconds_bucket",
                     "zkprover_proofs_total", "zkprover_gpu_memory_bytes", "zkprover_l1_settled_batch",
                     "zkprover_l1_batches_unsettled", "zkprover_l1_batch_gas_used_sum", "zkprover_l1_gas_per_l2_tx",
                     "zkprover_l1_batch_fee_wei_sum", "zkprover_l1_fee_wei_per_l2_tx", "zkprover_l1_fee_wei_total",
                     "zkprover_l1_divergence", *L1_ONLY):  # fmt: skip
        assert required in seen, f"dashboard lacks {required}"


@pytest.mark.slow
def test_dashboard_l1_metrics_in_a_live_operator_scrape(tmp_path):
    """``zkprover serve --l1 URL --rollup-address A`` (key from the environment) takes a deposit
    made on L1, proves and settles it with no client involved; its /metrics then has every L1
    metric the dashboard asks for, with the values of one settled batch."""
    from prometheus_client.parser import text_string_to_metric_families

    from l1.node import NodeChain
    from tests.l1node.anvil import Anvil, ensure_anvil, funded
    from tests.l1node.operator_harness import deploy, l1_deposit

    node_proc = Anvil(ensure_anvil())
    node_proc.start()
    server = None
    try:
        node = NodeChain(node_proc.url, receipt_timeout_s=30)
        node.accounts = [funded(node_proc, node, f"dash-{i}") for i in range(2)]
        rollup = deploy(node)
        mport = _free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "ZKPROVER_L1_KEY": node.accounts[0].key.to_hex()}
        args = [sys.executable, "-m", "prover.cli", "serve", "--listen", "127.0.0.1:0",
                "--store", f"sqlite:///{tmp_path}/j.db", "--batch-sizes", "4", "--depth", "2", "--l1", node_proc.url,
                "--rollup-address", "0x" + rollup.address.hex(), "--confirmations", "0", "--l1-batch-after", "0",
                "--allow-development-keys", "--metrics-port", str(mport)]  # fmt: skip
        server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for line in server.stdout:  # log lines may come first
            if "zkprover serving" in line:
                break
        l1_deposit(rollup, 0, 900, node.accounts[1])
        deadline = time.monotonic() + 120
        while rollup.call("batchNumber") < 1:
            assert server.poll() is None, server.stdout.read()
            assert time.monotonic() < deadline, "the server did not settle the deposit's batch"
            time.sleep(0.5)
        assert rollup.call("queueHead") == 1
        time.sleep(1.0)  # the loop publishes the settlement's metrics after the receipt
        with urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10) as r:
            text = r.read().decode()
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        node_proc.kill()
    samples: dict[str, set[str]] = {}
    values: dict[str, float] = {}
    for fam in text_string_to_metric_families(text):
        for smp in fam.samples:
            samples.setdefault(smp.name, set()).update(smp.labels)
            values[smp.name] = values.get(smp.name, 0.0) + smp.value
    l1_exprs = [e for e in dashboard_exprs() if "zkprover_l1_" in e or "zkprover_batches_reverted" in e]
    assert len(l1_exprs) >= 10
    assert check_exprs(samples, l1_exprs, set()) >= L1_ONLY
    assert values["zkprover_l1_settled_batch"] == 1 and values["zkprover_l1_divergence"] == 0
    assert values["zkprover_l1_batch_gas_used_count"] == 1 and values["zkprover_l1_gas_per_l2_tx"] > 0
    assert values["zkprover_l1_fee_wei_total"] > 0 and values["zkprover_l1_batches_unsettled"] == 0


def test_gpu_metric_names(monkeypatch):
    """The GPU-only gauge, from the real collector with a stub CuPy (no GPU here)."""
    import types

    from prover.metrics import GpuMemoryCollector

    pool = types.SimpleNamespace(used_bytes=lambda: 5)
    stub = types.SimpleNamespace(
        cuda=types.SimpleNamespace(runtime=types.SimpleNamespace(memGetInfo=lambda: (1, 10))),
        get_default_memory_pool=lambda: pool,
    )
    monkeypatch.setitem(sys.modules, "cupy", stub)
    fams = list(GpuMemoryCollector().collect())
    names = {s.name for f in fams for s in f.samples}
    kinds = {s.labels["kind"] for f in fams for s in f.samples}
    assert names == GPU_ONLY
    used = {m for e in dashboard_exprs() for m in re.findall(r'kind="(\w+)"', e)}
    assert used <= kinds
