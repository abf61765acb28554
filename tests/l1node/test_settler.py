"""The settler against anvil: ordering, confirmations, resubmission, fee cap, funds, restarts."""

from __future__ import annotations

import threading
import time

import pytest

from l1.evm import GAS_PRICE, CallReverted, EvmChain
from l1.node import InsufficientFunds
from l1.settler import (
    BatchSettler,
    FeeCapExceeded,
    FeePolicy,
    InProcessSettler,
    SettlementTimeout,
    Settler,
    SettlerError,
)
from prover import metrics
from tests.l1node.anvil import funded

GWEI = 10**9
ROOT = b"\x5a" * 32
GAS = 100_000  # submitBatch takes ~50k; explicit so that pool-dependent estimates play no part


def _settler(node, **kw) -> Settler:
    fees = kw.pop("fees", FeePolicy(max_fee_per_gas=50 * GWEI))
    kw.setdefault("poll_s", 0.02)
    kw.setdefault("timeout_s", 30)
    kw.setdefault("confirmations", 0)
    return Settler(node, node.accounts[0], fees, **kw)


def _events(node, probe, name):
    logs = node.logs(probe.address, from_block=0, to_block=node.block_number)
    return [e for e in probe.decode_logs(logs) if e.name == name]


def _later(seconds: float, action) -> threading.Thread:
    def go():
        time.sleep(seconds)
        action()

    t = threading.Thread(target=go, daemon=True)
    t.start()
    return t


def _metric(name: str, labels: dict | None = None) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_fee_policy_refuses_bad_settings():
    with pytest.raises(ValueError, match="bump_percent must be >= 10"):
        FeePolicy(max_fee_per_gas=GWEI, bump_percent=9)
    with pytest.raises(ValueError, match="max_fee_per_gas must be positive"):
        FeePolicy(max_fee_per_gas=0)
    with pytest.raises(ValueError, match="max_priority_fee_per_gas"):
        FeePolicy(max_fee_per_gas=GWEI, max_priority_fee_per_gas=2 * GWEI)


def test_transactions_land_in_the_order_sent(anvil, node, probe):
    settler = _settler(node)
    anvil.automine(False)
    start = node.nonce(node.accounts[0].address)
    sent = [settler.send(probe.address, probe.encode("submitBatch", n, ROOT), gas=GAS) for n in (1, 2, 3)]
    assert [tx.nonce for tx in sent] == [start, start + 1, start + 2]
    assert probe.call("batchCount") == 0
    anvil.mine()
    receipts = [settler.wait(tx) for tx in sent]
    assert all(int(r["status"], 16) == 1 for r in receipts)  # 2 after 1 after 0: any other order reverts
    assert [e.args["batch"] for e in _events(node, probe, "BatchVerified")] == [1, 2, 3]


def test_settle_records_gas_and_fee(node, probe):
    settler = _settler(node)
    gas_before, fee_before = _metric("zkprover_l1_tx_gas_used_count"), _metric("zkprover_l1_fee_wei_total")
    receipt = settler.settle(probe, "submitBatch", 1, ROOT, batch=1, settled=lambda: probe.call("batchCount"))
    assert receipt is not None and receipt.ok and receipt.event("BatchVerified").args["batch"] == 1
    raw = node.receipt(node.logs(probe.address, from_block=0, to_block=node.block_number)[-1].tx_hash)
    paid = int(raw["gasUsed"], 16) * int(raw["effectiveGasPrice"], 16)
    assert receipt.gas_used == int(raw["gasUsed"], 16)
    assert _metric("zkprover_l1_tx_gas_used_count") == gas_before + 1
    assert _metric("zkprover_l1_fee_wei_total") == fee_before + paid > fee_before
    assert _metric("zkprover_l1_settled_batch") == 1


def test_waits_for_confirmations(anvil, node, probe):
    settler = _settler(node, confirmations=3)
    tx = settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS)  # automine: in a block now
    miner = _later(0.3, lambda: anvil.mine(3))
    receipt = settler.wait(tx)
    miner.join()
    assert node.block_number - int(receipt["blockNumber"], 16) >= 3

    lazy = _settler(node, confirmations=2, timeout_s=0.5)
    tx = lazy.send(probe.address, probe.encode("submitBatch", 2, ROOT), gas=GAS)
    with pytest.raises(SettlementTimeout, match=r"not mined and confirmed within 0\.5 s"):
        lazy.wait(tx)  # nobody mines the 2 blocks on top


def test_dropped_transaction_is_resent_with_bumped_fees_and_mines_once(anvil, node, probe):
    settler = _settler(node)
    resent_before = _metric("zkprover_l1_transactions_total", {"outcome": "resent"})
    anvil.automine(False)
    tx = settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS)
    first_fees = (tx.max_fee, tx.priority_fee)
    anvil.drop(tx.hashes[0])
    assert node.transaction(tx.hashes[0]) is None
    anvil.automine(True)
    receipt = settler.wait(tx)
    assert len(tx.hashes) == 2 and bytes.fromhex(receipt["transactionHash"][2:]) == tx.hashes[1]
    assert tx.max_fee * 100 >= first_fees[0] * 110 and tx.priority_fee * 100 >= first_fees[1] * 110
    assert len(_events(node, probe, "BatchVerified")) == 1
    assert _metric("zkprover_l1_transactions_total", {"outcome": "resent"}) == resent_before + 1


def test_stuck_transaction_is_replaced_and_only_the_replacement_mines(anvil, node, probe):
    settler = _settler(node, resend_after_s=0.3)
    anvil.automine(False)
    tx = settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS)
    first_fees = (tx.max_fee, tx.priority_fee)
    _later(1.0, anvil.mine)
    receipt = settler.wait(tx)
    assert len(tx.hashes) >= 2  # the node took the replacement
    assert tx.max_fee * 100 >= first_fees[0] * 110 and tx.priority_fee * 100 >= first_fees[1] * 110
    assert bytes.fromhex(receipt["transactionHash"][2:]) == tx.hashes[-1]
    assert node.transaction(tx.hashes[0]) is None  # the original is gone from the pool and the chain
    assert len(_events(node, probe, "BatchVerified")) == 1


def test_base_fee_above_the_cap_is_refused_before_sending(anvil, node, probe):
    anvil.set_next_base_fee(100 * GWEI)
    anvil.mine()
    settler = _settler(node, fees=FeePolicy(max_fee_per_gas=10 * GWEI))
    nonce = node.nonce(node.accounts[0].address)
    with pytest.raises(FeeCapExceeded, match=r"base fee 100000000000 wei/gas is above the configured fee cap") as err:
        settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS)
    assert err.value.base_fee == 100 * GWEI and err.value.cap == 10 * GWEI
    assert node.nonce(node.accounts[0].address) == nonce


def test_max_fee_never_exceeds_the_cap(anvil, node, probe):
    anvil.set_next_base_fee(10 * GWEI)
    anvil.mine()  # base fee 10 gwei: a wallet would offer 2 x 10 + tip; the cap holds it at 12
    settler = _settler(node, fees=FeePolicy(max_fee_per_gas=12 * GWEI))
    tx = settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS)
    assert tx.max_fee == 12 * GWEI and tx.priority_fee <= 2 * GWEI
    assert int(settler.wait(tx)["status"], 16) == 1


def test_an_account_that_cannot_pay_gets_a_typed_error(anvil, node, probe):
    poor = funded(anvil, node, "l1node-poor", wei=1000)
    settler = Settler(node, poor, FeePolicy(max_fee_per_gas=50 * GWEI), poll_s=0.02)
    with pytest.raises(InsufficientFunds, match=f"0x{poor.address.hex()} cannot pay: balance 1000 wei") as err:
        settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS)
    assert err.value.needed is not None and err.value.needed > 1000
    assert node.nonce(poor.address) == 0 and anvil.pool()["pending"] == {}
    # The node's own refusal (no pre-check) maps to the same error.
    raw, _ = node.sign(
        poor, nonce=0, to=probe.address, data=b"", value=0, gas=GAS, max_fee=50 * GWEI, priority_fee=GWEI
    )
    with pytest.raises(InsufficientFunds, match="cannot pay"):
        node.send_raw(raw, poor)


def test_a_call_that_would_revert_is_not_sent(node, probe):
    settler = _settler(node)
    nonce = node.nonce(node.accounts[0].address)
    with pytest.raises(CallReverted, match=r"OutOfOrder\(1, 5\)"):
        settler.transact(probe, "submitBatch", 5, ROOT)
    assert node.nonce(node.accounts[0].address) == nonce


def test_settle_is_idempotent_across_restarts(anvil, node, probe):
    def settled():
        return probe.call("batchCount")

    assert _settler(node).settle(probe, "submitBatch", 1, ROOT, batch=1, settled=settled).ok
    nonce = node.nonce(node.accounts[0].address)
    # A new process (a restart) asked to settle batch 1 again sends nothing.
    assert _settler(node).settle(probe, "submitBatch", 1, ROOT, batch=1, settled=settled) is None
    assert node.nonce(node.accounts[0].address) == nonce

    # Batch 2 sent, then the process dies before the receipt: the restarted settler waits for
    # the transaction in flight, sees batch 2 settled, and does not send it again.
    anvil.automine(False)
    _settler(node).send(probe.address, probe.encode("submitBatch", 2, ROOT), gas=GAS)
    _later(0.5, anvil.mine)
    assert _settler(node).settle(probe, "submitBatch", 2, ROOT, batch=2, settled=settled) is None
    assert settled() == 2 and node.nonce(node.accounts[0].address, "latest") == nonce + 1
    assert [e.args["batch"] for e in _events(node, probe, "BatchVerified")] == [1, 2]


def test_nonce_taken_by_another_sender_is_reported(anvil, node, probe):
    settler = _settler(node)
    anvil.automine(False)
    tx = settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS)
    anvil.drop(tx.hashes[0])
    anvil.automine(True)
    node.send(probe.address, probe.encode("submitBatch", 1, ROOT))  # same key, same nonce, not the settler
    with pytest.raises(SettlerError, match=f"nonce {tx.nonce} .* was used by a transaction the settler did not send"):
        settler.wait(tx)


def test_picks_up_nonces_used_outside_the_settler(node, probe):
    settler = _settler(node)
    settler.wait(settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS))
    node.send(probe.address, probe.encode("submitBatch", 2, ROOT))  # same key, outside the settler
    tx = settler.send(probe.address, probe.encode("submitBatch", 3, ROOT), gas=GAS)
    assert int(settler.wait(tx)["status"], 16) == 1 and probe.call("batchCount") == 3


def test_waiting_survives_a_node_restart(anvil, node, probe):
    settler = _settler(node, confirmations=2)
    tx = settler.send(probe.address, probe.encode("submitBatch", 1, ROOT), gas=GAS)
    # Automine answers before the block is sealed; under load a stop can come first and lose the
    # transaction with the pool (a different story: a dropped one, tested above). Wait for it.
    deadline = time.monotonic() + 10
    while node.receipt(tx.hashes[-1]) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert node.receipt(tx.hashes[-1]) is not None
    anvil.stop()  # SIGTERM: the chain, with the transaction, is written to the state file

    def come_back():
        anvil.start()
        anvil.mine(2)

    helper = _later(0.5, come_back)
    receipt = settler.wait(tx)  # node away for a while: keeps looking instead of failing
    helper.join()
    assert bytes.fromhex(receipt["transactionHash"][2:]) == tx.hashes[0] and probe.call("batchCount") == 1


def test_the_in_process_settler_keeps_the_same_rules(probe_artifact, node):
    chain = EvmChain()
    probe, _ = chain.deploy(probe_artifact, 10**15)
    settler = InProcessSettler()
    assert isinstance(settler, BatchSettler) and isinstance(_settler(node), BatchSettler)

    def settled():
        return probe.call("batchCount")

    fees_before = _metric("zkprover_l1_fee_wei_total")
    receipt = settler.settle(probe, "submitBatch", 1, ROOT, batch=1, settled=settled)
    assert receipt is not None and receipt.ok
    assert _metric("zkprover_l1_fee_wei_total") == fees_before + receipt.gas_used * GAS_PRICE
    block = chain.block_number
    assert settler.settle(probe, "submitBatch", 1, ROOT, batch=1, settled=settled) is None
    with pytest.raises(CallReverted, match=r"OutOfOrder\(2, 3\)"):
        settler.settle(probe, "submitBatch", 3, ROOT, batch=3, settled=settled)
    assert chain.block_number == block  # neither the settled batch nor the refused one was sent
