"""L1 gas of the verifier and the Rollup contract in py-evm (Cancun rules), reproducibly.

    python bench/bench_l1_gas.py [--sizes 4 8 32] [--json PATH]

Rows: ``verifyProof`` of the generic verifier (key at deployment) for one public input;
``PoseidonT4.poseidon`` called directly (less the 21,000 intrinsic gas); ``submitBatch`` per
batch size with transfers only, and with one deposit and one withdrawal among the records.
Totals include the intrinsic cost and calldata. The batch circuit's key is not needed: as in
``tests/l1/test_rollup_contract.py``, a one-constraint stand-in circuit whose single public
input is the batch's SHA-256 commitment proves each batch, so the contract runs every check it
runs for a real batch (the pairing costs the same for any single-input key). The records follow
``prover/rollup/public_data.py`` at depth 2 (16 accounts, 10-byte records), as those tests do.

Prints a Markdown table and writes JSON (``--json``, else ``bench/results/l1-gas-<time>.json``).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from l1.calldata import proof_args, submit_batch_args  # noqa: E402
from l1.evm import EvmChain, deploy_rollup, deploy_verifier  # noqa: E402
from prover.groth16.setup import setup  # noqa: E402
from tests.l1.test_rollup_contract import (  # noqa: E402
    CHAIN_ID,
    DEPOSIT,
    DEPTH,
    GENESIS,
    KEYS,
    TRANSFER,
    UNIT,
    WITHDRAWAL,
    StandIn,
    _standin_cs,
    blob,
    public_input,
    record,
)


def submit_batch_gas(standin: StandIn, batch: int, with_l1: bool) -> int:
    """Gas of one accepted submitBatch of ``batch`` records on a fresh chain."""
    chain = EvmChain()
    rollup = deploy_rollup(chain, standin.pk.vk, chain_id=CHAIN_ID, depth=DEPTH, genesis_root=GENESIS, amount_unit=UNIT)
    recipient = chain.new_account("l1-withdrawal-recipient").address
    if with_l1:
        assert rollup.transact("deposit", *KEYS[0], sender=chain.accounts[1], value=100 * UNIT).ok
        l1 = [KEYS[0], (int.from_bytes(recipient, "big"), 0)]
        records = [record(DEPOSIT, frm=1, amount=100), record(WITHDRAWAL, frm=1, amount=40, fee=2)]
        addrs = [recipient]
    else:
        l1, records, addrs = [], [], []
    records += [record(TRANSFER, frm=1, to=2, amount=1, fee=1)] * (batch - len(records))
    data = blob(l1, records)
    new_root = 0xBEEF
    proof = standin.prove(public_input(1, GENESIS, new_root, data))
    receipt = rollup.transact("submitBatch", *submit_batch_args(new_root, data, proof, addrs))
    if not receipt.ok:
        raise RuntimeError(f"submitBatch refused: {receipt.error}")
    return receipt.gas_used


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 32])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    circuit = _standin_cs()
    standin = StandIn(setup(circuit.r1cs, name=circuit.name))
    chain = EvmChain()
    verifier = deploy_verifier(chain, standin.pk.vk)
    x = 12345
    proof = standin.prove(x)
    receipt = verifier.transact("verifyProof", *proof_args(proof), [x])
    if not (receipt.ok and verifier.decode_output("verifyProof", receipt.output) is True):
        raise RuntimeError(f"verifyProof did not accept the proof: {receipt.error}")
    verify_gas = receipt.gas_used
    poseidon, _ = chain.deploy("PoseidonT4")
    ok, _, hash_gas = chain.call(poseidon.address, poseidon.encode("poseidon", [1, 2, 3]))
    if not ok:
        raise RuntimeError("poseidon reverted")

    rows = {
        "verifyProof (generic verifier, 1 public input)": verify_gas,
        "PoseidonT4.poseidon (less 21k)": hash_gas - 21_000,
    }
    for batch in args.sizes:
        rows[f"submitBatch, batch {batch}, transfers only"] = submit_batch_gas(standin, batch, with_l1=False)
        rows[f"submitBatch, batch {batch}, 1 deposit + 1 withdrawal"] = submit_batch_gas(standin, batch, with_l1=True)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    report = {"when": time.strftime("%Y-%m-%d %H:%M:%S %z"), "commit": commit.strip(), "gas": rows}
    print("| call | gas |\n|---|---:|")
    for name, gas in rows.items():
        print(f"| {name} | {gas:,} |")
    out = args.json or ROOT / "bench" / "results" / f"l1-gas-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
