"""The Rollup contract's inputs built by hand, for the L1 tests and bench/bench_l1_gas.py.

Everything here follows the documented layout (prover/rollup/public_data.py and Rollup.sol's
NatSpec) independently of the contract and of the operator: the public data, the Poseidon L1
digest, the SHA-256 public input with its domain (chain id and contract address), and state-tree
leaves. A one-constraint stand-in circuit whose single public input is whatever the test
computes proves batches, so the contract runs every check it runs for a real batch without the
batch circuit or its key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from circuits.builder import CompiledCircuit, ConstraintSystem
from circuits.native import babyjub
from circuits.native.merkle import SparseMerkleTree
from circuits.native.poseidon import poseidon_hash
from l1.calldata import submit_batch_args
from l1.evm import Contract, EvmChain, Receipt, RollupConfig, deploy_rollup
from prover.backend.select import select_backend
from prover.field.bn254 import FR_MODULUS
from prover.groth16.keys import Proof, ProvingKey
from prover.groth16.prover import prove
from prover.groth16.setup import setup

DEPTH = 2  # 16 accounts: 1-byte indices, 10-byte records
UNIT = 10**9
WINDOW = 10  # forced-request window, blocks
SETTLEMENT = 40  # settlement window, blocks
DELAY = 20  # role-change delay, blocks
NOOP, DEPOSIT, TRANSFER, WITHDRAWAL, FORCED_EXIT = range(5)
#: Queue entry kinds (Rollup.KIND_*).
NEW_ACCOUNT, TOP_UP, EXIT_REQUEST, REFUNDED = 1, 2, 3, 4


# --- keys ---------------------------------------------------------------------------------------
def bjj_key(seed: int) -> tuple[int, int]:
    """A Baby Jubjub public key in the prime-order subgroup (seed * B8)."""
    return babyjub.mul(babyjub.B8, seed)


def small_order_points() -> list[tuple[int, int]]:
    """The 8 points P with 8P = O: multiples of SUBORDER * Generator (the generator has order 8 * SUBORDER)."""
    t = babyjub.mul(babyjub.GENERATOR, babyjub.SUBORDER)
    pts = [babyjub.mul(t, k) for k in range(8)]
    assert len(set(pts)) == 8 and babyjub.mul(t, 8) == babyjub.IDENTITY
    return pts


# --- the layout, by hand ------------------------------------------------------------------------
def record(kind: int, frm: int = 0, to: int = 0, amount: int = 0, fee: int = 0, index_bytes: int = 1) -> bytes:
    ib = index_bytes
    return (
        bytes([kind])
        + frm.to_bytes(ib, "big")
        + to.to_bytes(ib, "big")
        + amount.to_bytes(5, "big")
        + fee.to_bytes(2, "big")
    )


def address_int(a: bytes) -> int:
    return int.from_bytes(a, "big")


def l1_digest(entries: Sequence[tuple[int, int, int]]) -> int:
    """d = 0; d = Poseidon(d, x, y, addr) per L1 entry, in record order."""
    d = 0
    for x, y, addr in entries:
        d = poseidon_hash([d, x, y, addr])
    return d


def blob(
    entries: Sequence[tuple[int, int, int]], records: Sequence[bytes], fee_account: int = 0, index_bytes: int = 1
) -> bytes:
    return fee_account.to_bytes(index_bytes, "big") + l1_digest(entries).to_bytes(32, "big") + b"".join(records)


def public_input(chain_id: int, rollup: bytes, batch_number: int, old_root: int, new_root: int, data: bytes) -> int:
    msg = chain_id.to_bytes(8, "big") + bytes(rollup) + batch_number.to_bytes(8, "big")
    msg += old_root.to_bytes(32, "big") + new_root.to_bytes(32, "big") + data
    return int.from_bytes(hashlib.sha256(msg).digest(), "big") % FR_MODULUS


def leaf(ax: int, ay: int, balance: int, nonce: int, owner: int) -> int:
    return poseidon_hash([ax, ay, balance + (nonce << 64), owner])


@dataclass
class Account:
    key: tuple[int, int]
    balance: int
    nonce: int
    owner: bytes

    def leaf(self) -> int:
        return leaf(*self.key, self.balance, self.nonce, address_int(self.owner))


def tree_of(accounts: dict[int, Account], depth: int = DEPTH) -> SparseMerkleTree:
    tree = SparseMerkleTree(depth, arity=4)
    for index, acct in accounts.items():
        tree.update(index, acct.leaf())
    return tree


# --- a stand-in for the batch circuit: one public input, any value -------------------------------
def standin_circuit() -> CompiledCircuit:
    cs = ConstraintSystem("l1_standin")
    x = cs.public_input("x")
    copy = cs.private_input("copy")
    cs.assert_equal(copy, x)
    return cs.compile()


@dataclass
class StandIn:
    pk: ProvingKey
    circuit: CompiledCircuit

    @classmethod
    def create(cls) -> StandIn:
        circuit = standin_circuit()
        return cls(setup(circuit.r1cs, name=circuit.name), circuit)

    def prove(self, x: int) -> Proof:
        return prove(self.pk, self.circuit.witness({"x": x, "copy": x}), select_backend("python")).proof


# --- a deployed rollup and its operator -----------------------------------------------------------
@dataclass
class World:
    chain: EvmChain
    rollup: Contract
    standin: StandIn

    @property
    def operator(self):
        return self.chain.accounts[0]

    def input_for(
        self, new_root: int, data: bytes, batch_number: int | None = None, old_root: int | None = None
    ) -> int:
        number = self.rollup.call("batchNumber") + 1 if batch_number is None else batch_number
        old = self.rollup.call("stateRoot") if old_root is None else old_root
        return public_input(self.chain.chain_id, self.rollup.address, number, old, new_root, data)

    def submit(
        self, new_root: int, data: bytes, addrs: Sequence[bytes] = (), proof: Proof | None = None, sender=None
    ) -> Receipt:
        """submitBatch with a valid proof for the current state unless ``proof`` is given."""
        proof = proof or self.standin.prove(self.input_for(new_root, data))
        return self.rollup.transact("submitBatch", *submit_batch_args(new_root, data, proof, addrs), sender=sender)


def make_world(standin: StandIn, chain: EvmChain | None = None, verifier: Contract | None = None, **config) -> World:
    """A Rollup for the stand-in key on ``chain`` (default: a fresh one), with the test windows;
    ``verifier`` replaces the generic verifier deployed for the key."""
    chain = chain or EvmChain()
    params = {
        "depth": DEPTH,
        "amount_unit": UNIT,
        "forced_request_window": WINDOW,
        "settlement_window": SETTLEMENT,
        "change_delay": DELAY,
        **config,
    }
    return World(chain, deploy_rollup(chain, standin.pk.vk, RollupConfig(**params), verifier=verifier), standin)
