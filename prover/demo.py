"""``zkprover demo``: the whole product on one machine, end to end.

1. the prover service starts in-process on the embedded default (a SQLite job store in a
   temporary directory), with the backend found here (GPU, native CPU or pure Python);
2. an L1 chain (py-evm, in memory) gets the batch circuit's Groth16 verifier and the Rollup
   contract, and two users deposit ETH for their L2 keys;
3. an operator client submits a batch over gRPC: both deposits, a signed transfer and a signed
   withdrawal to a fresh L1 address; it watches the job until the proof is there;
4. the proof is checked with the Python verifier, then ``submitBatch`` on L1 accepts it, moves
   the state root, and the withdrawal is paid out on L1.

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


def run_demo(args: argparse.Namespace) -> int:
    import grpc

    from l1.calldata import submit_batch_args
    from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT
    from l1.evm import EvmChain, RollupConfig, deploy_rollup
    from prover.backend.select import select_backend
    from prover.groth16.formats import proof_from_json, vk_from_json
    from prover.groth16.verifier import verify
    from prover.jobs import open_store
    from prover.rollup.accounts import generate_key
    from prover.rollup.key_source import KeyPolicy
    from prover.rollup.public_data import Domain
    from prover.rollup.transactions import Transfer, Withdrawal
    from prover.service.core import ProverCore
    from prover.service.gen import prover_pb2 as pb
    from prover.service.gen import prover_pb2_grpc as pb_grpc
    from prover.service.rollup_adapter import RollupAdapter, RollupRegistry
    from prover.service.server import ProverServer

    t_start = time.perf_counter()

    def step(label: str, detail: str) -> None:
        print(f"  [{time.perf_counter() - t_start:7.1f} s] {label:<9} {detail}")

    with tempfile.TemporaryDirectory(prefix="zkprover-demo-") as tmp:
        store_url = f"sqlite:///{tmp}/jobs.db"
        backend = select_backend(args.backend)
        chain = EvmChain()  # its chain id is half of the domain every signature and proof is bound to
        operator = RollupAdapter(depth=DEPTH, chain_id=chain.chain_id, fee_account=0)
        registry = RollupRegistry(
            [BATCH_SIZE], depth=DEPTH, cache_dir=args.cache_dir, keys=KeyPolicy(allow_development=True)
        )
        core = ProverCore(open_store(store_url), operator, registry, backend_description=backend.describe())
        server = ProverServer(core, address="127.0.0.1:0", backend=backend, workers=1, lease_s=60.0)
        port = server.start()
        print(f"zkprover demo: rollup batch of {BATCH_SIZE} at {4**DEPTH} accounts, proved and settled on L1")
        step("service", f"gRPC on 127.0.0.1:{port}, job store {store_url}, backend {backend.describe()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        stub = pb_grpc.ProverServiceStub(channel)
        try:
            info = stub.GetCircuitInfo(pb.GetCircuitInfoRequest(), timeout=3600).circuits[0]
            key = f"development key {info.key_hash[:16]}… (built once, then cached)"
            step("circuit", f"{info.name}: {info.constraints} constraints, {key}")
            vk_json = stub.GetVerifyingKey(pb.GetVerifyingKeyRequest(batch_size=BATCH_SIZE)).verification_key_json
            vk = vk_from_json(json.loads(vk_json))
            genesis = int(stub.GetStateRoot(pb.GetStateRootRequest()).root)

            rollup = deploy_rollup(chain, vk, RollupConfig(depth=DEPTH, amount_unit=UNIT))
            if rollup.call("stateRoot") != genesis:
                raise RuntimeError("the operator's genesis root is not the empty tree the Rollup starts from")
            # The domain every signature and proof is bound to: this chain and this contract.
            domain = Domain(chain.chain_id, int.from_bytes(rollup.address, "big"))
            operator.bind_rollup_address(domain.rollup_address)
            alice, bob = generate_key(), generate_key()
            carol = chain.new_account("demo-withdrawal-recipient")
            for who, (key, amount) in enumerate(((alice, 1000), (bob, 500)), start=1):
                pub = key.public_key()
                receipt = rollup.transact("deposit", pub.x, pub.y, value=amount * UNIT, sender=chain.accounts[who])
                if not receipt.ok:
                    raise RuntimeError(f"L1 deposit failed: {receipt.error}")
            step("L1", f"verifier + Rollup deployed; deposits queued: alice 1000, bob 500 (x {UNIT} wei)")

            carol_int = int.from_bytes(carol.address, "big")
            transfer = Transfer(0, 1, 100, 1, 0).signed(alice, domain)
            withdrawal = Withdrawal(1, carol_int, 250, 0, 0).signed(bob, domain)

            def sig(tx) -> pb.Signature:
                return pb.Signature(r8x=str(tx.signature.r8[0]), r8y=str(tx.signature.r8[1]), s=str(tx.signature.s))

            txs = [
                pb.Transaction(
                    deposit=pb.Deposit(
                        pubkey_ax=str(k.public_key().x),
                        pubkey_ay=str(k.public_key().y),
                        amount=str(a),
                        depositor="0x" + chain.accounts[who].address.hex(),
                    )
                )
                for who, (k, a) in enumerate(((alice, 1000), (bob, 500)), start=1)
            ]
            txs.append(
                pb.Transaction(
                    transfer=pb.Transfer(
                        from_index=0, to_index=1, amount="100", fee="1", nonce=0, signature=sig(transfer)
                    )
                )
            )
            txs.append(pb.Transaction(withdrawal=pb.Withdrawal(
                from_index=1, amount="250", fee="0", nonce=0, l1_address="0x" + carol.address.hex(),
                signature=sig(withdrawal))))  # fmt: skip
            t_submit = time.perf_counter()
            submitted = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="demo-batch-1", transactions=txs)).job
            step("submit", f"job {submitted.job_id[:8]}… batch {submitted.batch_number}: 2 deposits, transfer, "
                 "withdrawal")  # fmt: skip
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
            public = [int(s) for s in job.public_signals]
            ok = verify(vk, public, proof)
            step("verify", f"Python verifier: {'valid' if ok else 'INVALID'}")
            if not ok:
                return 1

            new_root = int(job.new_root)
            batch_args = submit_batch_args(new_root, bytes.fromhex(job.public_data.removeprefix("0x")), proof,
                                           [carol_int])  # fmt: skip
            receipt = rollup.transact("submitBatch", *batch_args)
            if not receipt.ok:
                print(f"  L1 submitBatch rejected: {receipt.error}")
                return 1
            step("L1", f"submitBatch accepted ({receipt.gas_used} gas); root {hex(rollup.call('stateRoot'))[:18]}…")
            paid = rollup.transact("withdraw", carol.address)
            if not paid.ok:
                print(f"  L1 withdraw failed: {paid.error}")
                return 1
            step("L1", f"withdrawal paid: 0x{carol.address.hex()} holds {chain.balance(carol.address) // UNIT} units")
            replay = rollup.transact("submitBatch", *batch_args)
            step("L1", f"the same batch again: {'ACCEPTED' if replay.ok else 'rejected'}")
            return 0 if not replay.ok and rollup.call("stateRoot") == new_root else 1
        finally:
            channel.close()
            server.stop(5)
