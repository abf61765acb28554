"""``zkprover demo``: the whole product on one machine, end to end.

1. an L1 chain (py-evm in memory, or the node given with ``--l1 URL``) gets the batch circuit's
   Groth16 verifier and the Rollup contract;
2. the prover service starts in-process (a SQLite job store in a temporary directory) as the
   Rollup's operator, with the backend found here (GPU, native CPU or pure Python);
3. two users deposit ETH on L1 for their L2 keys; the operator follows the Rollup and takes the
   deposits from there (a client cannot make one);
4. a client submits a signed transfer and a signed withdrawal over gRPC; the operator puts the
   two deposits in front of them and queues the proof; the client watches the job;
5. the proof is checked with the Python verifier; the operator settles the batch on L1 by
   itself (``submitBatch`` moves the state root), and the withdrawal is paid out on L1.

The batch circuit (4 transactions, 4^2 accounts) and its development key are built on the first
run and cached (``$ZKPROVER_CACHE_DIR``, default ``~/.cache/zkprover``); later runs start at once.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

BATCH_SIZE = 4
DEPTH = 2


def _depositors(chain, on_node: bool) -> list:
    """Two L1 accounts with ETH: the in-process chain's funded accounts, or on a node two fresh
    accounts the paying (operator) account funds."""
    if not on_node:
        return chain.accounts[1:3]
    users = [chain.new_account(f"zkprover-demo-user-{i}-{time.time_ns()}") for i in range(2)]
    for user in users:
        receipt = chain.send(user.address, b"", value=2 * 10**18)
        if not receipt.ok:
            raise RuntimeError("funding a demo depositor failed")
    return users


def run_demo(args: argparse.Namespace) -> int:
    import grpc

    from l1.chain import open_chain
    from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT
    from l1.evm import RollupConfig, deploy_rollup
    from prover.backend.select import select_backend
    from prover.groth16.formats import proof_from_json
    from prover.groth16.verifier import verify
    from prover.jobs import open_store
    from prover.rollup.accounts import generate_key
    from prover.rollup.key_source import KeyPolicy
    from prover.rollup.public_data import Domain
    from prover.rollup.transactions import Transfer, Withdrawal
    from prover.service.core import ProverCore
    from prover.service.gen import prover_pb2 as pb
    from prover.service.gen import prover_pb2_grpc as pb_grpc
    from prover.service.l1_link import L1Loop, LinkConfig, RollupLink
    from prover.service.rollup_adapter import RollupAdapter, RollupRegistry
    from prover.service.server import ProverServer

    t_start = time.perf_counter()

    def step(label: str, detail: str) -> None:
        print(f"  [{time.perf_counter() - t_start:7.1f} s] {label:<9} {detail}")

    with tempfile.TemporaryDirectory(prefix="zkprover-demo-") as tmp:
        store_url = f"sqlite:///{tmp}/jobs.db"
        backend = select_backend(args.backend)
        on_node = getattr(args, "l1", None) is not None
        chain = open_chain(getattr(args, "l1", None))
        registry = RollupRegistry(
            [BATCH_SIZE], depth=DEPTH, cache_dir=args.cache_dir, keys=KeyPolicy(allow_development=True)
        )
        print(f"zkprover demo: rollup batch of {BATCH_SIZE} at {4**DEPTH} accounts, proved and settled on L1")
        entry = registry.get(BATCH_SIZE)
        step("circuit", f"{entry.name}: {entry.circuit.n_constraints} constraints, development key "
             f"{entry.key_hash[:16]}… (built once, then cached)")  # fmt: skip
        rollup = deploy_rollup(chain, entry.pk.vk, RollupConfig(depth=DEPTH, amount_unit=UNIT))  # type: ignore[arg-type]
        # The domain every signature and proof is bound to: this chain and this contract.
        domain = Domain(chain.chain_id, int.from_bytes(rollup.address, "big"))
        where = f"node {args.l1}" if on_node else "in-process EVM"
        step("L1", f"verifier + Rollup deployed on the {where} (chain id {chain.chain_id})")

        store = open_store(store_url)
        operator = RollupAdapter(depth=DEPTH, chain_id=domain.chain_id, rollup_address=domain.rollup_address)
        core = ProverCore(store, operator, registry, backend_description=backend.describe(), requests_from_l1=True)
        # Deposits wait for the client's batch (60 s) rather than going into an L1-only batch.
        link = RollupLink(chain, rollup, store, LinkConfig(confirmations=0, l1_batch_after_s=60, poll_s=0.2))
        server = ProverServer(
            core, address="127.0.0.1:0", backend=backend, workers=1, lease_s=60.0, l1_loop=L1Loop(link, core)
        )
        port = server.start()
        if rollup.call("stateRoot") != operator.genesis_root():
            raise RuntimeError("the operator's genesis root is not the empty tree the Rollup starts from")
        step("service", f"gRPC on 127.0.0.1:{port}, job store {store_url}, backend {backend.describe()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = pb_grpc.ProverServiceStub(channel)
        try:
            alice, bob = generate_key(), generate_key()
            carol = chain.new_account(
                f"demo-withdrawal-recipient-{time.time_ns()}" if on_node else "demo-withdrawal-recipient"
            )
            for sender, (key, amount) in zip(_depositors(chain, on_node), ((alice, 1000), (bob, 500)), strict=True):
                pub = key.public_key()
                receipt = rollup.transact("deposit", pub.x, pub.y, value=amount * UNIT, sender=sender)
                if not receipt.ok:
                    raise RuntimeError(f"L1 deposit failed: {receipt.error}")
            deadline = time.monotonic() + 60
            while len(core.ledger.waiting()) < 2:  # the operator's L1 loop follows the Rollup
                if time.monotonic() > deadline:
                    raise RuntimeError("the operator did not see the L1 deposits within 60 s")
                time.sleep(0.1)
            step("L1", f"deposits made on L1 and seen by the operator: alice 1000, bob 500 (x {UNIT} wei)")

            carol_int = int.from_bytes(carol.address, "big")
            transfer = Transfer(0, 1, 100, 1, 0).signed(alice, domain)
            withdrawal = Withdrawal(1, carol_int, 250, 0, 0).signed(bob, domain)

            def sig(tx) -> pb.Signature:
                return pb.Signature(r8x=str(tx.signature.r8[0]), r8y=str(tx.signature.r8[1]), s=str(tx.signature.s))

            txs = [
                pb.Transaction(transfer=pb.Transfer(
                    from_index=0, to_index=1, amount="100", fee="1", nonce=0, signature=sig(transfer))),
                pb.Transaction(withdrawal=pb.Withdrawal(
                    from_index=1, amount="250", fee="0", nonce=0, l1_address="0x" + carol.address.hex(),
                    signature=sig(withdrawal))),
            ]  # fmt: skip
            t_submit = time.perf_counter()
            submitted = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="demo-batch-1", transactions=txs)).job
            step("submit", f"job {submitted.job_id[:8]}… batch {submitted.batch_number}: the 2 L1 deposits, "
                 "transfer, withdrawal")  # fmt: skip
            job, seen = submitted, None
            for job in stub.WatchJob(pb.WatchJobRequest(job_id=submitted.job_id), timeout=3600):
                if job.state != seen:  # heartbeats bump the version too; show state changes only
                    step("watch", pb.JobState.Name(job.state).removeprefix("JOB_STATE_"))
                    seen = job.state
            if job.state != pb.JOB_STATE_SUCCEEDED:
                print(f"  job ended {pb.JobState.Name(job.state)}: {job.last_error}")
                return 1
            stages = ", ".join(f"{k} {v:.2f} s" for k, v in job.stage_seconds.items())
            step("proof", f"submit -> proof {time.perf_counter() - t_submit:.2f} s ({stages})")

            proof = proof_from_json(json.loads(job.proof_json))
            ok = verify(entry.pk.vk, [int(s) for s in job.public_signals], proof)
            step("verify", f"Python verifier: {'valid' if ok else 'INVALID'}")
            if not ok:
                return 1

            deadline = time.monotonic() + 120
            while not core.ledger.settlements():  # the operator's L1 loop settles it and records the cost
                if time.monotonic() > deadline:
                    print(f"  the operator did not settle the batch: {server.l1_loop.last_error}")  # type: ignore[union-attr]
                    return 1
                time.sleep(0.1)
            (settled,) = core.ledger.settlements()
            step("L1", f"batch settled by the operator ({settled.gas_used} gas); root "
                 f"{hex(rollup.call('stateRoot'))[:18]}…")  # fmt: skip
            paid = rollup.transact("withdraw", carol.address)
            if not paid.ok:
                print(f"  L1 withdraw failed: {paid.error}")
                return 1
            step("L1", f"withdrawal paid: 0x{carol.address.hex()} holds {chain.balance(carol.address) // UNIT} units")
            return 0 if rollup.call("stateRoot") == int(job.new_root) else 1
        finally:
            channel.close()
            server.stop(5)
