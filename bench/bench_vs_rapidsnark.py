"""zkprover against rapidsnark and snarkjs, one interleaved run (issue #19): wall, core-seconds, peak memory.

    python bench/bench_vs_rapidsnark.py --rapidsnark-prover PATH \\
        --data 2^16=DIR16 --data 2^18=DIR18 --data 2^20=DIR20,3,0 [--repeat 5] [--snarkjs-repeat 1]
    python bench/bench_vs_rapidsnark.py make-rollup DIR [--batch 32 --depth 12]

Each DIR holds one ``*.zkey``, one ``*.wtns`` and one ``*verification_key.json`` (made by
``bench_circom_chain.py --hashes N --repeat 0 --keep DIR``, or by ``make-rollup``). For every
size, rounds are interleaved (every prover once per round, so drifting load hits all alike):

* ``zkprover prove`` — the whole command (Python start-up, .zkey and .wtns read, key load, proof,
  JSON written), a child process;
* zkprover in-process, key resident — a worker process that read the key and loaded it into the
  backend once (as a service worker does) and proves on request; timed around ``prove()`` alone;
* rapidsnark's ``prover`` (built from source outside this repository) — the whole command;
* ``snarkjs groth16 prove`` — the whole command (``--snarkjs-repeat`` rounds only: it is slow).

Per run: wall seconds, core-seconds (user + system, all threads: what the run cost the machine,
the figure that survives a loaded VM) and peak RSS (the child's ``ru_maxrss``; for the resident
worker its high-water mark over the proof alone after a reset, and the worker's RSS with the key
loaded). Every proof is checked with ``snarkjs groth16 verify``. Table to stdout, JSON to --json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNARKJS = ROOT / "tests" / "interop" / "node_modules" / ".bin" / "snarkjs"
PY = sys.executable

#: the resident worker: reads "prove PROOF PUBLIC" lines, answers one JSON line each
WORKER = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from circuits.wtns import read_wtns
from prover.backend.select import select_backend
from prover.groth16.formats import proof_to_json, public_to_json, write_json
from prover.groth16.prover import prove
from prover.groth16.zkey import read_zkey

def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    return 0

pk = read_zkey(sys.argv[2])
w = read_wtns(sys.argv[3])
be = select_backend("cpu")
res = be.load_key(pk.arrays)
print(json.dumps({"ready": True, "rss_resident": status("VmRSS")}), flush=True)
for line in sys.stdin:
    _, proof_path, public_path = line.split()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS: the peak below is the proof's own
    c0, t0 = time.process_time(), time.perf_counter()
    out = prove(pk, w, be, resident=res)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    write_json(proof_to_json(out.proof), proof_path)
    write_json(public_to_json(out.public_signals), public_path)
    print(json.dumps({"wall": wall, "cpu": cpu, "peak_rss": status("VmHWM"), "stages": out.timings}), flush=True)
"""


def one_file(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        raise SystemExit(f"{folder}: expected one {pattern}, found {len(found)}")
    return found[0]


def run_child(cmd: list[str], timeout: float) -> dict:
    """Wall, core-seconds and peak RSS of one child process (from its own rusage)."""
    env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "passive")}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    deadline = t0 + timeout
    while True:
        pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            pid, status, ru = os.wait4(proc.pid, 0)
            raise SystemExit(f"{cmd[0]} timed out after {timeout:.0f} s")
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out[-2000:]}")
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "peak_rss": ru.ru_maxrss * 1024}


def verify(vk: Path, public: Path, proof: Path) -> None:
    p = subprocess.run(
        [str(SNARKJS), "groth16", "verify", str(vk), str(public), str(proof)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if p.returncode != 0 or "OK" not in p.stdout:
        raise SystemExit(f"snarkjs rejected the proof {proof}:\n{p.stdout[-1000:]}{p.stderr[-1000:]}")


class ResidentWorker:
    """A child process holding the key loaded in the backend; each request is one timed proof."""

    def __init__(self, zkey: Path, wtns: Path) -> None:
        env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "passive")}
        self.proc = subprocess.Popen(
            [PY, "-c", WORKER, str(ROOT), str(zkey), str(wtns)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.ready = json.loads(self.proc.stdout.readline())

    def prove(self, proof: Path, public: Path) -> dict:
        self.proc.stdin.write(f"prove {proof} {public}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("the resident worker died")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def bench_size(label: str, folder: Path, rapidsnark: str | None, repeat: int, sj_repeat: int, tmp: Path) -> dict:
    zkey, wtns = one_file(folder, "*.zkey"), one_file(folder, "*.wtns")
    vk = one_file(folder, "*verification_key.json")
    proof, public = tmp / "proof.json", tmp / "public.json"
    commands = {
        "zkprover prove (whole command)": [
            PY,
            "-m",
            "prover.cli",
            "prove",
            str(zkey),
            str(wtns),
            str(proof),
            str(public),
            "--backend",
            "cpu",
        ],
    }
    if rapidsnark:
        commands["rapidsnark prover (whole command)"] = [rapidsnark, str(zkey), str(wtns), str(proof), str(public)]
    sj = [str(SNARKJS), "groth16", "prove", str(zkey), str(wtns), str(proof), str(public)]
    runs: dict[str, list[dict]] = {name: [] for name in [*commands, "zkprover in-process, key resident"]}
    runs["snarkjs groth16 prove (whole command)"] = []
    t = time.perf_counter()
    worker = ResidentWorker(zkey, wtns)
    resident_setup = time.perf_counter() - t
    try:
        for rnd in range(repeat):
            for name, cmd in commands.items():
                runs[name].append(run_child(cmd, timeout=900))
                verify(vk, public, proof)
            runs["zkprover in-process, key resident"].append(worker.prove(proof, public))
            verify(vk, public, proof)
            if rnd < sj_repeat:
                runs["snarkjs groth16 prove (whole command)"].append(run_child(sj, timeout=1800))
                verify(vk, public, proof)
            print(f"  {label} round {rnd + 1}/{repeat} done (load {os.getloadavg()[0]:.1f})", flush=True)
    finally:
        worker.close()
    summary = {}
    for name, rs in runs.items():
        if not rs:
            continue
        summary[name] = {
            "median_wall_s": statistics.median(r["wall"] for r in rs),
            "median_cpu_s": statistics.median(r["cpu"] for r in rs),
            "peak_rss_bytes": max(r["peak_rss"] for r in rs),
            "runs": rs,
        }
    summary["zkprover in-process, key resident"]["worker_rss_with_key_bytes"] = worker.ready["rss_resident"]
    summary["zkprover in-process, key resident"]["worker_start_s"] = resident_setup
    return {"label": label, "folder": str(folder), "zkey_bytes": zkey.stat().st_size, "provers": summary}


def print_table(rows: list[dict]) -> None:
    print("\n| size | prover | median wall s | median core-s | peak RSS MiB | runs | vs rapidsnark (wall / core-s) |")
    print("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for row in rows:
        p = row["provers"]
        rs = p.get("rapidsnark prover (whole command)")
        for name, s in p.items():
            rel = ""
            if rs and not name.startswith("rapidsnark"):
                rel = f"{rs['median_wall_s'] / s['median_wall_s']:.2f}x / {rs['median_cpu_s'] / s['median_cpu_s']:.2f}x"
            print(
                f"| {row['label']} | {name} | {s['median_wall_s']:.3f} | {s['median_cpu_s']:.3f} | "
                f"{s['peak_rss_bytes'] / 2**20:.0f} | {len(s['runs'])} | {rel} |"
            )


def make_rollup(folder: Path, batch: int, depth: int) -> None:
    """The batch circuit's development key (.zkey), a witness (.wtns) and its verification key."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_rollup import DOMAIN, sample_batch

    from circuits.rollup.params import BatchShape
    from circuits.wtns import write_wtns
    from prover.groth16.formats import vk_to_json, write_json
    from prover.rollup.batch import apply_batch
    from prover.rollup.circuit_cache import ZKEY_NAME, batch_circuit

    folder.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    cached = batch_circuit(BatchShape(batch, depth), cache_dir=folder / "cache")
    print(f"circuit and key: {time.perf_counter() - t:.1f} s ({cached.circuit.n_constraints} constraints)")
    st, txs, fee = sample_batch(batch, depth)
    res = apply_batch(st, txs, batch_size=batch, domain=DOMAIN, batch_number=1, fee_account=fee)
    witness = cached.circuit.witness(res.inputs, check=True)
    stem = f"rollup_b{batch}_d{depth}"
    shutil.copy(cached.directory / ZKEY_NAME, folder / f"{stem}.zkey")
    write_wtns(witness, folder / f"{stem}.wtns")
    write_json(vk_to_json(cached.pk.vk), folder / f"{stem}_verification_key.json")
    shutil.rmtree(folder / "cache")
    print(f"wrote {stem}.zkey, .wtns and verification key in {folder}")


def compile_bytecode() -> bool:
    """Byte-compile the project's packages, as ``pip install`` and ``deploy/scripts/install.sh`` do
    for an installed zkprover. Run from a checkout with ``PYTHONDONTWRITEBYTECODE`` set (this VM's
    environment sets it), every ``zkprover prove`` would otherwise compile each module it imports
    from source, ~20-30 ms that no installed copy pays. True when bytecode was written."""
    packages = [str(ROOT / p) for p in ("prover", "circuits", "kernels", "l1")]
    return subprocess.run([PY, "-m", "compileall", "-q", *packages], stdout=subprocess.DEVNULL).returncode == 0


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "make-rollup":
        ap = argparse.ArgumentParser(prog="bench_vs_rapidsnark.py make-rollup")
        ap.add_argument("folder")
        ap.add_argument("--batch", type=int, default=32)
        ap.add_argument("--depth", type=int, default=12)
        a = ap.parse_args(sys.argv[2:])
        make_rollup(Path(a.folder), a.batch, a.depth)
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--data", action="append", required=True, help="LABEL=DIR[,ROUNDS[,SNARKJS_ROUNDS]], repeatable: 2^20=DIR,3,0"
    )
    ap.add_argument(
        "--rapidsnark-prover",
        default=os.environ.get("RAPIDSNARK_PROVER"),
        help="a built rapidsnark `prover` binary (or $RAPIDSNARK_PROVER); skipped without it",
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--snarkjs-repeat", type=int, default=1, help="rounds that include snarkjs (0: none)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    if not SNARKJS.exists():
        raise SystemExit("npm peers missing: run the interop tests once (they install tests/interop/node_modules)")
    if not args.rapidsnark_prover:
        print("rapidsnark skipped: no --rapidsnark-prover given")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    meta = {
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "commit": commit,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
        "load_start": os.getloadavg(),
        "rapidsnark": args.rapidsnark_prover,
        "bytecode_compiled": compile_bytecode(),
    }
    rows = []
    with tempfile.TemporaryDirectory(prefix="vs-rapidsnark-") as tmp:
        for item in args.data:
            label, _, spec = item.partition("=")
            folder, *counts = spec.split(",")
            repeat = int(counts[0]) if counts else args.repeat
            sj_repeat = int(counts[1]) if len(counts) > 1 else args.snarkjs_repeat
            print(f"{label}: {folder} ({repeat} rounds, snarkjs in {min(repeat, sj_repeat)})", flush=True)
            rows.append(bench_size(label, Path(folder), args.rapidsnark_prover, repeat, sj_repeat, Path(tmp)))
    meta["load_end"] = os.getloadavg()
    print_table(rows)
    print(
        f"\n{meta['date_utc']}, commit {commit}, load average {meta['load_start'][0]:.2f} -> {meta['load_end'][0]:.2f}"
    )
    out = Path(args.json or ROOT / "bench" / "results" / f"vs-rapidsnark-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"meta": meta, "sizes": rows}, indent=1))
    print(f"JSON: {out}")


if __name__ == "__main__":
    main()
