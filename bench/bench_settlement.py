"""Settlement end to end against a real node (anvil): batches per minute and gas per transaction.

For each batch size: a fresh Rollup on anvil, the operator as the server wires it (job store,
core taking requests from L1, RollupLink with the node settler, a worker with the native
prover). Batch 1 takes ``size`` L1 deposits (new accounts); batches 2..N are ``size`` signed
transfers each. Measured per size:

- end to end: from the first submission to the last batch settled on L1 (submit, prove, settle,
  in order; one worker), as batches per minute;
- gas and wei per settled batch (``submitBatch``), and per L2 transaction for the transfer
  batches (the steady state; the first batch also pays for first-time storage writes);
- resync: an operator started on an empty store rebuilds the N settled batches from the node
  (``prover.service.l1_resync.start_from_l1``: logs, calldata, queue entries, replay, one store
  transaction), timed, and checked to end on L1's root.

    python bench/bench_settlement.py [--sizes 4,8] [--batches 3] [--depth 2]

Writes ``bench/results/settlement.json``. Needs npm (anvil from ``tests/l1node``'s package.json)
and builds a development key per size on first use (cached).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from circuits.rollup.params import BatchShape  # noqa: E402
from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT  # noqa: E402
from l1.evm import RollupConfig, deploy_rollup  # noqa: E402
from l1.node import NodeChain  # noqa: E402
from prover.backend.select import select_backend  # noqa: E402
from prover.jobs import open_store  # noqa: E402
from prover.rollup.accounts import PrivateKey  # noqa: E402
from prover.rollup.circuit_cache import batch_circuit  # noqa: E402
from prover.rollup.transactions import Transfer  # noqa: E402
from prover.service.core import ProverCore  # noqa: E402
from prover.service.l1_link import LinkConfig, RollupLink  # noqa: E402
from prover.service.l1_resync import start_from_l1  # noqa: E402
from prover.service.rollup_adapter import RollupAdapter, RollupRegistry  # noqa: E402
from prover.service.rollup_api import TxRequest  # noqa: E402
from prover.service.worker import Worker  # noqa: E402
from tests.l1node.anvil import Anvil, ensure_anvil, funded  # noqa: E402


def _transfer(key: PrivateKey, domain, frm: int, to: int, nonce: int) -> TxRequest:
    t = Transfer(frm, to, 1, 0, nonce).signed(key, domain)
    sig = (t.signature.r8[0], t.signature.r8[1], t.signature.s)
    return TxRequest(kind="transfer", from_index=frm, to_index=to, amount=1, nonce=nonce, signature=sig)


def run_size(anvil: Anvil, size: int, depth: int, n_batches: int, workdir: Path) -> dict:
    node = NodeChain(anvil.url, receipt_timeout_s=120)
    node.accounts = [funded(anvil, node, f"bench-operator-{size}"), funded(anvil, node, f"bench-user-{size}")]
    t = time.perf_counter()
    cached = batch_circuit(BatchShape(size, depth))
    key_s = time.perf_counter() - t
    rollup = deploy_rollup(node, cached.pk.vk, RollupConfig(depth=depth, amount_unit=UNIT))  # type: ignore[arg-type]
    store = open_store(f"sqlite:///{workdir}/jobs-{size}.db")
    adapter = RollupAdapter(depth, node.chain_id, rollup_address=int.from_bytes(rollup.address, "big"))
    registry = RollupRegistry([size], depth=depth)
    core = ProverCore(store, adapter, registry, requests_from_l1=True)
    core.start()
    link = RollupLink(node, rollup, store, LinkConfig(confirmations=0))
    worker = Worker(store, registry, select_backend(None), lease_s=600)
    keys = [PrivateKey(i.to_bytes(2, "big") * 16) for i in range(1, size + 1)]
    for k in keys:
        pub = k.public_key()
        assert rollup.transact("deposit", pub.x, pub.y, value=1000 * UNIT, sender=node.accounts[1]).ok
    link.follow()

    t0 = time.perf_counter()
    core.submit_l1_only()
    for b in range(2, n_batches + 1):
        txs = [_transfer(keys[i], adapter.domain, i, (i + 1) % size, b - 2) for i in range(size)]
        core.submit(f"bench-{size}-{b}", txs)
    proving_s = 0.0
    while (job := worker.run_once()) is not None:
        proving_s += job.stage_seconds.get("total", 0.0)
        while link.settle_next() is not None:
            pass
    elapsed = time.perf_counter() - t0
    assert rollup.call("batchNumber") == n_batches, "not every batch settled"
    settled = core.ledger.settlements()
    steady = [s for s in settled if s.batch_number > 1]
    resync_s = _resync(node, rollup, registry, depth, workdir / f"fresh-{size}.db")
    return {
        "batch_size": size,
        "depth": depth,
        "batches": n_batches,
        "key_setup_or_load_s": round(key_s, 1),
        "end_to_end_s": round(elapsed, 1),
        "proving_s": round(proving_s, 1),
        "batches_per_minute": round(60 * n_batches / elapsed, 2),
        "gas_per_batch": [s.gas_used for s in settled],
        "wei_per_batch": [s.fee_wei for s in settled],
        "gas_per_tx_steady": round(sum(s.gas_used for s in steady) / max(sum(s.tx_count for s in steady), 1)),
        "gas_per_tx_first_batch": round(settled[0].gas_used / settled[0].tx_count),
        "resync_from_l1_s": round(resync_s, 2),
    }


def _resync(node: NodeChain, rollup, registry: RollupRegistry, depth: int, db: Path) -> float:
    """Seconds for an operator on an empty store to rebuild every settled batch from the node."""
    adapter = RollupAdapter(depth, node.chain_id, rollup_address=int.from_bytes(rollup.address, "big"))
    core = ProverCore(open_store(f"sqlite:///{db}"), adapter, registry, requests_from_l1=True)
    core.start()
    t = time.perf_counter()
    report = start_from_l1(RollupLink(node, rollup, core.store, LinkConfig(confirmations=0)), core)
    elapsed = time.perf_counter() - t
    assert report.recovered == rollup.call("batchNumber") and adapter.state_root() == rollup.call("stateRoot")
    return elapsed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="4,8", help="batch sizes (default 4,8)")
    p.add_argument("--batches", type=int, default=3, help="batches per size, the first of deposits (default 3)")
    p.add_argument("--depth", type=int, default=2, help="state tree depth (default 2; needs 4^depth >= size)")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "settlement.json"))
    args = p.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if any(s > 4**args.depth for s in sizes) or args.batches < 2:
        p.error("each size must fit 4^depth accounts, and --batches must be >= 2 (one deposit batch, then transfers)")
    load = os.getloadavg()
    results = []
    anvil = Anvil(ensure_anvil())
    anvil.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for size in sizes:
                r = run_size(anvil, size, args.depth, args.batches, Path(tmp))
                results.append(r)
                print(
                    f"batch {size:>3}: {r['batches_per_minute']:6.2f} batches/min end to end "
                    f"({r['batches']} batches in {r['end_to_end_s']} s, proving {r['proving_s']} s); "
                    f"gas/tx {r['gas_per_tx_steady']} (transfer batches), {r['gas_per_tx_first_batch']} (deposit "
                    f"batch); gas/batch {r['gas_per_batch']}; resync of {r['batches']} batches from L1 "
                    f"{r['resync_from_l1_s']} s",
                    flush=True,
                )
    finally:
        anvil.kill()
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "load_average_at_start": [round(x, 2) for x in load],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"load average {report['load_average_at_start']} -> {report['load_average_at_end']}; wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
