"""Sustained rollup throughput through ``zkprover serve``: signed transfers over gRPC -> proof,
per batch size, with and without the worker pipeline, and where each batch's time goes.

    python bench/bench_throughput.py                                  # sizes 4 8 32, depths 1,2, 180 s each
    python bench/bench_throughput.py --sizes 4 --duration 60 --pipeline-depths 1,2,3
    python bench/bench_throughput.py --backend gpu                    # on a machine with a GPU

Each run starts a fresh server process: ``ProverServer`` as ``zkprover serve`` builds it (the
real rollup at ``--depth``, one batch size, SQLite in a temporary folder, one in-process worker on
``--backend`` with its pipeline depth, keys from the shared cache, built once), but with no L1
link, so that the client may deposit (``serve`` with the real rollup always links an L1, where
deposits are made). A deposit batch creates one account
per transaction slot and is proved first (warm-up: the key becomes resident). Then, for
``--duration`` seconds, a client keeps ``pipeline depth + 1`` batches of signed transfers (all
signed before the timed phase) submitted and not yet proved, so the worker never lacks work.

Reported per run, over the batches that finished within the timed phase:
- tx/s: transactions of the batches that finished after the first one in the phase, divided by
  the time from that first finish to the last (the steady rate, not the ramp);
- per batch (means): apply (the operator's apply in SubmitBatch, from the server's metrics),
  queued (submit -> claim), witness, ready (witness built -> proof started), prove, verify;
- the backend's idle gap before each proof while the next batch was already submitted (p50,
  max, and how many exceed 50 ms): with the pipeline the next witness is ready when a proof ends;
- host share: (apply + witness) / (apply + witness + prove + verify) of a batch's own work.
Every proof in the window is verified by the client against the served verifying key. Settling
is not part of this run (no L1): ``bench/bench_settlement.py`` measures it against anvil.
Depth orders alternate per size (1,2 then 2,1) so drifting load hits both alike. A table goes
to stdout, everything to ``--json`` (default bench/results/throughput-<time>.json).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_circuit_build import run_metadata  # noqa: E402  (the script's folder is on the path)

from prover.groth16.formats import proof_from_json, vk_from_json  # noqa: E402
from prover.groth16.verifier import verify  # noqa: E402
from prover.rollup.accounts import PrivateKey  # noqa: E402
from prover.rollup.public_data import Domain  # noqa: E402
from prover.rollup.transactions import Transfer  # noqa: E402
from prover.service.client import connect  # noqa: E402
from prover.service.gen import prover_pb2 as pb  # noqa: E402
from prover.service.gen import prover_pb2_grpc as pb_grpc  # noqa: E402

CHAIN_ID = 1  # serve's defaults: chain id 1, Rollup address 0x0
DEPOSIT = 10**9
GAP_AIM_S = 0.05


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stats(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {"mean": statistics.fmean(values), "p50": statistics.median(values), "max": max(values)}


def serve_child(argv: list[str]) -> None:
    """The server process: the real rollup, no L1 link, one worker; runs until SIGTERM."""
    import logging

    from prover.backend.select import select_backend
    from prover.jobs import open_store
    from prover.rollup.key_source import KeyPolicy
    from prover.service.core import ProverCore
    from prover.service.limits import Limits
    from prover.service.rollup_adapter import RollupAdapter, RollupRegistry
    from prover.service.server import ProverServer

    size, tree_depth, pipeline_depth, metrics_port = (int(x) for x in argv[:4])
    store_url, backend_name, cache_dir = argv[4], argv[5], argv[6] or None
    logging.basicConfig(level=logging.WARNING)
    backend = select_backend(backend_name)
    registry = RollupRegistry([size], depth=tree_depth, cache_dir=cache_dir, keys=KeyPolicy(allow_development=True))
    operator = RollupAdapter(depth=tree_depth, chain_id=CHAIN_ID)
    core = ProverCore(open_store(store_url), operator, registry, backend_description=backend.describe())
    limits = Limits(rate_per_client=100000.0, burst_per_client=200000)
    server = ProverServer(core, address="127.0.0.1:0", backend=backend, workers=1, lease_s=600.0,
                          metrics_port=metrics_port, limits=limits, pipeline_depth=pipeline_depth)  # fmt: skip
    port = server.start()
    server.install_signal_handlers(grace_s=5.0)
    print(f"zkprover serving prover.v1 on 127.0.0.1:{port}", flush=True)
    server.wait()


def start_server(args: argparse.Namespace, size: int, depth: int, tmp: Path) -> tuple[subprocess.Popen, str, int]:
    metrics_port = _free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-child", str(size), str(args.depth), str(depth),
           str(metrics_port), f"sqlite:///{tmp / 'jobs.db'}", args.backend, args.cache_dir or ""]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    seen = []
    while (line := proc.stdout.readline()) and not (m := re.search(r"serving prover\.v1 on [\d.]+:(\d+)", line)):
        seen.append(line)  # warnings before the banner (development keys)
    if not line:
        proc.kill()
        raise SystemExit(f"server did not start: {''.join(seen)}")
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # drain its log (warnings)
    return proc, f"127.0.0.1:{m.group(1)}", metrics_port


def stop_server(proc: subprocess.Popen) -> int:
    """SIGTERM, then kill; returns the process's peak resident memory in MiB (VmHWM)."""
    peak = 0
    try:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        peak = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) // 1024
    except (OSError, AttributeError):
        pass
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return peak


def scrape_apply(metrics_port: int) -> tuple[float, int]:
    """(sum, count) of the operator's apply times, from the server's /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    found = {}
    for what in ("sum", "count"):
        m = re.search(rf'zkprover_job_stage_seconds_{what}{{stage="apply"}} ([\d.e+-]+)', text)
        found[what] = float(m.group(1)) if m else 0.0
    return found["sum"], int(found["count"])


def _sig(t: Transfer) -> pb.Signature:
    return pb.Signature(r8x=str(t.signature.r8[0]), r8y=str(t.signature.r8[1]), s=str(t.signature.s))


def signed_batches(keys: list[PrivateKey], count: int) -> list[list[pb.Transaction]]:
    """``count`` full batches of transfers: account i pays 1 unit to account i+1 in every batch."""
    domain = Domain(CHAIN_ID, 0)
    n = len(keys)
    batches = []
    for nonce in range(count):
        txs = []
        for i, key in enumerate(keys):
            t = Transfer(i, (i + 1) % n, 1, 0, nonce).signed(key, domain)
            txs.append(pb.Transaction(transfer=pb.Transfer(
                from_index=i, to_index=(i + 1) % n, amount="1", fee="0", nonce=nonce, signature=_sig(t))))  # fmt: skip
        batches.append(txs)
    return batches


def wait_proven(stub, batch_number: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while stub.GetStateRoot(pb.GetStateRootRequest(), timeout=30).proven_batch_number < batch_number:
        if time.monotonic() > deadline:
            raise SystemExit(f"batch {batch_number} not proved within {timeout_s:.0f} s")
        time.sleep(0.1)


def all_jobs(stub) -> list:
    jobs, token = [], ""
    while True:
        page = stub.ListJobs(pb.ListJobsRequest(page_size=1000, page_token=token), timeout=60)
        jobs += page.jobs
        token = page.next_page_token
        if not token:
            return jobs


def run_once(args: argparse.Namespace, size: int, depth: int) -> dict:
    keys = [PrivateKey(bytes([i + 1]) * 32) for i in range(size)]
    with tempfile.TemporaryDirectory(prefix="zkp-throughput-") as tmp:
        t_start = time.perf_counter()
        proc, address, metrics_port = start_server(args, size, depth, Path(tmp))
        try:
            stub = pb_grpc.ProverServiceStub(connect(address))
            vk_reply = stub.GetVerifyingKey(pb.GetVerifyingKeyRequest(batch_size=size), timeout=3600)
            vk = vk_from_json(json.loads(vk_reply.verification_key_json))
            startup_s = time.perf_counter() - t_start
            # warm-up: one deposit batch creating the accounts; the worker loads its key
            deposits = []
            for i, key in enumerate(keys):
                pub = key.public_key()
                d = pb.Deposit(to_index=i, pubkey_ax=str(pub.x), pubkey_ay=str(pub.y), amount=str(DEPOSIT))
                d.depositor = "0x" + "d0" * 20
                deposits.append(pb.Transaction(deposit=d))
            warm = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="deposits", transactions=deposits), timeout=600)
            wait_proven(stub, warm.job.batch_number, args.proof_timeout)
            warm_job = stub.GetJob(pb.GetJobRequest(job_id=warm.job.job_id), timeout=30)
            per_batch = warm_job.stage_seconds["witness"] + warm_job.stage_seconds["prove"]
            count = min(args.max_batches, math.ceil(1.5 * args.duration / max(per_batch, 0.05)) + depth + 2)
            t = time.perf_counter()
            batches = signed_batches(keys, count)
            signing_s = time.perf_counter() - t

            ahead = depth + 1  # submitted, not yet proved: the worker always has its next batch
            first = warm.job.batch_number + 1
            submitted, ran_out = 0, False
            load_before = os.getloadavg()
            t0_epoch = time.time()
            t_end = time.monotonic() + args.duration
            while time.monotonic() < t_end:
                proven = stub.GetStateRoot(pb.GetStateRootRequest(), timeout=30).proven_batch_number
                if submitted - (proven - first + 1) < ahead:
                    if submitted == len(batches):
                        ran_out = True
                        break
                    stub.SubmitBatch(pb.SubmitBatchRequest(batch_id=f"t{submitted}", transactions=batches[submitted]),
                                     timeout=600)  # fmt: skip
                    submitted += 1
                    continue
                time.sleep(0.02)
            t1_epoch = time.time()
            load_after = os.getloadavg()
            apply_sum, apply_count = scrape_apply(metrics_port)
            jobs = [j for j in all_jobs(stub) if j.batch_number >= first and j.state == pb.JOB_STATE_SUCCEEDED]
        finally:
            peak_mib = stop_server(proc)

    def epoch(ts) -> float:
        return ts.seconds + ts.nanos / 1e9

    window = sorted((j for j in jobs if t0_epoch <= epoch(j.finished_at) <= t1_epoch), key=lambda j: j.batch_number)
    verified = all(
        verify(vk, [int(s) for s in j.public_signals], proof_from_json(json.loads(j.proof_json))) for j in window
    )
    span = epoch(window[-1].finished_at) - epoch(window[0].finished_at) if len(window) > 1 else 0.0
    tx_per_s = sum(j.transaction_count for j in window[1:]) / span if span > 0 else 0.0

    def stage(name: str) -> list[float]:
        return [j.stage_seconds[name] for j in window if name in j.stage_seconds]

    gaps = stage("idle_before")
    apply_mean = apply_sum / apply_count if apply_count else 0.0
    means = {name: statistics.fmean(stage(name) or [0.0]) for name in ("witness", "ready", "prove", "verify")}
    own = apply_mean + means["witness"] + means["prove"] + means["verify"]
    return {
        "batch_size": size,
        "pipeline_depth": depth,
        "startup_s": startup_s,
        "signing_s": signing_s,
        "batches_signed": len(batches),
        "ran_out_of_signed_batches": ran_out,
        "batches": len(window),
        "transactions": sum(j.transaction_count for j in window),
        "tx_per_s": tx_per_s,
        "batches_per_min": (len(window) - 1) / span * 60 if span > 0 else 0.0,
        "all_verified": verified,
        "seconds": {
            "apply": apply_mean,
            "queued": statistics.fmean(epoch(j.started_at) - epoch(j.created_at) for j in window) if window else 0.0,
            **means,
        },
        "idle_gap_s": _stats(gaps),
        "gaps_over_50ms": sum(g > GAP_AIM_S for g in gaps),
        "gaps": len(gaps),
        "host_share": (apply_mean + means["witness"]) / own if own else 0.0,
        "server_peak_mib": peak_mib,
        "load_before": load_before,
        "load_after": load_after,
    }


def main() -> None:
    if sys.argv[1:2] == ["--serve-child"]:
        serve_child(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 32])
    ap.add_argument("--depth", type=int, default=12, help="state tree depth (default 12)")
    ap.add_argument("--pipeline-depths", default="1,2", help="worker pipeline depths to compare (1: no pipeline)")
    ap.add_argument("--duration", type=float, default=180.0, help="timed seconds per run (default 180)")
    ap.add_argument("--backend", default="cpu", help="cpu | gpu | ... (as zkprover serve --backend)")
    ap.add_argument("--cache-dir", default=None, help="circuit/key cache (default: zkprover's)")
    ap.add_argument("--max-batches", type=int, default=2000, help="cap on batches signed ahead per run")
    ap.add_argument("--proof-timeout", type=float, default=1800.0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    depths = [int(d) for d in args.pipeline_depths.split(",")]
    if not depths or min(depths) < 1:
        raise SystemExit(f"--pipeline-depths: {args.pipeline_depths!r} needs integers of at least 1")
    meta = run_metadata(("prover", "circuits", "bench"))
    meta["backend"] = args.backend
    meta["duration_s"] = args.duration
    results = []
    out = args.json or ROOT / "bench" / "results" / f"throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for k, size in enumerate(args.sizes):
        for depth in depths if k % 2 == 0 else list(reversed(depths)):
            r = run_once(args, size, depth)
            results.append(r)
            print(json.dumps(r), flush=True)
            out.write_text(json.dumps({**meta, "runs": results}, indent=1))
    print()
    print(f"backend {args.backend}, state depth {args.depth}, {args.duration:.0f} s per run; "
          f"commit {meta['commit']}; seconds are means per batch")  # fmt: skip
    head = ("batch", "pipe", "batches", "tx/s", "apply", "queued", "witness", "ready", "prove", "verify",
            "gap p50", "gap max", ">50ms", "host %", "peak MiB", "load")  # fmt: skip
    print(" | ".join(head))
    for r in results:
        s, g = r["seconds"], r["idle_gap_s"]
        print(" | ".join([
            str(r["batch_size"]), str(r["pipeline_depth"]), str(r["batches"]), f"{r['tx_per_s']:.3f}",
            *(f"{s[k]:.3f}" for k in ("apply", "queued", "witness", "ready", "prove", "verify")),
            f"{g.get('p50', 0):.3f}", f"{g.get('max', 0):.3f}", f"{r['gaps_over_50ms']}/{r['gaps']}",
            f"{100 * r['host_share']:.1f}", str(r["server_peak_mib"]),
            f"{r['load_before'][0]:.1f}-{r['load_after'][0]:.1f}",
        ]))  # fmt: skip
    print(f"\nJSON: {out}")


if __name__ == "__main__":
    main()
