"""Load on ``zkprover serve``: submits per second and submit -> proof latency, with TLS and
bearer tokens on ("secure") and off ("plain"), interleaved so drifting load hits both alike.

    python bench/bench_service_load.py                                   # plain,secure,plain,secure
    python bench/bench_service_load.py --clients 8 --batches 25 --modes plain,secure
    python bench/bench_service_load.py --workers 0 --modes plain:normal,plain,plain:normal,plain

Each run starts a fresh server process (``--rollup example``, SQLite in a temporary folder,
in-process workers on ``--backend``) and ``--clients`` client threads, each with its own channel,
submitting ``--batches`` one-deposit batches one after another. A "secure" run serves TLS with
the certificate and tokens ``deploy/scripts/make-secrets.sh`` makes (clients present the
submitter's token); ":normal" runs SQLite with ``synchronous=NORMAL`` instead of the default
FULL, to price the fsync of every acknowledged submit. The server's per-client rate limit is
raised out of the way: this measures the server, not its limiter.

Reported per run: submits/s over the submit phase, the client-side SubmitBatch latency
percentiles, and (with workers) submit -> proof percentiles from the store's own timestamps
(created_at to finished_at), plus the load average. A table goes to stdout, everything to
``--json`` (default bench/results/service-load-<time>.json).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover.service.client import connect  # noqa: E402
from prover.service.gen import prover_pb2 as pb  # noqa: E402
from prover.service.gen import prover_pb2_grpc as pb_grpc  # noqa: E402


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    q = statistics.quantiles(values, n=100, method="inclusive") if len(values) > 1 else values * 99
    return {"p50": q[49], "p90": q[89], "p99": q[98], "max": max(values)}


def start_server(args: argparse.Namespace, secure: bool, sync: str, tmp: Path, cache: Path) -> tuple:
    cmd = [sys.executable, "-m", "prover.cli", "--log-level", "WARNING", "serve", "--listen", "127.0.0.1:0",
           "--rollup", "example", "--batch-sizes", "1", "--depth", "5", "--cache-dir", str(cache),
           "--store", f"sqlite:///{tmp / 'jobs.db'}?synchronous={sync}", "--workers", str(args.workers),
           "--backend", args.backend, "--rate-limit", "100000", "--grace", "5"]  # fmt: skip
    secrets = tmp / "secrets"
    if secure:
        subprocess.run(["bash", str(ROOT / "deploy/scripts/make-secrets.sh"), str(secrets)], check=True,
                       capture_output=True)  # fmt: skip
        cmd += ["--tls-cert", str(secrets / "server.crt"), "--tls-key", str(secrets / "server.key"),
                "--tokens-file", str(secrets / "tokens")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    line = proc.stdout.readline()
    m = re.search(r"serving prover\.v1 on [\d.]+:(\d+)", line)
    if not m:
        proc.kill()
        raise SystemExit(f"server did not start: {line}{proc.stdout.read()}")
    address = f"127.0.0.1:{m.group(1)}"

    def channel(admin: bool = False):
        if not secure:
            return connect(address)
        token = (secrets / ("ops.token" if admin else "operator.token")).read_text().strip()
        return connect(address, token=token, ca=str(secrets / "ca.crt"))

    return proc, channel


def run_once(args: argparse.Namespace, mode: str, cache: Path) -> dict:
    secure = mode.startswith("secure")
    sync = "NORMAL" if mode.endswith(":normal") else "FULL"
    with tempfile.TemporaryDirectory(prefix="zkp-load-") as tmp:
        proc, channel = start_server(args, secure, sync, Path(tmp), cache)
        try:
            admin = pb_grpc.ProverServiceStub(channel(admin=True))
            admin.GetVerifyingKey(pb.GetVerifyingKeyRequest(batch_size=1), timeout=600)  # keys loaded before timing
            latencies: list[float] = []
            errors: list[str] = []
            lock = threading.Lock()
            load_before = os.getloadavg()

            def client(k: int) -> None:
                stub = pb_grpc.ProverServiceStub(channel())
                mine = []
                for i in range(args.batches):
                    index = k * args.batches + i
                    tx = pb.Transaction(deposit=pb.Deposit(to_index=index, pubkey_ax="1", pubkey_ay="2", amount="7"))
                    t = time.perf_counter()
                    try:
                        stub.SubmitBatch(pb.SubmitBatchRequest(batch_id=f"c{k}-{i}", transactions=[tx]), timeout=60)
                        mine.append(time.perf_counter() - t)
                    except Exception as exc:  # a benchmark reports failures, it does not stop at one
                        with lock:
                            errors.append(str(exc)[:200])
                with lock:
                    latencies.extend(mine)

            threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            submit_s = time.perf_counter() - t0
            total = args.clients * args.batches
            result = {
                "mode": mode,
                "synchronous": sync,
                "clients": args.clients,
                "submitted": len(latencies),
                "errors": errors[:5],
                "submit_seconds": submit_s,
                "submits_per_s": len(latencies) / submit_s,
                "submit_latency_s": percentiles(latencies),
                "load_before": load_before,
            }
            if args.workers:
                deadline = time.monotonic() + args.proof_timeout
                while time.monotonic() < deadline:
                    if admin.GetStateRoot(pb.GetStateRootRequest(), timeout=10).proven_batch_number >= total:
                        break
                    time.sleep(0.2)
                result["all_proven_s"] = time.perf_counter() - t0
                jobs, token = [], ""
                while True:
                    page = admin.ListJobs(pb.ListJobsRequest(page_size=1000, page_token=token), timeout=30)
                    jobs += page.jobs
                    token = page.next_page_token
                    if not token:
                        break
                done = [j for j in jobs if j.state == pb.JOB_STATE_SUCCEEDED]
                result["proven"] = len(done)
                result["submit_to_proof_s"] = percentiles(
                    [j.finished_at.ToNanoseconds() / 1e9 - j.created_at.ToNanoseconds() / 1e9 for j in done]
                )
            result["load_after"] = os.getloadavg()
            return result
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--batches", type=int, default=25, help="batches per client")
    ap.add_argument("--modes", default="plain,secure,plain,secure", help="plain|secure, optionally :normal")
    ap.add_argument("--workers", type=int, default=1, help="in-process workers (0: submits only)")
    ap.add_argument("--backend", default="cpu", help="prover backend of the workers (default cpu)")
    ap.add_argument("--proof-timeout", type=float, default=600.0, help="seconds to wait for every proof")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for m in modes:
        if m.split(":")[0] not in ("plain", "secure") or m.count(":") > 1 or (":" in m and not m.endswith(":normal")):
            ap.error(f"--modes: {m!r} is not plain|secure[:normal]")
    results = []
    with tempfile.TemporaryDirectory(prefix="zkp-load-keys-") as cache:
        for mode in modes:
            r = run_once(args, mode, Path(cache))
            results.append(r)
            lat, proof = r["submit_latency_s"], r.get("submit_to_proof_s", {})
            print(
                f"{mode:<14} {r['submits_per_s']:7.1f} submits/s  submit p50 {lat.get('p50', 0) * 1e3:6.1f} ms "
                f"p99 {lat.get('p99', 0) * 1e3:6.1f} ms"
                + (f"  submit->proof p50 {proof['p50']:.2f} s p90 {proof['p90']:.2f} s p99 {proof['p99']:.2f} s "
                   f"max {proof['max']:.2f} s ({r['proven']} proven)" if proof else "")
                + f"  errors {len(r['errors'])}  load {r['load_before'][0]:.2f}->{r['load_after'][0]:.2f}",
                flush=True,
            )  # fmt: skip
    out = Path(args.json or ROOT / "bench" / "results" / f"service-load-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "runs": results}, indent=1))
    print(f"JSON: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
