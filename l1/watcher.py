"""Follows one contract's events on an L1 node: each event delivered once, in order, once confirmed.

An event in block ``b`` is *confirmed*, and handed to ``deliver``, once the node's head is at
least ``b + confirmations`` (``confirmations`` blocks built on top of it). Blocks above that are
tracked as *pending*: :class:`EventWatcher` fetches them one by one, checks every block's
parent hash against the block before it, and when a block it saw is replaced (a reorg) it
retracts that block's events (``on_retract``) before they were ever delivered. A reorg of at
most ``confirmations`` blocks therefore never touches a delivered event; one that replaces a
delivered block is reported as :class:`ReorgBeyondConfirmations` (the caller must resync: the
watcher cannot take a delivery back).

Progress is a :class:`Cursor` (block number, block hash, and the log index of the last event
delivered in that block) saved through a :class:`CursorStore` after every delivered event and
after every confirmed stretch of blocks. A watcher restarted on the saved cursor delivers what
follows it and nothing before: exactly once, as long as ``deliver`` records its effect and the
cursor together (give it a store that writes in the same transaction) or is idempotent.

The node may go away: :meth:`EventWatcher.poll` raises :class:`~l1.node.NodeUnavailable`, and
:meth:`EventWatcher.run` retries with exponential backoff and carries on where it was.

Which events, and how to decode them, are parameters: :meth:`EventWatcher.for_contract` takes a
contract's ABI and a list of event names (the Rollup's deposits, exit requests, settled
batches), and any other decoder from a :class:`~l1.node.RawLog` to an event works too.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from eth_utils.abi import event_abi_to_log_topic

from l1.evm import Contract, Event
from l1.node import BlockHeader, NodeChain, NodeUnavailable, RawLog
from prover import metrics

log = logging.getLogger("zkprover.l1.watcher")


class WatcherError(RuntimeError):
    """The watcher cannot go on from where it is."""


class ReorgBeyondConfirmations(WatcherError):
    """A block whose events were already delivered is no longer on the node's chain."""


@dataclass(frozen=True)
class Cursor:
    """How far delivery has got: block ``block_number`` (whose hash was ``block_hash``) is done
    up to and including ``log_index``, or entirely when ``log_index`` is None."""

    block_number: int
    block_hash: bytes
    log_index: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"block_number": self.block_number, "block_hash": self.block_hash.hex(), "log_index": self.log_index}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Cursor:
        return cls(int(data["block_number"]), bytes.fromhex(data["block_hash"]), data.get("log_index"))


class CursorStore(Protocol):
    """Where a watcher keeps its cursor between runs."""

    def load(self) -> Cursor | None: ...

    def save(self, cursor: Cursor) -> None: ...


class MemoryCursorStore:
    """A cursor kept in memory (tests; a watcher that starts over on every run)."""

    def __init__(self, cursor: Cursor | None = None) -> None:
        self.cursor = cursor
        self.saves = 0

    def load(self) -> Cursor | None:
        return self.cursor

    def save(self, cursor: Cursor) -> None:
        self.cursor = cursor
        self.saves += 1


class FileCursorStore:
    """A cursor in a small JSON file, replaced atomically (rename) so a crash leaves old or new."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def load(self) -> Cursor | None:
        try:
            return Cursor.from_json(json.loads(self.path.read_text()))
        except FileNotFoundError:
            return None

    def save(self, cursor: Cursor) -> None:
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        with open(tmp, "w") as f:
            json.dump(cursor.to_json(), f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


@dataclass(frozen=True)
class WatchedEvent:
    """A decoded event with where it was found."""

    name: str
    args: dict[str, Any]
    address: bytes
    block_number: int
    block_hash: bytes
    log_index: int
    tx_hash: bytes


Decoder = Callable[[RawLog], Event | None]


@dataclass
class _Block:
    header: BlockHeader
    events: list[WatchedEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Backoff:
    """Retry delays when the node is away: initial_s, doubling, at most max_s; give up (re-raise)
    after ``max_failures`` failures in a row (None: never)."""

    initial_s: float = 0.5
    max_s: float = 30.0
    max_failures: int | None = None


class EventWatcher:
    """Follows the events of the contract at ``address`` (see the module docstring)."""

    def __init__(
        self,
        node: NodeChain,
        address: bytes,
        decode: Decoder,
        store: CursorStore,
        *,
        confirmations: int,
        topics: Sequence[int] | None = None,
        start_block: int = 0,
        max_range: int = 1000,
        on_pending: Callable[[WatchedEvent], None] | None = None,
        on_retract: Callable[[WatchedEvent], None] | None = None,
    ) -> None:
        if confirmations < 0:
            raise ValueError(f"confirmations must be >= 0, got {confirmations}")
        if max_range < 1:
            raise ValueError(f"max_range must be >= 1, got {max_range}")
        self.node = node
        self.address = address
        self.decode = decode
        self.store = store
        self.confirmations = confirmations
        self.topics = list(topics) if topics else None
        self.start_block = start_block
        self.max_range = max_range
        self.on_pending = on_pending
        self.on_retract = on_retract
        #: blocks above the cursor, seen but not yet confirmed, contiguous from cursor + 1
        self._window: list[_Block] = []

    @classmethod
    def for_contract(
        cls,
        node: NodeChain,
        contract: Contract,
        store: CursorStore,
        *,
        events: Collection[str] | None = None,
        **kw: Any,
    ) -> EventWatcher:
        """A watcher for ``contract``'s events named in ``events`` (all of its events if None)."""
        abi_events = [i for i in contract.abi if i["type"] == "event"]
        known = {i["name"] for i in abi_events}
        if events is not None:
            missing = sorted(set(events) - known)
            if missing:
                raise ValueError(
                    f"{contract.name or 'contract'} has no event {', '.join(missing)} (has {sorted(known)})"
                )
            abi_events = [i for i in abi_events if i["name"] in events]
        topics = [int.from_bytes(event_abi_to_log_topic(i), "big") for i in abi_events]

        def decode(raw: RawLog) -> Event | None:
            found = contract.decode_logs([raw])
            return found[0] if found else None

        return cls(node, contract.address, decode, store, topics=topics, **kw)

    # --- one step ----------------------------------------------------------------------------
    def _initial_cursor(self) -> Cursor:
        if self.start_block <= 0:
            return Cursor(-1, b"")
        header = self.node.header(self.start_block - 1)
        if header is None:
            raise WatcherError(f"start block {self.start_block} is beyond the node's head")
        return Cursor(header.number, header.hash)

    def _decoded(self, logs: Sequence[RawLog]) -> list[WatchedEvent]:
        out = []
        for raw in logs:
            if raw.removed:
                continue
            event = self.decode(raw)
            if event is not None:
                out.append(
                    WatchedEvent(
                        event.name,
                        event.args,
                        raw.address,
                        raw.block_number,
                        raw.block_hash,
                        raw.log_index,
                        raw.tx_hash,
                    )
                )
        return out

    def _check_cursor(self, cursor: Cursor) -> None:
        if cursor.block_number < 0:
            return
        header = self.node.header(cursor.block_number)
        if header is None or header.hash != cursor.block_hash:
            now = "missing" if header is None else f"0x{header.hash.hex()}"
            raise ReorgBeyondConfirmations(
                f"block {cursor.block_number} was 0x{cursor.block_hash.hex()} when its events were delivered; "
                f"the node now has {now}: L1 diverged deeper than {self.confirmations} confirmations "
                "(or the node lost its chain); resync from L1"
            )

    def _retract_from(self, index: int) -> None:
        for block in reversed(self._window[index:]):
            for event in reversed(block.events):
                metrics.L1_EVENTS.labels(event.name, "retracted").inc()
                log.info("L1 event %s in orphaned block %d retracted", event.name, event.block_number)
                if self.on_retract:
                    self.on_retract(event)
        del self._window[index:]

    def _refresh_window(self, cursor: Cursor, head: int) -> bool:
        """Bring the pending window up to ``head``; False if the chain moved while reading."""
        if len(self._window) and self._window[-1].header.number > head:
            metrics.L1_REORGS.inc()
            self._retract_from(head - cursor.block_number)  # the chain got shorter
        for number in range(cursor.block_number + 1, head + 1):
            index = number - cursor.block_number - 1
            header = self.node.header(number)
            if header is None:
                return False
            if index < len(self._window):
                if self._window[index].header.hash == header.hash:
                    continue
                metrics.L1_REORGS.inc()
                log.warning("L1 reorg: block %d replaced (depth %d)", number, len(self._window) - index)
                self._retract_from(index)
            parent = self._window[index - 1].header.hash if index else cursor.block_hash
            if (index or cursor.block_number >= 0) and header.parent_hash != parent:
                if index == 0:
                    self._check_cursor(cursor)  # raises: the delivered block itself was replaced
                # A block below this one changed after we read it: drop it and read again.
                self._retract_from(index - 1)
                return False
            block = _Block(header, self._decoded(self.node.logs(self.address, self.topics, block_hash=header.hash)))
            self._window.append(block)
            for event in block.events:
                if self.on_pending:
                    self.on_pending(event)
        return True

    def _deliver_range(
        self, cursor: Cursor, to_block: int, deliver: Callable[[WatchedEvent], None]
    ) -> tuple[Cursor, int]:
        """Blocks cursor+1..to_block are all confirmed: read their logs in chunks, deliver them;
        the new cursor and how many events were delivered."""
        start, count = cursor.block_number + 1, 0
        while start <= to_block:
            end = min(start + self.max_range - 1, to_block)
            events = self._decoded(self.node.logs(self.address, self.topics, from_block=start, to_block=end))
            header = self.node.header(end)
            if header is None:
                raise WatcherError(f"the node lost block {end} while reading it")
            for event in events:
                self._hand_over(event, deliver)
            count += len(events)
            cursor = Cursor(header.number, header.hash)
            self.store.save(cursor)
            start = end + 1
        return cursor, count

    def _hand_over(self, event: WatchedEvent, deliver: Callable[[WatchedEvent], None]) -> Cursor:
        deliver(event)
        metrics.L1_EVENTS.labels(event.name, "delivered").inc()
        cursor = Cursor(event.block_number, event.block_hash, event.log_index)
        self.store.save(cursor)
        return cursor

    def _finish_partial(self, cursor: Cursor, deliver: Callable[[WatchedEvent], None]) -> tuple[Cursor, int]:
        """A restart in the middle of a block: deliver the rest of that block's events."""
        logs = self.node.logs(self.address, self.topics, block_hash=cursor.block_hash)
        rest = [e for e in self._decoded(logs) if cursor.log_index is not None and e.log_index > cursor.log_index]
        for event in rest:
            self._hand_over(event, deliver)
        done = Cursor(cursor.block_number, cursor.block_hash)
        self.store.save(done)
        return done, len(rest)

    def poll(self, deliver: Callable[[WatchedEvent], None]) -> int:
        """Catch up with the node once: deliver newly confirmed events in order; how many.

        Raises NodeUnavailable when the node does not answer, ReorgBeyondConfirmations when a
        delivered block is gone.
        """
        cursor = self.store.load() or self._initial_cursor()
        self._check_cursor(cursor)
        delivered = 0
        if cursor.log_index is not None:
            cursor, delivered = self._finish_partial(cursor, deliver)
        for _ in range(8):  # a chain that keeps moving under us: re-read, a few times at most
            head = self.node.block_number
            confirmed_to = head - self.confirmations
            metrics.L1_BLOCK.labels("head").set(head)
            if not self._window and confirmed_to > cursor.block_number:
                cursor, count = self._deliver_range(cursor, confirmed_to, deliver)
                delivered += count
            if self._refresh_window(cursor, head):
                break
        else:
            raise WatcherError("the node's chain kept changing while it was read (8 tries)")
        while self._window and self._window[0].header.number <= confirmed_to:
            block = self._window.pop(0)
            for event in block.events:
                cursor = self._hand_over(event, deliver)
                delivered += 1
            cursor = Cursor(block.header.number, block.header.hash)
            self.store.save(cursor)
        metrics.L1_BLOCK.labels("confirmed").set(max(cursor.block_number, 0))
        return delivered

    @property
    def pending(self) -> list[WatchedEvent]:
        """Events seen in blocks not yet confirmed, oldest first (may still be retracted)."""
        return [event for block in self._window for event in block.events]

    # --- the loop ----------------------------------------------------------------------------
    def run(
        self,
        deliver: Callable[[WatchedEvent], None],
        stop: threading.Event,
        *,
        interval_s: float = 2.0,
        backoff: Backoff | None = None,
    ) -> None:
        """Poll every ``interval_s`` until ``stop`` is set, retrying a node that is away."""
        backoff = backoff or Backoff()
        delay, failures = backoff.initial_s, 0
        while not stop.is_set():
            try:
                self.poll(deliver)
            except NodeUnavailable as exc:
                failures += 1
                if backoff.max_failures is not None and failures >= backoff.max_failures:
                    raise
                log.warning("L1 node unavailable (%s); retrying in %.1f s", exc, delay)
                stop.wait(delay)
                delay = min(delay * 2, backoff.max_s)
                continue
            delay, failures = backoff.initial_s, 0
            stop.wait(interval_s)
