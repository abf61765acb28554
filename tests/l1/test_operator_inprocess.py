"""The operator on the embedded in-process EVM: L1 deposits -> batch -> proof -> settled -> paid."""

from __future__ import annotations

import pytest

from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT
from l1.evm import EvmChain
from prover.service.errors import InvalidArgument
from prover.service.rollup_api import TxRequest
from tests.l1node.operator_harness import PUBS, Operator, addr, deploy, l1_deposit

pytestmark = pytest.mark.slow


def test_in_process_operator_takes_deposits_from_l1_and_settles(tmp_path):
    chain = EvmChain(n_accounts=4)
    rollup = deploy(chain)
    op = Operator(chain, rollup, tmp_path / "jobs.db")
    alice, bob = chain.accounts[1], chain.accounts[2]
    carol = chain.new_account("carol")
    l1_deposit(rollup, 0, 1000, alice)
    l1_deposit(rollup, 1, 500, bob)
    assert op.link.follow() == 2 and op.link.follow() == 0  # recorded once
    # a client cannot make a deposit; it can spend what L1 deposited
    with pytest.raises(InvalidArgument, match="deposit is made on L1"):
        op.core.submit(
            "fake",
            [TxRequest(kind="deposit", from_index=None, amount=2**40 - 1, pubkey=(PUBS[2].x, PUBS[2].y), l1_address=1)],
        )
    job, _ = op.core.submit("b1", [op.transfer(0, 0, 1, 100, 0), op.withdrawal(1, 1, addr(carol), 250, 0)])
    assert job.tx_count == 4 and job.batch_number == 1
    assert op.core.ledger.waiting() == []
    op.prove_all()
    assert op.settle_all() == [1]
    assert rollup.call("batchNumber") == 1 and op.link.settle_next() is None
    assert rollup.transact("withdraw", carol.address).ok
    assert chain.balance(carol.address) == 250 * UNIT
    s = op.core.ledger.settlements()
    assert [x.batch_number for x in s] == [1] and s[0].gas_used > 0 and s[0].tx_count == 4
