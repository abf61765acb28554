#!/usr/bin/env python3
"""Memory needed to prove one rollup batch: host RSS measured, GPU memory computed.

    python deploy/scripts/measure_memory.py --batch-size 4 --depth 2 [--cache-dir DIR] [--json OUT]

Runs what a worker runs for one job (circuit and key from the cache, a one-deposit batch applied
by the real operator, witness, proof on the selected backend, self-check) and prints the peak
resident set size after each step. The GPU figure is *computed* from the key with the GPU
backend's own accounting (``GpuEngine.key_bytes`` + twiddle tables + ``MEMORY_MARGIN``), the
number ``GpuBackend.load_key`` checks against free device memory, so it is exactly what the
worker will ask for. With ``--backend gpu`` the proof runs on the device and ``gpu_measured``
adds what CuPy reports after it (pool high-water mark, device memory in use): the figure the
deploy/README sizes table still lacks.

The first run for a shape runs the development setup (minutes) and caches the key; the step
``key`` then measures a cold load, which is what a worker does at start.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time


def _peak_mib() -> float:
    # ru_maxrss is in KiB on Linux: the high-water mark of this process since it started
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_mib() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / (1 << 20)


def _gpu_measured() -> dict[str, float]:
    """Device memory after the proof, read from CuPy: its pool's total (the pool keeps every
    block it ever took, so this is the proof's high-water mark of our allocations) and the
    device's used memory (that plus the CUDA context and other processes)."""
    import cupy

    free, total = cupy.cuda.runtime.memGetInfo()
    return {
        "pool_total_mib": round(cupy.get_default_memory_pool().total_bytes() / (1 << 20), 1),
        "device_used_mib": round((total - free) / (1 << 20), 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--depth", type=int, default=2)
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--backend", default="cpu")
    p.add_argument("--json", default=None, help="also write the figures here")
    args = p.parse_args(argv)

    from prover.backend.gpu import MEMORY_MARGIN, GpuEngine
    from prover.backend.select import select_backend
    from prover.groth16.memory import InsufficientMemory
    from prover.groth16.prover import prove
    from prover.groth16.verifier import verify
    from prover.rollup.memory_check import check_batch_shapes
    from prover.service.rollup_adapter import RollupAdapter, RollupRegistry
    from prover.service.rollup_api import TxRequest, inputs_from_json, inputs_json_safe

    try:  # the run builds, maybe sets up, and proves one shape: refuse one that cannot fit, up front
        (predicted,) = check_batch_shapes([args.batch_size], args.depth, setup=True)
    except InsufficientMemory as exc:
        print(f"measure_memory: {exc}", file=sys.stderr)
        return 2
    steps: dict[str, dict[str, float]] = {}

    def mark(step: str, t0: float) -> None:
        steps[step] = {"seconds": round(time.perf_counter() - t0, 3), "peak_rss_mib": round(_peak_mib(), 1),
                       "rss_mib": round(_current_mib(), 1)}  # fmt: skip
        print(f"{step:8s} {steps[step]}", flush=True)

    t = time.perf_counter()
    mark("start", t)
    backend = select_backend(args.backend)
    registry = RollupRegistry([args.batch_size], depth=args.depth, cache_dir=args.cache_dir)
    entry = registry.get(args.batch_size)
    mark("key", t)

    t = time.perf_counter()
    operator = RollupAdapter(depth=args.depth, chain_id=1)
    applied = operator.apply_batch(
        [TxRequest("deposit", from_index=0, amount=1000, pubkey=(1, 2), l1_address=0xD0D0)], batch_size=args.batch_size
    )
    # the worker gets the inputs through the job store's JSON, so go through it here too
    inputs = inputs_from_json(json.loads(json.dumps(inputs_json_safe(applied.circuit_inputs))))
    witness = entry.circuit.witness(inputs)
    mark("witness", t)

    t = time.perf_counter()
    resident = backend.load_key(entry.pk.arrays)
    result = prove(entry.pk, witness, backend, resident=resident)
    mark("prove", t)
    t = time.perf_counter()
    ok = verify(entry.pk.vk, result.public_signals, result.proof)
    mark("verify", t)

    arrays = entry.pk.arrays
    n = arrays.domain_size
    gpu = dict(GpuEngine.key_bytes(arrays))
    gpu["twiddles"] = n * 32  # forward and inverse tables of n/2 elements each (GpuEngine.twiddle_bytes)
    gpu["coset_table"] = 0  # a two-level table: kilobytes
    gpu["margin"] = MEMORY_MARGIN
    figures = {
        "batch_size": args.batch_size,
        "depth": args.depth,
        "constraints": entry.circuit.n_constraints,
        "signals": arrays.n_vars,
        "domain": n,
        "zkey_backend": backend.describe(),
        "proof_valid": ok,
        "prove_timings": {k: round(v, 3) for k, v in result.timings.items()},
        "host": steps,
        "gpu_bytes_computed": gpu,
        "gpu_total_mib_computed": round(sum(gpu.values()) / (1 << 20), 1),
        "predicted": {k: getattr(predicted, k) for k in ("constraints", "domain", "resident", "proving_peak",
                                                          "setup_peak", "gpu")},
    }  # fmt: skip
    if backend.describe().startswith("gpu"):
        figures["gpu_measured"] = _gpu_measured()
    print(json.dumps(figures, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
