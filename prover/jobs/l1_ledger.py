"""What the operator knows about L1, kept in the job store next to the jobs (SQLite or PostgreSQL).

- **L1 requests**: confirmed entries of the Rollup's priority queue (deposits, top-ups, forced
  exits), one row per queue index. Recording is idempotent (a redelivered event changes
  nothing, a different one under the same index is refused); a request waits until a batch
  takes it (``JobStore.submit(..., l1_queue=...)`` marks it in the batch's own transaction) and
  goes back to waiting when that batch is reverted.
- **Settlements**: for every batch L1 accepted, the transaction, gas and fee paid.
- **The L1 event cursor**: where the event follower has got (opaque JSON).
- **Batches recovered from L1** (``install_settled``): after a lost or stale store, the batches
  L1 settled, rebuilt from their public data, go in as SUCCEEDED jobs (batch id
  ``l1-settled-<n>``, the proof from the settlement's calldata) with the accounts, the head, the
  requests they consumed and their settlements, in one transaction. No table of its own: a
  recovered batch is a batch like any other, and the operator carries on after it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from prover.jobs.store import SUCCEEDED, JobStore, JobStoreError, StaleState

#: batch id of a batch recovered from L1 (the ``l1-`` prefix is the operator's, never a client's)
RECOVERED_BATCH_ID = "l1-settled-{}"

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
class RecoveredBatch:
    """A batch L1 settled, as the job it becomes in a store that lost it."""

    batch_number: int
    batch_size: int
    tx_count: int
    circuit: str
    old_root: str
    new_root: str
    public_data: str  # hex
    proof_json: str
    public_signals: tuple[str, ...]


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


def _row(req: L1Request) -> tuple[Any, ...]:
    """``req`` as the values of ``_REQ_COLS`` (big numbers as text)."""
    return (
        req.queue_index,
        req.kind,
        req.account_index,
        str(req.amount),
        str(req.address),
        str(req.ax),
        str(req.ay),
        req.block_number,
        req.batch_number,
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
            waiting = (*_row(req)[:-1], None)  # no batch has taken it yet
            cur.execute(f"INSERT INTO l1_requests ({_REQ_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", waiting)
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

    # --- batches recovered from L1 -------------------------------------------------------------
    def install_settled(
        self,
        expect_batch_number: int,
        batches: Sequence[RecoveredBatch],
        accounts: Mapping[int, str],
        requests: Sequence[L1Request],
        settlements: Sequence[Settlement],
    ) -> None:
        """In one transaction: the recovered ``batches`` (consecutive, after the head at
        ``expect_batch_number``) as SUCCEEDED jobs, ``accounts`` as the last of them left them,
        the head moved to it, ``requests`` recorded as taken by their batch (``batch_number``
        set), and ``settlements``. StaleState if the head moved; L1RequestConflict if a request
        was recorded before with other contents."""
        if not batches:
            return
        last = batches[-1]
        with self.store._tx() as cur:
            cur.execute("SELECT batch_number FROM rollup_head WHERE id = 1" + self.store.head_lock_sql)
            row = cur.fetchone()
            if row is None or int(row[0]) != expect_batch_number:
                raise StaleState(f"state head is at batch {row and row[0]}, expected {expect_batch_number}")
            for req in requests:
                cur.execute(f"SELECT {_REQ_COLS} FROM l1_requests WHERE queue_index = ?", (req.queue_index,))
                found = cur.fetchone()
                if found is not None and not _request(found).same_entry(req):
                    raise L1RequestConflict(
                        f"L1 queue entry {req.queue_index} was recorded as {_request(found)}, L1 says {req}"
                    )
                cur.execute(
                    f"INSERT INTO l1_requests ({_REQ_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (queue_index) DO UPDATE SET batch_number = excluded.batch_number",
                    _row(req),
                )
            self.store._write_accounts(cur, accounts, last.batch_number)
            for b in batches:
                cur.execute(
                    self.store._sql(
                        "INSERT INTO jobs (job_id, batch_id, request_hash, batch_number, state, batch_size, tx_count, "
                        "circuit, inputs, old_root, new_root, public_data, max_attempts, owner, created_at, "
                        "updated_at, finished_at, proof_json, public_signals, stage, stage_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?, ?, 1, '', {now}, {now}, {now}, ?, ?, "
                        "'settled', {now})"
                    ),
                    (
                        uuid.uuid4().hex,
                        RECOVERED_BATCH_ID.format(b.batch_number),
                        "",
                        b.batch_number,
                        SUCCEEDED,
                        b.batch_size,
                        b.tx_count,
                        b.circuit,
                        b.old_root,
                        b.new_root,
                        b.public_data,
                        b.proof_json,
                        json.dumps(list(b.public_signals)),
                    ),
                )
            for st in settlements:
                cur.execute(
                    self.store._sql(
                        "INSERT INTO settlements (batch_number, tx_hash, gas_used, fee_wei, tx_count, settled_at) "
                        "VALUES (?, ?, ?, ?, ?, {now}) ON CONFLICT (batch_number) DO NOTHING"
                    ),
                    (st.batch_number, st.tx_hash, st.gas_used, str(st.fee_wei), st.tx_count),
                )
            cur.execute(
                "UPDATE rollup_head SET batch_number = ?, root = ? WHERE id = 1", (last.batch_number, last.new_root)
            )

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
            # the batch's job leaves the settling stage (an operator sees where batches wait)
            cur.execute(
                self.store._sql(
                    "UPDATE jobs SET stage = 'settled', stage_at = {now}, updated_at = {now}, version = version + 1 "
                    "WHERE batch_number = ? AND state = ? AND stage <> 'settled'"
                ),
                (s.batch_number, SUCCEEDED),
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
