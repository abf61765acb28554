"""The event watcher against anvil: confirmation depth, reorgs, restarts, a node that goes away."""

from __future__ import annotations

import threading
import time

import pytest

from l1.node import NodeUnavailable
from l1.watcher import (
    Backoff,
    EventWatcher,
    FileCursorStore,
    MemoryCursorStore,
    ReorgBeyondConfirmations,
    WatcherError,
)
from prover import metrics

AMOUNT = 10**15  # Probe's minimum deposit


class Recorder:
    """Collects what a watcher hands out."""

    def __init__(self) -> None:
        self.delivered: list = []
        self.pending: list = []
        self.retracted: list = []

    def deliver(self, event) -> None:
        self.delivered.append(event)

    def amounts(self, which: str = "delivered") -> list[int]:
        return [e.args["amount"] for e in getattr(self, which)]


def _watcher(node, probe, rec: Recorder, store=None, **kw) -> EventWatcher:
    return EventWatcher.for_contract(
        node,
        probe,
        store or MemoryCursorStore(),
        events=kw.pop("events", ["Deposited"]),
        confirmations=kw.pop("confirmations", 2),
        on_pending=rec.pending.append,
        on_retract=rec.retracted.append,
        **kw,
    )


def _deposit(node, probe, amount: int, sender: int = 1):
    receipt = probe.transact("deposit", sender=node.accounts[sender], value=amount)
    assert receipt.ok
    return receipt


def _signed_deposit(node, probe, amount: int) -> tuple[bytes, bytes]:
    """A deposit signed with the next pending nonce but not sent: (raw, hash)."""
    sender = node.accounts[1]
    return node.sign(
        sender,
        nonce=node.nonce(sender.address),
        to=probe.address,
        data=probe.encode("deposit"),
        value=amount,
        gas=100_000,
        max_fee=10**10,
        priority_fee=10**9,
    )


def test_events_wait_for_the_confirmation_depth(anvil, node, probe):
    rec = Recorder()
    watcher = _watcher(node, probe, rec, confirmations=2)
    block = _deposit(node, probe, AMOUNT).block_number
    assert watcher.poll(rec.deliver) == 0 and rec.amounts("pending") == [AMOUNT]
    anvil.mine()
    assert watcher.poll(rec.deliver) == 0  # 1 block on top of it: not yet
    anvil.mine()
    assert watcher.poll(rec.deliver) == 1  # 2 blocks on top
    event = rec.delivered[0]
    assert (event.name, event.args["index"], event.block_number) == ("Deposited", 0, block)
    assert watcher.poll(rec.deliver) == 0 and len(rec.delivered) == 1  # never twice
    assert watcher.store.load().block_number == node.block_number - 2
    assert watcher.pending == []


def test_only_the_named_events_are_followed(anvil, node, probe):
    rec = Recorder()
    watcher = _watcher(node, probe, rec, events=["BatchVerified"], confirmations=0)
    _deposit(node, probe, AMOUNT)
    probe.transact("submitBatch", 1, b"\x01" * 32)
    watcher.poll(rec.deliver)
    assert [(e.name, e.args["batch"]) for e in rec.delivered] == [("BatchVerified", 1)]
    with pytest.raises(ValueError, match=r"Probe has no event ExitRequested"):
        _watcher(node, probe, rec, events=["ExitRequested"])
    with pytest.raises(ValueError, match="confirmations must be >= 0"):
        _watcher(node, probe, rec, confirmations=-1)


def test_reorg_within_the_depth_retracts_the_orphaned_event(anvil, node, probe):
    rec = Recorder()
    watcher = _watcher(node, probe, rec, confirmations=3)
    reorgs = metrics.REGISTRY.get_sample_value("zkprover_l1_reorgs_total") or 0
    fork = anvil.snapshot()
    _deposit(node, probe, 2 * AMOUNT)  # orphaned below
    anvil.mine()
    watcher.poll(rec.deliver)
    assert rec.amounts("pending") == [2 * AMOUNT] and rec.delivered == []

    anvil.revert(fork)  # the other branch: a different deposit, and a longer chain
    _deposit(node, probe, 3 * AMOUNT, sender=2)
    anvil.mine(2)
    watcher.poll(rec.deliver)
    assert rec.amounts("retracted") == [2 * AMOUNT]
    assert [e.args["amount"] for e in watcher.pending] == [3 * AMOUNT]
    assert metrics.REGISTRY.get_sample_value("zkprover_l1_reorgs_total") == reorgs + 1

    anvil.mine(3)
    watcher.poll(rec.deliver)
    assert rec.amounts() == [3 * AMOUNT]  # the orphaned deposit was never delivered


def test_a_transaction_reincluded_after_a_reorg_is_delivered_once(anvil, node, probe):
    rec = Recorder()
    watcher = _watcher(node, probe, rec, confirmations=3)
    raw, tx_hash = _signed_deposit(node, probe, AMOUNT)
    fork = anvil.snapshot()
    node.send_raw(raw)
    anvil.mine()
    watcher.poll(rec.deliver)
    first_block = rec.pending[0].block_hash

    anvil.revert(fork)
    anvil.mine()  # an empty block where the deposit was: the deposit lands one block later
    node.send_raw(raw)
    anvil.mine(4)
    watcher.poll(rec.deliver)
    anvil.mine(2)
    watcher.poll(rec.deliver)
    assert len(rec.delivered) == 1 and rec.delivered[0].tx_hash == tx_hash
    assert rec.delivered[0].block_hash != first_block and len(rec.retracted) == 1
    assert probe.call("depositCount") == 1


def test_a_reorg_deeper_than_the_depth_is_reported(anvil, node, probe):
    rec = Recorder()
    watcher = _watcher(node, probe, rec, confirmations=1)
    fork = anvil.snapshot()
    _deposit(node, probe, AMOUNT)
    anvil.mine(2)
    assert watcher.poll(rec.deliver) == 1
    anvil.revert(fork)
    anvil.mine(5)
    with pytest.raises(ReorgBeyondConfirmations, match="diverged deeper than 1 confirmations"):
        watcher.poll(rec.deliver)


def test_a_restarted_watcher_resumes_from_its_saved_cursor(anvil, node, probe, tmp_path):
    store = FileCursorStore(tmp_path / "cursor.json")
    rec = Recorder()
    _deposit(node, probe, AMOUNT)
    _deposit(node, probe, 2 * AMOUNT)
    anvil.mine(2)
    _watcher(node, probe, rec, store).poll(rec.deliver)
    _deposit(node, probe, 3 * AMOUNT)
    anvil.mine(2)
    rec2 = Recorder()
    _watcher(node, probe, rec2, FileCursorStore(tmp_path / "cursor.json")).poll(rec2.deliver)
    assert rec.amounts() == [AMOUNT, 2 * AMOUNT] and rec2.amounts() == [3 * AMOUNT]


def test_a_crash_inside_a_block_redelivers_nothing_and_loses_nothing(anvil, node, probe, tmp_path):
    anvil.automine(False)
    for amount in (AMOUNT, 2 * AMOUNT, 3 * AMOUNT):
        node.send_raw(_signed_deposit(node, probe, amount)[0])
    anvil.mine(3)  # all three deposits in one block
    rec = Recorder()

    def crash_after_first(event):
        if rec.delivered:
            raise RuntimeError("operator crashed")
        rec.deliver(event)

    path = tmp_path / "cursor.json"
    with pytest.raises(RuntimeError, match="operator crashed"):
        _watcher(node, probe, rec, FileCursorStore(path)).poll(crash_after_first)
    assert FileCursorStore(path).load().log_index is not None  # stopped inside the block
    _watcher(node, probe, rec, FileCursorStore(path)).poll(rec.deliver)
    assert rec.amounts() == [AMOUNT, 2 * AMOUNT, 3 * AMOUNT]


def test_catch_up_over_many_blocks_in_chunks(anvil, node, probe):
    for i in range(1, 6):
        _deposit(node, probe, i * AMOUNT)
        anvil.mine(7)
    rec = Recorder()
    watcher = _watcher(node, probe, rec, confirmations=2, max_range=4)
    assert watcher.poll(rec.deliver) == 5
    assert rec.amounts() == [i * AMOUNT for i in range(1, 6)]
    assert [e.args["index"] for e in rec.delivered] == [0, 1, 2, 3, 4]
    with pytest.raises(WatcherError, match="start block 100000 is beyond the node's head"):
        _watcher(node, probe, Recorder(), start_block=100_000).poll(rec.deliver)


def test_start_block_skips_what_came_before(anvil, node, probe):
    _deposit(node, probe, AMOUNT)
    start = node.block_number + 1
    _deposit(node, probe, 2 * AMOUNT)
    anvil.mine(2)
    rec = Recorder()
    _watcher(node, probe, rec, start_block=start).poll(rec.deliver)
    assert rec.amounts() == [2 * AMOUNT]


def test_the_watcher_rides_out_a_node_restart(anvil, node, probe):
    rec = Recorder()
    watcher = _watcher(node, probe, rec, confirmations=1)
    stop = threading.Event()
    loop = threading.Thread(
        target=watcher.run, args=(rec.deliver, stop), kwargs={"interval_s": 0.05, "backoff": Backoff(0.05, 0.2)}
    )
    loop.start()
    try:
        _deposit(node, probe, AMOUNT)
        anvil.mine()
        _until(lambda: rec.amounts() == [AMOUNT])

        anvil.stop()  # SIGTERM: anvil writes its chain to the state file
        with pytest.raises(NodeUnavailable):
            watcher.poll(rec.deliver)
        time.sleep(0.3)  # the loop keeps retrying meanwhile
        anvil.start()  # same port, same chain
        _deposit(node, probe, 2 * AMOUNT)
        anvil.mine()
        _until(lambda: rec.amounts() == [AMOUNT, 2 * AMOUNT])
    finally:
        stop.set()
        loop.join(timeout=10)
    assert not loop.is_alive()


def test_the_loop_gives_up_after_the_configured_failures(anvil, node, probe):
    watcher = _watcher(node, probe, Recorder())
    anvil.kill()
    with pytest.raises(NodeUnavailable):
        watcher.run(Recorder().deliver, threading.Event(), backoff=Backoff(0.01, 0.02, max_failures=3))


def test_a_node_that_lost_its_chain_is_reported(anvil, node, probe):
    rec = Recorder()
    watcher = _watcher(node, probe, rec, confirmations=0)
    _deposit(node, probe, AMOUNT)
    anvil.mine(3)
    watcher.poll(rec.deliver)
    anvil.kill()  # no state written: the node comes back as a fresh chain
    anvil.state.unlink(missing_ok=True)
    anvil.start()
    anvil.mine(10)
    with pytest.raises(ReorgBeyondConfirmations, match="or the node lost its chain"):
        watcher.poll(rec.deliver)


def _until(condition, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
