"""The narrow interface the service needs from the rollup, and the internal types it speaks.

The service does not reach into ``prover.rollup``'s classes: an adapter implements
:class:`RollupOperator` (check and apply a batch, read accounts and the root, undo, reload) and
:class:`CircuitRegistry` (the compiled batch circuit and proving key for a batch size). The
servicer converts protobuf into :class:`TxRequest` and back; the adapter converts
:class:`TxRequest` into the rollup's own transaction objects.

Persistence belongs to the service: the operator's in-memory state is a cache of the job
store's accounts table, written in the same transaction as the job row, and rebuilt from it at
start (``load``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from prover.groth16.keys import ProvingKey

TX_KINDS = ("deposit", "transfer", "withdrawal", "forced_exit")


@dataclass(frozen=True)
class TxRequest:
    """One submitted transaction, checked for shape (not yet against the state)."""

    kind: str  # one of TX_KINDS
    # sender; a deposit's account (None: a new account at the operator's next free index); the
    # account a forced exit empties
    from_index: int | None = 0
    to_index: int = 0  # a transfer's receiver
    amount: int = 0
    fee: int = 0
    nonce: int = 0
    # deposits: the new account's Baby Jubjub key (Ax, Ay); None: a top-up of from_index
    pubkey: tuple[int, int] | None = None
    signature: tuple[int, int, int] | None = None  # transfers, withdrawals: (R8x, R8y, S)
    # 160-bit L1 address: a withdrawal's payee, a deposit's depositor, a forced exit's requester
    l1_address: int | None = None

    def canonical(self) -> list[Any]:
        """A stable, JSON-able form: the idempotency hash of a batch is taken over it."""
        return [
            self.kind,
            self.from_index,
            self.to_index,
            str(self.amount),
            str(self.fee),
            self.nonce,
            [str(v) for v in self.pubkey] if self.pubkey else None,
            [str(v) for v in self.signature] if self.signature else None,
            hex(self.l1_address) if self.l1_address is not None else None,
        ]


@dataclass(frozen=True)
class AccountView:
    index: int
    pubkey: tuple[int, int]
    balance: int
    nonce: int
    owner: int = 0  # the L1 address that created the account


class BatchRejected(ValueError):
    """The batch does not apply to the current state; one reason per bad transaction."""

    def __init__(self, reasons: Sequence[str]) -> None:
        self.reasons = list(reasons)
        super().__init__("; ".join(self.reasons))


@dataclass
class AppliedBatch:
    """A batch applied to the operator's in-memory state, not yet persisted."""

    batch_number: int
    batch_size: int
    old_root: int
    new_root: int
    circuit_inputs: dict[str, Any]  # JSON-able; the worker hands it to the circuit's witness()
    public_data: bytes
    accounts: dict[int, str]  # every account the batch changed: index -> stored JSON
    undo: Any = field(default=None, repr=False)  # the operator's own token for revert()


class RollupOperator(Protocol):
    """The rollup state machine, as the service drives it (single writer per process)."""

    capacity: int
    depth: int

    def genesis_root(self) -> int: ...

    def state_root(self) -> int: ...

    def batch_number(self) -> int: ...

    def account(self, index: int) -> AccountView | None: ...

    def apply_batch(self, txs: Sequence[TxRequest], batch_size: int) -> AppliedBatch:
        """Check every transaction and apply them all, or raise BatchRejected and change nothing."""
        ...

    def revert(self, applied: AppliedBatch) -> None:
        """Undo the last apply_batch (its persistence failed)."""
        ...

    def load(self, accounts: Iterable[tuple[int, str]], batch_number: int, root: int) -> None:
        """Replace the in-memory state by the stored one (at start, or after another server moved it)."""
        ...


@dataclass
class CircuitEntry:
    """One batch circuit, ready to prove: ``witness(inputs)`` gives the full assignment."""

    batch_size: int
    name: str
    circuit: Any  # circuits.builder.CompiledCircuit (or anything with witness() and r1cs)
    pk: ProvingKey
    key_hash: str


class CircuitRegistry(Protocol):
    def batch_sizes(self) -> list[int]: ...

    def name(self, batch_size: int) -> str: ...

    def get(self, batch_size: int) -> CircuitEntry:
        """Compile (or load) the circuit and its key; cached, and safe to call from threads."""
        ...

    def by_name(self, name: str) -> CircuitEntry: ...


def smallest_fitting(sizes: Iterable[int], n_txs: int) -> int | None:
    fitting = sorted(s for s in sizes if s >= n_txs)
    return fitting[0] if fitting else None


def inputs_json_safe(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """Circuit inputs with every integer kept exact through JSON (big ints as decimal strings)."""

    def conv(v: Any) -> Any:
        if isinstance(v, bool):
            return int(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, list | tuple):
            return [conv(x) for x in v]
        raise TypeError(f"circuit input of type {type(v).__name__}")

    return {k: conv(v) for k, v in inputs.items()}


def inputs_from_json(inputs: Mapping[str, Any]) -> dict[str, Any]:
    def conv(v: Any) -> Any:
        return [conv(x) for x in v] if isinstance(v, list) else int(v)

    return {k: conv(v) for k, v in inputs.items()}
