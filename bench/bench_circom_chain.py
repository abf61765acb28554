"""A full proof of a circom Poseidon chain of any length, side by side: zkprover, rapidsnark,
snarkjs, from the same .zkey and .wtns (whole commands, median of repeats).

    python bench/bench_circom_chain.py --hashes 1100 [--rapidsnark-prover PATH] [--repeat 3]

1,100 Poseidon(2) hashes give 260,700 constraints (domain 2^18), the issue's "about 2^18"
circuit. The circuit is a Poseidon chain (h_{i+1} = Poseidon(h_i, i+1)),
compiled here by circom2 --O2; the witness comes from snarkjs's `wtns calculate`. A snarkjs
ceremony at power 19 takes hours on 2 cores, so the key comes from `zkprover setup` (the
development setup, snarkjs layout: snarkjs and rapidsnark prove with it as with their own).
Every proof is checked with `snarkjs groth16 verify`.

``--keep DIR`` keeps the .zkey, .wtns and verification key there: ``--hashes 276 --keep DIR``
makes the 65,412-constraint data that ``bench_cpu.py --bench-data DIR`` proves.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "tests" / "interop" / "node_modules" / ".bin"
MODULES = ROOT / "tests" / "interop" / "node_modules"

CIRCUIT = """pragma circom 2.1.0;
include "circomlib/circuits/poseidon.circom";
template PoseidonChain(N) {
    signal input x;
    signal output out;
    component h[N];
    for (var i = 0; i < N; i++) {
        h[i] = Poseidon(2);
        h[i].inputs[0] <== (i == 0) ? x : h[i-1].out;
        h[i].inputs[1] <== i + 1;
    }
    out <== h[N-1].out;
}
component main = PoseidonChain(%d);
"""


def run(cmd: list[str], env: dict | None = None) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hashes", type=int, default=1100)
    ap.add_argument("--rapidsnark-prover", default=None, help="a built rapidsnark `prover` binary")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of proofs (0: only make the files, see --keep)")
    ap.add_argument("--json", default="bench/results/circom_chain.json")
    ap.add_argument("--keep", default=None, help="keep the .zkey, .wtns and verification key in this folder")
    args = ap.parse_args()
    if not (BIN / "snarkjs").exists():
        raise SystemExit("npm peers missing: run the interop tests once (they install tests/interop/node_modules)")

    results: dict = {"hashes": args.hashes, "load_before": os.getloadavg(), "runs": {}}
    with tempfile.TemporaryDirectory(prefix="chain-") as tmp:
        d = Path(tmp)
        (d / "chain.circom").write_text(CIRCUIT % args.hashes)
        (d / "input.json").write_text(json.dumps({"x": "12345678901234567890"}))
        t = run([str(BIN / "circom2"), str(d / "chain.circom"), "--r1cs", "--wasm", "--O2", "-o", str(d),
                 "-l", str(MODULES)])  # fmt: skip
        results["compile_s"] = t
        run([str(BIN / "snarkjs"), "wtns", "calculate", str(d / "chain_js" / "chain.wasm"), str(d / "input.json"),
             str(d / "chain.wtns")])  # fmt: skip
        zk = [sys.executable, "-m", "prover.cli"]
        results["setup_s"] = run([*zk, "setup", str(d / "chain.r1cs"), str(d / "chain.zkey")])
        run([*zk, "export", "verificationkey", str(d / "chain.zkey"), str(d / "vk.json")])
        info = subprocess.run([str(BIN / "snarkjs"), "r1cs", "info", str(d / "chain.r1cs")], capture_output=True,
                              text=True).stdout  # fmt: skip
        plain = re.sub(r"\x1b\[[0-9;]*m", "", info)  # snarkjs colours its log lines
        results["r1cs_info"] = [
            line.split("snarkJS:")[-1].strip() for line in plain.splitlines() if "Constraints" in line
        ]
        provers = {
            "zkprover (cpu)": [*zk, "prove", str(d / "chain.zkey"), str(d / "chain.wtns"), "{proof}", "{public}",
                               "--backend", "cpu"],
            "snarkjs groth16 prove": [str(BIN / "snarkjs"), "groth16", "prove", str(d / "chain.zkey"),
                                      str(d / "chain.wtns"), "{proof}", "{public}"],
        }  # fmt: skip
        if args.rapidsnark_prover:
            provers["rapidsnark"] = [args.rapidsnark_prover, str(d / "chain.zkey"), str(d / "chain.wtns"), "{proof}",
                                     "{public}"]  # fmt: skip
        times: dict[str, list[float]] = {name: [] for name in provers}
        for _ in range(args.repeat):  # interleaved, so drifting load hits every prover alike
            for name, cmd in provers.items():
                proof, public = d / "proof.json", d / "public.json"
                filled = [str(proof) if c == "{proof}" else str(public) if c == "{public}" else c for c in cmd]
                env = {**os.environ, "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "passive")}
                times[name].append(run(filled, env=env))
                run([str(BIN / "snarkjs"), "groth16", "verify", str(d / "vk.json"), str(public), str(proof)])
        if args.keep:
            keep, stem = Path(args.keep), f"poseidon_chain_{args.hashes}"
            keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(d / "chain.zkey", keep / f"{stem}_final.zkey")
            shutil.copy(d / "chain.wtns", keep / f"{stem}.wtns")
            shutil.copy(d / "vk.json", keep / f"{stem}_verification_key.json")
    results["load_after"] = os.getloadavg()
    print(f"Poseidon chain of {args.hashes} hashes: {' '.join(results['r1cs_info'])}")
    print(f"{'prover (whole command)':<24} {'median s':>9} {'min s':>7} {'max s':>7}  snarkjs verify")
    for name, ts in times.items():
        if not ts:  # --repeat 0: only the files (--keep) were wanted
            continue
        results["runs"][name] = {"median_s": statistics.median(ts), "all_s": ts}
        print(f"{name:<24} {statistics.median(ts):>9.2f} {min(ts):>7.2f} {max(ts):>7.2f}  OK")
    print(f"load average before/after: {results['load_before'][0]:.2f} / {results['load_after'][0]:.2f}")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
