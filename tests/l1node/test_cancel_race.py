"""A client's cancel racing the operator's reconcile loop (both revert the cancelled batch and
rebuild its successors): whichever comes first does the revert, the other finds nothing left to
do, and no innocent batch is lost or rebuilt twice. Repeated with the two threads released
together by a barrier (before the fix, the first round already lost the rebuilt batch); then
what is left is proven and settled, so L1 ends on the operator's root.

On the in-process chain; one real batch proof (4 transactions, depth 2): ~5 s.
"""

from __future__ import annotations

import threading

import pytest

from l1.evm import EvmChain
from prover.jobs import FAILED
from tests.l1node.operator_harness import Operator, deploy, l1_deposit

pytestmark = pytest.mark.slow

ROUNDS = 10


def _race(op: Operator, cancel_job: str) -> None:
    """Cancel ``cancel_job`` in one thread while another reconciles until the revert is done."""
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []
    cancelled = threading.Event()

    def cancel() -> None:
        try:
            barrier.wait(5)
            op.core.cancel(cancel_job, "race")
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)
        finally:
            cancelled.set()

    def reconcile() -> None:
        try:
            barrier.wait(5)
            while not cancelled.is_set():
                op.core.reconcile()
            op.core.reconcile()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=cancel), threading.Thread(target=reconcile)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads) and errors == []


def test_cancel_racing_reconcile_reverts_once_and_l1_ends_on_the_operators_root(tmp_path):
    chain = EvmChain()
    rollup = deploy(chain)
    op = Operator(chain, rollup, tmp_path / "jobs.db")
    l1_deposit(rollup, 0, 1000, chain.accounts[1])
    l1_deposit(rollup, 1, 1000, chain.accounts[2])
    op.link.follow()
    assert op.core.submit_l1_only().batch_number == 1
    base_root = op.adapter.state_root()
    for i in range(ROUNDS):
        a, _ = op.core.submit(f"a{i}", [op.transfer(0, 0, 1, 10, 0)])
        b, _ = op.core.submit(f"b{i}", [op.transfer(1, 1, 0, 1, 0)])
        assert (a.batch_number, b.batch_number) == (2, 3)
        _race(op, a.job_id)
        # a's batch is gone, b's transfer was rebuilt once, as batch 2, and nothing else moved
        rebuilt = op.core.get_job(batch_id=f"b{i}")
        assert (rebuilt.batch_number, rebuilt.state) == (2, "QUEUED"), f"round {i}: {rebuilt}"
        assert (
            op.core.get_job(job_id=a.job_id).state == "CANCELLED" and op.core.get_job(job_id=b.job_id).batch_number < 0
        )
        assert op.core.state().batch_number == 2 and op.store.head().root == str(op.adapter.state_root())
        assert [(x.balance, x.nonce) for x in map(op.adapter.account, (0, 1))] == [(1001, 0), (999, 1)]
        assert op.store.list(FAILED) == []
        op.core.cancel(rebuilt.job_id, "next round")  # back to batch 1 (no race here)
        assert op.core.state().batch_number == 1 and op.adapter.state_root() == base_root
    op.prove_all()  # only batch 1 is left: it settles, and L1 ends on the operator's root
    assert op.settle_all() == [1]
    assert rollup.call("stateRoot") == op.adapter.state_root() == base_root
    assert [(x.balance, x.nonce) for x in map(op.adapter.account, (0, 1))] == [(1000, 0), (1000, 0)]
