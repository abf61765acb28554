"""The Rollup contract in py-evm: Poseidon on chain, deployment checks, the priority queue, and
batches, against the layout of prover/rollup/public_data.py rebuilt by hand
(tests/l1/rollup_helpers.py) and a stand-in circuit whose single public input is whatever the
test computes (so these tests need neither the batch circuit nor its key).

Full verifications (a pairing each in py-evm, ~1.5 s): every deployment (the constructor probes
the verifier with the constant forgery), each accepted batch, and the rejections only the
proof can catch (tampered proof, other old root, other deployment or chain).
"""

from __future__ import annotations

import random

import pytest

from circuits.native.merkle import zero_hashes
from circuits.native.poseidon import poseidon_hash, poseidon_permutation
from circuits.native.poseidon_opt import optimized_poseidon_params, optimized_poseidon_permutation
from l1.calldata import proof_words, submit_batch_args, verifying_key_hash, vk_constructor_args
from l1.evm import CallReverted, Contract, DeployError, EvmChain, RollupConfig, deploy_poseidon, deploy_rollup
from prover.field.bn254 import FR_MODULUS
from prover.groth16.keys import Proof
from tests.l1.rollup_helpers import (
    DEPOSIT,
    DEPTH,
    EXIT_REQUEST,
    FORCED_EXIT,
    NEW_ACCOUNT,
    NOOP,
    TOP_UP,
    TRANSFER,
    UNIT,
    WINDOW,
    WITHDRAWAL,
    address_int,
    bjj_key,
    blob,
    make_world,
    record,
    small_order_points,
)
from tests.unit.test_native_pairing import twist_point

KEYS = [bjj_key(s) for s in (7, 11, 13)]


def snapshot(rollup: Contract) -> tuple:
    return tuple(rollup.call(f) for f in ("stateRoot", "batchNumber", "queueHead", "queueTail", "accountsSettled"))


# --- Poseidon t = 5 -------------------------------------------------------------------------------
def test_optimized_poseidon_form_is_the_plain_permutation():
    """The sparse-matrix form the contract is generated from, derived from the plain constants."""
    params = optimized_poseidon_params(5)
    assert all(len(c) == 1 for c in params.constants[4:64])
    rng = random.Random(5)
    for _ in range(20):
        state = [rng.randrange(FR_MODULUS) for _ in range(5)]
        assert optimized_poseidon_permutation(state, params) == poseidon_permutation(state)


def test_poseidon_contract_matches_circomlib_poseidon():
    chain = EvmChain()
    poseidon = deploy_poseidon(chain)
    top = FR_MODULUS - 1
    edges = [[1, 2, 3, 4], [0, 0, 0, 0], [top, 7, 2**200, 0], [top] * 4, [top - 1, top - 2, 1, top]]
    rng = random.Random(20261207)
    vectors = [*edges, *([rng.randrange(FR_MODULUS) for _ in range(4)] for _ in range(20))]
    vectors += [[top - rng.randrange(2**64) for _ in range(4)] for _ in range(6)]  # near r
    vectors += [[rng.getrandbits(rng.choice((8, 64, 160, 253))) for _ in range(4)] for _ in range(8)]
    for inputs in vectors:
        assert poseidon.call("poseidon", inputs) == poseidon_hash(inputs), inputs
    ok, _, gas = chain.call(poseidon.address, poseidon.encode("poseidon", [1, 2, 3, 4]))
    assert ok
    print(f"PoseidonT5.poseidon: {gas - 21_000} gas (plus 21,000 intrinsic)")
    assert gas - 21_000 < 45_000
    for i in range(4):
        bad = [1, 2, 3, 4]
        bad[i] = FR_MODULUS
        with pytest.raises(CallReverted):
            poseidon.call("poseidon", bad)


# --- deployment -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def world(standin):
    return make_world(standin)


def test_deployment_records_key_genesis_and_roles(world, standin):
    rollup = world.rollup
    assert rollup.call("stateRoot") == zero_hashes(DEPTH, 4)[DEPTH]  # the empty tree
    assert rollup.call("verifyingKeyHash") == verifying_key_hash(standin.pk.vk)
    assert rollup.call("isOperator", world.operator.address) is True
    assert rollup.call("isOperator", world.chain.accounts[1].address) is False
    assert (rollup.call("indexBytes"), rollup.call("recordBytes"), rollup.call("capacity")) == (1, 10, 16)
    assert snapshot(rollup)[1:] == (0, 0, 0, 0)


def _always_true(chain: EvmChain) -> bytes:
    """A 'verifier' answering true to everything (runtime: return the word 1)."""
    runtime = bytes.fromhex("600160005260206000f3")
    init = bytes.fromhex("69") + runtime + bytes.fromhex("600052600a6016f3")
    receipt = chain.send(b"", init)
    assert receipt.ok
    return receipt.contract_address


def _rollup_args(chain, vk_words, verifier: bytes, poseidon: bytes, **config):
    from l1.calldata import rollup_constructor_args

    a = chain.accounts[0].address
    params = {
        "depth": DEPTH,
        "amount_unit": UNIT,
        "admin": a,
        "operator": a,
        "forced_request_window": WINDOW,
        "settlement_window": 40,
        "change_delay": 20,
        **config,
    }
    return rollup_constructor_args(vk_words, verifier=verifier, poseidon=poseidon, **params)


@pytest.fixture(scope="module")
def parts(standin):
    """A chain with a generic verifier for the stand-in key, a PoseidonT5 and a yes-verifier."""
    from l1.evm import deploy_verifier

    chain = EvmChain()
    return chain, deploy_verifier(chain, standin.pk.vk).address, deploy_poseidon(chain).address, _always_true(chain)


def _refused(parts, words, error: str, verifier: bytes | None = None, **config) -> None:
    chain, good_verifier, poseidon, _ = parts
    args = _rollup_args(chain, words, verifier or good_verifier, poseidon, **config)
    with pytest.raises(DeployError, match=error):
        chain.deploy("Rollup", *args)


def _g2_not_in_subgroup() -> list[list[int]]:
    (x0, x1), (y0, y1) = twist_point(5)
    return [[x1, x0], [y1, y0]]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ("gamma2 at infinity", r"gamma2 at infinity"),
        ("delta2 at infinity", r"delta2 at infinity"),
        ("beta2 at infinity", r"beta2 at infinity"),
        ("alpha1 at infinity", r"alpha1 at infinity"),
        ("alpha1 off the curve", r"alpha1 not on the curve"),
        ("IC[1] off the curve", r"IC\[1\] not on the curve"),
        ("delta2 outside the subgroup", r"delta2 not in G2"),
        ("beta2 in JSON order", r"beta2 not in G2"),
        ("gamma2 equals delta2", r"gamma2 equals delta2"),
        ("two public inputs", r"IC must hold exactly 2 points"),
        ("no public input", r"IC must hold exactly 2 points"),
    ],
)
def test_degenerate_keys_refused_at_deployment(parts, standin, change, error):
    alpha, beta, gamma, delta, ic = (list(w) for w in vk_constructor_args(standin.pk.vk))
    inf2 = [[0, 0], [0, 0]]
    if change == "gamma2 at infinity":
        gamma = inf2
    elif change == "delta2 at infinity":
        delta = inf2
    elif change == "beta2 at infinity":
        beta = inf2
    elif change == "alpha1 at infinity":
        alpha = [0, 0]
    elif change == "alpha1 off the curve":
        alpha = [alpha[0], alpha[1] ^ 1]
    elif change == "IC[1] off the curve":
        ic = [ic[0], [ic[1][0], ic[1][1] ^ 1]]
    elif change == "delta2 outside the subgroup":
        delta = _g2_not_in_subgroup()
    elif change == "beta2 in JSON order":
        beta = [list(reversed(beta[0])), list(reversed(beta[1]))]
    elif change == "gamma2 equals delta2":
        delta = gamma
    elif change == "two public inputs":
        ic = [*ic, ic[1]]
    elif change == "no public input":
        ic = ic[:1]
    _refused(parts, (alpha, beta, gamma, delta, ic), f"BadVerifyingKey\\({error}")


def test_verifier_accepting_the_constant_forgery_refused(parts, standin):
    """The probe: a verifier that says yes to A = alpha1, B = beta2, C = infinity (as one whose
    gamma2 is at infinity would, for every input) cannot be deployed behind a Rollup."""
    yes = parts[3]
    _refused(parts, vk_constructor_args(standin.pk.vk), "verifier accepts the constant forgery", verifier=yes)


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"depth": 0}, "depth must be 1..16"),
        ({"depth": 17}, "depth must be 1..16"),
        ({"amount_unit": 10**9 - 1}, "amountUnit below 1 gwei"),
        ({"change_delay": WINDOW}, "changeDelay must exceed forcedRequestWindow"),
        ({"forced_request_window": 0, "change_delay": 5}, "zero window"),
        ({"settlement_window": 0}, "zero window"),
        ({"settlement_window": 2**32}, r"window or delay of 2\^32 blocks or more"),
        ({"change_delay": 2**32}, r"window or delay of 2\^32 blocks or more"),
        ({"admin": bytes(20)}, "zero admin or operator"),
    ],
)
def test_bad_config_refused(parts, standin, config, error):
    _refused(parts, vk_constructor_args(standin.pk.vk), f"BadConfig\\({error}", **config)


def test_verifier_and_poseidon_must_be_the_real_contracts(parts, standin):
    chain, verifier, poseidon, yes = parts
    words = vk_constructor_args(standin.pk.vk)
    eoa = chain.accounts[2].address
    with pytest.raises(DeployError, match="verifier has no code"):
        chain.deploy("Rollup", *_rollup_args(chain, words, eoa, poseidon))
    with pytest.raises(DeployError, match="poseidon has no code"):
        chain.deploy("Rollup", *_rollup_args(chain, words, verifier, eoa))
    with pytest.raises(DeployError, match="poseidon is not circomlib Poseidon t = 5"):
        chain.deploy("Rollup", *_rollup_args(chain, words, verifier, yes))


def test_chain_id_must_fit_64_bits(standin):
    chain = EvmChain(chain_id=2**64)
    with pytest.raises(DeployError, match="chain id does not fit 64 bits"):
        deploy_rollup(chain, standin.pk.vk, RollupConfig(depth=DEPTH))


# --- the priority queue ---------------------------------------------------------------------------
def test_deposit_keys_checked_on_l1(world):
    rollup, user = world.rollup, world.chain.accounts[1]
    tail = rollup.call("queueTail")
    for point in small_order_points():
        receipt = rollup.transact("deposit", *point, sender=user, value=UNIT)
        assert not receipt.ok and "KeySmallOrder" in receipt.error, point
    x, y = KEYS[0]
    for key, error in (
        ((x, y + 1), "KeyNotOnCurve"),
        ((x, 0), "KeyNotOnCurve"),
        ((FR_MODULUS + x, y), "NotAFieldElement"),
    ):
        receipt = rollup.transact("deposit", *key, sender=user, value=UNIT)
        assert not receipt.ok and error in receipt.error, key
    assert rollup.call("queueTail") == tail


def test_deposit_amount_rules(world):
    rollup, user = world.rollup, world.chain.accounts[1]
    for value in (UNIT + 1, 0, (1 << 40) * UNIT, UNIT // 2):
        receipt = rollup.transact("deposit", *KEYS[0], sender=user, value=value)
        assert not receipt.ok and f"BadAmount({value})" in receipt.error
        receipt = rollup.transact("depositTo", 0, sender=user, value=value)
        assert not receipt.ok and f"BadAmount({value})" in receipt.error


def test_queue_requests_in_order_with_deadlines(world):
    """The queue the batch tests below consume: accounts 0, 1, 2 created; a top-up of account
    1; a forced exit of account 0 by its owner; a forced exit of account 1 by a stranger."""
    rollup, chain = world.rollup, world.chain
    alice, bob, carol = chain.accounts[1], chain.accounts[2], chain.accounts[3]
    receipt = rollup.transact("depositTo", 0, sender=alice, value=UNIT)
    assert not receipt.ok and "UnknownAccount(0)" in receipt.error
    receipt = rollup.transact("requestExit", 0, sender=alice)
    assert not receipt.ok and "UnknownAccount(0)" in receipt.error
    for i, (who, amount) in enumerate(((alice, 100), (bob, 50), (carol, 20))):
        receipt = rollup.transact("deposit", *KEYS[i], sender=who, value=amount * UNIT)
        assert receipt.ok, receipt.error
        args = receipt.event("Deposited").args
        assert (args["queueIndex"], args["accountIndex"], args["amount"], args["deadline"]) == (
            i,
            i,
            amount,
            receipt.block_number + WINDOW,
        )
        assert (args["ax"], args["ay"]) == KEYS[i]
    receipt = rollup.transact("depositTo", 1, sender=alice, value=7 * UNIT)
    assert receipt.ok and receipt.event("Deposited").args["ax"] == 0
    assert rollup.transact("requestExit", 0, sender=alice).ok
    exit_receipt = rollup.transact("requestExit", 1, sender=carol)
    assert exit_receipt.event("ExitRequested").args["requester"].lower() == "0x" + carol.address.hex()
    receipt = rollup.transact("depositTo", 3, sender=alice, value=UNIT)
    assert not receipt.ok and "UnknownAccount(3)" in receipt.error
    assert rollup.call("accountCount") == 3 and rollup.call("queueTail") == 6
    kinds = [rollup.call("queue", i)[3] for i in range(6)]
    assert kinds == [NEW_ACCOUNT] * 3 + [TOP_UP, EXIT_REQUEST, EXIT_REQUEST]
    _, amount, _, kind, x, y = rollup.call("queue", 3)
    assert (amount, kind, x, y) == (7, TOP_UP, 1, 0)


def _entries(world) -> list[tuple[int, int, int]]:
    """The queue's six entries as the L1 digest sees them."""
    a = [address_int(world.chain.accounts[i].address) for i in (1, 2, 3)]
    return [(*KEYS[0], a[0]), (*KEYS[1], a[1]), (*KEYS[2], a[2]), (0, 0, a[0]), (0, 0, a[0]), (0, 0, a[2])]


def _queue_records() -> list[bytes]:
    return [
        record(DEPOSIT, frm=0, amount=100),
        record(DEPOSIT, frm=1, amount=50),
        record(DEPOSIT, frm=2, amount=20),
        record(DEPOSIT, frm=1, amount=7),
        record(FORCED_EXIT, frm=0, amount=60),
        record(FORCED_EXIT, frm=1, amount=0),
    ]


def _batch1(world) -> tuple[int, bytes, list[bytes]]:
    """Batch 1: the whole queue, a transfer, a withdrawal of account 1 to the recipient."""
    recipient = world.chain.new_account("l1-withdrawal-recipient").address
    entries = [*_entries(world), (0, 0, address_int(recipient))]
    records = [
        *_queue_records(),
        record(TRANSFER, frm=0, to=1, amount=5, fee=1),
        record(WITHDRAWAL, frm=1, amount=40, fee=2),
    ]
    return 0xBEEF, blob(entries, records), [recipient]


def test_stranger_cannot_submit(world):
    new_root, data, addrs = _batch1(world)
    before = snapshot(world.rollup)
    receipt = world.submit(new_root, data, addrs, proof=Proof(None, None, None), sender=world.chain.accounts[1])
    assert not receipt.ok and "NotOperator" in receipt.error
    assert snapshot(world.rollup) == before


def test_records_must_match_the_queue_head(world):
    """Checked before the proof (no pairing): kind, index and amount of each queue record."""
    rollup = world.rollup
    assert rollup.call("queueTail") == 6, "runs after the queue test"
    before = snapshot(rollup)
    _, good, addrs = _batch1(world)
    fake = Proof(None, None, None)
    entries = _entries(world)
    q = _queue_records()

    def refused(records: list[bytes], error: str, l1=None, withdrawals=()) -> None:
        data = blob(l1 if l1 is not None else entries[: sum(r[0] in (1, 4) for r in records)], records)
        receipt = rollup.transact("submitBatch", *submit_batch_args(0xBEEF, data, fake, list(withdrawals)))
        assert not receipt.ok and error in receipt.error, (error, receipt.error)
        assert snapshot(rollup) == before

    refused([record(DEPOSIT, frm=0, amount=99)], "DepositMismatch(0)")  # amount
    refused([record(DEPOSIT, frm=1, amount=100)], "DepositMismatch(0)")  # index
    refused([record(FORCED_EXIT, frm=0, amount=0)], "ForcedExitMismatch(0)")  # kind
    refused([*q[:3], record(DEPOSIT, frm=2, amount=7)], "DepositMismatch(3)")  # top-up's index
    refused([*q[:3], record(FORCED_EXIT, frm=1)], "ForcedExitMismatch(3)")  # kind (head is a top-up)
    refused([*q[:4], record(DEPOSIT, frm=0, amount=60)], "DepositMismatch(4)")  # kind (head is an exit)
    refused([*q[:4], record(FORCED_EXIT, frm=1, amount=60)], "ForcedExitMismatch(4)")  # exit's index
    refused([*q, record(DEPOSIT, frm=3, amount=1)], "DepositMismatch(6)", l1=[*entries, (0, 0, 0)])  # past the tail
    refused([*q, record(FORCED_EXIT, frm=0)], "ForcedExitMismatch(6)", l1=[*entries, (0, 0, 0)])
    # key or address not as queued: only the digest tells
    wrong_key = [(*KEYS[1], entries[0][2]), *entries[1:]]
    refused(q, "L1DigestMismatch", l1=wrong_key)
    wrong_depositor = [(*KEYS[0], entries[1][2]), *entries[1:]]
    refused(q, "L1DigestMismatch", l1=wrong_depositor)
    wrong_requester = [*entries[:5], (0, 0, entries[0][2])]
    refused(q, "L1DigestMismatch", l1=wrong_requester)
    # withdrawal list shorter/longer than the withdrawal records, or another address
    w = [record(WITHDRAWAL, frm=1, amount=40)]
    refused(w, "WithdrawalListMismatch", l1=[(0, 0, address_int(addrs[0]))])
    refused(w, "WithdrawalListMismatch", l1=[(0, 0, address_int(addrs[0]))], withdrawals=[*addrs, *addrs])
    refused([record(TRANSFER)], "WithdrawalListMismatch", l1=[], withdrawals=addrs)
    refused(w, "L1DigestMismatch", l1=[(0, 0, address_int(addrs[0]))], withdrawals=[world.chain.accounts[2].address])
    # a transfers-only batch must carry the digest 0
    refused([record(TRANSFER)], "L1DigestMismatch", l1=[(1, 2, 3)])
    # layout violations
    for data, error in (
        (good[:-1], "BadPublicData"),
        (good[:32], "BadPublicData"),
        (good[:-10] + bytes([5]) + bytes(9), "UnknownRecordType"),
    ):
        receipt = rollup.transact("submitBatch", *submit_batch_args(0xBEEF, data, fake, addrs))
        assert not receipt.ok and error in receipt.error, receipt.error
    receipt = rollup.transact("submitBatch", *submit_batch_args(FR_MODULUS + 1, good, fake, addrs))
    assert not receipt.ok and "NotAFieldElement" in receipt.error
    assert snapshot(rollup) == before


def test_proof_must_match_the_batch(world, standin):
    rollup = world.rollup
    before = snapshot(rollup)
    new_root, data, addrs = _batch1(world)
    good = standin.prove(world.input_for(new_root, data))
    assert rollup.call("publicInput", new_root, data) == world.input_for(new_root, data)
    # a tampered proof: C moved (still on the curve)
    receipt = world.submit(new_root, data, addrs, proof=Proof(a=good.a, b=good.b, c=good.a))
    assert not receipt.ok and "InvalidProof" in receipt.error
    # G2 in JSON order: the pairing precompile refuses the point
    w = proof_words(good)
    swapped = [*w[:2], w[3], w[2], w[5], w[4], *w[6:]]
    args = list(submit_batch_args(new_root, data, good, addrs))
    args[2] = swapped
    receipt = rollup.transact("submitBatch", *args)
    assert not receipt.ok and "InvalidProof" in receipt.error
    # a proof for another old root
    other = standin.prove(world.input_for(new_root, data, old_root=before[0] + 1))
    receipt = world.submit(new_root, data, addrs, proof=other)
    assert not receipt.ok and "InvalidProof" in receipt.error
    assert snapshot(rollup) == before


def test_batch_settles_queue_credits_and_replay_refused(world):
    rollup, chain = world.rollup, world.chain
    alice = chain.accounts[1].address
    new_root, data, addrs = _batch1(world)
    genesis = rollup.call("stateRoot")
    receipt = world.submit(new_root, data, addrs)
    assert receipt.ok, receipt.error
    print(f"Rollup.submitBatch (first batch: 6 queue records, transfer, withdrawal): {receipt.gas_used} gas")
    assert receipt.event("BatchVerified").args == {
        "batchNumber": 1,
        "oldRoot": genesis,
        "newRoot": new_root,
        "queueHead": 6,
    }
    credits = {e.args["account"].lower(): e.args["amountWei"] for e in receipt.events if e.name == "WithdrawalCredited"}
    assert credits == {"0x" + alice.hex(): 60 * UNIT, "0x" + addrs[0].hex(): 40 * UNIT}  # stranger's exit: 0
    assert snapshot(rollup) == (new_root, 1, 6, 6, 3)
    assert rollup.call("lastSettledBlock") == receipt.block_number
    assert rollup.call("withdrawable", alice) == 60 * UNIT

    # the same batch again: the queue is empty now
    replay = world.submit(new_root, data, addrs)
    assert not replay.ok and "DepositMismatch(6)" in replay.error
    # a transfers-only batch proved as batch 1 again (old root: genesis): the proof fails
    no_l1 = blob([], [record(TRANSFER, frm=0, to=1, amount=5)])
    first = world.standin.prove(world.input_for(0xCAFE, no_l1, batch_number=1, old_root=genesis))
    replay = world.submit(0xCAFE, no_l1, proof=first)
    assert not replay.ok and "InvalidProof" in replay.error
    assert snapshot(rollup) == (new_root, 1, 6, 6, 3)

    # payout: anyone may trigger it, the money goes to the recipient (who has no ETH for gas)
    paid = rollup.transact("withdraw", addrs[0], sender=chain.accounts[3])
    assert paid.ok and chain.balance(addrs[0]) == 40 * UNIT
    again = rollup.transact("withdraw", addrs[0])
    assert not again.ok and "NothingToWithdraw" in again.error


# --- domain binding -------------------------------------------------------------------------------
def test_proof_for_one_deployment_refused_on_another(standin):
    """Same batch, same state, same proof: accepted only by the deployment (address and chain
    id) it was proved for. The chain-10 twin is deployed by the same account at the same nonce,
    so only the chain id differs; the second rollup on chain A differs only in its address."""
    a = make_world(standin)
    b = make_world(standin, chain=a.chain)
    c = make_world(standin, chain=EvmChain(chain_id=10))
    assert c.rollup.address == a.rollup.address and b.rollup.address != a.rollup.address
    data = blob([], [record(TRANSFER, frm=0, to=1, amount=5), record(NOOP)])
    proof = standin.prove(a.input_for(0xABC, data))
    assert a.input_for(0xABC, data) != b.input_for(0xABC, data) != c.input_for(0xABC, data)
    for other in (b, c):
        receipt = other.submit(0xABC, data, proof=proof)
        assert not receipt.ok and "InvalidProof" in receipt.error
    receipt = a.submit(0xABC, data, proof=proof)
    assert receipt.ok, receipt.error


# --- capacity and the balance cap (a depth-1 rollup: 4 accounts) --------------------------------------
@pytest.mark.filterwarnings("ignore:SELFDESTRUCT opcode present:DeprecationWarning")
def test_tree_full_and_balance_cap(standin):
    world = make_world(standin, chain=EvmChain(balance=2**100), depth=1)
    rollup, user = world.rollup, world.chain.accounts[1]
    for i in range(4):
        receipt = rollup.transact("deposit", *bjj_key(100 + i), sender=user, value=UNIT)
        assert receipt.ok and receipt.event("Deposited").args["accountIndex"] == i
    receipt = rollup.transact("deposit", *bjj_key(200), sender=user, value=UNIT)
    assert not receipt.ok and "TreeFull" in receipt.error
    assert rollup.transact("depositTo", 3, sender=user, value=UNIT).ok  # top-ups still fit

    # 2^64 units in the contract would let a sum of L2 balances overflow: the cap is below it.
    # Force ETH in (SELFDESTRUCT to the rollup; it has no payable fallback) up to the cap - 2.
    held = world.chain.balance(rollup.address) // UNIT
    _force_send(world.chain, rollup.address, ((1 << 64) - 2 - held) * UNIT)
    receipt = rollup.transact("depositTo", 0, sender=user, value=UNIT)
    assert receipt.ok, receipt.error  # 2^64 - 1 units
    receipt = rollup.transact("depositTo", 0, sender=user, value=UNIT)
    assert not receipt.ok and "BalanceCapExceeded" in receipt.error


def _force_send(chain: EvmChain, to: bytes, value: int) -> None:
    init = b"\x73" + to + b"\xff"  # PUSH20 to; SELFDESTRUCT
    assert chain.send(b"", init, value=value).ok
