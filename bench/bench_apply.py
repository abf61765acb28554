"""The operator's apply (``apply_batch``): the Python path against the native one.

    python bench/bench_apply.py [--sizes 4 32 256] [--depth 12] [--repeat 3] [--json bench/results/apply.json]

Per batch size a sample state and batch are made once (``bench_rollup``'s ``sample_batch``:
accounts spread over the whole tree, so every path is full depth; transfers, a top-up deposit,
a withdrawal; every signature checked). No circuit is built: the apply does not need one. Then,
``--repeat`` times and interleaved (the order alternates each round), each path applies the
batch to its own copy of the state:

* **python**: ``ZKPROVER_NO_NATIVE=1``, the pure-Python reference (``circuits.native.*``);
* **native**: the extension's operator (``prover/backend/native/operator.c``): Poseidon, Merkle
  paths and the batch's signature checks (across the cores) in C.

What is timed is the whole ``apply_batch`` call: rule checks, signatures, tree updates, the
circuit's named inputs and the public input (SHA-256). The copies of the state are made before
the clock starts. Wall and CPU seconds (this process, all threads) are given, the median of the
rounds; on a shared machine CPU seconds are the fairer figure. Both paths' results (roots,
inputs, public data) are compared. The load average before and after goes into the JSON.
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_circuit_build import run_metadata, write_results  # noqa: E402  (bench/ is on the path only now)
from bench_rollup import DOMAIN, sample_batch  # noqa: E402

from circuits.native import fast  # noqa: E402
from prover.rollup.batch import apply_batch  # noqa: E402

PATHS = ("python", "native")


def _apply(path: str, state, txs: list, size: int, fee_account: int) -> tuple[tuple, float, float]:
    if path == "python":
        os.environ["ZKPROVER_NO_NATIVE"] = "1"
    else:
        os.environ.pop("ZKPROVER_NO_NATIVE", None)
    wall, cpu = time.perf_counter(), time.process_time()
    res = apply_batch(state, txs, batch_size=size, domain=DOMAIN, batch_number=1, fee_account=fee_account)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return (res.new_root, res.inputs, res.public_data_bytes), wall, cpu


def measure(size: int, depth: int, repeat: int) -> dict:
    state, txs, fee_account = sample_batch(size, depth)
    times: dict[str, list[tuple[float, float]]] = {p: [] for p in PATHS}
    outcomes: dict[str, tuple] = {}
    for rnd in range(repeat):
        for path in PATHS if rnd % 2 == 0 else PATHS[::-1]:
            outcome, wall, cpu = _apply(path, copy.deepcopy(state), txs, size, fee_account)
            times[path].append((wall, cpu))
            outcomes[path] = outcome
    os.environ.pop("ZKPROVER_NO_NATIVE", None)
    row: dict = {"batch_size": size, "depth": depth, "accounts": len(state), "rounds": repeat}
    for path in PATHS:
        row[f"{path}_s"] = statistics.median(w for w, _ in times[path])
        row[f"{path}_cpu_s"] = statistics.median(c for _, c in times[path])
        row[f"{path}_best_s"] = min(w for w, _ in times[path])
    row["speedup_cpu"] = row["python_cpu_s"] / row["native_cpu_s"]
    row["equal"] = outcomes["python"] == outcomes["native"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[4, 32, 256])
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "apply.json")
    args = ap.parse_args()
    if not fast.enabled():
        raise SystemExit("the native extension is not built (python setup.py build_ext --inplace) or is switched off")
    out: dict = {**run_metadata(("circuits", "prover")), "threads": os.cpu_count(), "batches": []}
    print(
        f"{'batch':>5} {'python s':>9} {'(cpu)':>7} {'native s':>9} {'(cpu)':>7} {'best':>7} {'x (cpu)':>8}  equal",
        flush=True,
    )
    for size in args.sizes:
        row = measure(size, args.depth, args.repeat)
        out["batches"].append(row)
        print(
            f"{size:>5} {row['python_s']:>9.3f} {row['python_cpu_s']:>7.3f} {row['native_s']:>9.3f} "
            f"{row['native_cpu_s']:>7.3f} {row['native_best_s']:>7.3f} {row['speedup_cpu']:>8.1f}  {row['equal']}",
            flush=True,
        )
        if not row["equal"]:
            raise SystemExit(f"batch {size}: the native apply differs from the Python one")
    write_results(out, args.json)


if __name__ == "__main__":
    main()
