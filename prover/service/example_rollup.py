"""A stand-in rollup for the service until ``prover.rollup`` lands: a plain balance ledger whose
"batch circuit" is the cube chain from ``circuits.examples``.

NOT a rollup: transactions are checked for balances, nonces and account existence (with the
real operator's deposit and forced-exit semantics: a deposit with a key creates an account owned
by its depositor, one without tops one up; a forced exit pays the owner), but
signatures are not verified, the root is a SHA-256 of the accounts rather than a Poseidon Merkle
root, and the proof only binds the new root and batch number (the cube chain's public input
``x`` is the new root, its private ``key`` the batch number). It exists so that the service,
the job store and the workers run end to end with real Groth16 proofs through the same
:class:`~prover.service.rollup_api.RollupOperator` / ``CircuitRegistry`` interfaces the real
operator's adapter implements.

:class:`KeyCache` (keys set up once, written as .zkey files and shared by every process that
points at the same folder, under a file lock) is not specific to the stand-in.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from circuits.examples import cube_chain
from prover.field.bn254 import FR_MODULUS
from prover.groth16.keys import ProvingKey
from prover.service.rollup_api import (
    AccountView,
    AppliedBatch,
    BatchRejected,
    CircuitEntry,
    TxRequest,
)

log = logging.getLogger("zkprover.service")

AMOUNT_LIMIT = 1 << 40
BALANCE_LIMIT = 1 << 64
FORCED_EXIT_CAP = AMOUNT_LIMIT - 1


class ExampleOperator:
    """Balances and nonces in a dict; see the module docstring for what it does not check."""

    def __init__(self, capacity: int = 1 << 16) -> None:
        self.capacity = capacity
        self.depth = max(1, (capacity - 1).bit_length() + 1) // 2
        self._accounts: dict[int, AccountView] = {}
        self._batch_number = 0
        self._root = self.genesis_root()

    def genesis_root(self) -> int:
        return self._digest({})

    @staticmethod
    def _digest(accounts: dict[int, AccountView]) -> int:
        body = json.dumps(
            sorted(
                (a.index, str(a.pubkey[0]), str(a.pubkey[1]), str(a.balance), a.nonce, str(a.owner))
                for a in accounts.values()
            )
        )
        return int.from_bytes(hashlib.sha256(body.encode()).digest(), "big") % FR_MODULUS

    def state_root(self) -> int:
        return self._root

    def batch_number(self) -> int:
        return self._batch_number

    def account(self, index: int) -> AccountView | None:
        return self._accounts.get(index)

    @staticmethod
    def encode(a: AccountView) -> str:
        fields = {"ax": str(a.pubkey[0]), "ay": str(a.pubkey[1]), "balance": str(a.balance), "nonce": a.nonce}
        return json.dumps(fields | {"owner": str(a.owner)})

    @staticmethod
    def decode(index: int, data: str) -> AccountView:
        d = json.loads(data)
        key = (int(d["ax"]), int(d["ay"]))
        return AccountView(index, key, int(d["balance"]), int(d["nonce"]), int(d.get("owner", 0)))

    def apply_batch(self, txs: Sequence[TxRequest], batch_size: int) -> AppliedBatch:
        accounts = dict(self._accounts)  # applied to a copy: all or nothing
        reasons = []
        for i, tx in enumerate(txs):
            why = self._apply(accounts, tx)
            if why:
                reasons.append(f"transaction {i} ({tx.kind}): {why}")
        if reasons:
            raise BatchRejected(reasons)
        changed = {k: v for k, v in accounts.items() if self._accounts.get(k) != v}
        old_root, new_root = self._root, self._digest(accounts)
        number = self._batch_number + 1
        undo = (self._accounts, self._batch_number, self._root)
        self._accounts, self._batch_number, self._root = accounts, number, new_root
        public_data = b"".join(
            tx.kind[0].encode() + (tx.from_index or 0).to_bytes(4, "big") + tx.amount.to_bytes(8, "big") for tx in txs
        )
        return AppliedBatch(
            batch_number=number,
            batch_size=batch_size,
            old_root=old_root,
            new_root=new_root,
            circuit_inputs={"x": new_root, "key": number},
            public_data=public_data,
            accounts={k: self.encode(v) for k, v in changed.items()},
            undo=undo,
        )

    def _apply(self, accounts: dict[int, AccountView], tx: TxRequest) -> str | None:
        if tx.from_index is None:  # a new account without an index: the lowest free one
            tx = replace(tx, from_index=min(set(range(len(accounts) + 1)) - set(accounts)))
        if not 0 <= tx.from_index < self.capacity:
            return f"account index {tx.from_index} is outside the state (capacity {self.capacity})"
        src = accounts.get(tx.from_index)
        if tx.kind == "forced_exit":
            owned = src is not None and src.owner == tx.l1_address
            if owned:
                paid = min(src.balance, FORCED_EXIT_CAP)
                accounts[tx.from_index] = replace(src, balance=src.balance - paid)
            return None
        if not 0 < tx.amount < AMOUNT_LIMIT:
            return f"amount {tx.amount} is not in 1..2^40-1"
        if tx.kind == "deposit":
            if tx.pubkey is not None and src is not None:
                return f"account {tx.from_index} exists (a deposit with a key creates an account)"
            if tx.pubkey is None and src is None:
                return f"top-up of account {tx.from_index}, which does not exist"
            balance = (src.balance if src else 0) + tx.amount
            if balance >= BALANCE_LIMIT:
                return f"balance of account {tx.from_index} would overflow"
            if src is None:
                accounts[tx.from_index] = AccountView(tx.from_index, tx.pubkey, balance, 0, tx.l1_address or 0)  # type: ignore[arg-type]
            else:
                accounts[tx.from_index] = replace(src, balance=balance)
            return None
        if src is None:
            return f"account {tx.from_index} does not exist"
        if tx.nonce != src.nonce:
            return f"nonce {tx.nonce} does not match account {tx.from_index}'s nonce {src.nonce}"
        if src.balance < tx.amount + tx.fee:
            return f"account {tx.from_index} holds {src.balance}, needs {tx.amount + tx.fee}"
        accounts[tx.from_index] = replace(src, balance=src.balance - tx.amount - tx.fee, nonce=src.nonce + 1)
        if tx.kind == "transfer":
            if not 0 <= tx.to_index < self.capacity:
                return f"account index {tx.to_index} is outside the state (capacity {self.capacity})"
            dst = accounts.get(tx.to_index)
            if dst is None:
                return f"receiver account {tx.to_index} does not exist"
            if dst.balance + tx.amount >= BALANCE_LIMIT:
                return f"balance of account {tx.to_index} would overflow"
            accounts[tx.to_index] = replace(dst, balance=dst.balance + tx.amount)
        return None

    def revert(self, applied: AppliedBatch) -> None:
        self._accounts, self._batch_number, self._root = applied.undo

    def load(self, accounts: Iterable[tuple[int, str]], batch_number: int, root: int) -> None:
        self._accounts = {i: self.decode(i, d) for i, d in accounts}
        self._batch_number = batch_number
        self._root = self._digest(self._accounts)
        if self._root != root:
            raise RuntimeError(f"stored accounts hash to {self._root}, the stored head says {root}")


class KeyCache:
    """Proving keys by circuit name: in memory, and as ``<dir>/<name>.zkey`` when a folder is given.

    With a folder, the first process to need a key runs the (development) setup under an
    exclusive file lock and writes it; the others wait on the lock and read the file. Every
    server and worker sharing the folder thus proves and verifies with the same key, which a
    setup per process (fresh toxic waste each time) would break.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder else None
        self._keys: dict[str, ProvingKey] = {}
        self._lock = threading.Lock()

    def get(self, name: str, make: Callable[[], ProvingKey]) -> ProvingKey:
        with self._lock:
            if name in self._keys:
                return self._keys[name]
            pk = self._load_or_make(name, make)
            self._keys[name] = pk
            return pk

    def _load_or_make(self, name: str, make: Callable[[], ProvingKey]) -> ProvingKey:
        if self.folder is None:
            return make()
        from prover.groth16.zkey import read_zkey, write_zkey

        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"{name}.zkey"
        with open(self.folder / f"{name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if path.exists():
                return read_zkey(path)
            log.warning("no proving key %s; running a development setup (NOT for production)", path)
            pk = make()
            write_zkey(pk, path)
            return read_zkey(path)  # what other processes will read, byte for byte


class ExampleRegistry:
    """Batch size n -> a cube chain of ``rounds_per_tx * n`` rounds, with a cached key."""

    def __init__(self, sizes: Sequence[int] = (1, 2, 4), rounds_per_tx: int = 4, keys: KeyCache | None = None) -> None:
        self.sizes = sorted(sizes)
        self.rounds_per_tx = rounds_per_tx
        self.keys = keys or KeyCache()
        self._entries: dict[int, CircuitEntry] = {}
        self._lock = threading.Lock()

    def batch_sizes(self) -> list[int]:
        return list(self.sizes)

    def name(self, batch_size: int) -> str:
        return f"cube_chain_{self.rounds_per_tx * batch_size}"

    def get(self, batch_size: int) -> CircuitEntry:
        if batch_size not in self.sizes:
            raise KeyError(f"no circuit for batch size {batch_size}")
        with self._lock:
            entry = self._entries.get(batch_size)
            if entry is None:
                from prover.groth16.setup import setup

                circuit = cube_chain(self.rounds_per_tx * batch_size)
                pk = self.keys.get(circuit.name, lambda: setup(circuit.r1cs, name=circuit.name))
                entry = CircuitEntry(batch_size, circuit.name, circuit, pk, pk.digest())
                self._entries[batch_size] = entry
            return entry

    def by_name(self, name: str) -> CircuitEntry:
        for size in self.sizes:
            if self.name(size) == name:
                return self.get(size)
        raise KeyError(f"no circuit named {name!r}")
