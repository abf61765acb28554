"""End to end in the EVM with the real batch circuit (4 transactions, depth 2) and the real Rollup
contract: what a user's funds go through when the operator behaves, and when it does not.

One story on one chain, in order (each step builds on the state the previous one left):

1. two users deposit on L1; the operator proves a batch consuming both deposits, a transfer and
   a withdrawal; submitBatch settles it and the withdrawal is paid;
2. the owner of an account and a stranger both ask L1 for a forced exit; the operator includes
   both: the owner gets their whole balance, the stranger nothing, and a stranger's submitBatch
   is refused;
3. the same deposits on a second deployment: the first deployment's proof is refused there
   (the public input binds the chain id and the contract's address), and so are the L2
   signatures (the operator refuses them under the other domain);
4. the operator ignores a forced exit: once its deadline passes anyone turns on exodus mode;
   batches stop; the user withdraws their exact balance with a Merkle proof checked on chain
   against the last settled root, once; a path from an older root is refused; a deposit that
   was never consumed is refunded to its depositor, once.

The batch circuit and its development key come from the operator's on-disk cache
(prover.rollup.circuit_cache), shared with tests/test_rollup_circuit.py. Cost: two proofs and
three py-evm pairings (~1.5 s each).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from circuits.rollup.params import BatchShape
from l1.calldata import exodus_withdraw_args, proof_words, submit_batch_args, verify_words
from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT
from l1.evm import Account as L1Account
from l1.evm import Contract, EvmChain, RollupConfig, deploy_rollup
from prover.backend.select import select_backend
from prover.groth16.prover import prove
from prover.rollup.accounts import PrivateKey
from prover.rollup.batch import BatchRejected, BatchResult, apply_batch
from prover.rollup.circuit_cache import CachedCircuit, batch_circuit
from prover.rollup.public_data import Domain
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, ForcedExit, Transaction, Transfer, Withdrawal

pytestmark = pytest.mark.slow

SHAPE = BatchShape(batch_size=4, depth=2)  # the shape tests/test_rollup_circuit.py caches
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
PUBS = [k.public_key() for k in KEYS]
WINDOW = 20  # blocks a queued request may wait


def addr(account: L1Account) -> int:
    return int.from_bytes(account.address, "big")


@dataclass
class Deployment:
    """One Rollup and the operator's view of it (state, domain, next batch number)."""

    chain: EvmChain
    rollup: Contract
    cached: CachedCircuit
    state: State = field(default_factory=lambda: State(SHAPE.depth))
    batch_number: int = 0

    @classmethod
    def new(cls, chain: EvmChain, cached: CachedCircuit) -> Deployment:
        config = RollupConfig(depth=SHAPE.depth, amount_unit=UNIT, forced_request_window=WINDOW)
        rollup = deploy_rollup(chain, cached.pk.vk, config)
        deployment = cls(chain, rollup, cached)
        assert rollup.call("stateRoot") == deployment.state.root  # both start from the empty tree
        return deployment

    @property
    def domain(self) -> Domain:
        return Domain(self.chain.chain_id, int.from_bytes(self.rollup.address, "big"))

    def deposit(self, pub, amount: int, sender: L1Account) -> Deposit:
        """deposit(ax, ay) on L1; the operator's view of the queue entry, from the event."""
        receipt = self.rollup.transact("deposit", pub.x, pub.y, value=amount * UNIT, sender=sender)
        assert receipt.ok, receipt.error
        event = receipt.event("Deposited").args
        return Deposit(pub, event["amount"], depositor=addr(sender), index=event["accountIndex"])

    def request_exit(self, index: int, sender: L1Account) -> ForcedExit:
        receipt = self.rollup.transact("requestExit", index, sender=sender)
        assert receipt.ok, receipt.error
        event = receipt.event("ExitRequested").args
        assert event["accountIndex"] == index
        return ForcedExit(index, requester=addr(sender))

    def build(self, txs: list[Transaction]) -> BatchResult:
        return apply_batch(
            self.state, txs, batch_size=SHAPE.batch_size, domain=self.domain, batch_number=self.batch_number + 1
        )

    def prove_and_submit(self, res: BatchResult) -> tuple[tuple, int]:
        """Prove ``res`` and settle it; returns the submitBatch arguments and the gas used."""
        result = prove(self.cached.pk, self.cached.circuit.witness(res.inputs), select_backend(None))
        assert result.public_signals == [res.public_input]
        assert verify_words(self.cached.pk.vk, proof_words(result.proof), result.public_signals)
        assert self.rollup.call("publicInput", res.new_root, res.public_data_bytes) == res.public_input
        args = submit_batch_args(res.new_root, res.public_data_bytes, result.proof, [a for a, _ in res.withdrawals])
        receipt = self.rollup.transact("submitBatch", *args)
        assert receipt.ok, receipt.error
        self.batch_number += 1
        assert self.rollup.call("stateRoot") == res.new_root == self.state.root
        assert self.rollup.call("batchNumber") == self.batch_number
        return args, receipt.gas_used


@pytest.fixture(scope="module")
def world():
    cached = batch_circuit(SHAPE)
    chain = EvmChain(n_accounts=6)
    return cached, chain, Deployment.new(chain, cached)


def test_the_rollup_end_to_end_honest_forced_and_exodus(world):
    cached, chain, d = world
    alice_l1, bob_l1, stranger, dave_l1 = chain.accounts[1:5]
    carol = chain.new_account("e2e-withdrawal-recipient")
    operator = chain.accounts[0]

    # --- 1. deposits -> batch (deposits, transfer, withdrawal) -> settled -> paid ----------------
    deposits = [d.deposit(PUBS[0], 1000, alice_l1), d.deposit(PUBS[1], 500, bob_l1)]
    assert [dep.index for dep in deposits] == [0, 1]  # the L1 numbers the accounts
    batch1_txs = [
        *deposits,
        Transfer(0, 1, 100, 1, 0).signed(KEYS[0], d.domain),
        Withdrawal(1, addr(carol), 250, 0, 0).signed(KEYS[1], d.domain),
    ]
    res1 = d.build(batch1_txs)
    alice_after_1 = (d.state.get(0), d.state.path(0))  # kept for the "older root" check below
    batch1_args, gas1 = d.prove_and_submit(res1)
    print(f"submitBatch, batch 1 (2 deposits, transfer, withdrawal): {gas1} gas")
    assert d.rollup.call("withdrawable", carol.address) == 250 * UNIT
    assert d.rollup.transact("withdraw", carol.address).ok
    assert chain.balance(carol.address) == 250 * UNIT
    # Alice: 1000 - 100 - 1 + the batch's fee of 1 (she is the fee account); Bob: 500 + 100 - 250
    assert (d.state.get(0).balance, d.state.get(1).balance) == (900, 350)
    assert d.state.get(0).owner == addr(alice_l1) and d.state.get(1).owner == addr(bob_l1)

    # --- 2. forced exits, included: the owner gets everything, a stranger nothing ---------------
    exits = [d.request_exit(0, alice_l1), d.request_exit(1, stranger)]
    res2 = d.build(exits)
    assert res2.forced_exits == [(0, addr(alice_l1), 900), (1, addr(stranger), 0)]
    # A stranger cannot settle a batch, even a valid one: only operators may.
    refused = d.rollup.transact("submitBatch", *batch1_args, sender=stranger)
    assert not refused.ok and refused.error.startswith("NotOperator")
    _, gas2 = d.prove_and_submit(res2)
    print(f"submitBatch, batch 2 (two forced exits): {gas2} gas")
    assert d.rollup.call("withdrawable", alice_l1.address) == 900 * UNIT
    assert d.rollup.call("withdrawable", stranger.address) == 0
    assert (d.state.get(0).balance, d.state.get(1).balance) == (0, 350)
    assert d.rollup.call("queueHead") == d.rollup.call("queueTail") == 4

    # --- 3. a second deployment with the same queue refuses the first one's proof --------------
    d2 = Deployment.new(chain, cached)
    same = [d2.deposit(PUBS[0], 1000, alice_l1), d2.deposit(PUBS[1], 500, bob_l1)]
    assert same == deposits  # identical queue entries, identical genesis
    replay = d2.rollup.transact("submitBatch", *batch1_args)
    assert not replay.ok and replay.error == "InvalidProof()"
    assert d2.rollup.call("stateRoot") == d2.state.root and d2.rollup.call("batchNumber") == 0
    # ... and the operator refuses the first deployment's L2 signatures under the second domain
    with pytest.raises(BatchRejected, match="bad signature"):
        d2.build(batch1_txs)
    assert d2.state.root == d2.rollup.call("stateRoot")  # the rejected batch left no trace

    # --- 4. an ignored forced exit -> exodus -> withdrawals proven on chain, refunds ------------
    d.request_exit(1, bob_l1)  # Bob asks; the operator never includes it
    dave = d.deposit(PUBS[2], 300, dave_l1)  # queued behind it, never consumed
    dave_queue_index = d.rollup.call("queueTail") - 1
    early = d.rollup.transact("activateExodus")
    assert not early.ok and early.error == "ExodusNotDue()"
    chain.mine(WINDOW + 1)
    assert d.rollup.transact("activateExodus", sender=stranger).ok  # anyone may, once due
    assert d.rollup.call("exodusActive")

    # batches, deposits and exit requests stop
    res3 = d.build([dave])
    stopped = d.rollup.transact("submitBatch", res3.new_root, res3.public_data_bytes, [0] * 8, [])
    assert not stopped.ok and stopped.error == "ExodusActive()"
    assert not d.rollup.transact("deposit", PUBS[2].x, PUBS[2].y, value=UNIT, sender=dave_l1).ok
    state = State(SHAPE.depth)  # rebuild the last settled state: batches 1 and 2, as L1 saw them
    apply_batch(state, batch1_txs, batch_size=4, domain=d.domain, batch_number=1)
    apply_batch(state, exits, batch_size=4, domain=d.domain, batch_number=2)
    assert state.root == d.rollup.call("stateRoot")

    # Bob withdraws his exact balance, 350, with a path against the last settled root
    bob = state.get(1)
    args = exodus_withdraw_args(1, bob.ax, bob.ay, bob.balance, bob.nonce, bob.owner, state.path(1))
    paid = d.rollup.transact("exodusWithdraw", *args, sender=stranger)  # anyone may submit it
    assert paid.ok, paid.error
    print(f"exodusWithdraw at depth {SHAPE.depth}: {paid.gas_used} gas")
    assert d.rollup.call("withdrawable", bob_l1.address) == 350 * UNIT
    before = chain.balance(bob_l1.address)
    assert d.rollup.transact("withdraw", bob_l1.address, sender=stranger).ok
    assert chain.balance(bob_l1.address) - before == 350 * UNIT
    again = d.rollup.transact("exodusWithdraw", *args)
    assert not again.ok and again.error == "AlreadyExited(1)"

    # Alice's leaf from batch 1 (balance 900) is not in the last settled tree any more
    old, old_path = alice_after_1
    stale = exodus_withdraw_args(0, old.ax, old.ay, old.balance, old.nonce, old.owner, old_path)
    refused = d.rollup.transact("exodusWithdraw", *stale)
    assert not refused.ok and refused.error == "BadMerkleProof()"
    # ... and a made-up balance on her current path neither
    alice = state.get(0)
    inflated = exodus_withdraw_args(0, alice.ax, alice.ay, 900, alice.nonce, alice.owner, state.path(0))
    assert d.rollup.transact("exodusWithdraw", *inflated).error == "BadMerkleProof()"

    # Dave's deposit never reached L2: refunded to him, once
    assert d.rollup.transact("refundDeposit", dave_queue_index, sender=stranger).ok
    assert d.rollup.call("withdrawable", dave_l1.address) == 300 * UNIT
    twice = d.rollup.transact("refundDeposit", dave_queue_index)
    assert not twice.ok and twice.error.startswith("NotRefundable")
    # the request Bob made is not a deposit: nothing to refund there
    assert d.rollup.transact("refundDeposit", dave_queue_index - 1).error.startswith("NotRefundable")

    # every wei the contract holds is owed to someone: Alice's exit, Dave's refund (Bob and
    # Carol were paid out)
    owed = sum(d.rollup.call("withdrawable", a.address) for a in (alice_l1, bob_l1, stranger, dave_l1, operator))
    assert chain.balance(d.rollup.address) == owed == (900 + 300) * UNIT
