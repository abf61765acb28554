"""GPU test + benchmark harness: the one command for a session that has an NVIDIA GPU.

    python bench/gpu_harness.py [--bench-data DIR] [--json PATH] [--no-tests] [--quick]

1. Runs every GPU test: ``python -m pytest -m gpu tests/gpu`` (parity with the CPU backend on
   fresh random inputs, poisoned outputs, NTT 2^0..2^12 and 2^16/2^20/2^24, H step, a full
   proof that verifies).
2. Benchmarks on the device, timed with CUDA events after warm-up, median of repeats:
   NTT forward / inverse (natural order in and out, data already on the device) and the H
   step's batched coset transform (3 vectors: inverse DIF, coset scaling, DIT) at 2^16, 2^20,
   2^22, 2^24; the public ``ntt()`` including host transfers; the whole H step on a synthetic
   2^16 key (witness upload to H download); with ``--bench-data``, a full proof of the snarkjs
   key there (``*.zkey`` + ``*.wtns``, e.g. the poseidon_chain_65k files), checked with the
   verifier, next to the CPU backend on the same machine.
   MSM (kernels/msm.cu, scalars and bases already on the device, the call as the prover makes
   it including the CPU's final combination of W window points): G1 at 2^16 and 2^20, G2 at
   2^20, random and witness-like scalars (mostly 0, 1, short values), parity and time of the
   CPU backend on the same inputs; a window-size sweep at G1 2^16 / 2^20; a proof-shaped run
   on synthetic 2^20 and 2^22 keys with real points (the H step and five MSMs after the
   witness, as groth16.prover calls them) with the peak of CuPy's memory pool. The snarkjs
   proof of ``--bench-data`` is saved (proof.json, public.json, vk.json next to the JSON) for
   ``snarkjs groth16 verify`` back home (the GPU machine has no npm).
3. Prints one table, writes JSON (``--json``, else ``$OUT/gpu_bench.json``, else
   ``bench/results/gpu_bench.json``) and the same table as Markdown next to it, ready for
   BENCHMARKS.md.

Exit status: 0 when the tests pass (or were skipped with --no-tests) and every benchmark ran
and verified, 1 otherwise. The device recipe (wheels, native build, carry) is in bench/README.md.
``--mirror`` runs the harness end to end on the CPU mirror of the kernels at tiny sizes, to
check the harness itself on a machine without a GPU (the numbers mean nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from tests.gpu.helpers import rand_fr_array, synthetic_key, synthetic_witness  # noqa: E402

NTT_SIZES = (16, 20, 22, 24)


class Clock:
    """Milliseconds of device work: CUDA events around the call (no host overhead in the
    number beyond the launches), perf_counter on the mirror. ``prepare`` runs untimed before
    each call (fresh inputs for transforms that consume theirs)."""

    def __init__(self, cupy: Any | None) -> None:
        self.cupy = cupy

    def sync(self) -> None:
        if self.cupy is not None:
            self.cupy.cuda.get_current_stream().synchronize()

    def measure(
        self, fn: Callable[[], Any], *, warmup: int, repeats: int, prepare: Callable[[], Any] | None = None
    ) -> dict[str, float]:
        for _ in range(warmup):
            if prepare:
                prepare()
            fn()
        self.sync()
        times = []
        for _ in range(repeats):
            if prepare:
                prepare()
            self.sync()
            if self.cupy is not None:
                start, end = self.cupy.cuda.Event(), self.cupy.cuda.Event()
                start.record()
                fn()
                end.record()
                end.synchronize()
                times.append(float(self.cupy.cuda.get_elapsed_time(start, end)))
            else:
                t = time.perf_counter()
                fn()
                times.append((time.perf_counter() - t) * 1e3)
        return {"median_ms": statistics.median(times), "min_ms": min(times), "repeats": repeats}


def wall_ms(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Host wall time (includes transfers and Python), median of repeats after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1e3)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "repeats": repeats}


def run_tests(out_dir: Path, timeout_s: int) -> dict[str, Any]:
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-m",
        "gpu",
        "tests/gpu",
        "-q",
        "-p",
        "no:cacheprovider",
        "-rs",
        # per-test limit where pytest-timeout is installed (an unknown ini key only warns): a
        # kernel that never returns costs one test, not the device session
        "-o",
        "timeout=240",
    ]
    print("$", " ".join(cmd), flush=True)
    t = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)
        rc, text = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc = -1
        partial = exc.stdout or ""
        text = (partial.decode(errors="replace") if isinstance(partial, bytes) else partial) + (
            f"\nGPU tests stopped after {timeout_s} s"
        )
    (out_dir / "gpu_tests.log").write_text(text)
    tail = text.strip().splitlines()
    print("\n".join(tail[-40:]), flush=True)
    return {"rc": rc, "summary": tail[-1] if tail else "", "seconds": time.perf_counter() - t}


def make_backend(mirror: bool) -> tuple[Any, Any]:
    """(GpuBackend, cupy module or None)."""
    from prover.backend import gpu as gpu_mod

    if mirror:
        from tests.test_gpu_msm_mirror import MsmMirrorOps

        gpu_mod.GpuBackend.available = classmethod(lambda cls: (True, "CPU mirror (not a GPU)"))  # type: ignore
        gpu_mod.CupyOps = lambda: MsmMirrorOps(tile_log=4)  # type: ignore
        return gpu_mod.GpuBackend(), None
    ok, why = gpu_mod.GpuBackend.available()
    if not ok:
        raise SystemExit(f"GPU backend unavailable: {why}")
    import cupy

    return gpu_mod.GpuBackend(), cupy


def bench_ntt_size(gpu: Any, clock: Clock, log_n: int, host: np.ndarray, cpu: Any | None, repeats: int) -> dict:
    """One size: device-resident forward / inverse / batched coset pipeline, host API, CPU."""
    from prover.backend.gpu import SCALE_DST_BITREV
    from prover.field.bn254 import FR_MODULUS, root_of_unity

    eng = gpu.engine
    n = 1 << log_n
    dev = eng.ops.upload(host)
    eng.twiddles(log_n, False)
    eng.twiddles(log_n, True)
    row: dict[str, Any] = {"log_n": log_n}
    row["forward"] = clock.measure(lambda: eng.ntt_device(dev, log_n), warmup=2, repeats=repeats)
    scratch: dict[str, Any] = {}

    def fresh() -> None:  # the inverse consumes its input: a new copy before each (untimed)
        scratch["x"] = dev.copy()

    row["inverse"] = clock.measure(
        lambda: eng.ntt_device(scratch["x"], log_n, inverse=True), warmup=2, repeats=repeats, prepare=fresh
    )
    abc = eng.ops.upload(np.concatenate([host, host, host]))
    hi, lo, lo_log = eng.scale_table(root_of_unity(log_n + 1), n, pow(n, -1, FR_MODULUS))

    def coset3() -> None:  # the H step's transforms: inverse DIF, coset scaling, DIT, 3 vectors
        eng.dif_inverse(abc, log_n, 3)
        eng.ops.permute_scale(abc, abc, log_n, 3, False, SCALE_DST_BITREV, hi, lo, lo_log)
        eng.dit(abc, log_n, 3)

    row["coset_batch3"] = clock.measure(coset3, warmup=2, repeats=repeats)
    row["host_api_forward"] = wall_ms(lambda: gpu.ntt(host), max(3, repeats // 3))
    if cpu is not None:
        row["cpu_forward"] = wall_ms(lambda: cpu.ntt(host), 3)
    return row


def bench_ntt(
    gpu: Any, clock: Clock, sizes: tuple[int, ...], rng: np.random.Generator, cpu: Any | None, repeats: int
) -> list[dict[str, Any]]:
    rows = []
    for log_n in sizes:
        rows.append(bench_ntt_size(gpu, clock, log_n, rand_fr_array(1 << log_n, rng), cpu, repeats))
        gpu.engine.ops.free_pool()  # the buffers of this size are garbage now
        print(f"ntt 2^{log_n}: forward {rows[-1]['forward']['median_ms']:.3f} ms", flush=True)
    return rows


def bench_quotient(
    gpu: Any, clock: Clock, log_n: int, rng: np.random.Generator, cpu: Any | None, repeats: int
) -> dict[str, Any]:
    key = synthetic_key(log_n, rng)
    w = synthetic_witness(key, rng)
    res = gpu.load_key(key)
    try:
        h = gpu.quotient_evaluations(res, w)
        row: dict[str, Any] = {"log_n": log_n, "nnz": len(key.coeffs)}
        row["gpu"] = clock.measure(lambda: gpu.quotient_evaluations(res, w), warmup=2, repeats=repeats)
        if cpu is not None:
            cres = cpu.load_key(key)
            row["parity"] = bool(np.array_equal(h, cpu.quotient_evaluations(cres, w)))
            row["cpu"] = wall_ms(lambda: cpu.quotient_evaluations(cres, w), 3)
    finally:
        gpu.release_key(res)
    return row


def bench_proof(gpu: Any, data_dir: Path, cpu: Any | None, repeats: int, out_dir: Path) -> dict[str, Any]:
    from circuits.wtns import read_wtns
    from prover.groth16.prover import prove
    from prover.groth16.verifier import verify
    from prover.groth16.zkey import read_zkey

    zkey = sorted(data_dir.glob("*.zkey"))[0]
    wtns = sorted(data_dir.glob("*.wtns"))[0]
    pk = read_zkey(zkey)
    w = read_wtns(wtns)
    row: dict[str, Any] = {"zkey": zkey.name, "n_vars": pk.n_vars, "domain": pk.domain_size}
    t = time.perf_counter()
    res = gpu.load_key(pk.arrays)
    row["load_key_s"] = time.perf_counter() - t
    try:
        runs = []
        for _ in range(repeats):
            runs.append(prove(pk, w, gpu, resident=res))
        row["verified"] = all(verify(pk.vk, r.public_signals, r.proof) for r in runs[:2])
        save_proof_for_snarkjs(pk, runs[0], out_dir)
        row["gpu_stages_s"] = {k: statistics.median(r.timings[k] for r in runs) for k in runs[0].timings}
    finally:
        gpu.release_key(res)
    if cpu is not None:
        cres = cpu.load_key(pk.arrays)
        r = prove(pk, w, cpu, resident=cres)
        row["cpu_stages_s"] = dict(r.timings)
        row["cpu_verified"] = verify(pk.vk, r.public_signals, r.proof)
    return row


def make_bases(n: int, g2: bool, cpu: Any | None, rng: np.random.Generator) -> np.ndarray:
    """n bases for timing: distinct multiples of a random point (native fixed-base batch) up
    to 2^18 of them, tiled beyond (the same point twice in a bucket is as rare as with
    distinct points); 256 Python-made points when the native backend is absent."""
    from prover.backend.python_backend import PythonBackend

    distinct = min(n, 1 << 18) if cpu is not None else min(n, 256)
    maker = cpu if cpu is not None else PythonBackend()
    ks = np.zeros((distinct, 4), dtype=np.uint64)
    ks[:, 0] = rng.integers(1, 2**63, size=distinct, dtype=np.uint64)
    ks[:, 1] = rng.integers(0, 2**63, size=distinct, dtype=np.uint64)
    from prover.field.curve import G1, G2

    group = G2 if g2 else G1
    base = group.affine_mul(group.generator, int(rng.integers(1, 2**62)))
    pts = (maker.batch_mul_g2 if g2 else maker.batch_mul_g1)(base, ks)
    reps = -(-n // distinct)
    return np.ascontiguousarray(np.concatenate([pts] * reps)[:n])


def witness_like(n: int, rng: np.random.Generator) -> np.ndarray:
    from tests.gpu.test_gpu_msm import witness_like as wl

    return wl(n, rng)


def bench_msm(
    gpu: Any, clock: Clock, cases: list[tuple[str, int]], rng: np.random.Generator, cpu: Any | None, repeats: int
) -> list[dict[str, Any]]:
    """One row per (group, size, scalar kind): device time of the call, CPU backend time,
    parity."""
    from prover.backend.gpu import DevicePoints

    rows = []
    for group, log_n in cases:
        g2 = group == "G2"
        n = 1 << log_n
        host_bases = make_bases(n, g2, cpu, rng)
        handle = DevicePoints(host_bases, gpu.engine.ops.upload(host_bases))
        fn = gpu.msm_g2 if g2 else gpu.msm_g1
        for kind in ("random", "witness"):
            s = rand_fr_array(n, rng) if kind == "random" else witness_like(n, rng)
            row: dict[str, Any] = {"group": group, "log_n": log_n, "scalars": kind}
            got = fn(handle, s)
            row["gpu"] = clock.measure(lambda fn=fn, s=s, h=handle: fn(h, s), warmup=1, repeats=repeats)
            if cpu is not None:
                cfn = cpu.msm_g2 if g2 else cpu.msm_g1
                row["parity"] = bool(cfn(host_bases, s) == got)
                row["cpu"] = wall_ms(lambda cfn=cfn, s=s, b=host_bases: cfn(b, s), 1)
            rows.append(row)
            print(f"msm {group} 2^{log_n} {kind}: {row['gpu']['median_ms']:.3f} ms", flush=True)
        handle.device = None  # drop the device copy before the next size
        gpu.engine.ops.free_pool()
    return rows


def bench_msm_windows(
    gpu: Any, clock: Clock, log_n: int, windows: range, rng: np.random.Generator, cpu: Any | None, repeats: int
) -> dict[str, Any]:
    """G1 MSM time by window size (ZKPROVER_GPU_MSM_WINDOW), random scalars: the measurement
    that tunes prover.backend.gpu.msm_window."""
    from prover.backend.gpu import DevicePoints

    n = 1 << log_n
    host_bases = make_bases(n, False, cpu, rng)
    handle = DevicePoints(host_bases, gpu.engine.ops.upload(host_bases))
    s = rand_fr_array(n, rng)
    out: dict[str, Any] = {"log_n": log_n, "ms_by_window": {}}
    old = os.environ.get("ZKPROVER_GPU_MSM_WINDOW")
    try:
        for c in windows:
            os.environ["ZKPROVER_GPU_MSM_WINDOW"] = str(c)
            out["ms_by_window"][c] = clock.measure(lambda: gpu.msm_g1(handle, s), warmup=1, repeats=repeats)[
                "median_ms"
            ]
    finally:
        if old is None:
            os.environ.pop("ZKPROVER_GPU_MSM_WINDOW", None)
        else:
            os.environ["ZKPROVER_GPU_MSM_WINDOW"] = old
    out["best"] = min(out["ms_by_window"], key=out["ms_by_window"].get)
    handle.device = None
    gpu.engine.ops.free_pool()
    print(f"msm window sweep 2^{log_n}: best c = {out['best']}", flush=True)
    return out


def bench_proof_shaped(
    gpu: Any, clock: Clock, log_n: int, rng: np.random.Generator, cpu: Any | None, repeats: int
) -> dict[str, Any]:
    """A 2^log_n-constraint proof's backend work after the witness, as groth16.prover calls it
    (H step, then MSMs A, B1, B2, C, H on the resident key), on a synthetic key whose points
    are real (tiled distinct multiples) so the MSMs do real work; witness-like scalars. No
    proof comes out (the synthetic key has no trapdoor); the verified proof is the
    --bench-data row. Peak GPU memory: the high-water of CuPy's pool (total bytes held)
    from an emptied pool through load_key and one proof."""
    from dataclasses import replace

    key = synthetic_key(log_n, rng)
    g1 = make_bases(max(key.n_vars, key.domain_size), False, cpu, rng)
    g2 = make_bases(key.n_vars, True, cpu, rng)
    key = replace(
        key,
        a_query=g1[: key.n_vars],
        b1_query=np.roll(g1[: key.n_vars], 1, axis=0),
        b2_query=g2,
        c_query=g1[2 : key.n_vars],
        h_query=g1[: key.domain_size],
    )
    w = witness_like(key.n_vars, rng)
    w[0] = (1, 0, 0, 0)
    pool = gpu.engine.ops.xp.get_default_memory_pool() if clock.cupy is not None else None
    gpu.engine.ops.free_pool()
    res = gpu.load_key(key)
    row: dict[str, Any] = {"log_n": log_n, "n_vars": key.n_vars}
    try:

        def proof() -> None:
            h = gpu.quotient_evaluations(res, w)
            gpu.msm_g1(res.a_query, w)
            gpu.msm_g1(res.b1_query, w)
            gpu.msm_g2(res.b2_query, w)
            gpu.msm_g1(res.c_query, w[2:])
            gpu.msm_g1(res.h_query, h)

        proof()
        if pool is not None:
            row["peak_pool_bytes"] = int(pool.total_bytes())
            row["peak_pool_gib"] = round(row["peak_pool_bytes"] / 2**30, 3)
        row["gpu"] = clock.measure(proof, warmup=1, repeats=repeats)
    finally:
        gpu.release_key(res)
    print(f"proof-shaped 2^{log_n}: {row['gpu']['median_ms']:.1f} ms", flush=True)
    return row


def save_proof_for_snarkjs(pk: Any, result: Any, out_dir: Path) -> None:
    """proof.json / public.json / vk.json for ``snarkjs groth16 verify`` back home."""
    from prover.groth16.formats import proof_to_json, public_to_json, vk_to_json

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "proof.json").write_text(json.dumps(proof_to_json(result.proof)))
    (out_dir / "public.json").write_text(json.dumps(public_to_json(result.public_signals)))
    (out_dir / "vk.json").write_text(json.dumps(vk_to_json(pk.vk)))


def table(report: dict[str, Any]) -> list[str]:
    def ms(d: dict | None) -> str:
        return f"{d['median_ms']:.3f}" if d else "-"

    failed = {k: v for k, v in report.items() if isinstance(v, dict) and "error" in v}
    report = {k: v for k, v in report.items() if k not in failed}
    lines = [f"device: {report['device']}", ""]
    lines += [f"section {k} FAILED: {v['error']}" for k, v in failed.items()] + ([""] if failed else [])
    lines += [
        "| NTT size | forward (ms) | inverse (ms) | H coset x3 (ms) | ntt() with transfers (ms) | CPU forward (ms) |",
        "|---|---|---|---|---|---|",
    ]
    for r in report.get("ntt", []):
        lines.append(
            f"| 2^{r['log_n']} | {ms(r['forward'])} | {ms(r['inverse'])} | {ms(r['coset_batch3'])} | "
            f"{ms(r['host_api_forward'])} | {ms(r.get('cpu_forward'))} |"
        )
    q = report.get("quotient")
    if q:
        lines += [
            "",
            "| H step (synthetic key) | GPU (ms) | CPU (ms) | parity |",
            "|---|---|---|---|",
            f"| 2^{q['log_n']}, {q['nnz']} terms | {ms(q['gpu'])} | {ms(q.get('cpu'))} | {q.get('parity', '-')} |",
        ]
    if report.get("msm"):
        lines += [
            "",
            "| MSM | scalars | GPU (ms) | CPU backend (ms) | parity |",
            "|---|---|---|---|---|",
        ]
        for r in report["msm"]:
            lines.append(
                f"| {r['group']} 2^{r['log_n']} | {r['scalars']} | {ms(r['gpu'])} | {ms(r.get('cpu'))} | "
                f"{r.get('parity', '-')} |"
            )
    for sw in report.get("msm_windows", []):
        sweep = ", ".join(f"c={c}: {t:.3f}" for c, t in sw["ms_by_window"].items())
        lines += ["", f"MSM G1 2^{sw['log_n']} by window (ms): {sweep}; best c = {sw['best']}"]
    if report.get("proof_shaped"):
        lines += ["", "| proof-shaped (H + 5 MSMs, synthetic key) | GPU (ms) | peak pool (GiB) |", "|---|---|---|"]
        for r in report["proof_shaped"]:
            lines.append(f"| 2^{r['log_n']} ({r['n_vars']} signals) | {ms(r['gpu'])} | {r.get('peak_pool_gib', '-')} |")
    p = report.get("proof")
    if p:
        g, c = p["gpu_stages_s"], p.get("cpu_stages_s", {})
        lines += [
            "",
            f"| proof {p['zkey']} (domain {p['domain']}) | GPU backend (s) | CPU backend (s) |",
            "|---|---|---|",
        ]
        for k in g:
            lines.append(f"| {k} | {g[k]:.3f} | {c[k]:.3f} |" if k in c else f"| {k} | {g[k]:.3f} | - |")
        lines.append(f"| verified | {p['verified']} | {p.get('cpu_verified', '-')} |")
        lines.append(f"| load_key (once) | {p['load_key_s']:.3f} | - |")
    if report.get("tests"):
        lines += ["", f"GPU tests: {report['tests']['summary']} (rc {report['tests']['rc']})"]
    return lines


SECTIONS = ("tests", "ntt", "quotient", "msm", "msm_windows", "proof_shaped", "proof")


class Report:
    """The report under construction, written to disk after every section so that a run cut
    off by the device's time limit, or a section that crashes (a kernel fault poisons the CUDA
    context of this process), still leaves every finished section's figures behind."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.data: dict[str, Any] = {
            "python": platform.python_version(),
            "when": time.strftime("%Y-%m-%d %H:%M:%S %z"),
            "device": "(not reached)",
        }
        self.ok = True

    def section(self, name: str, fn: Callable[[], Any], passed: Callable[[Any], bool] = lambda _: True) -> None:
        print(f"== {name}", flush=True)
        t = time.perf_counter()
        try:
            result = fn()
        except Exception as exc:  # record and go on: later sections may still run
            result = {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-4000:]}
            print(result["traceback"], flush=True)
            self.ok = False
        else:
            self.ok &= bool(passed(result))
        self.data[name] = result
        self.data.setdefault("section_seconds", {})[name] = round(time.perf_counter() - t, 2)
        self.write()

    def write(self) -> list[str]:
        lines = table(self.data)
        self.out.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        self.out.with_suffix(".md").write_text("\n".join(lines) + "\n")
        return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bench-data", type=Path, help="directory with a snarkjs .zkey and .wtns for a full proof")
    ap.add_argument("--json", type=Path, help="output JSON path")
    ap.add_argument("--no-tests", action="store_true", help="benchmarks only")
    ap.add_argument("--quick", action="store_true", help="fewer repeats, NTT up to 2^20")
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections ({', '.join(SECTIONS)})")
    ap.add_argument("--test-timeout", type=int, default=420, help="seconds for the whole GPU test run")
    ap.add_argument("--mirror", action="store_true", help="smoke-test the harness on the CPU mirror (no GPU)")
    args = ap.parse_args()
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    if unknown := only - set(SECTIONS):
        ap.error(f"unknown sections: {', '.join(sorted(unknown))}")
    if args.no_tests or args.mirror:
        only.discard("tests")

    out = args.json or (
        Path(os.environ["OUT"]) / "gpu_bench.json"
        if os.environ.get("OUT")
        else ROOT / "bench" / "results" / "gpu_bench.json"
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    rep = Report(out)
    if "tests" in only:
        rep.section("tests", lambda: run_tests(out.parent, args.test_timeout), lambda r: r["rc"] == 0)

    gpu, cupy = make_backend(args.mirror)
    rep.data["device"] = gpu.describe()
    if cupy is not None:
        rep.data["cupy"] = cupy.__version__
        rep.data["cuda_runtime"] = cupy.cuda.runtime.runtimeGetVersion()
    from prover.backend.cpu import CpuBackend

    cpu = CpuBackend() if CpuBackend.available()[0] else None
    rep.data["cpu_reference"] = cpu.describe() if cpu else "native CPU backend not built: no CPU columns"
    clock = Clock(cupy)
    rng = np.random.default_rng()
    repeats = 3 if (args.quick or args.mirror) else args.repeats
    sizes = (4, 6) if args.mirror else (NTT_SIZES[:2] if args.quick else NTT_SIZES)
    if args.mirror:
        msm_cases, shaped, sweeps = [("G1", 4), ("G2", 3)], (), ()
    elif args.quick:
        msm_cases, shaped, sweeps = [("G1", 16), ("G1", 20), ("G2", 16)], (16,), ((16, range(11, 15)),)
    else:
        msm_cases = [("G1", 16), ("G1", 20), ("G2", 20)]
        shaped, sweeps = (20, 22), ((16, range(10, 15)), (20, range(13, 19)))
    plan: list[tuple[str, Callable[[], Any], Callable[[Any], bool]]] = [
        ("ntt", lambda: bench_ntt(gpu, clock, sizes, rng, cpu, repeats), lambda r: True),
        (
            "quotient",
            lambda: bench_quotient(gpu, clock, 6 if args.mirror else 16, rng, cpu, repeats),
            lambda r: r.get("parity", True),
        ),
        (
            "msm",
            lambda: bench_msm(gpu, clock, msm_cases, rng, cpu, repeats),
            lambda r: all(x.get("parity", True) for x in r),
        ),
        ("msm_windows", lambda: [bench_msm_windows(gpu, clock, ln, ws, rng, cpu, repeats) for ln, ws in sweeps], bool),
        (
            "proof_shaped",
            lambda: [bench_proof_shaped(gpu, clock, ln, rng, cpu, max(2, repeats // 3)) for ln in shaped],
            lambda r: True,
        ),
    ]
    if args.bench_data:
        plan.append(
            (
                "proof",
                lambda: bench_proof(gpu, args.bench_data, cpu, 1 if args.mirror else 3, out.parent / "snarkjs_proof"),
                lambda r: bool(r["verified"]),
            )
        )
    for name, fn, passed in plan:
        if name in only:
            rep.section(name, fn, passed)

    lines = rep.write()
    print("\n".join(lines))
    print(f"\nJSON: {out}\nMarkdown: {out.with_suffix('.md')}")
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main())
