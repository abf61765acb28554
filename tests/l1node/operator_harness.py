"""The operator wired to L1 as the server wires it (core + L1 link + worker), driven step by step
so a test decides when requests are followed, batches made, proofs run and batches settled.

Real parts throughout: the batch circuit (4 transactions, depth 2) with its cached development
key, the native prover, the Rollup contract on the chain given (anvil or the in-process EVM),
and a SQLite job store in the test's directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from circuits.rollup.params import BatchShape
from l1.chain import L1Chain
from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT
from l1.evm import Account, Contract, RollupConfig, deploy_rollup
from prover.backend.select import select_backend
from prover.jobs import open_store
from prover.rollup.accounts import PrivateKey
from prover.rollup.circuit_cache import batch_circuit
from prover.rollup.public_data import Domain
from prover.rollup.transactions import Transfer, Withdrawal
from prover.service.core import ProverCore
from prover.service.l1_link import LinkConfig, RollupLink
from prover.service.l1_resync import start_from_l1
from prover.service.rollup_adapter import RollupAdapter, RollupRegistry
from prover.service.rollup_api import TxRequest
from prover.service.worker import Worker

SHAPE = BatchShape(batch_size=4, depth=2)
KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(4)]
PUBS = [k.public_key() for k in KEYS]


def deploy(chain: L1Chain, window: int = 100) -> Contract:
    vk = batch_circuit(SHAPE).pk.vk
    return deploy_rollup(chain, vk, RollupConfig(depth=SHAPE.depth, amount_unit=UNIT, forced_request_window=window))  # type: ignore[arg-type]


def addr(account: Account) -> int:
    return int.from_bytes(account.address, "big")


@dataclass
class Operator:
    """One operator process: its store on disk survives ``restart`` (as after kill -9)."""

    chain: L1Chain
    rollup: Contract
    store_path: Path
    confirmations: int = 0

    def __post_init__(self) -> None:
        self.registry = RollupRegistry([SHAPE.batch_size], depth=SHAPE.depth)
        self.backend = select_backend(None)
        self.restart()

    def restart(self) -> None:
        """A fresh process on the same store and chain: state from the store, brought level with
        L1 (``prover.service.l1_resync``)."""
        self.store = open_store(f"sqlite:///{self.store_path}")
        domain = Domain(self.chain.chain_id, int.from_bytes(self.rollup.address, "big"))
        self.adapter = RollupAdapter(SHAPE.depth, domain.chain_id, rollup_address=domain.rollup_address)
        self.core = ProverCore(self.store, self.adapter, self.registry, max_attempts=1, requests_from_l1=True)
        self.core.start()
        self.link = RollupLink(self.chain, self.rollup, self.store, LinkConfig(confirmations=self.confirmations))
        self.started = start_from_l1(self.link, self.core)  # rebuilds a lost store from L1; L1Divergence
        self.worker = Worker(self.store, self.registry, self.backend, lease_s=120)

    @property
    def domain(self) -> Domain:
        return self.adapter.domain

    def prove_all(self) -> None:
        while self.worker.run_once() is not None:
            pass

    def settle_all(self) -> list[int]:
        done = []
        while (n := self.link.settle_next()) is not None:
            done.append(n)
        return done

    def transfer(self, key: int, frm: int, to: int, amount: int, nonce: int, fee: int = 0) -> TxRequest:
        t = Transfer(frm, to, amount, fee, nonce).signed(KEYS[key], self.domain)
        sig = (t.signature.r8[0], t.signature.r8[1], t.signature.s)
        return TxRequest(
            kind="transfer", from_index=frm, to_index=to, amount=amount, fee=fee, nonce=nonce, signature=sig
        )

    def withdrawal(self, key: int, frm: int, to_l1: int, amount: int, nonce: int) -> TxRequest:
        w = Withdrawal(frm, to_l1, amount, 0, nonce).signed(KEYS[key], self.domain)
        sig = (w.signature.r8[0], w.signature.r8[1], w.signature.s)
        return TxRequest(kind="withdrawal", from_index=frm, amount=amount, nonce=nonce, signature=sig, l1_address=to_l1)


def l1_deposit(rollup: Contract, key: int, amount: int, sender: Account) -> None:
    receipt = rollup.transact("deposit", PUBS[key].x, PUBS[key].y, value=amount * UNIT, sender=sender)
    assert receipt.ok, receipt.error
