"""L1 gas of the verifier and the Rollup contract in py-evm (Cancun rules), reproducibly.

    python bench/bench_l1_gas.py [--sizes 4 8 32] [--json PATH]

Rows: ``verifyProof`` of the generic verifier for one public input (snarkjs's ``uint256[1]``
form, the one Rollup calls); ``PoseidonT5.poseidon`` called directly (less the 21,000
intrinsic gas); ``submitBatch`` in steady state (batch 2, after a first batch has settled) per
batch size, transfers only and with one deposit and one withdrawal to a fresh address among the
records, at depth 2 (10-byte records, as before #13) and transfers only at depth 12 (14-byte
records, the service's default); the L1 requests (``deposit`` opening an account,
``depositTo``, ``requestExit``, each after a first one so the queue counters are warm);
``activateExodus``; ``exodusWithdraw`` at depth 12. Totals include the intrinsic cost and
calldata. The batch circuit's key is not needed: as in ``tests/l1/test_rollup_contract.py``, a
one-constraint stand-in circuit whose single public input is the batch's SHA-256 commitment
proves each batch, so the contract runs every check it runs for a real batch (the pairing costs
the same for any single-input key).

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

from l1.calldata import VERIFY_PROOF_ONE_INPUT_SIGNATURE, exodus_withdraw_args, proof_args  # noqa: E402
from l1.evm import EvmChain, deploy_poseidon, deploy_verifier  # noqa: E402
from tests.l1.rollup_helpers import (  # noqa: E402
    DEPOSIT,
    SETTLEMENT,
    TRANSFER,
    UNIT,
    WITHDRAWAL,
    Account,
    StandIn,
    World,
    address_int,
    bjj_key,
    blob,
    make_world,
    record,
    tree_of,
)


def _ok(receipt, what: str) -> int:
    if not receipt.ok:
        raise RuntimeError(f"{what} refused: {receipt.error}")
    return receipt.gas_used


def _settle_first_batch(world: World, ib: int) -> None:
    """Batch 1 (one transfer), so the measured batch is a steady-state one."""
    _ok(world.submit(0x1001, blob([], [record(TRANSFER, 0, 1, 1, 1, ib)], index_bytes=ib)), "batch 1")


def submit_batch_gas(standin: StandIn, batch: int, with_l1: bool, depth: int = 2) -> int:
    """Gas of batch 2's submitBatch with ``batch`` records on a fresh deployment."""
    world = make_world(standin, depth=depth)
    ib = (2 * depth + 7) // 8
    _settle_first_batch(world, ib)
    if with_l1:
        depositor, recipient = world.chain.accounts[1], world.chain.new_account("bench-recipient").address
        key = bjj_key(7)
        _ok(world.rollup.transact("deposit", *key, sender=depositor, value=100 * UNIT), "deposit")
        entries = [(*key, address_int(depositor.address)), (0, 0, address_int(recipient))]
        records = [record(DEPOSIT, 0, 0, 100, 0, ib), record(WITHDRAWAL, 0, 0, 40, 2, ib)]
        addrs = [recipient]
    else:
        entries, records, addrs = [], [], []
    records += [record(TRANSFER, 1, 2, 1, 1, ib)] * (batch - len(records))
    return _ok(world.submit(0xBEEF, blob(entries, records, index_bytes=ib), addrs), f"batch of {batch}")


def request_gas(standin: StandIn) -> dict[str, int]:
    """The L1 requests, each the second of its kind (warm counters, fresh queue slots)."""
    world = make_world(standin)
    r, user = world.rollup, world.chain.accounts[1]
    _ok(r.transact("deposit", *bjj_key(5), sender=user, value=UNIT), "first deposit")
    rows = {
        "deposit (new account, key checked)": _ok(
            r.transact("deposit", *bjj_key(6), sender=user, value=UNIT), "deposit"
        )
    }
    _ok(r.transact("depositTo", 0, sender=user, value=UNIT), "first depositTo")
    rows["depositTo"] = _ok(r.transact("depositTo", 1, sender=user, value=UNIT), "depositTo")
    _ok(r.transact("requestExit", 0, sender=user), "first requestExit")
    rows["requestExit"] = _ok(r.transact("requestExit", 1, sender=user), "requestExit")
    return rows


def exodus_gas(standin: StandIn, depth: int = 12) -> dict[str, int]:
    """activateExodus (settlement timeout) and exodusWithdraw against a real depth-``depth`` tree."""
    world = make_world(standin, depth=depth)
    ib = (2 * depth + 7) // 8
    owner = world.chain.accounts[1]
    key = bjj_key(9)
    _ok(world.rollup.transact("deposit", *key, sender=owner, value=100 * UNIT), "deposit")
    state = {0: Account(key, 100, 0, owner.address)}
    tree = tree_of(state, depth)
    data = blob([(*key, address_int(owner.address))], [record(DEPOSIT, 0, 0, 100, 0, ib)], index_bytes=ib)
    _ok(world.submit(tree.root, data), "batch 1")
    world.chain.mine(SETTLEMENT + 1)
    rows = {"activateExodus (settlement timeout)": _ok(world.rollup.transact("activateExodus"), "activateExodus")}
    args = exodus_withdraw_args(0, *key, 100, 0, owner.address, tree.path(0))
    rows[f"exodusWithdraw, depth {depth}"] = _ok(world.rollup.transact("exodusWithdraw", *args), "exodusWithdraw")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 32])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    standin = StandIn.create()
    chain = EvmChain()
    verifier = deploy_verifier(chain, standin.pk.vk)
    x = 12345
    receipt = verifier.transact(VERIFY_PROOF_ONE_INPUT_SIGNATURE, *proof_args(standin.prove(x)), [x])
    if not (receipt.ok and verifier.decode_output(VERIFY_PROOF_ONE_INPUT_SIGNATURE, receipt.output) is True):
        raise RuntimeError(f"verifyProof did not accept the proof: {receipt.error}")
    poseidon = deploy_poseidon(chain)
    ok, _, hash_gas = chain.call(poseidon.address, poseidon.encode("poseidon", [1, 2, 3, 4]))
    if not ok:
        raise RuntimeError("poseidon reverted")

    rows = {
        "verifyProof (generic verifier, uint256[1])": receipt.gas_used,
        "PoseidonT5.poseidon (less 21k)": hash_gas - 21_000,
    }
    for batch in args.sizes:
        rows[f"submitBatch steady, batch {batch}, transfers only"] = submit_batch_gas(standin, batch, with_l1=False)
        rows[f"submitBatch steady, batch {batch}, 1 deposit + 1 withdrawal"] = submit_batch_gas(standin, batch, True)
    for batch in args.sizes:
        rows[f"submitBatch steady, batch {batch}, transfers only, depth 12"] = submit_batch_gas(
            standin, batch, with_l1=False, depth=12
        )
    rows.update(request_gas(standin))
    rows.update(exodus_gas(standin))

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
