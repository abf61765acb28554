"""Rollup batch circuit: time and peak memory to build it, hash it and compute a witness.

    python bench/bench_circuit_build.py [--sizes 4 8] [--depth 12] [--json bench/results/circuit_build.json]

Each batch size runs in a fresh child process, so its peak RSS (``getrusage``) is that size's
alone and nothing is shared with an earlier build. Per size:

* **build**: ``build_batch_circuit`` (gadgets, constraints, compile), wall and CPU seconds, and the
  peak RSS right after it;
* **hash**: ``r1cs_digest``, the streamed SHA-256 of the .r1cs that keys the proving-key cache
  (a worker pays it at start, with the build);
* **witness**: ``CompiledCircuit.witness(..., check=False)`` for a sample batch (transfers, a
  deposit, a withdrawal, accounts spread over the whole tree), ``check`` on its own, and
  ``witness`` with its check (what a worker runs);
* **peak RSS** at the end (build + witness), and the R1CS digest, so runs on two commits can be
  compared for identical output.

The default depth 12 is the service's (4-ary, 2^24 accounts). Batch 32 needs several GB on the
old builder; add it explicitly (``--sizes 4 8 32``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def measure(size: int, depth: int) -> dict:
    """One size, in this process (the child)."""
    from bench_rollup import DOMAIN, sample_batch

    from circuits.rollup.batch_circuit import build_batch_circuit
    from circuits.rollup.params import BatchShape
    from prover.rollup.batch import apply_batch
    from prover.rollup.circuit_cache import r1cs_digest

    rss_start = _peak_rss_mib()
    circuit, build_s, build_cpu_s = _timed(lambda: build_batch_circuit(BatchShape(size, depth)))
    rss_build = _peak_rss_mib()
    digest, hash_s, _ = _timed(lambda: r1cs_digest(circuit.r1cs))
    st, txs, fee_account = sample_batch(size, depth)
    res = apply_batch(st, txs, batch_size=size, domain=DOMAIN, batch_number=1, fee_account=fee_account)
    witness, witness_s, _ = _timed(lambda: circuit.witness(res.inputs, check=False))
    _, check_s, _ = _timed(lambda: circuit.check(witness))
    _, checked_s, _ = _timed(lambda: circuit.witness(res.inputs))  # what a worker runs
    return {
        "batch_size": size,
        "depth": depth,
        "constraints": circuit.n_constraints,
        "wires": circuit.r1cs.n_wires,
        "build_s": build_s,
        "build_cpu_s": build_cpu_s,
        "hash_s": hash_s,
        "witness_s": witness_s,
        "check_s": check_s,
        "witness_checked_s": checked_s,
        "rss_start_mib": rss_start,
        "rss_after_build_mib": rss_build,
        "rss_peak_mib": _peak_rss_mib(),
        "r1cs_sha256": digest,
    }


def run_metadata(watched: tuple[str, ...] = ("circuits",)) -> dict:
    """Date, machine, commit (``+dirty`` when ``watched`` folders have changes) and load average:
    the header every circuit benchmark's JSON starts with."""
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", *watched], cwd=ROOT, capture_output=True, text=True)
        commit = out.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except OSError:
        commit = "unknown"
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "cpus": os.cpu_count(),
        "commit": commit,
        "load_before": os.getloadavg(),
    }


def write_results(out: dict, path: Path) -> None:
    """Close a run: the load average after it into ``out`` (and printed), ``out`` as JSON at ``path``."""
    out["load_after"] = os.getloadavg()
    print(f"load average before {out['load_before']}, after {out['load_after']}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"JSON: {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[4, 8])
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "circuit_build.json")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child is not None:
        print(json.dumps(measure(args.child, args.depth)))
        return

    out: dict = {**run_metadata(), "batches": []}
    print(
        f"{'batch':>5} {'constraints':>12} {'build s':>8} {'peak MiB':>9} {'hash s':>7} {'witness s':>10} "
        f"{'check s':>8} {'w+check s':>10} {'peak MiB':>9}  r1cs sha256"
    )
    for size in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(size), "--depth", str(args.depth)]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        out["batches"].append(row)
        print(
            f"{size:>5} {row['constraints']:>12,} {row['build_s']:>8.1f} {row['rss_after_build_mib']:>9,.0f} "
            f"{row['hash_s']:>7.1f} {row['witness_s']:>10.1f} {row['check_s']:>8.1f} {row['witness_checked_s']:>10.1f} "
            f"{row['rss_peak_mib']:>9,.0f}  "
            f"{row['r1cs_sha256'][:16]}",
            flush=True,
        )
    out["load_after"] = os.getloadavg()
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
