"""What the operator knows about L1, kept in the job store next to the jobs (SQLite or PostgreSQL).

- **L1 requests**: confirmed entries of the Rollup's priority queue (deposits, top-ups, forced
  exits), one row per queue index. Recording is idempotent (a redelivered event changes
  nothing, a different one under the same index is refused); a request waits until a batch
  takes it (``JobStore.submit(..., l1_queue=...)`` marks it in the batch's own transaction) and
  goes back to waiting when that batch is reverted.
- **Settlements**: for every batch L1 accepted, the transaction, gas and fee paid.
- **The L1 event cursor**: where the event follower has got (opaque JSON).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from prover.jobs.store import JobStore, JobStoreError

REQUEST_KINDS = ("deposit", "top_up", "forced_exit")


@dataclass(frozen=True)
class L1Request:
    """One entry of the Rollup's priority queue.

    ``address`` is the depositor or the exit's requester (160 bits); ``ax``/``ay`` the new
    account's key (0 for a top-up or a forced exit); ``batch_number`` the batch that took it.
    """

    queue_index: int
    kind: str
    account_index: int
    amount: int
    address: int
    ax: int = 0
    ay: int = 0
    block_number: int = 0
    batch_number: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in REQUEST_KINDS:
            raise ValueError(f"L1 request kind {self.kind!r} is not one of {REQUEST_KINDS}")

    def same_entry(self, other: L1Request) -> bool:
        keys = ("queue_index", "kind", "account_index", "amount", "address", "ax", "ay")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


@dataclass(frozen=True)
class Settlement:
    batch_number: int
    tx_hash: str
    gas_used: int
    fee_wei: int
    tx_count: int


class L1RequestConflict(JobStoreError):
    """A queue index was recorded before with other contents: the L1 view is wrong."""


_REQ_COLS = "queue_index, kind, account_index, amount, address, ax, ay, block_number, batch_number"


def _request(row: Sequence[Any]) -> L1Request:
    q, kind, idx, amount, address, ax, ay, block, batch = row
    return L1Request(
        int(q),
        kind,
        int(idx),
        int(amount),
        int(address),
        int(ax),
        int(ay),
        int(block),
        None if batch is None else int(batch),
    )


class L1Ledger:
    """The L1 tables of ``store`` (created by its migration 3)."""

    def __init__(self, store: JobStore) -> None:
        self.store = store

    # --- requests --------------------------------------------------------------------------------
    def record(self, req: L1Request) -> bool:
        """Store a confirmed request; False if it was there already (same contents)."""
        with self.store._tx() as cur:
            cur.execute(f"SELECT {_REQ_COLS} FROM l1_requests WHERE queue_index = ?", (req.queue_index,))
            row = cur.fetchone()
            if row is not None:
                if not _request(row).same_entry(req):
                    raise L1RequestConflict(
                        f"L1 queue entry {req.queue_index} was recorded as {_request(row)}, now seen as {req}"
                    )
                return False
            cur.execute(
                f"INSERT INTO l1_requests ({_REQ_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (
                    req.queue_index,
                    req.kind,
                    req.account_index,
                    str(req.amount),
                    str(req.address),
                    str(req.ax),
                    str(req.ay),
                    req.block_number,
                ),
            )
            return True

    def retract(self, queue_index: int) -> bool:
        """Forget a request whose block left the chain; refused once a batch took it."""
        with self.store._tx() as cur:
            cur.execute("SELECT batch_number FROM l1_requests WHERE queue_index = ?", (queue_index,))
            row = cur.fetchone()
            if row is None:
                return False
            if row[0] is not None:
                raise L1RequestConflict(f"L1 queue entry {queue_index} was taken by batch {row[0]}; cannot retract")
            cur.execute("DELETE FROM l1_requests WHERE queue_index = ?", (queue_index,))
            return True

    def waiting(self, limit: int = 1000) -> list[L1Request]:
        """Requests no batch has taken, in queue order."""
        with self.store._tx(write=False) as cur:
            cur.execute(
                f"SELECT {_REQ_COLS} FROM l1_requests WHERE batch_number IS NULL ORDER BY queue_index LIMIT ?",
                (limit,),
            )
            return [_request(r) for r in cur.fetchall()]

    def all(self) -> list[L1Request]:
        with self.store._tx(write=False) as cur:
            cur.execute(f"SELECT {_REQ_COLS} FROM l1_requests ORDER BY queue_index")
            return [_request(r) for r in cur.fetchall()]

    def taken_by(self, batch_number: int) -> list[L1Request]:
        with self.store._tx(write=False) as cur:
            cur.execute(
                f"SELECT {_REQ_COLS} FROM l1_requests WHERE batch_number = ? ORDER BY queue_index", (batch_number,)
            )
            return [_request(r) for r in cur.fetchall()]

    # --- settlements -------------------------------------------------------------------------------
    def record_settlement(self, s: Settlement) -> None:
        with self.store._tx() as cur:
            cur.execute(
                self.store._sql(
                    "INSERT INTO settlements (batch_number, tx_hash, gas_used, fee_wei, tx_count, settled_at) "
                    "VALUES (?, ?, ?, ?, ?, {now}) ON CONFLICT (batch_number) DO NOTHING"
                ),
                (s.batch_number, s.tx_hash, s.gas_used, str(s.fee_wei), s.tx_count),
            )

    def settlements(self) -> list[Settlement]:
        with self.store._tx(write=False) as cur:
            cur.execute(
                "SELECT batch_number, tx_hash, gas_used, fee_wei, tx_count FROM settlements ORDER BY batch_number"
            )
            return [Settlement(int(b), h, int(g), int(f), int(n)) for b, h, g, f, n in cur.fetchall()]

    def last_settled(self) -> int:
        with self.store._tx(write=False) as cur:
            cur.execute("SELECT MAX(batch_number) FROM settlements")
            row = cur.fetchone()
            return int(row[0]) if row and row[0] is not None else 0

    # --- the event follower's cursor (opaque JSON) ---------------------------------------------------
    def load_cursor(self) -> dict[str, Any] | None:
        with self.store._tx(write=False) as cur:
            cur.execute("SELECT data FROM l1_cursor WHERE id = 1")
            row = cur.fetchone()
        return json.loads(row[0]) if row else None

    def save_cursor(self, data: dict[str, Any]) -> None:
        with self.store._tx() as cur:
            cur.execute(
                "INSERT INTO l1_cursor (id, data) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET data = excluded.data",
                (json.dumps(data),),
            )
