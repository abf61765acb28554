"""Powers of tau side by side: ``zkprover powersoftau`` against ``snarkjs powersoftau``.

    python bench/bench_ptau.py --power 12 [--tools zkprover,snarkjs] [--json out.json]
    python bench/bench_ptau.py --power 20 --tools zkprover --keep /work/notes/pot20.ptau

Per tool, the development ceremony a benchmark needs: ``new`` (a fresh accumulator),
``contribute`` (one contribution), ``prepare`` (``prepare phase2``: the Lagrange sections) and
``verify`` (of the prepared file). Each step is its own process, timed by wall clock with its
CPU time and peak resident memory (``wait4`` rusage, from bench_zkey.run). The tools alternate
step by step (zkprover then snarkjs, then snarkjs then zkprover ...), so both meet the same
load; the 1-minute load average is printed around each step. ``--keep`` copies the zkprover
prepared file out (e.g. for bench_zkey.py). ``--steps`` runs a prefix (e.g. new,contribute).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench_zkey import ROOT, SNARKJS, run

STEPS = ("new", "contribute", "prepare", "verify")


def tool_commands(tool: str, power: int, work: Path) -> dict[str, list[str]]:
    p = [work / f"{tool}_{i}.ptau" for i in range(3)]
    if tool == "zkprover":
        base = [sys.executable, "-m", "prover.cli"]
    else:
        base = ["node", "--max-old-space-size=16384", str(SNARKJS.resolve())]
    return {
        "new": [*base, "powersoftau", "new", "bn128", str(power), str(p[0])],
        "contribute": [*base, "powersoftau", "contribute", str(p[0]), str(p[1]), "--name=bench", "-e=bench entropy"],
        "prepare": [*base, "powersoftau", "prepare", "phase2", str(p[1]), str(p[2])],
        "verify": [*base, "powersoftau", "verify", str(p[2])],
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--power", type=int, required=True)
    ap.add_argument("--tools", default="zkprover,snarkjs")
    ap.add_argument("--steps", default=",".join(STEPS), help="a prefix of new,contribute,prepare,verify")
    ap.add_argument("--keep", type=Path, default=None, help="copy zkprover's prepared .ptau here")
    ap.add_argument("--workdir", type=Path, default=None, help="keep the files here (default: a temporary dir)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)
    tools = args.tools.split(",")
    steps = args.steps.split(",")
    if steps != list(STEPS[: len(steps)]):
        ap.error(f"--steps must be a prefix of {','.join(STEPS)}")

    with tempfile.TemporaryDirectory(prefix="bench-ptau-", dir=args.workdir) as tmp:
        work = Path(tmp)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        report = {
            "power": args.power,
            "machine": f"{platform.node()} {os.cpu_count()} CPUs",
            "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
            "tools": {t: {} for t in tools},
        }
        cmds = {t: tool_commands(t, args.power, work) for t in tools}
        for i, step in enumerate(steps):
            for tool in tools if i % 2 == 0 else tools[::-1]:
                r = report["tools"][tool][step] = run(cmds[tool][step], env)
                print(
                    f"{tool:9} {step:10} {r['seconds']:9.2f} s  cpu {r['cpu_seconds']:9.2f} s  "
                    f"peak {r['peak_rss_mib']:8.1f} MiB  load {r['load_before']:.2f} -> {r['load_after']:.2f}",
                    flush=True,
                )
                if args.json:  # after every step: a run cut short keeps what it measured
                    args.json.parent.mkdir(parents=True, exist_ok=True)
                    args.json.write_text(json.dumps(report, indent=2) + "\n")
        if {"zkprover", "snarkjs"} <= set(tools):
            ours, theirs = report["tools"]["zkprover"], report["tools"]["snarkjs"]
            report["speedup"] = {k: round(theirs[k]["seconds"] / ours[k]["seconds"], 1) for k in ours}
            print("speedup (snarkjs / zkprover wall):", report["speedup"])
        if args.keep and "prepare" in steps and "zkprover" in tools:
            shutil.copy(work / "zkprover_2.ptau", args.keep)
            print(f"kept {args.keep}")
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
