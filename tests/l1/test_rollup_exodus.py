"""Exodus mode and the delayed role changes of the Rollup contract, in py-evm.

The exodus story runs on one deployment (module fixture): two accounts settle in batch 1, a
forced exit the operator includes and a transfer settle in batch 2, then a forced exit the
operator ignores passes its deadline and anyone activates exodus. Every account then withdraws
its exact balance in the last settled state with a Merkle proof checked on chain, built here by
hand (circuits.native.merkle.SparseMerkleTree over leaves Poseidon(Ax, Ay, balance + 2^64 nonce,
owner)); unconsumed deposits are refunded once. A stand-in circuit proves the two batches
(two pairings); nothing else here needs one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from l1.calldata import exodus_withdraw_args
from l1.evm import Account as L1Account
from prover.field.bn254 import FR_MODULUS
from prover.groth16.keys import Proof
from tests.l1.rollup_helpers import (
    DELAY,
    DEPOSIT,
    DEPTH,
    FORCED_EXIT,
    SETTLEMENT,
    TRANSFER,
    UNIT,
    WINDOW,
    Account,
    World,
    address_int,
    bjj_key,
    blob,
    make_world,
    record,
    tree_of,
)

KEYS = [bjj_key(s) for s in (3, 5, 9)]


def _address(event_value: str) -> bytes:
    return bytes.fromhex(event_value.removeprefix("0x"))


@dataclass
class Story:
    world: World
    alice: L1Account
    bob: L1Account
    dave: L1Account
    roots: list[int]  # settled roots: genesis, batch 1, batch 2
    states: list[dict[int, Account]]  # account states after batch 1 and batch 2
    queued: dict[str, int]  # queue index of the entries left unconsumed


@pytest.fixture(scope="module")
def story(standin) -> Story:
    world = make_world(standin)
    rollup, chain = world.rollup, world.chain
    alice, bob, dave = chain.accounts[1], chain.accounts[2], chain.accounts[3]
    genesis = rollup.call("stateRoot")
    for key, who, amount in ((KEYS[0], alice, 100), (KEYS[1], bob, 50)):
        assert rollup.transact("deposit", *key, sender=who, value=amount * UNIT).ok

    # batch 1: both accounts created, alice pays bob 10
    state1 = {0: Account(KEYS[0], 90, 1, alice.address), 1: Account(KEYS[1], 60, 0, bob.address)}
    entries = [(*KEYS[0], address_int(alice.address)), (*KEYS[1], address_int(bob.address))]
    records = [record(DEPOSIT, 0, 0, 100), record(DEPOSIT, 1, 0, 50), record(TRANSFER, 0, 1, 10)]
    root1 = tree_of(state1).root
    receipt = world.submit(root1, blob(entries, records))
    assert receipt.ok, receipt.error

    # batch 2: bob's forced exit (included: 60 credited to bob), alice pays bob 5
    assert rollup.transact("requestExit", 1, sender=bob).ok
    state2 = {0: Account(KEYS[0], 85, 2, alice.address), 1: Account(KEYS[1], 5, 0, bob.address)}
    records = [record(FORCED_EXIT, 1, 0, 60), record(TRANSFER, 0, 1, 5)]
    root2 = tree_of(state2).root
    receipt = world.submit(root2, blob([(0, 0, address_int(bob.address))], records))
    assert receipt.ok, receipt.error
    assert rollup.call("withdrawable", bob.address) == 60 * UNIT

    # left in the queue: alice's forced exit (the operator ignores it), then two deposits
    queued = {}
    receipt = rollup.transact("requestExit", 0, sender=alice)
    queued["exit"] = receipt.event("ExitRequested").args["queueIndex"]
    receipt = rollup.transact("deposit", *KEYS[2], sender=dave, value=30 * UNIT)
    queued["new"] = receipt.event("Deposited").args["queueIndex"]
    receipt = rollup.transact("depositTo", 1, sender=alice, value=4 * UNIT)
    queued["top-up"] = receipt.event("Deposited").args["queueIndex"]
    return Story(world, alice, bob, dave, [genesis, root1, root2], [state1, state2], queued)


def _withdraw_args(story: Story, index: int, state: dict[int, Account], **override):
    acct = state[index]
    tree = tree_of(state)
    fields = {"ax": acct.key[0], "ay": acct.key[1], "balance": acct.balance, "nonce": acct.nonce, "owner": acct.owner}
    fields.update(override)
    f = fields
    return exodus_withdraw_args(index, f["ax"], f["ay"], f["balance"], f["nonce"], f["owner"], tree.path(index))


def test_nothing_before_exodus_is_due(story):
    rollup = story.world.rollup
    deadline = rollup.call("queue", story.queued["exit"])[2]
    receipt = rollup.transact("activateExodus")
    assert not receipt.ok and "ExodusNotDue" in receipt.error
    receipt = rollup.transact("exodusWithdraw", *_withdraw_args(story, 0, story.states[1]))
    assert not receipt.ok and "NotInExodus" in receipt.error
    receipt = rollup.transact("refundDeposit", story.queued["new"])
    assert not receipt.ok and "NotInExodus" in receipt.error
    # the deadline block itself is still in time: the head is overdue from deadline + 1
    story.world.chain.mine(deadline - 1 - story.world.chain.block_number)
    receipt = rollup.transact("activateExodus")
    assert receipt.block_number == deadline and not receipt.ok and "ExodusNotDue" in receipt.error
    assert rollup.call("exodusActive") is False


def test_ignored_forced_exit_activates_exodus(story):
    rollup, chain = story.world.rollup, story.world.chain
    receipt = rollup.transact("activateExodus", sender=story.dave)  # anyone
    assert receipt.ok, receipt.error
    assert receipt.event("ExodusActivated").args == {
        "lastBatch": 2,
        "stateRoot": story.roots[2],
        "queueDeadlineMissed": True,
    }
    assert rollup.call("exodusActive") is True
    again = rollup.transact("activateExodus")
    assert not again.ok and "ExodusActive" in again.error
    # everything that would change the L2 state stops
    for fn, args, value in (
        ("deposit", KEYS[2], UNIT),
        ("depositTo", (0,), UNIT),
        ("requestExit", (0,), 0),
    ):
        receipt = rollup.transact(fn, *args, sender=story.alice, value=value)
        assert not receipt.ok and "ExodusActive" in receipt.error, fn
    data = blob([], [record(TRANSFER, 0, 1, 1)])
    receipt = story.world.submit(0x1234, data, proof=Proof(None, None, None))
    assert not receipt.ok and "ExodusActive" in receipt.error
    assert chain.balance(rollup.address) == (100 + 50 + 30 + 4) * UNIT


def test_exodus_withdraw_refuses_bad_proofs(story):
    rollup = story.world.rollup
    assert rollup.call("exodusActive"), "runs after the activation test"
    last = story.states[1]

    def refused(args, error: str) -> None:
        receipt = rollup.transact("exodusWithdraw", *args)
        assert not receipt.ok and error in receipt.error, (error, receipt.error)

    # bob's account as it was after batch 1 (balance 60): right for the older root only
    older = _withdraw_args(story, 1, story.states[0])
    refused(older, "BadMerkleProof")
    good = _withdraw_args(story, 1, last)
    siblings = list(good[6])
    siblings[4] ^= 1  # a sibling at level 1
    refused((*good[:6], siblings), "BadMerkleProof")
    refused(_withdraw_args(story, 1, last, balance=6), "BadMerkleProof")
    refused(_withdraw_args(story, 1, last, nonce=1), "BadMerkleProof")
    refused(_withdraw_args(story, 1, last, owner=story.dave.address), "BadMerkleProof")  # paid to another
    refused(_withdraw_args(story, 0, last)[:1] + good[1:], "BadMerkleProof")  # bob's leaf at index 0
    refused((*good[:6], siblings[:-3]), f"WrongPathLength({3 * DEPTH - 3}, {3 * DEPTH})")
    refused(_withdraw_args(story, 1, last, balance=1 << 64), "BadAccount")
    refused(_withdraw_args(story, 1, last, nonce=1 << 32), "BadAccount")
    refused((16, *good[1:]), "UnknownAccount(16)")
    refused((*good[:6], [FR_MODULUS, *siblings[1:]]), "NotAFieldElement")
    assert rollup.call("withdrawable", story.bob.address) == 60 * UNIT


def test_exodus_withdraw_pays_exact_balances_once(story):
    rollup, chain = story.world.rollup, story.world.chain
    last = story.states[1]
    for index, who, prior in ((0, story.alice, 0), (1, story.bob, 60)):
        receipt = rollup.transact("exodusWithdraw", *_withdraw_args(story, index, last), sender=story.dave)
        assert receipt.ok, receipt.error
        print(f"exodusWithdraw at depth {DEPTH}: {receipt.gas_used} gas")
        args = receipt.event("ExodusWithdrawal").args
        assert (args["accountIndex"], _address(args["owner"]), args["amountWei"]) == (
            index,
            who.address,
            last[index].balance * UNIT,
        )
        assert rollup.call("exited", index) is True
        assert rollup.call("withdrawable", who.address) == (prior + last[index].balance) * UNIT
        again = rollup.transact("exodusWithdraw", *_withdraw_args(story, index, last))
        assert not again.ok and f"AlreadyExited({index})" in again.error
    assert rollup.call("exited", 2) is False
    before = chain.balance(story.alice.address)
    paid = rollup.transact("withdraw", story.alice.address, sender=story.dave)
    assert paid.ok and chain.balance(story.alice.address) - before == 85 * UNIT


def test_unconsumed_deposits_refunded_once(story):
    rollup = story.world.rollup
    new, top_up, exit_ = story.queued["new"], story.queued["top-up"], story.queued["exit"]
    for queue_index, who, amount in ((new, story.dave, 30), (top_up, story.alice, 4)):
        before = rollup.call("withdrawable", who.address)
        receipt = rollup.transact("refundDeposit", queue_index, sender=story.bob)  # anyone
        assert receipt.ok, receipt.error
        args = receipt.event("DepositRefunded").args
        assert (args["queueIndex"], _address(args["depositor"]), args["amountWei"]) == (
            queue_index,
            who.address,
            amount * UNIT,
        )
        assert rollup.call("withdrawable", who.address) - before == amount * UNIT
        again = rollup.transact("refundDeposit", queue_index)
        assert not again.ok and f"NotRefundable({queue_index})" in again.error
    for queue_index in (0, 1, exit_, exit_ + 10):  # consumed deposits, a forced exit, no entry
        receipt = rollup.transact("refundDeposit", queue_index)
        assert not receipt.ok and f"NotRefundable({queue_index})" in receipt.error

    # every wei deposited is paid out exactly once: the contract ends empty
    for who in (story.alice, story.bob, story.dave):
        if rollup.call("withdrawable", who.address):
            assert rollup.transact("withdraw", who.address).ok
    assert story.world.chain.balance(rollup.address) == 0


# --- exodus by settlement timeout ----------------------------------------------------------------
def test_settlement_timeout_activates_exodus(standin):
    world = make_world(standin)
    rollup, chain = world.rollup, world.chain
    last = rollup.call("lastSettledBlock")
    chain.mine(last + SETTLEMENT - 1 - chain.block_number)
    receipt = rollup.transact("activateExodus")
    assert receipt.block_number == last + SETTLEMENT and "ExodusNotDue" in receipt.error
    receipt = rollup.transact("activateExodus")
    assert receipt.ok, receipt.error
    assert receipt.event("ExodusActivated").args["queueDeadlineMissed"] is False


def test_settled_batch_restarts_the_settlement_clock(standin):
    world = make_world(standin)
    rollup, chain = world.rollup, world.chain
    chain.mine(SETTLEMENT - 5)
    receipt = world.submit(0x77, blob([], [record(TRANSFER, 0, 1, 1)]))
    assert receipt.ok, receipt.error
    assert rollup.call("lastSettledBlock") == receipt.block_number
    chain.mine(10)  # past the deployment's window, within the batch's
    receipt = rollup.transact("activateExodus")
    assert not receipt.ok and "ExodusNotDue" in receipt.error


# --- roles ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def roles(standin) -> World:
    return make_world(standin)


def _is_operator_check_passed(world: World, sender: L1Account) -> bool:
    """submitBatch with an empty blob: NotOperator, or past that check to BadPublicData."""
    receipt = world.submit(1, b"", proof=Proof(None, None, None), sender=sender)
    assert not receipt.ok
    assert "NotOperator" in receipt.error or "BadPublicData" in receipt.error, receipt.error
    return "BadPublicData" in receipt.error


def test_operator_added_only_after_the_delay(roles):
    rollup, chain = roles.rollup, roles.chain
    admin, newcomer, stranger = chain.accounts[0], chain.accounts[1], chain.accounts[2]
    assert not _is_operator_check_passed(roles, newcomer)
    receipt = rollup.transact("proposeOperator", newcomer.address, True, sender=stranger)
    assert not receipt.ok and "NotAdmin" in receipt.error
    receipt = rollup.transact("proposeOperator", newcomer.address, True, sender=admin)
    eta = receipt.event("OperatorChangeProposed").args["eta"]
    assert eta == receipt.block_number + DELAY and DELAY > WINDOW
    receipt = rollup.transact("executeOperatorChange", newcomer.address)
    assert not receipt.ok and f"ChangeNotReady({eta})" in receipt.error
    chain.mine(eta - 2 - chain.block_number)
    receipt = rollup.transact("executeOperatorChange", newcomer.address)
    assert receipt.block_number == eta - 1 and "ChangeNotReady" in receipt.error
    assert not _is_operator_check_passed(roles, newcomer)  # mined at eta: still not applied
    receipt = rollup.transact("executeOperatorChange", newcomer.address, sender=stranger)  # anyone
    assert receipt.ok, receipt.error
    args = receipt.event("OperatorChanged").args
    assert (_address(args["operator"]), args["active"]) == (newcomer.address, True)
    assert _is_operator_check_passed(roles, newcomer)
    again = rollup.transact("executeOperatorChange", newcomer.address)
    assert not again.ok and "NoPendingChange" in again.error


def test_operator_change_cancelled(roles):
    rollup, chain = roles.rollup, roles.chain
    admin, newcomer = chain.accounts[0], chain.accounts[1]
    assert rollup.transact("proposeOperator", newcomer.address, False, sender=admin).ok
    receipt = rollup.transact("cancelOperatorChange", newcomer.address, sender=newcomer)
    assert not receipt.ok and "NotAdmin" in receipt.error
    receipt = rollup.transact("cancelOperatorChange", newcomer.address, sender=admin)
    assert receipt.ok and _address(receipt.event("OperatorChangeCancelled").args["operator"]) == newcomer.address
    chain.mine(DELAY + 1)
    receipt = rollup.transact("executeOperatorChange", newcomer.address)
    assert not receipt.ok and "NoPendingChange" in receipt.error
    assert _is_operator_check_passed(roles, newcomer)
    receipt = rollup.transact("cancelOperatorChange", newcomer.address, sender=admin)
    assert not receipt.ok and "NoPendingChange" in receipt.error
    receipt = rollup.transact("proposeOperator", bytes(20), True, sender=admin)
    assert not receipt.ok and "ZeroAddress" in receipt.error


def test_operator_removed_after_the_delay(roles):
    rollup, chain = roles.rollup, roles.chain
    admin, newcomer = chain.accounts[0], chain.accounts[1]
    assert rollup.transact("proposeOperator", newcomer.address, False, sender=admin).ok
    chain.mine(DELAY)
    receipt = rollup.transact("executeOperatorChange", newcomer.address)
    assert receipt.ok and receipt.event("OperatorChanged").args["active"] is False
    assert not _is_operator_check_passed(roles, newcomer)
    assert _is_operator_check_passed(roles, admin)


def test_admin_handover_delayed_and_cancellable(roles):
    rollup, chain = roles.rollup, roles.chain
    admin, heir, other = chain.accounts[0], chain.accounts[3], chain.accounts[2]
    receipt = rollup.transact("proposeAdmin", heir.address, sender=heir)
    assert not receipt.ok and "NotAdmin" in receipt.error
    assert rollup.transact("proposeAdmin", other.address, sender=admin).ok
    receipt = rollup.transact("cancelAdminChange", sender=admin)
    assert receipt.ok and _address(receipt.event("AdminChangeCancelled").args["newAdmin"]) == other.address
    receipt = rollup.transact("proposeAdmin", heir.address, sender=admin)
    eta = receipt.event("AdminChangeProposed").args["eta"]
    receipt = rollup.transact("executeAdminChange")
    assert not receipt.ok and f"ChangeNotReady({eta})" in receipt.error
    chain.mine(DELAY)
    receipt = rollup.transact("executeAdminChange")
    assert receipt.ok, receipt.error
    args = receipt.event("AdminChanged").args
    assert (_address(args["previousAdmin"]), _address(args["newAdmin"])) == (admin.address, heir.address)
    assert _address(rollup.call("admin")) == heir.address
    receipt = rollup.transact("proposeOperator", other.address, True, sender=admin)
    assert not receipt.ok and "NotAdmin" in receipt.error
    assert rollup.transact("proposeOperator", other.address, True, sender=heir).ok
    receipt = rollup.transact("executeAdminChange")
    assert not receipt.ok and "NoPendingChange" in receipt.error
