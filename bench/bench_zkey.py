"""Phase 2 side by side: ``zkprover zkey`` against ``snarkjs zkey`` on the same files.

    python bench/bench_zkey.py --batch-size 8 --depth 12 --power 19 [--json out.json]
    python bench/bench_zkey.py --r1cs C.r1cs --ptau P.ptau [--tools zkprover,snarkjs]

For each tool, in one run and on the same inputs: ``zkey new`` (r1cs + ptau -> key),
``zkey contribute`` (one contribution) and ``zkey verify`` (of that contributed key), each as
its own process, timed by wall clock, with its peak resident memory (``wait4`` rusage of the
child). Inputs: an ``.r1cs`` (or the batch circuit exported by ``zkprover circuit export``) and
a prepared ``.ptau`` (or a development one made by ``zkprover powersoftau development``, which
snarkjs reads like its own). The 1-minute load average is printed before and after each step:
the machine is shared, compare runs only at similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNARKJS = ROOT / "tests" / "interop" / "node_modules" / ".bin" / "snarkjs"


def run(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``; wall seconds, peak RSS (MiB) and the load around it. Raises on failure."""
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{out.decode()[-3000:]}")
    return {
        "seconds": round(wall, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
        "load_before": round(load0, 2),
        "load_after": round(os.getloadavg()[0], 2),
    }


def tool_commands(tool: str, r1cs: Path, ptau: Path, work: Path) -> dict[str, list[str]]:
    k0, k1 = work / f"{tool}_0.zkey", work / f"{tool}_1.zkey"
    if tool == "zkprover":
        base = [sys.executable, "-m", "prover.cli"]
    else:
        base = ["node", "--max-old-space-size=16384", str(SNARKJS.resolve())]
    return {
        "new": [*base, "zkey", "new", str(r1cs), str(ptau), str(k0)],
        "contribute": [*base, "zkey", "contribute", str(k0), str(k1), "--name=bench", "-e=bench entropy"],
        "verify": [*base, "zkey", "verify", str(r1cs), str(ptau), str(k1)],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--r1cs", type=Path)
    p.add_argument("--ptau", type=Path)
    p.add_argument("--batch-size", type=int, help="export this batch circuit instead of --r1cs")
    p.add_argument("--depth", type=int, default=12)
    p.add_argument("--power", type=int, help="make a development .ptau of this power instead of --ptau")
    p.add_argument("--tools", default="zkprover,snarkjs")
    p.add_argument("--workdir", type=Path, default=None, help="keep the files here (default: a temporary dir)")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-zkey-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        r1cs, ptau = args.r1cs, args.ptau
        prep = {}
        if args.batch_size:
            cmd = [sys.executable, "-m", "prover.cli", "circuit", "export", str(work)]
            prep["export"] = run([*cmd, "--batch-sizes", str(args.batch_size), "--depth", str(args.depth)], env)
            r1cs = work / f"rollup_b{args.batch_size}_d{args.depth}.r1cs"
        if args.power:
            ptau = work / f"dev{args.power}.ptau"
            if not ptau.exists():
                cmd = [sys.executable, "-m", "prover.cli", "powersoftau", "development", str(args.power), str(ptau)]
                prep["ptau"] = run(cmd, env)
        if r1cs is None or ptau is None:
            p.error("give --r1cs or --batch-size, and --ptau or --power")
        report = {
            "r1cs": str(r1cs),
            "ptau": str(ptau),
            "machine": f"{platform.node()} {os.cpu_count()} CPUs",
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "prep": prep,
            "tools": {},
        }
        print(
            f"r1cs {r1cs} ({r1cs.stat().st_size / 2**20:.1f} MiB), ptau {ptau} ({ptau.stat().st_size / 2**20:.1f} MiB)"
        )
        for tool in args.tools.split(","):
            results = {}
            for step, cmd in tool_commands(tool, r1cs, ptau, work).items():
                results[step] = run(cmd, env)
                r = results[step]
                print(
                    f"{tool:9} {step:10} {r['seconds']:8.2f} s  cpu {r['cpu_seconds']:8.2f} s  "
                    f"peak {r['peak_rss_mib']:8.1f} MiB  load {r['load_before']:.2f} -> {r['load_after']:.2f}",
                    flush=True,
                )
            report["tools"][tool] = results
        if {"zkprover", "snarkjs"} <= set(report["tools"]):
            ours, theirs = report["tools"]["zkprover"], report["tools"]["snarkjs"]
            report["speedup"] = {k: round(theirs[k]["seconds"] / ours[k]["seconds"], 1) for k in ours}
            print("speedup (snarkjs / zkprover wall):", report["speedup"])
        if args.json:
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
