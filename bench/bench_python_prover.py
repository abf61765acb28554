"""The pure-Python backend on a snarkjs key: a ~4,000-constraint circuit, whole `zkprover prove`.

The foundation promise is that even the pure-Python fallback proves a circuit of about 4,000
constraints in under a minute, so every later test and check stays practical. This builds the
cube chain (2 constraints per round), exports .r1cs/.wtns, lets snarkjs set it up from a
prepared powers-of-tau file (power >= 13; making one takes minutes, so it is an argument), then
times the whole `zkprover prove` command per backend and checks the proof with snarkjs.

    python bench/bench_python_prover.py --ptau pot13_final.ptau [--rounds 2000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from circuits.examples import cube_chain  # noqa: E402
from circuits.r1cs import write_r1cs  # noqa: E402
from circuits.wtns import write_wtns  # noqa: E402

SNARKJS = ROOT / "tests" / "interop" / "node_modules" / ".bin" / "snarkjs"


def run(cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ptau", required=True, help="prepared powers-of-tau file, power >= 13")
    ap.add_argument("--rounds", type=int, default=2000)
    ap.add_argument("--backends", default="python,cpu")
    ap.add_argument("--json", default="bench/results/python_prover.json")
    args = ap.parse_args()

    circuit = cube_chain(args.rounds)
    results = {"constraints": circuit.n_constraints, "rounds": args.rounds, "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        write_r1cs(circuit.r1cs, d / "c.r1cs")
        write_wtns(circuit.witness({"x": 5, "key": 7}), d / "c.wtns")
        run([str(SNARKJS), "groth16", "setup", str(d / "c.r1cs"), args.ptau, str(d / "c.zkey")])
        run([str(SNARKJS), "zkey", "export", "verificationkey", str(d / "c.zkey"), str(d / "vk.json")])
        print(f"cube chain: {circuit.n_constraints} constraints, snarkjs key")
        print(f"{'prover':<12} {'whole command (s)':>18}  snarkjs verify")
        for backend in args.backends.split(","):
            cmd = [
                sys.executable,
                "-m",
                "prover.cli",
                "prove",
                str(d / "c.zkey"),
                str(d / "c.wtns"),
                str(d / "p.json"),
                str(d / "pub.json"),
                "--backend",
                backend,
            ]
            seconds = run(cmd)
            run([str(SNARKJS), "groth16", "verify", str(d / "vk.json"), str(d / "pub.json"), str(d / "p.json")])
            results["runs"][f"zkprover-{backend}"] = seconds
            print(f"{'zkprover-' + backend:<12} {seconds:>18.2f}  OK")
        seconds = run(
            [
                str(SNARKJS),
                "groth16",
                "prove",
                str(d / "c.zkey"),
                str(d / "c.wtns"),
                str(d / "p.json"),
                str(d / "pub.json"),
            ]
        )
        results["runs"]["snarkjs"] = seconds
        print(f"{'snarkjs':<12} {seconds:>18.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
