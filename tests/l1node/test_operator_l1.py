"""The operator against a real node (anvil): L1 requests in, batches proven and settled, and the
ways a node misbehaves (reorgs, going away) or the operator dies (kill -9 mid-settlement).

Each test proves one or two real batches (4 transactions, depth 2, cached key): ~5 s a proof.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT
from l1.node import NodeUnavailable
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.l1_link import L1Divergence, L1Loop, connect
from prover.service.server import ProverServer
from tests.l1node.operator_harness import PUBS, Operator, addr, deploy, l1_deposit

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_SEED = "l1node-test-0"  # the conftest's node.accounts[0]: deployer and operator


def test_l1_deposits_to_settled_batch_and_paid_withdrawal_client_deposit_refused(node, anvil, tmp_path):
    rollup = deploy(node)
    op = Operator(node, rollup, tmp_path / "jobs.db", confirmations=1)
    alice, bob = node.accounts[1], node.accounts[2]
    carol = node.new_account("carol")
    l1_deposit(rollup, 0, 1000, alice)
    l1_deposit(rollup, 1, 500, bob)
    assert op.link.follow() == 1  # the second deposit's block is not confirmed yet
    anvil.mine(1)
    assert op.link.follow() == 1 and [r.queue_index for r in op.core.ledger.waiting()] == [0, 1]
    other_db = tmp_path / "other.db"  # another operator store: its batch 1 is the deposits alone
    other = Operator(node, rollup, other_db)
    other.link.follow()
    other.core.submit_l1_only()

    server = ProverServer(op.core, address="127.0.0.1:0", workers=0)
    port = server.start()
    try:
        stub = pb_grpc.ProverServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        fake = pb.Deposit(pubkey_ax=str(PUBS[2].x), pubkey_ay=str(PUBS[2].y), amount=str(2**40 - 1))
        fake.depositor = "0x" + "d0" * 20
        with pytest.raises(grpc.RpcError) as err:
            stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="fake", transactions=[pb.Transaction(deposit=fake)]))
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "made on L1" in err.value.details()
    finally:
        server.stop(1)

    job, _ = op.core.submit("b1", [op.transfer(0, 0, 1, 100, 0), op.withdrawal(1, 1, addr(carol), 250, 0)])
    assert job.tx_count == 4
    op.prove_all()
    assert op.store.get(job.job_id).stage == "settling"  # proved, its settlement not yet recorded
    assert op.settle_all() == [1]
    assert op.store.get(job.job_id).stage == "settled"
    assert rollup.call("batchNumber") == 1 and rollup.call("stateRoot") == op.adapter.state_root()
    assert rollup.transact("withdraw", carol.address).ok
    assert node.balance(carol.address) == 250 * UNIT
    (s,) = op.core.ledger.settlements()
    assert s.gas_used > 0 and s.fee_wei > 0 and s.tx_count == 4
    # The store is lost: a new one is rebuilt from the node's logs and calldata, and goes on.
    fresh = Operator(node, rollup, tmp_path / "fresh.db")
    assert (fresh.started.recovered, fresh.adapter.state_root()) == (1, rollup.call("stateRoot"))
    assert [(a.balance, a.nonce) for a in map(fresh.adapter.account, (0, 1))] == [(900, 1), (350, 1)]
    assert fresh.core.ledger.settlements()[0].tx_hash == s.tx_hash and fresh.core.ledger.waiting() == []
    fresh.core.submit("b2", [fresh.transfer(1, 1, 0, 30, 1)])
    fresh.prove_all()
    assert fresh.settle_all() == [2] and rollup.call("stateRoot") == fresh.adapter.state_root()
    # A store that made another batch 1 is refused, and proves nothing.
    with pytest.raises(L1Divergence, match="went another way"):
        Operator(node, rollup, other_db)
    with pytest.raises(ValueError, match="--rollup-address is required"):
        connect(op.store, url=anvil.url, rollup_address=0)


def test_reorg_shallower_than_confirmations_counts_a_deposit_once(node, anvil, tmp_path):
    rollup = deploy(node)
    op = Operator(node, rollup, tmp_path / "jobs.db", confirmations=2)
    snap = anvil.snapshot()
    l1_deposit(rollup, 0, 700, node.accounts[1])
    assert op.link.follow() == 0 and len(op.link.watcher.pending) == 1  # seen, not confirmed
    anvil.revert(snap)  # the block with the deposit is gone ...
    anvil.mine(1)
    l1_deposit(rollup, 0, 700, node.accounts[1])  # ... and the same deposit lands in another block
    assert op.link.follow() == 0
    anvil.mine(2)
    assert op.link.follow() == 1 and op.link.follow() == 0
    assert [(r.queue_index, r.amount) for r in op.core.ledger.all()] == [(0, 700)]
    assert op.core.submit_l1_only() is not None
    op.prove_all()
    assert op.settle_all() == [1]
    assert op.adapter.account(0).balance == 700 and op.adapter.account(1) is None


def test_kill_9_between_proof_and_settlement_settles_exactly_once(node, anvil, tmp_path):
    rollup = deploy(node)
    op = Operator(node, rollup, tmp_path / "jobs.db")
    l1_deposit(rollup, 0, 300, node.accounts[1])
    op.link.follow()
    op.core.submit_l1_only()
    op.prove_all()
    operator_address = node.accounts[0].address
    nonce_before = node.nonce(operator_address, "latest")
    anvil.automine(False)
    # A separate operator process sends the settlement; it is killed while the tx is in the pool.
    script = (
        "import sys; from pathlib import Path; from l1.node import NodeChain; from l1.chain import attach\n"
        "from tests.l1node.operator_harness import Operator\n"
        "node = NodeChain(sys.argv[1], receipt_timeout_s=600); node.accounts = [node.new_account(sys.argv[2])]\n"
        "op = Operator(node, attach(node, 'Rollup', sys.argv[3]), Path(sys.argv[4]))\n"
        "op.link.settle_next()\n"
    )
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            script,
            anvil.url,
            OPERATOR_SEED,
            "0x" + rollup.address.hex(),
            str(tmp_path / "jobs.db"),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 120
        while not anvil.pool()["pending"]:
            assert child.poll() is None, "the operator process exited before sending"
            assert time.monotonic() < deadline, "the operator process sent nothing"
            time.sleep(0.2)
    finally:
        child.kill()  # SIGKILL: nothing recorded in the store
        child.wait()
    assert op.core.ledger.settlements() == []
    op.restart()  # the dead process's transaction is still in the pool, unmined
    settled: list = []
    restarted = threading.Thread(target=lambda: settled.append(op.link.settle_next()))
    restarted.start()  # waits for the account's in-flight transaction before deciding
    time.sleep(1.0)
    assert restarted.is_alive() and len(anvil.pool()["pending"]) == 1  # nothing sent meanwhile
    anvil.automine(True)
    anvil.mine(1)
    restarted.join(60)
    assert settled == [1]  # found on L1: not sent again
    assert op.link.settle_next() is None
    assert [s.batch_number for s in op.core.ledger.settlements()] == [1]
    assert rollup.call("batchNumber") == 1
    assert node.nonce(operator_address, "latest") == nonce_before + 1  # one submitBatch, ever


def test_node_away_and_back_settlement_resumes(node, anvil, tmp_path):
    rollup = deploy(node)
    op = Operator(node, rollup, tmp_path / "jobs.db")
    l1_deposit(rollup, 0, 400, node.accounts[1])
    loop = L1Loop(op.link, op.core)
    loop.link.config = type(loop.link.config)(confirmations=0, l1_batch_after_s=0)
    loop.turn()  # follows the deposit and makes an L1-only batch
    op.prove_all()
    anvil.stop()  # state kept on disk
    with pytest.raises(NodeUnavailable):
        loop.turn()
    assert op.core.ledger.settlements() == []
    anvil.start()
    loop.turn()
    assert rollup.call("batchNumber") == 1 and [s.batch_number for s in op.core.ledger.settlements()] == [1]


def _tamper(db: Path, batch_number: int, column: str, change) -> None:
    with sqlite3.connect(db) as conn:
        (value,) = conn.execute(f"SELECT {column} FROM jobs WHERE batch_number = ?", (batch_number,)).fetchone()
        conn.execute(f"UPDATE jobs SET {column} = ? WHERE batch_number = ?", (change(value), batch_number))


def test_cancelled_failed_and_refused_batches_are_reverted_and_l1_moves_past_them(node, anvil, tmp_path):
    """Three batches that cannot reach L1, one after another: a cancelled middle batch, a batch
    whose proof fails for good, a batch L1 refuses. Each is reverted with its successor; the
    successor's transaction is rebuilt into the freed batch number and settles; balances add up."""
    rollup = deploy(node)
    db = tmp_path / "jobs.db"
    op = Operator(node, rollup, db)
    loop = L1Loop(op.link, op.core)
    l1_deposit(rollup, 0, 1000, node.accounts[1])  # alice: account 0
    l1_deposit(rollup, 1, 500, node.accounts[2])  # bob: account 1
    op.link.follow()
    op.core.submit_l1_only()
    op.prove_all()
    assert op.settle_all() == [1]

    # 1. a cancelled middle batch: batch 3's transaction is rebuilt as batch 2
    b2, _ = op.core.submit("alice-100", [op.transfer(0, 0, 1, 100, 0)])
    b3, _ = op.core.submit("bob-50", [op.transfer(1, 1, 0, 50, 0)])
    assert (b2.batch_number, b3.batch_number) == (2, 3)
    cancelled = op.core.cancel(b2.job_id, "client changed its mind")
    assert cancelled.state == "CANCELLED"
    rebuilt = op.core.get_job(batch_id="bob-50")
    assert rebuilt.job_id != b3.job_id and rebuilt.batch_number == 2 and op.core.state().batch_number == 2
    assert op.core.get_job(job_id=b3.job_id).state == "CANCELLED"
    op.prove_all()
    loop.turn()
    assert rollup.call("batchNumber") == 2

    # 2. a proof that fails for good (its inputs no longer satisfy the circuit)
    b3, _ = op.core.submit("alice-10", [op.transfer(0, 0, 1, 10, 0)])
    b4, _ = op.core.submit("bob-5", [op.transfer(1, 1, 0, 5, 1)])
    assert (b3.batch_number, b4.batch_number) == (3, 4)

    def bump(inputs: str) -> str:  # a signature that no longer verifies
        data = json.loads(inputs)
        data["sig_s"][0] = str(int(data["sig_s"][0]) + 1)
        return json.dumps(data)

    _tamper(db, 3, "inputs", bump)
    assert op.worker.run_once().state == "FAILED"
    loop.turn()  # reverts 3 and 4, rebuilds bob's transfer as batch 3
    assert op.core.get_job(batch_id="bob-5").batch_number == 3
    op.prove_all()
    loop.turn()
    assert rollup.call("batchNumber") == 3

    # 3. a proven batch that L1 refuses (its proof is another batch's)
    b4, _ = op.core.submit("alice-20", [op.transfer(0, 0, 1, 20, 0)])
    b5, _ = op.core.submit("bob-7", [op.transfer(1, 1, 0, 7, 2)])
    assert (b4.batch_number, b5.batch_number) == (4, 5)
    op.prove_all()
    with sqlite3.connect(db) as conn:
        (other,) = conn.execute("SELECT proof_json FROM jobs WHERE batch_number = 5").fetchone()
    _tamper(db, 4, "proof_json", lambda _: other)
    loop.turn()  # refused: reverts 4 and 5, rebuilds bob's transfer as batch 4
    assert rollup.call("batchNumber") == 3
    assert "InvalidProof" in op.core.get_job(job_id=b4.job_id).last_error
    op.prove_all()
    loop.turn()
    assert rollup.call("batchNumber") == 4 and rollup.call("stateRoot") == op.adapter.state_root()
    # alice: 1000 + 50 + 5 + 7 (her three transfers were dropped); bob: 500 - 62, nonce 3
    assert (op.adapter.account(0).balance, op.adapter.account(0).nonce) == (1062, 0)
    assert (op.adapter.account(1).balance, op.adapter.account(1).nonce) == (438, 3)


def test_zkprover_demo_against_a_node(node, anvil, monkeypatch, capsys):
    """``zkprover demo --l1 URL``: the README's demo with anvil as L1, paid by the key in the environment."""
    from prover.cli import main as zkprover

    monkeypatch.setenv("ZKPROVER_L1_KEY", node.accounts[0].key.to_hex())
    assert zkprover(["demo", "--l1", anvil.url]) == 0
    out = capsys.readouterr().out
    assert f"node {anvil.url}" in out and "batch settled by the operator" in out and "holds 250 units" in out
