"""The Rollup contract in py-evm against the layout of prover/rollup/public_data.py, with a
hand-built public data blob and a stand-in circuit whose single public input is whatever the
test computes (so these tests need neither the batch circuit nor its key).

Everything here is recomputed independently of the contract and of the operator: the SHA-256
message and the Poseidon L1 digest are built by hand from the documented layout.

Full verifications (a pairing each, ~1.5 s): the accepted batch, and the rejections that only
the proof can catch (tampered proof, other old root, other public data, replay, G2 order).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import pytest

from circuits.builder import ConstraintSystem
from circuits.native.poseidon import poseidon_hash, poseidon_permutation
from l1.calldata import proof_words, submit_batch_args
from l1.evm import CallReverted, Contract, EvmChain, deploy_rollup, to_address
from l1.solidity_export import optimized_poseidon_params, optimized_poseidon_permutation
from prover.backend.select import select_backend
from prover.field.bn254 import FR_MODULUS
from prover.groth16.keys import Proof, ProvingKey
from prover.groth16.prover import prove
from prover.groth16.setup import setup

CHAIN_ID = 5
DEPTH = 2  # 16 accounts: 1-byte indices, 10-byte records
UNIT = 10**9
GENESIS = 0x1234
KEYS = [(11, 12), (21, 22), (31, 32)]  # Baby Jubjub keys as the contract sees them: two field elements
NOOP, DEPOSIT, TRANSFER, WITHDRAWAL = range(4)


# --- the layout, by hand ------------------------------------------------------------------------
def record(kind: int, frm: int = 0, to: int = 0, amount: int = 0, fee: int = 0) -> bytes:
    return bytes([kind, frm, to]) + amount.to_bytes(5, "big") + fee.to_bytes(2, "big")


def blob(l1_entries: list[tuple[int, int]], records: list[bytes], fee_account: int = 0) -> bytes:
    d = 0
    for x, y in l1_entries:
        d = poseidon_hash([d, x, y])
    return bytes([fee_account]) + d.to_bytes(32, "big") + b"".join(records)


def public_input(batch_number: int, old_root: int, new_root: int, data: bytes) -> int:
    msg = CHAIN_ID.to_bytes(4, "big") + batch_number.to_bytes(8, "big")
    msg += old_root.to_bytes(32, "big") + new_root.to_bytes(32, "big") + data
    return int.from_bytes(hashlib.sha256(msg).digest(), "big") % FR_MODULUS


# --- a stand-in for the batch circuit: one public input, any value -------------------------------
@dataclass
class StandIn:
    pk: ProvingKey

    def prove(self, x: int) -> Proof:
        cs = _standin_cs()
        return prove(self.pk, cs.witness({"x": x, "copy": x}), select_backend("python")).proof


def _standin_cs():
    cs = ConstraintSystem("l1_standin")
    x = cs.public_input("x")
    copy = cs.private_input("copy")
    cs.assert_equal(copy, x)
    return cs.compile()


@pytest.fixture(scope="module")
def standin() -> StandIn:
    circuit = _standin_cs()
    return StandIn(setup(circuit.r1cs, name=circuit.name))


@dataclass
class World:
    chain: EvmChain
    rollup: Contract
    recipient: bytes


@pytest.fixture(scope="module")
def world(standin) -> World:
    chain = EvmChain()
    rollup = deploy_rollup(chain, standin.pk.vk, chain_id=CHAIN_ID, depth=DEPTH, genesis_root=GENESIS, amount_unit=UNIT)
    return World(chain, rollup, chain.new_account("l1-withdrawal-recipient").address)


def snapshot(rollup: Contract) -> tuple:
    return (
        rollup.call("stateRoot"),
        rollup.call("batchNumber"),
        rollup.call("depositsConsumed"),
        rollup.call("depositCount"),
    )


def test_optimized_poseidon_form_is_the_plain_permutation():
    """The sparse-matrix form the contract is generated from, derived from the plain constants."""
    params = optimized_poseidon_params(4)
    assert all(len(c) == 1 for c in params.constants[4:60])
    rng = random.Random(4)
    for _ in range(25):
        state = [rng.randrange(FR_MODULUS) for _ in range(4)]
        assert optimized_poseidon_permutation(state, params) == poseidon_permutation(state)


def test_poseidon_contract_matches_circomlib_poseidon(world):
    poseidon = Contract(world.chain, world.rollup.call("poseidon"), _poseidon_abi())
    edges = [[1, 2, 3], [0, 0, 0], [FR_MODULUS - 1, 7, 2**200], [FR_MODULUS - 1] * 3]
    rng = random.Random(20261121)
    vectors = [*edges, *([rng.randrange(FR_MODULUS) for _ in range(3)] for _ in range(24))]
    vectors += [[rng.getrandbits(rng.choice((8, 64, 128, 253))) for _ in range(3)] for _ in range(8)]
    for inputs in vectors:
        assert poseidon.call("poseidon", inputs) == poseidon_hash(inputs), inputs
    ok, _, gas = world.chain.call(poseidon.address, poseidon.encode("poseidon", [1, 2, 3]))
    assert ok
    print(f"PoseidonT4.poseidon: {gas - 21_000} gas (plus 21,000 intrinsic)")
    assert gas - 21_000 < 30_000  # optimized form; the plain one was ~83.6k
    with pytest.raises(CallReverted):
        poseidon.call("poseidon", [FR_MODULUS, 0, 0])


def _poseidon_abi() -> list[dict]:
    from l1.build import load_artifact

    return load_artifact("PoseidonT4")["abi"]


def test_deposits_queue_in_order_and_bad_deposits_refused(world):
    rollup, user = world.rollup, world.chain.accounts[1]
    for i, (ax, ay) in enumerate(KEYS):
        receipt = rollup.transact("deposit", ax, ay, sender=user, value=(100 + i) * UNIT)
        assert receipt.ok, receipt.error
        assert receipt.event("Deposited").args == {"queueIndex": i, "ax": ax, "ay": ay, "amount": 100 + i}
    assert rollup.call("depositCount") == 3
    assert rollup.call("deposits", 1) == (*KEYS[1], 101)
    for value, key in ((UNIT + 1, KEYS[0]), (0, KEYS[0]), ((1 << 40) * UNIT, KEYS[0]), (UNIT, (FR_MODULUS, 1))):
        receipt = rollup.transact("deposit", *key, sender=user, value=value)
        assert not receipt.ok and "BadDeposit" in receipt.error
    assert rollup.call("depositCount") == 3


def _batch1(world) -> tuple[int, bytes, list[bytes]]:
    """Batch 1: consumes deposit 0, a transfer, a withdrawal to the recipient, a no-op."""
    recipient = int.from_bytes(world.recipient, "big")
    data = blob(
        [KEYS[0], (recipient, 0)],
        [
            record(DEPOSIT, frm=1, amount=100),
            record(TRANSFER, frm=1, to=2, amount=30, fee=1),
            record(WITHDRAWAL, frm=1, amount=40, fee=2),
            record(NOOP),
        ],
    )
    return 0xBEEF, data, [world.recipient]


def test_rejected_batches_leave_state_unchanged(world, standin):
    rollup = world.rollup
    assert rollup.call("depositCount") == 3, "runs after the deposit test"
    before = snapshot(rollup)
    new_root, data, addrs = _batch1(world)
    good = standin.prove(public_input(1, GENESIS, new_root, data))

    def refused(args: tuple, error: str) -> None:
        receipt = rollup.transact("submitBatch", *args)
        assert not receipt.ok and error in receipt.error, receipt.error
        assert snapshot(rollup) == before
        assert rollup.call("withdrawable", world.recipient) == 0

    # the contract recomputes exactly the documented public input
    assert rollup.call("publicInput", new_root, data) == public_input(1, GENESIS, new_root, data)

    # a tampered proof: C moved off its value (still on the curve: C + A)
    w = proof_words(good)
    tampered = Proof(a=good.a, b=good.b, c=good.a)
    refused(submit_batch_args(new_root, data, tampered, addrs), "InvalidProof")
    # G2 in JSON order: the pairing precompile refuses the point
    swapped = [*w[:2], w[3], w[2], w[5], w[4], *w[6:]]
    refused((new_root, data, swapped, addrs), "InvalidProof")
    # a proof for another old root
    other_root = standin.prove(public_input(1, GENESIS + 1, new_root, data))
    refused(submit_batch_args(new_root, data, other_root, addrs), "InvalidProof")
    # public data that does not match the proof (the transfer's amount changed)
    changed = data[:-30] + record(TRANSFER, frm=1, to=2, amount=31, fee=1) + data[-20:]
    assert len(changed) == len(data) and changed != data
    refused(submit_batch_args(new_root, changed, good, addrs), "InvalidProof")

    # rejections before the proof: skipping deposit 0 (consuming deposit 1 first) ...
    skip = blob([KEYS[1]], [record(DEPOSIT, frm=1, amount=101), *[record(NOOP)] * 3])
    skip_proof = standin.prove(public_input(1, GENESIS, new_root, skip))
    refused(submit_batch_args(new_root, skip, skip_proof, []), "DepositMismatch(0)")
    # ... even with deposit 0's amount, the key does not match deposit 0's
    skip_same = blob([KEYS[1]], [record(DEPOSIT, frm=1, amount=100), *[record(NOOP)] * 3])
    refused(submit_batch_args(new_root, skip_same, skip_proof, []), "L1DigestMismatch")
    # more deposits than queued
    four = blob([KEYS[0], *KEYS[1:], (0, 0)], [record(DEPOSIT, amount=a) for a in (100, 101, 102, 7)])
    refused(submit_batch_args(new_root, four, good, []), "DepositMismatch(3)")
    # withdrawal list shorter/longer than the withdrawal records, or another address
    refused(submit_batch_args(new_root, data, good, []), "WithdrawalListMismatch")
    refused(submit_batch_args(new_root, data, good, [*addrs, addrs[0]]), "WithdrawalListMismatch")
    refused(submit_batch_args(new_root, data, good, [world.chain.accounts[2].address]), "L1DigestMismatch")
    # layout violations
    refused(submit_batch_args(new_root, data[:-1], good, addrs), "BadPublicData")
    refused(submit_batch_args(new_root, data[:-10] + bytes([9]) + bytes(9), good, addrs), "BadPublicData")
    refused(submit_batch_args(FR_MODULUS + 1, data, good, addrs), "NotAFieldElement")


def test_batch_accepted_root_moves_withdrawal_paid_and_replay_refused(world, standin):
    rollup, chain = world.rollup, world.chain
    new_root, data, addrs = _batch1(world)
    proof = standin.prove(public_input(1, GENESIS, new_root, data))
    receipt = rollup.transact("submitBatch", *submit_batch_args(new_root, data, proof, addrs))
    assert receipt.ok, receipt.error
    print(f"Rollup.submitBatch (4 records: 1 deposit, 1 transfer, 1 withdrawal, 1 no-op): {receipt.gas_used} gas")
    assert receipt.event("BatchVerified").args == {
        "batchNumber": 1,
        "oldRoot": GENESIS,
        "newRoot": new_root,
        "depositsConsumed": 1,
    }
    assert receipt.event("WithdrawalCredited").args["amountWei"] == 40 * UNIT
    assert snapshot(rollup) == (new_root, 1, 1, 3)
    assert rollup.call("withdrawable", world.recipient) == 40 * UNIT

    # replay: the same batch again would consume the next deposit (whose amount differs) ...
    replay = rollup.transact("submitBatch", *submit_batch_args(new_root, data, proof, addrs))
    assert not replay.ok and "DepositMismatch(1)" in replay.error
    # ... and a replay that passes the queue checks is batch 2 on another old root: the proof fails
    no_l1 = blob([], [record(TRANSFER, frm=1, to=2, amount=5), *[record(NOOP)] * 3])
    first = standin.prove(public_input(1, GENESIS, 0xCAFE, no_l1))
    replay = rollup.transact("submitBatch", *submit_batch_args(0xCAFE, no_l1, first, []))
    assert not replay.ok and "InvalidProof" in replay.error
    assert snapshot(rollup) == (new_root, 1, 1, 3)

    # payout: anyone may trigger it, the money goes to the recipient (who has no ETH for gas)
    assert chain.balance(world.recipient) == 0
    paid = rollup.transact("withdraw", world.recipient, sender=chain.accounts[3])
    assert paid.ok
    args = paid.event("Withdrawn").args
    assert (to_address(args["account"]), args["amountWei"]) == (world.recipient, 40 * UNIT)
    assert chain.balance(world.recipient) == 40 * UNIT
    again = rollup.transact("withdraw", world.recipient)
    assert not again.ok and "NothingToWithdraw" in again.error
