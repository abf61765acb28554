"""Witness generation for the rollup batch circuit: the Python calculator against the native one.

    python bench/bench_witness.py [--sizes 4 8 32] [--depth 12] [--repeat 3] [--json bench/results/witness.json]

Per batch size the circuit is built once (not timed), a sample batch applied (``bench_rollup``'s
``sample_batch``: transfers, a deposit, a withdrawal, accounts over the whole tree), then:

* **python**: ``CompiledCircuit.witness(inputs, native=False)``, the reference, once;
* **native first**: the first ``witness(inputs, native=True)``, which also builds the circuit's
  program (once per circuit in a worker);
* **native**: the best of ``--repeat`` further runs, as a list of Python ints;
* **list -> prover**: that list encoded as the prover's (n, 4) uint64 array (``fr_vector``), what
  ``prove()`` did with it on the backend's path before the worker asked for the array;
* **vector**: the best of ``--repeat`` runs of ``witness(inputs, vector=True)``, the array
  straight from the native calculator, what a worker pays per batch now.

``--no-python`` skips the reference (slow at batch 32) and compares the array with the list.

All with the constraint check, as a worker runs it; both witnesses are compared for equality.
Wall and CPU seconds of this process are both given: on a shared machine the CPU time is the
fairer figure for "one core". The load average before and after goes into the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_circuit_build import run_metadata  # noqa: E402  (bench/ is on the path only now)


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def measure(size: int, depth: int, repeat: int, python_ref: bool = True) -> dict:
    from bench_rollup import DOMAIN, sample_batch

    from circuits.rollup.batch_circuit import build_batch_circuit
    from circuits.rollup.params import BatchShape
    from prover.rollup.batch import apply_batch

    circuit = build_batch_circuit(BatchShape(size, depth))
    st, txs, fee_account = sample_batch(size, depth)
    inputs = apply_batch(st, txs, batch_size=size, domain=DOMAIN, batch_number=1, fee_account=fee_account).inputs
    import numpy as np

    from prover.field.arrays import fr_vector

    python, py_wall, py_cpu = (
        _timed(lambda: circuit.witness(inputs, native=False)) if python_ref else (None, float("nan"), float("nan"))
    )
    native, first_wall, first_cpu = _timed(lambda: circuit.witness(inputs, native=True))
    runs = [_timed(lambda: circuit.witness(inputs, native=True))[1:] for _ in range(repeat)]
    best_wall = min(r[0] for r in runs)
    best_cpu = min(r[1] for r in runs)
    encoded, encode_wall, encode_cpu = _timed(lambda: fr_vector(native))
    vectors = [_timed(lambda: circuit.witness(inputs, vector=True)) for _ in range(repeat)]
    return {
        "batch_size": size,
        "depth": depth,
        "constraints": circuit.n_constraints,
        "wires": circuit.r1cs.n_wires,
        "python_s": py_wall,
        "python_cpu_s": py_cpu,
        "native_first_s": first_wall,
        "native_first_cpu_s": first_cpu,
        "native_s": best_wall,
        "native_cpu_s": best_cpu,
        "speedup_cpu": py_cpu / best_cpu,
        "encode_s": encode_wall,
        "encode_cpu_s": encode_cpu,
        "vector_s": min(v[1] for v in vectors),
        "vector_cpu_s": min(v[2] for v in vectors),
        "equal": (python is None or python == native) and bool(np.array_equal(vectors[0][0], encoded)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[4, 8, 32])
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-python", action="store_true", help="skip the Python reference calculator")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "witness.json")
    args = ap.parse_args()
    out: dict = {**run_metadata(("circuits", "prover")), "batches": []}
    print(
        f"{'batch':>5} {'constraints':>12} {'python s':>9} {'(cpu)':>7} {'native 1st':>10} "
        f"{'native s':>9} {'(cpu)':>7} {'x (cpu)':>8} {'list->prover':>12} {'vector s':>9} {'(cpu)':>7}  equal"
    )
    for size in args.sizes:
        row = measure(size, args.depth, args.repeat, python_ref=not args.no_python)
        out["batches"].append(row)
        print(
            f"{size:>5} {row['constraints']:>12,} {row['python_s']:>9.2f} {row['python_cpu_s']:>7.2f} "
            f"{row['native_first_s']:>10.2f} {row['native_s']:>9.3f} {row['native_cpu_s']:>7.3f} "
            f"{row['speedup_cpu']:>8.1f} {row['encode_s']:>12.3f} {row['vector_s']:>9.3f} {row['vector_cpu_s']:>7.3f}"
            f"  {row['equal']}",
            flush=True,
        )
        if not row["equal"]:
            raise SystemExit(f"batch {size}: the native witness differs from the Python one (or its array)")
    out["load_after"] = os.getloadavg()
    print(f"load average before {out['load_before']}, after {out['load_after']}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"JSON: {args.json}")


if __name__ == "__main__":
    main()
