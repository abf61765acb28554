"""Restart and resync: an operator whose job store is lost, behind, or gone another way than L1.

On the in-process chain (nothing to install): batches with every kind of record (deposits,
a top-up, a forced exit, transfers with fees, a withdrawal) are settled, then operators start on
an empty store, on a store one batch behind, and on a store that made a different batch 1. The
first two rebuild the state from L1's public data and settle the next batch on it; the last is
refused (L1Divergence, the divergence gauge at 1) and proves and settles nothing. The same
restart against anvil is in ``test_operator_l1.py``.

Three real batch proofs (4 transactions, depth 2, cached key): ~5 s each.
"""

from __future__ import annotations

import sqlite3

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT
from l1.evm import EvmChain
from prover import metrics
from prover.jobs import open_store
from prover.service.core import ProverCore
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.l1_link import L1Divergence, L1Loop
from prover.service.rollup_adapter import RollupAdapter
from prover.service.server import ProverServer
from tests.l1node.operator_harness import Operator, addr, deploy, l1_deposit

pytestmark = pytest.mark.slow


def _copy_store(src, dst) -> None:
    """A consistent copy of a live SQLite store (WAL included), as a backup would take it."""
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)


def _api_replica(op: Operator) -> ProverCore:
    """A second server on ``op``'s store in the API role: L1 requests from the operator's ledger."""
    adapter = RollupAdapter(op.adapter.depth, op.domain.chain_id, rollup_address=op.domain.rollup_address)
    core = ProverCore(open_store(f"sqlite:///{op.store_path}"), adapter, op.registry, requests_from_l1=True)
    core.start()
    return core


def test_an_api_replica_needs_the_operators_rollup_address(tmp_path, capsys):
    from prover.cli import main as zkprover

    rc = zkprover(["serve", "--store", f"sqlite:///{tmp_path}/j.db", "--workers", "0", "--l1-role", "api"])
    assert rc == 2 and "--l1-role=api needs --rollup-address" in capsys.readouterr().err


def _balances(op: Operator, n: int) -> list[tuple[int, int]]:
    return [(op.adapter.account(i).balance, op.adapter.account(i).nonce) for i in range(n)]


def test_operator_rebuilds_a_lost_or_stale_store_from_l1_and_refuses_a_diverged_one(tmp_path):
    chain = EvmChain()
    rollup = deploy(chain)
    alice, bob = chain.accounts[1], chain.accounts[2]
    carol = chain.new_account("carol")
    op = Operator(chain, rollup, tmp_path / "jobs.db")
    l1_deposit(rollup, 0, 1000, alice)  # account 0
    l1_deposit(rollup, 1, 500, bob)  # account 1
    op.link.follow()
    # Another store, started on the same deployment, makes another batch 1 (the deposits alone).
    other = Operator(chain, rollup, tmp_path / "other.db")
    other.link.follow()
    other.core.submit_l1_only()

    op.core.submit("b1", [op.transfer(0, 0, 1, 100, 0, fee=3), op.withdrawal(1, 1, addr(carol), 50, 0)])
    op.prove_all()
    assert op.settle_all() == [1]
    _copy_store(tmp_path / "jobs.db", tmp_path / "behind.db")  # a backup taken after batch 1

    # The other store's batch 1 is not L1's: refused at start, nothing proved or settled.
    with pytest.raises(L1Divergence, match="batch 1: L1's root is"):
        other.restart()
    assert metrics.L1_DIVERGENCE._value.get() == 1

    assert rollup.transact("depositTo", 1, value=70 * UNIT, sender=bob).ok  # top-up of account 1
    assert rollup.transact("requestExit", 0, sender=alice).ok  # alice's own account: pays it all
    op.link.follow()
    op.core.submit("b2", [op.transfer(1, 1, 0, 20, 1)])
    op.prove_all()
    assert op.settle_all() == [2]
    # alice: 1000 - 103 + 3 (fees to account 0) = 900, exited, + 20; bob: 500 + 100 - 50 + 70 - 20
    expected = [(20, 1), (600, 2)]
    assert _balances(op, 2) == expected

    # A batch made but not settled survives a restart on the same store (it chains from L1's root).
    op.core.submit("b3", [op.transfer(1, 1, 0, 5, 2)])
    op.restart()
    assert (op.started.recovered, op.started.unsettled) == (0, 1)

    # The store is lost: an empty one is rebuilt from L1 (genesis + settled batches' public data).
    fresh = Operator(chain, rollup, tmp_path / "fresh.db")
    assert (fresh.started.settled, fresh.started.recovered, fresh.started.unsettled) == (2, 2, 0)
    assert metrics.L1_DIVERGENCE._value.get() == 0
    assert fresh.adapter.state_root() == rollup.call("stateRoot") and _balances(fresh, 2) == expected
    jobs = fresh.store.list(None, 10, 0)
    assert [(j.batch_id, j.state, j.tx_count) for j in jobs] == [
        ("l1-settled-1", "SUCCEEDED", 4),
        ("l1-settled-2", "SUCCEEDED", 3),
    ]
    assert [s.batch_number for s in fresh.core.ledger.settlements()] == [1, 2]
    assert all(s.gas_used > 0 for s in fresh.core.ledger.settlements())
    assert [r.batch_number for r in fresh.core.ledger.all()] == [1, 1, 2, 2]
    fresh.link.follow()
    assert fresh.core.ledger.waiting() == []  # the queue entries L1 consumed are not taken again
    # ... and proves and settles the next batch on it, this one submitted to an API replica
    # (``serve --l1-role=api``: the shared store, no L1 link) and settled by the operator.
    api = _api_replica(fresh)
    api.submit("b3", [fresh.transfer(1, 1, 0, 5, 2)])
    fresh.prove_all()
    assert fresh.settle_all() == [3]
    assert rollup.call("stateRoot") == api.operator.state_root()

    # The backup taken after batch 1 catches up on batches 2 and 3.
    behind = Operator(chain, rollup, tmp_path / "behind.db")
    assert (behind.started.recovered, behind.adapter.state_root()) == (2, rollup.call("stateRoot"))
    assert _balances(behind, 2) == [(25, 1), (595, 3)]

    # While running: a store that stops agreeing with L1 (here its batch 3 rewritten) halts the loop.
    loop = L1Loop(behind.link, behind.core)
    loop.turn()
    with sqlite3.connect(tmp_path / "behind.db") as conn:
        conn.execute("UPDATE jobs SET new_root = '1' WHERE batch_number = 3")
    loop.link.config = type(loop.link.config)(poll_s=0.05)
    loop.start()
    loop._thread.join(30)
    assert not loop._thread.is_alive() and "diverged from L1" in behind.core.halted
    assert metrics.L1_DIVERGENCE._value.get() == 1

    # A store behind L1 whose newest batch is not L1's: refused, left as it was.
    with pytest.raises(L1Divergence, match="went another way"):
        other.restart()
    assert metrics.L1_DIVERGENCE._value.get() == 1
    assert [(j.batch_number, j.state) for j in other.store.list(None, 10, 0)] == [(1, "QUEUED")]
    assert other.store.head().batch_number == 1 and rollup.call("batchNumber") == 3
    # As a server it stays up for its metrics and logs, NOT_SERVING, and changes nothing.
    server = ProverServer(other.core, address="127.0.0.1:0", workers=0, l1_loop=L1Loop(other.link, other.core))
    port = server.start()
    try:
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert health.status == health_pb2.HealthCheckResponse.NOT_SERVING
        stub = pb_grpc.ProverServiceStub(channel)
        with pytest.raises(grpc.RpcError) as err:
            t = other.transfer(0, 0, 1, 1, 0)
            sig = pb.Signature(r8x=str(t.signature[0]), r8y=str(t.signature[1]), s=str(t.signature[2]))
            transfer = pb.Transfer(from_index=0, to_index=1, amount="1", fee="0", nonce=0, signature=sig)
            tx = pb.Transaction(transfer=transfer)
            stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="x", transactions=[tx]), timeout=10)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "diverged from L1" in err.value.details()
        with pytest.raises(grpc.RpcError) as err:
            stub.CancelJob(pb.CancelJobRequest(job_id=other.store.list()[0].job_id), timeout=10)
        assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert server.l1_loop._thread is None and metrics.L1_DIVERGENCE._value.get() == 1
    finally:
        server.stop(1)
    assert other.store.list()[0].state == "QUEUED" and rollup.call("batchNumber") == 3
