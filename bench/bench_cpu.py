"""Benchmark of the native CPU backend, side by side with snarkjs and (optionally) rapidsnark.

    .venv/bin/python bench/bench_cpu.py                       # everything, default sizes
    .venv/bin/python bench/bench_cpu.py --quick               # MSM/NTT at 2^16 only, proof once
    .venv/bin/python bench/bench_cpu.py --rapidsnark ~/src/rapidsnark

Measures, each on fresh random inputs (bases: distinct points start + i*step, scalars full-size):
MSM G1 and G2 at 2^16, 2^18, 2^20; NTT at 2^16, 2^20, 2^22; a full Groth16 proof of the
65,412-constraint Poseidon chain from the same .zkey and .wtns with this prover, `snarkjs
groth16 prove` and rapidsnark's `prover` (files from --bench-data DIR; make them with
`bench_circom_chain.py --hashes 276 --keep DIR`), where the time of ours goes (witness load, key load,
H step, each MSM, blinding, and the share spent in Python rather than in native code), and the
peak memory of a proof pipeline at 2^18 constraints (a synthetic key of that shape, in a child
process so the figure is its own). Our proof is checked with `snarkjs groth16 verify`.

A table goes to stdout, JSON to --json (default bench/results/cpu-<time>.json). The machine's
load average is recorded with every run: on a shared machine wall-clock figures move with it.
rapidsnark is built from the source path given (never vendored or committed); without a path it
is skipped with a message.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from prover.backend import cpu as cpu_mod  # noqa: E402
from prover.backend.cpu import CpuBackend, point_series  # noqa: E402
from prover.field.bn254 import FR_MODULUS, root_of_unity  # noqa: E402
from prover.field.curve import G1, G2  # noqa: E402

#: the full-proof row's .zkey, .wtns and verification key: --bench-data, else $ZKPROVER_BENCH_DATA,
#: else this folder (bench_circom_chain.py --hashes 276 --keep DIR makes them)
DATA = Path(os.environ.get("ZKPROVER_BENCH_DATA") or ROOT / ".cache" / "bench-data" / "poseidon_chain_65k")


def data_file(pattern: str) -> Path:
    """The one file in DATA matching ``pattern`` (e.g. ``*.zkey``)."""
    found = sorted(DATA.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"--bench-data {DATA}: expected one {pattern}, found {len(found)}")
    return found[0]


SNARKJS = ROOT / "tests/interop/node_modules/.bin/snarkjs"


def rand_scalars(n: int, rng: np.random.Generator) -> np.ndarray:
    """Uniform-ish full-size scalars < r (top limb below r's top limb)."""
    s = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64)
    s[:, 3] %= np.uint64(FR_MODULUS >> 192)
    return s


def witness_like(n: int, rng: np.random.Generator) -> np.ndarray:
    """Scalars shaped like a circuit witness: 40% zero or one, 40% below 2^32, 20% full-size."""
    s = rand_scalars(n, rng)
    kind = rng.integers(0, 10, size=n)
    small = kind < 8
    s[small, 1:] = 0
    s[kind < 4, 0] = rng.integers(0, 2, size=int((kind < 4).sum()), dtype=np.uint64)
    s[(kind >= 4) & small, 0] &= np.uint64(0xFFFFFFFF)
    return s


def best_of(fn, repeat: int) -> tuple[float, float]:
    """(best wall seconds, CPU seconds of that run) over ``repeat`` runs."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best[0]:
            best = (wall, cpu)
    return best


class NativeTimer:
    """Wraps the extension module so that the time spent inside native calls is summed; the rest
    of a proof's wall time is the Python layer (including the prover's own Python code)."""

    def __init__(self, native) -> None:
        self._native = native
        self.seconds = 0.0

    def __getattr__(self, name):
        target = getattr(self._native, name)
        if not callable(target):
            return target

        def timed(*args):
            t0 = time.perf_counter()
            try:
                return target(*args)
            finally:
                self.seconds += time.perf_counter() - t0

        return timed


# --- primitives -------------------------------------------------------------------------------
def bench_msm(be: CpuBackend, logs: list[int], repeat: int, rng) -> list[dict]:
    out = []
    for group in ("g1", "g2"):
        Gp = G1 if group == "g1" else G2
        n_max = 1 << max(logs)
        start = Gp.affine_mul(Gp.generator, int(rng.integers(1, 2**62)))
        step = Gp.affine_mul(Gp.generator, int(rng.integers(1, 2**62)))
        bases = point_series(group, start, step, n_max, threads=be.threads)
        msm = be.msm_g1 if group == "g1" else be.msm_g2
        for lg in logs:
            n = 1 << lg
            scalars = rand_scalars(n, rng)
            wall, cpu = best_of(lambda b=bases[:n], s=scalars, f=msm: f(b, s), repeat)
            out.append({"op": f"msm_{group}", "log_n": lg, "seconds": wall, "cpu_seconds": cpu})
            print(f"  msm {group.upper()} 2^{lg}: {wall:.3f} s (cpu {cpu:.3f} s)", flush=True)
        # a witness-shaped scalar vector (mostly 0, 1 and short values) must not be slower
        lg = max(logs)
        n = 1 << lg
        scalars = witness_like(n, rng)
        wall, cpu = best_of(lambda b=bases[:n], s=scalars, f=msm: f(b, s), repeat)
        out.append({"op": f"msm_{group}", "log_n": lg, "scalars": "witness-like", "seconds": wall, "cpu_seconds": cpu})
        print(f"  msm {group.upper()} 2^{lg}, witness-like scalars: {wall:.3f} s (cpu {cpu:.3f} s)", flush=True)
    return out


def bench_ntt(be: CpuBackend, logs: list[int], repeat: int, rng) -> list[dict]:
    out = []
    for lg in logs:
        v = rand_scalars(1 << lg, rng)
        be.ntt(v[:2])  # nothing cached for 2^lg yet: the first call below builds its twiddles
        t0 = time.perf_counter()
        be.ntt(v)
        first = time.perf_counter() - t0
        wall, cpu = best_of(lambda v=v: be.ntt(v), repeat)
        iw, _ = best_of(lambda v=v: be.ntt(v, inverse=True, coset=7), max(1, repeat - 1))
        out.append(
            {
                "op": "ntt",
                "log_n": lg,
                "seconds": wall,
                "cpu_seconds": cpu,
                "first_call_seconds": first,
                "inverse_coset_seconds": iw,
            }
        )
        print(
            f"  ntt 2^{lg}: {wall:.3f} s (cpu {cpu:.3f} s; first call with twiddles {first:.3f} s; "
            f"inverse coset {iw:.3f} s)",
            flush=True,
        )
    return out


# --- full proof -------------------------------------------------------------------------------
def bench_proof(be: CpuBackend, repeat: int, workdir: Path) -> dict:
    from circuits.wtns import read_wtns
    from prover.groth16.formats import proof_to_json, public_to_json, write_json
    from prover.groth16.prover import prove
    from prover.groth16.zkey import read_zkey

    zkey, wtns = data_file("*.zkey"), data_file("*.wtns")
    res: dict = {"circuit": f"{zkey.stem} ({DATA})", "zkey": str(zkey)}
    t0 = time.perf_counter()
    pk = read_zkey(zkey)
    res["read_zkey"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    w = read_wtns(wtns)
    res["witness_load"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    resident = be.load_key(pk.arrays)
    res["load_key"] = time.perf_counter() - t0

    timer = NativeTimer(cpu_mod._native)
    runs = []
    real = cpu_mod._native
    cpu_mod._native = timer
    try:
        for _ in range(repeat):
            timer.seconds = 0.0
            c0, t0 = time.process_time(), time.perf_counter()
            result = prove(pk, w, be, resident=resident)
            wall = time.perf_counter() - t0
            runs.append(
                {"wall": wall, "cpu": time.process_time() - c0, "native": timer.seconds, "stages": result.timings}
            )
    finally:
        cpu_mod._native = real
    best = min(runs, key=lambda r: r["wall"])
    res["prove_seconds"] = best["wall"]
    res["prove_cpu_seconds"] = best["cpu"]
    res["native_seconds"] = best["native"]
    res["python_seconds"] = best["wall"] - best["native"]
    res["python_share"] = res["python_seconds"] / best["wall"]
    res["stages"] = best["stages"]
    res["all_prove_seconds"] = [r["wall"] for r in runs]
    # The H step is one native call; its NTT share, measured as the same six transforms alone
    # (3 inverse, 3 forward on the coset w_2n) on this domain, best of 3.
    n = pk.domain_size
    v = rand_scalars(n, np.random.default_rng())
    g = root_of_unity(n.bit_length())
    six, _ = best_of(lambda: [be.ntt(be.ntt(v, inverse=True), coset=g) for _ in range(3)], 3)
    res["h_step_ntt_seconds"] = six
    # end to end as a user runs it: read the files, load the key, prove
    res["end_to_end_seconds"] = res["read_zkey"] + res["witness_load"] + res["load_key"] + best["wall"]

    proof_path, public_path = workdir / "proof.json", workdir / "public.json"
    write_json(proof_to_json(result.proof), proof_path)
    write_json(public_to_json(result.public_signals), public_path)
    vk = data_file("*verification_key.json")
    if SNARKJS.exists():
        v = subprocess.run(
            [str(SNARKJS), "groth16", "verify", str(vk), str(public_path), str(proof_path)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        res["snarkjs_verify_ok"] = v.returncode == 0 and "OK" in v.stdout
    else:
        res["snarkjs_verify_ok"] = None
    return res


def bench_snarkjs(workdir: Path, repeat: int) -> dict:
    if not SNARKJS.exists():
        return {"skipped": f"snarkjs not installed at {SNARKJS}"}
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run(
            [
                str(SNARKJS),
                "groth16",
                "prove",
                str(data_file("*.zkey")),
                str(data_file("*.wtns")),
                str(workdir / "sj_proof.json"),
                str(workdir / "sj_public.json"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            return {"error": p.stderr[-2000:]}
    return {"prove_seconds": min(times), "all": times, "version": _snarkjs_version()}


def _snarkjs_version() -> str:
    try:
        meta = json.loads((ROOT / "tests/interop/node_modules/snarkjs/package.json").read_text())
        return meta.get("version", "?")
    except OSError:
        return "?"


def find_or_build_rapidsnark(src: Path) -> tuple[Path | None, str]:
    """rapidsnark's `prover` binary from a source checkout: an existing build, else `make host`
    (its documented build; needs cmake, nasm, libgmp). Returns (binary or None, message)."""
    for cand in ("package/bin/prover", "build_prover/src/prover", "build/prover", "build_prover_host/src/prover"):
        if (src / cand).is_file() and os.access(src / cand, os.X_OK):
            return src / cand, f"using existing build {cand}"
    if not (src / "Makefile").exists():
        return None, f"{src} has no Makefile and no built prover: not a rapidsnark checkout?"
    try:
        p = subprocess.run(["make", "host"], cwd=src, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"building rapidsnark failed: {exc}"
    if p.returncode != 0:
        return None, f"building rapidsnark failed (make host):\n{(p.stdout + p.stderr)[-1500:]}"
    for cand in ("package/bin/prover", "build_prover/src/prover"):
        if (src / cand).is_file():
            return src / cand, "built with make host"
    return None, "make host succeeded but no prover binary was found"


def bench_rapidsnark(src: str | None, workdir: Path, repeat: int) -> dict:
    if not src:
        msg = "rapidsnark skipped: no source path given (--rapidsnark PATH)"
        print(f"  {msg}")
        return {"skipped": msg}
    binary, msg = find_or_build_rapidsnark(Path(src).expanduser().resolve())
    print(f"  rapidsnark: {msg}")
    if binary is None:
        return {"skipped": msg}
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = subprocess.run(
            [
                str(binary),
                str(data_file("*.zkey")),
                str(data_file("*.wtns")),
                str(workdir / "rs_proof.json"),
                str(workdir / "rs_public.json"),
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            return {"error": (p.stdout + p.stderr)[-2000:]}
    return {"prove_seconds": min(times), "all": times, "binary": str(binary)}


# --- peak memory at 2^18 constraints (child process) ------------------------------------------
def synthetic_proof(log_n: int, threads: int) -> dict:
    """The backend side of a proof for a key shaped like a 2^log_n-constraint circuit (n_vars =
    domain - 2, ~4 A/B coefficients per row as in Poseidon chains). Valid points, random
    coefficients: the proof is not meaningful, the time and memory are."""
    from prover.backend.interface import COEFF_DTYPE, KeyArrays

    rng = np.random.default_rng(7)
    be = CpuBackend(threads=threads)
    n = 1 << log_n
    n_vars = n - 2
    g1 = point_series("g1", G1.generator, G1.affine_mul(G1.generator, 5), n, threads)
    g2 = point_series("g2", G2.generator, G2.affine_mul(G2.generator, 5), n_vars, threads)
    rows = n - 2
    per = 2
    coeffs = np.zeros(2 * rows * per, dtype=COEFF_DTYPE)
    coeffs["matrix"] = np.repeat([0, 1], rows * per)
    coeffs["constraint"] = np.tile(np.repeat(np.arange(rows, dtype=np.uint32), per), 2)
    coeffs["signal"] = rng.integers(0, n_vars, size=len(coeffs), dtype=np.uint32)
    coeffs["value"] = rand_scalars(len(coeffs), rng)
    key = KeyArrays(
        n_vars=n_vars,
        n_public=1,
        domain_size=n,
        a_query=g1[:n_vars],
        b1_query=g1[:n_vars],
        b2_query=g2,
        c_query=g1[: n_vars - 2],
        h_query=g1,
        coeffs=coeffs,
    )
    w = rand_scalars(n_vars, rng)
    w[0] = (1, 0, 0, 0)
    del g1, g2  # the key holds what it needs; generation temporaries are not part of a proof
    rss_before = _rss("VmRSS")
    reset = _reset_peak_rss()
    t = {}
    t0 = time.perf_counter()
    res = be.load_key(key)
    t["load_key"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    h = be.quotient_evaluations(res, w)
    t["quotient"] = time.perf_counter() - t0
    for name, fn, bases, sc in (
        ("msm_a", be.msm_g1, res.a_query, w),
        ("msm_b1", be.msm_g1, res.b1_query, w),
        ("msm_b2", be.msm_g2, res.b2_query, w),
        ("msm_c", be.msm_g1, res.c_query, w[2:]),
        ("msm_h", be.msm_g1, res.h_query, h),
    ):
        t0 = time.perf_counter()
        fn(bases, sc)
        t[name] = time.perf_counter() - t0
    t["prove_total"] = sum(v for k, v in t.items() if k != "load_key")
    key_bytes = sum(a.nbytes for a in (key.a_query, key.b2_query, key.h_query, coeffs))
    peak = _rss("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {
        "log_n": log_n,
        "stages": t,
        "key_array_bytes": key_bytes,
        "rss_before_proof_bytes": rss_before,
        "peak_rss_bytes": peak,
        "peak_scope": "proof only (VmHWM reset after key generation)" if reset else "whole process",
    }


def _rss(field: str) -> int:
    """A memory figure from /proc/self/status in bytes (0 where unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS mark (Linux: write 5 to clear_refs) so that the peak measured
    is the proof's, not the synthetic key generation's."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def bench_memory(log_n: int, threads: int) -> dict:
    p = subprocess.run(
        [sys.executable, __file__, "--_synthetic", str(log_n), "--threads", str(threads)],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    if p.returncode != 0:
        return {"error": p.stderr[-2000:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


# --- main ---------------------------------------------------------------------------------------
def machine_info() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "commit": commit,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "load_average_start": os.getloadavg(),
    }


def main(argv: list[str] | None = None) -> int:
    global DATA
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--msm", default="16,18,20", help="log2 sizes for MSM G1/G2")
    ap.add_argument("--ntt", default="16,20,22", help="log2 sizes for NTT")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is reported)")
    ap.add_argument("--proof-repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None, help="default: ZKPROVER_THREADS or all CPUs")
    ap.add_argument("--rapidsnark", default=None, help="rapidsnark source checkout to build/run from")
    ap.add_argument("--memory-log", type=int, default=18, help="constraints (log2) of the memory run; 0 skips")
    ap.add_argument("--quick", action="store_true", help="2^16 primitives, one proof run, no memory run")
    ap.add_argument("--json", default=None, help="output file (default bench/results/cpu-<time>.json)")
    ap.add_argument("--bench-data", default=None, help=f"folder with the full proof's .zkey/.wtns (default {DATA})")
    ap.add_argument("--_synthetic", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    DATA = Path(args.bench_data) if args.bench_data else DATA

    threads = args.threads or cpu_mod.default_threads()
    if args._synthetic is not None:
        print(json.dumps(synthetic_proof(args._synthetic, threads)))
        return 0
    ok, why = CpuBackend.available()
    if not ok:
        print(f"native CPU backend unavailable: {why}", file=sys.stderr)
        return 1
    if args.quick:
        args.msm, args.ntt, args.proof_repeat, args.memory_log, args.repeat = "16", "16", 1, 0, 1
    be = CpuBackend(threads=threads)
    rng = np.random.default_rng()
    report: dict = {"machine": machine_info(), "backend": be.describe(), "threads": threads}
    print(
        f"zkprover CPU benchmark — {report['machine']['cpu']}, {report['machine']['cores']} CPUs, "
        f"{threads} threads, commit {report['machine']['commit']}, load {report['machine']['load_average_start']}"
    )

    print("MSM (random full-size scalars, distinct bases):")
    report["msm"] = bench_msm(be, [int(x) for x in args.msm.split(",")], args.repeat, rng)
    print("NTT (forward, natural order):")
    report["ntt"] = bench_ntt(be, [int(x) for x in args.ntt.split(",")], args.repeat, rng)

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if DATA.exists():
            print("Full proof, Poseidon chain (65,412 constraints):", flush=True)
            report["proof"] = bench_proof(be, args.proof_repeat, work)
            print(f"  zkprover: {report['proof']['prove_seconds']:.3f} s", flush=True)
            report["snarkjs"] = bench_snarkjs(work, max(1, min(2, args.proof_repeat)))
            if "prove_seconds" in report["snarkjs"]:
                print(f"  snarkjs:  {report['snarkjs']['prove_seconds']:.3f} s", flush=True)
            report["rapidsnark"] = bench_rapidsnark(args.rapidsnark, work, args.proof_repeat)
        else:
            print(f"Full proof skipped: {DATA} not found")
    if args.memory_log:
        print(f"Proof pipeline at 2^{args.memory_log} constraints (synthetic key, child process):", flush=True)
        report["memory"] = bench_memory(args.memory_log, threads)
    report["machine"]["load_average_end"] = os.getloadavg()

    print_table(report)
    path = Path(args.json) if args.json else ROOT / "bench/results" / f"cpu-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, default=float))
    print(f"\nJSON: {path}")
    return 0


def print_table(r: dict) -> None:
    print("\n| measurement | seconds | note |\n| --- | ---: | --- |")
    for m in r["msm"]:
        kind = ", witness-like scalars" if m.get("scalars") else ""
        print(f"| MSM {m['op'][4:].upper()} 2^{m['log_n']}{kind} | {m['seconds']:.3f} | cpu {m['cpu_seconds']:.3f} s |")
    for m in r["ntt"]:
        print(f"| NTT 2^{m['log_n']} | {m['seconds']:.3f} | first call (twiddles) {m['first_call_seconds']:.3f} s |")
    p = r.get("proof")
    if p:
        verdicts = {True: "verifies with snarkjs", False: "FAILS snarkjs verify", None: "not verified"}
        ok = verdicts[p["snarkjs_verify_ok"]]
        print(f"| proof, zkprover (65k Poseidon chain) | {p['prove_seconds']:.3f} | {ok} |")
        for k, v in p["stages"].items():
            if k == "quotient":
                print(f"| &nbsp;&nbsp;quotient (H step) | {v:.3f} | of which 6 NTTs ~{p['h_step_ntt_seconds']:.3f} s |")
            elif k != "total":
                print(f"| &nbsp;&nbsp;{k} | {v:.3f} | |")
        print(
            f"| &nbsp;&nbsp;Python layer (wall minus native calls) | {p['python_seconds']:.3f} | "
            f"{100 * p['python_share']:.1f}% of the proof |"
        )
        print(
            f"| &nbsp;&nbsp;witness load (.wtns) | {p['witness_load']:.3f} | read_zkey {p['read_zkey']:.3f} s, "
            f"load_key {p['load_key']:.3f} s (once per key) |"
        )
        print(f"| &nbsp;&nbsp;end to end (read files, load key, prove) | {p['end_to_end_seconds']:.3f} | |")
        for peer in ("snarkjs", "rapidsnark"):
            q = r.get(peer, {})
            if "prove_seconds" in q:
                print(
                    f"| proof, {peer} | {q['prove_seconds']:.3f} | "
                    f"zkprover is {q['prove_seconds'] / p['prove_seconds']:.2f}x faster |"
                )
            else:
                print(f"| proof, {peer} | – | {q.get('skipped') or q.get('error', '')[:80]} |")
    m = r.get("memory")
    if m and "peak_rss_bytes" in m:
        mib = {k: m.get(k, 0) / 2**20 for k in ("peak_rss_bytes", "rss_before_proof_bytes", "key_array_bytes")}
        print(
            f"| proof pipeline 2^{m['log_n']} (synthetic key) | {m['stages']['prove_total']:.3f} | "
            f"peak RSS {mib['peak_rss_bytes']:.0f} MiB ({m.get('peak_scope', '')}; before the proof "
            f"{mib['rss_before_proof_bytes']:.0f} MiB, key arrays {mib['key_array_bytes']:.0f} MiB) |"
        )
    la = r["machine"]
    print(f"\nload average at start {la['load_average_start']}, at end {la['load_average_end']}")


if __name__ == "__main__":
    sys.exit(main())
