"""Phase 2 on the batch circuits: ``zkprover zkey`` against ``snarkjs zkey``, interleaved.

    python bench/bench_ceremony.py --r1cs rollup_b8_d12.r1cs --ptau pot19.ptau --workdir W \
        [--tools zkprover,snarkjs] [--steps new,contribute,verify] [--repeats 3] [--timeout 1800] \
        [--lock /work/notes/bigmem.lock] [--json bench/results/ceremony_b8.json]
    python bench/bench_ceremony.py --batch-size 8 --depth 12 --power 19 --workdir W   # prepare the inputs too

Per step (``new`` r1cs + ptau -> key, ``contribute`` one contribution, ``verify`` the
contributed key) and per repeat, each tool runs once, alternating, as its own process (the
whole command: reading, computing, hashing, writing). Timed by wall clock, with CPU seconds and
peak resident memory from ``wait4`` and the 1-minute load average before and after. A command
that runs past ``--timeout`` (default 30 minutes) is killed and reported as not finished.

With ``--batch-size`` the circuit is exported first (``zkprover circuit export``), with
``--power`` a development ``.ptau`` is written (``zkprover powersoftau development``, which
snarkjs reads like its own); both are kept in the workdir and reused. Inputs a step needs
come from the same tool's previous step when it finished, else from the
other tool's (``zkey new`` writes byte-identical keys in both tools, so either key is the same
input). With ``--lock`` every command runs holding that file's flock (the shared machine's
big-memory lock), taken before the clock starts. Results are written to the JSON after every
command, so a long run killed half-way still leaves its figures.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNARKJS = ROOT / "tests" / "interop" / "node_modules" / ".bin" / "snarkjs"
STEPS = ("new", "contribute", "verify")


def run_measured(cmd: list[str], timeout: float, env: dict) -> dict:
    """Run ``cmd`` in its own process group: wall and CPU seconds, its own peak RSS (``wait4``
    rusage of the child), the load around it; killed and marked ``timed_out`` past ``timeout``."""
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryFile() as log:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t > timeout:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out = log.read()
    result = {
        "seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "load_before": round(load0, 2),
        "load_after": round(os.getloadavg()[0], 2),
        "timed_out": timed_out,
    }
    if not timed_out and proc.returncode != 0:
        result["error"] = f"exit {proc.returncode}: {out.decode(errors='replace')[-2000:]}"
    return result


def commands(tool: str, step: str, r1cs: Path, ptau: Path, work: Path, node_mib: int) -> tuple[list[str], Path]:
    """The command line of ``step`` for ``tool`` and the key it writes (or checks)."""
    if tool == "zkprover":
        base = [sys.executable, "-m", "prover.cli"]
    else:
        base = ["node", f"--max-old-space-size={node_mib}", str(SNARKJS.resolve())]
    k0, k1 = work / f"{tool}_0.zkey", work / f"{tool}_1.zkey"
    if step == "new":
        return [*base, "zkey", "new", str(r1cs), str(ptau), str(k0)], k0
    src = _existing(k0, work, "_0.zkey")
    if step == "contribute":
        return [*base, "zkey", "contribute", str(src), str(k1), "--name=bench", "-e=bench entropy"], k1
    return [*base, "zkey", "verify", str(r1cs), str(ptau), str(_existing(k1, work, "_1.zkey"))], k1


def _existing(own: Path, work: Path, suffix: str) -> Path:
    if own.exists():
        return own
    others = sorted(work.glob(f"*{suffix}"))
    if not others:
        raise FileNotFoundError(f"no {suffix} key in {work}: run the earlier step first")
    return others[0]


def summarise(runs: dict) -> dict:
    """Median seconds per tool and step (finished runs only) and snarkjs / zkprover ratios."""
    med: dict = {}
    for tool, steps in runs.items():
        for step, rs in steps.items():
            done = [r["seconds"] for r in rs if not r["timed_out"] and "error" not in r]
            med.setdefault(tool, {})[step] = {
                "median_s": round(statistics.median(done), 2) if done else None,
                "runs": len(rs),
                "finished": len(done),
                "peak_rss_mib": max((r["peak_rss_mib"] for r in rs), default=None),
            }
    if "zkprover" in med and "snarkjs" in med:
        med["speedup"] = {
            step: round(med["snarkjs"][step]["median_s"] / med["zkprover"][step]["median_s"], 1)
            for step in med["zkprover"]
            if med["zkprover"][step]["median_s"] and med["snarkjs"].get(step, {}).get("median_s")
        }
    return med


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--r1cs", type=Path)
    p.add_argument("--ptau", type=Path)
    p.add_argument("--batch-size", type=int, help="export this batch circuit instead of --r1cs")
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--power", type=int, help="write a development .ptau of this power instead of --ptau")
    p.add_argument("--workdir", type=Path, required=True, help="keys are written (and reused) here")
    p.add_argument("--tools", default="zkprover,snarkjs")
    p.add_argument("--steps", default=",".join(STEPS))
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per command (default 30 min)")
    p.add_argument("--lock", type=Path, default=None, help="hold this flock around each command")
    p.add_argument("--node-mib", type=int, default=20000, help="snarkjs's --max-old-space-size")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    tools, steps = args.tools.split(","), args.steps.split(",")
    if bad := [s for s in steps if s not in STEPS]:
        p.error(f"unknown step(s) {bad}: choose from {STEPS}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cli = [sys.executable, "-m", "prover.cli"]
    if args.batch_size:
        args.r1cs = args.workdir / f"rollup_b{args.batch_size}_d{args.depth}.r1cs"
        if not args.r1cs.exists():
            cmd = [*cli, "circuit", "export", str(args.workdir), "--batch-sizes", str(args.batch_size)]
            subprocess.run([*cmd, "--depth", str(args.depth)], env=env, check=True)
    if args.power:
        args.ptau = args.workdir / f"dev{args.power}.ptau"
        if not args.ptau.exists():
            subprocess.run([*cli, "powersoftau", "development", str(args.power), str(args.ptau)], env=env, check=True)
    if args.r1cs is None or args.ptau is None:
        p.error("give --r1cs or --batch-size, and --ptau or --power")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    report: dict = {
        "r1cs": str(args.r1cs),
        "r1cs_mib": round(args.r1cs.stat().st_size / 2**20, 1),
        "ptau": str(args.ptau),
        "ptau_mib": round(args.ptau.stat().st_size / 2**20, 1),
        "machine": f"{platform.node()} {os.cpu_count()} CPUs",
        "commit": commit.stdout.strip(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "timeout_s": args.timeout,
        "runs": {tool: {} for tool in tools},
    }
    for step in steps:
        for rep in range(args.repeats):
            for tool in tools:
                cmd, written = commands(tool, step, args.r1cs, args.ptau, args.workdir, args.node_mib)
                with open(args.lock, "w") if args.lock else nullcontext() as lock:
                    if lock:
                        fcntl.flock(lock, fcntl.LOCK_EX)
                    r = run_measured(cmd, args.timeout, env)
                report["runs"][tool].setdefault(step, []).append(r)
                if step != "verify" and (r["timed_out"] or "error" in r):
                    written.unlink(missing_ok=True)  # snarkjs writes in place: no half key as a later input
                state = "TIMED OUT" if r["timed_out"] else ("FAILED" if "error" in r else "ok")
                print(
                    f"{tool:9} {step:10} #{rep + 1} {r['seconds']:8.2f} s  cpu {r['cpu_seconds']:8.2f} s  "
                    f"peak {r['peak_rss_mib']:8.1f} MiB  load {r['load_before']:.2f} -> {r['load_after']:.2f}  {state}",
                    flush=True,
                )
                if "error" in r:
                    print(r["error"], flush=True)
                report["summary"] = summarise(report["runs"])
                if args.json:
                    args.json.parent.mkdir(parents=True, exist_ok=True)
                    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report["summary"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
