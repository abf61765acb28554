"""The real rollup (``prover.rollup``) behind the service's ``RollupOperator`` / ``CircuitRegistry``.

Thin on purpose: it converts :class:`~prover.service.rollup_api.TxRequest` into the rollup's
transactions, reports which accounts a batch changed (the service persists them in the job
store, in the batch's transaction), and can undo a batch whose persistence failed.

The undo uses a journal of its own (:class:`_JournaledState` records every ``set``), because the
rollup's ``State.begin/commit`` journal is used by ``apply_batch`` itself and is closed once the
batch is accepted.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from circuits.native.eddsa import PublicKey, Signature
from circuits.native.merkle import Path
from circuits.rollup.params import BatchShape
from prover.rollup import batch as rollup_batch
from prover.rollup.accounts import Account
from prover.rollup.key_source import (
    KeyPolicy,
    KeyRefused,
    ceremony_key,
    check_ceremony_keys,
    refuse_unless_allowed,
)
from prover.rollup.public_data import Domain, L1Entry
from prover.rollup.replay import replay_batch
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, ForcedExit, Transaction, Transfer, Withdrawal
from prover.service.rollup_api import (
    AccountView,
    AppliedBatch,
    BatchRejected,
    CircuitEntry,
    TxRequest,
    inputs_from_json,
)

_TRANSFER, _WITHDRAWAL = 2, 3  # public-data record types

log = logging.getLogger("zkprover.service.rollup")


class _JournaledState(State):
    """``State`` that also records (index, old account) for every write while ``undo`` is a list."""

    def __init__(self, depth: int) -> None:
        super().__init__(depth)
        self.undo: list[tuple[int, Account | None]] | None = None

    def set(self, index: int, account: Account | None) -> Path:
        if self.undo is not None:
            self.undo.append((index, self.get(index)))
        return super().set(index, account)


def _encode(a: Account) -> str:
    return json.dumps(
        {"ax": str(a.ax), "ay": str(a.ay), "balance": str(a.balance), "nonce": a.nonce, "owner": str(a.owner)}
    )


def _decode(data: str) -> Account:
    d = json.loads(data)
    # A row written before accounts had owners gives another leaf: ``load``'s root check says so.
    return Account(int(d["ax"]), int(d["ay"]), int(d["balance"]), int(d["nonce"]), int(d.get("owner", 0)))


def to_rollup_tx(tx: TxRequest) -> Transaction:
    sig = Signature((tx.signature[0], tx.signature[1]), tx.signature[2]) if tx.signature else None
    if tx.kind == "deposit":
        key = PublicKey(tx.pubkey) if tx.pubkey is not None else None
        return Deposit(key, tx.amount, tx.l1_address, tx.from_index)  # type: ignore[arg-type]
    if tx.kind == "forced_exit":
        return ForcedExit(tx.from_index, tx.l1_address)  # type: ignore[arg-type]
    if tx.kind == "transfer":
        return Transfer(tx.from_index, tx.to_index, tx.amount, tx.fee, tx.nonce, sig)  # type: ignore[arg-type]
    return Withdrawal(tx.from_index, tx.l1_address, tx.amount, tx.fee, tx.nonce, sig)  # type: ignore[arg-type]


class RollupAdapter:
    """The rollup operator's state, batch numbering and deployment.

    ``chain_id`` and ``rollup_address`` (the L1 Rollup contract's address; 0 while there is no
    L1 deployment yet) form the :class:`~prover.rollup.public_data.Domain` that every proof and
    signature is bound to.
    """

    def __init__(self, depth: int, chain_id: int, fee_account: int = 0, rollup_address: int = 0) -> None:
        self.depth = depth
        self.domain = Domain(chain_id, rollup_address)
        self.fee_account = fee_account
        self._state = _JournaledState(depth)
        self.capacity = self._state.capacity
        self._genesis = self._state.root
        self._batch_number = 0

    def bind_rollup_address(self, rollup_address: int) -> None:
        """Name the L1 Rollup contract once it is deployed (its constructor needs this service's
        verifying key and genesis root, so it comes after the service). Refused after the first
        batch: batches already applied were bound to the old domain."""
        if self._batch_number:
            raise RuntimeError("the rollup address can change only before the first batch")
        self.domain = Domain(self.domain.chain_id, rollup_address)

    def genesis_root(self) -> int:
        return self._genesis

    def state_root(self) -> int:
        return self._state.root

    def batch_number(self) -> int:
        return self._batch_number

    def account(self, index: int) -> AccountView | None:
        a = self._state.get(index)
        return AccountView(index, a.key, a.balance, a.nonce, a.owner) if a else None

    def apply_batch(self, txs: Sequence[TxRequest], batch_size: int) -> AppliedBatch:
        number = self._batch_number + 1
        self._state.undo = []
        try:
            result = rollup_batch.apply_batch(
                self._state,
                [to_rollup_tx(t) for t in txs],
                batch_size=batch_size,
                domain=self.domain,
                batch_number=number,
                fee_account=self.fee_account,
            )
        except rollup_batch.BatchRejected as exc:
            raise BatchRejected([str(e) for e in exc.errors]) from exc
        finally:
            undo, self._state.undo = self._state.undo, None
        self._batch_number = number
        changed = {i for i, _ in undo}
        accounts = {i: _encode(a) for i in sorted(changed) if (a := self._state.get(i)) is not None}
        return AppliedBatch(
            batch_number=number,
            batch_size=batch_size,
            old_root=result.old_root,
            new_root=result.new_root,
            circuit_inputs=dict(result.inputs),
            public_data=result.public_data_bytes,
            accounts=accounts,
            undo=undo,
        )

    def revert(self, applied: AppliedBatch) -> None:
        for index, account in reversed(applied.undo):
            self._state.set(index, account)
        self._batch_number = applied.batch_number - 1

    def unapply(self, inputs: Mapping[str, Any]) -> tuple[list[TxRequest], set[int]]:
        """Undo the newest batch from the circuit inputs it was proved with (JSON form): every
        slot records its accounts as they were before it, so writing those back in reverse slot
        order (the fee credit first, then B, then A of each slot) restores the state exactly.

        Returns the batch's client transactions (transfers and withdrawals, to be re-validated)
        and the indices it touched. Raises RuntimeError if the result is not the batch's old root.
        """
        v = inputs_from_json(inputs)

        def account(prefix: str, i: int | None = None) -> Account | None:
            def get(k: str) -> int:
                return v[f"{prefix}_{k}"] if i is None else v[f"{prefix}_{k}"][i]

            if get("empty"):
                return None
            return Account(get("ax"), get("ay"), get("balance"), get("nonce"), get("owner"))

        touched = {v["fee_account"]}
        self._state.set(v["fee_account"], account("fee"))
        for i in reversed(range(len(v["tx_type"]))):
            self._state.set(v["to_index"][i], account("b", i))
            self._state.set(v["from_index"][i], account("a", i))
            touched |= {v["to_index"][i], v["from_index"][i]}
        if self._state.root != v["old_root"]:
            raise RuntimeError(f"undoing batch {v['batch_number']} gave root {self._state.root}, not {v['old_root']}")
        self._batch_number = v["batch_number"] - 1
        txs = []
        for i, kind in enumerate(v["tx_type"]):
            if kind not in (_TRANSFER, _WITHDRAWAL):
                continue
            sig = (v["sig_r8x"][i], v["sig_r8y"][i], v["sig_s"][i])
            common = dict(from_index=v["from_index"][i], amount=v["amount"][i], fee=v["fee"][i], nonce=v["a_nonce"][i])
            if kind == _TRANSFER:
                txs.append(TxRequest(kind="transfer", to_index=v["to_index"][i], signature=sig, **common))
            else:
                txs.append(TxRequest(kind="withdrawal", l1_address=v["l1_addr"][i], signature=sig, **common))
        return txs, touched

    def replay(
        self, public_data: bytes, queue: Iterator[L1Entry], withdrawal_addresses: Sequence[int]
    ) -> tuple[int, set[int]]:
        """Apply the next batch as L1 settled it, from its public data (``prover.rollup.replay``):
        its new root and the indices it touched. ReplayMismatch (state unchanged) if it does
        not replay here."""
        number = self._batch_number + 1
        self._state.undo = []
        try:
            result = replay_batch(
                self._state, public_data, domain=self.domain, batch_number=number, queue=queue,
                withdrawal_addresses=withdrawal_addresses,
            )  # fmt: skip
        except BaseException:
            undo, self._state.undo = self._state.undo, None
            for index, account in reversed(undo):
                self._state.set(index, account)
            raise
        undo, self._state.undo = self._state.undo, None
        self._batch_number = number
        return result.new_root, {i for i, _ in undo}

    def encoded(self, index: int) -> str | None:
        """Account ``index`` as the store keeps it (None: empty)."""
        a = self._state.get(index)
        return _encode(a) if a is not None else None

    def load(self, accounts: Iterable[tuple[int, str]], batch_number: int, root: int) -> None:
        state = _JournaledState(self.depth)
        for index, data in accounts:
            state.set(index, _decode(data))
        if state.root != root:
            raise RuntimeError(f"stored accounts give root {state.root}, the stored head says {root}")
        self._state, self._batch_number = state, batch_number


class RollupRegistry:
    """Batch circuits ``rollup_b<size>_d<depth>`` from ``prover.rollup.circuit_cache``."""

    _NAME = re.compile(r"^rollup_b(\d+)_d(\d+)$")

    def __init__(
        self, sizes: Sequence[int], depth: int, cache_dir: str | None = None, keys: KeyPolicy | None = None
    ) -> None:
        self.sizes = sorted(sizes)
        self.depth = depth
        self.cache_dir = cache_dir
        # No policy (tests, tools that build a registry in code): development keys, logged per key.
        # The serve/worker CLI always passes one, refusing development keys unless allowed.
        self.keys = keys if keys is not None else KeyPolicy(allow_development=True)
        self._entries: dict[tuple[int, int], CircuitEntry] = {}
        self._lock = threading.Lock()

    def check_keys(self) -> None:
        """At start: with a keys directory, every configured shape's ceremony key is there and as
        pinned; without one, development keys must be allowed. KeyRefused otherwise."""
        if self.keys.keys_dir is not None:
            check_ceremony_keys(self.keys, [self.name(s) for s in self.sizes])
        elif not self.keys.allow_development:
            raise KeyRefused(
                "no ceremony keys configured (--keys-dir with pinned hashes) and development keys are not "
                "allowed (--allow-development-keys, for trials only)"
            )
        else:
            log.warning("development keys allowed: batches proved with them can be forged; NOT for production")

    def batch_sizes(self) -> list[int]:
        return list(self.sizes)

    def name(self, batch_size: int) -> str:
        return f"rollup_b{batch_size}_d{self.depth}"

    def get(self, batch_size: int) -> CircuitEntry:
        return self._entry(batch_size, self.depth)

    def by_name(self, name: str) -> CircuitEntry:
        # A worker proves whatever shape the job names, so a worker need not be configured
        # with the server's batch sizes.
        m = self._NAME.match(name)
        if not m:
            raise KeyError(f"not a rollup circuit name: {name!r}")
        return self._entry(int(m.group(1)), int(m.group(2)))

    def _entry(self, size: int, depth: int) -> CircuitEntry:
        from circuits.rollup.batch_circuit import build_batch_circuit
        from prover.rollup.circuit_cache import batch_circuit
        from prover.rollup.memory_check import check_batch_shapes

        with self._lock:
            entry = self._entries.get((size, depth))
            if entry is None:
                name = f"rollup_b{size}_d{depth}"
                if size not in self.sizes or depth != self.depth:
                    # A shape the start-up check (prover.service.cli) did not cover, named by a
                    # job: the keys already loaded are in this process's memory, so what is
                    # available now is what it may use. Refused here, not by the OOM killer.
                    check_batch_shapes([size], depth, setup=self.keys.keys_dir is None)
                if self.keys.keys_dir is not None:
                    circuit = build_batch_circuit(BatchShape(size, depth))
                    pk = ceremony_key(circuit, name, self.keys)
                else:
                    cached = batch_circuit(BatchShape(size, depth), cache_dir=self.cache_dir)
                    circuit, pk = cached.circuit, cached.pk
                    refuse_unless_allowed(pk, name, self.keys)
                entry = CircuitEntry(size, name, circuit, pk, pk.digest())
                self._entries[(size, depth)] = entry
            return entry
