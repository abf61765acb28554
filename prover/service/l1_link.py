"""The operator's link to its Rollup contract on L1: L1 requests in, proven batches out.

:class:`RollupLink` does three things, each one step at a time so a loop, a test or a restart
can drive it:

- ``follow()``: records confirmed entries of the Rollup's priority queue (``Deposited``,
  ``ExitRequested``) in the job store's L1 ledger, idempotent by queue index. On a node it
  follows events through :class:`l1.watcher.EventWatcher` with a confirmation depth (an event
  in a block that a reorg replaces is retracted before it is ever recorded; the cursor lives in
  the job store). On the in-process chain, where nothing reorgs, it reads the queue itself.
- ``settle_next()``: sends the next proven batch (the one after L1's ``batchNumber``) through
  the settler, which sends nothing for a batch L1 already has (so a restart between proof and
  settlement settles it exactly once); records gas and fee per batch in the store and metrics.
- ``check()``: compares the operator's view with L1 (root of the settled batch, queue entries
  consumed) and raises :class:`L1Divergence` rather than letting it prove on a wrong root.

:class:`L1Loop` runs follow, L1-only batches (requests waiting longer than ``l1_batch_after_s``
with no client batch to carry them) and settlement in a background thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from l1.chain import L1Chain, attach
from l1.evm import CallReverted, Contract
from l1.node import NodeChain, NodeUnavailable
from l1.settler import BatchSettler, FeePolicy, InProcessSettler, Settler, SettlerError
from l1.watcher import Cursor, EventWatcher, WatchedEvent
from prover import metrics
from prover.groth16.formats import proof_from_json
from prover.jobs import SUCCEEDED, JobRecord, JobStore
from prover.jobs.l1_ledger import L1Ledger, L1Request, Settlement

log = logging.getLogger("zkprover.service.l1")

#: Rollup.sol's queue entry kinds
_KIND_NEW_ACCOUNT, _KIND_TOP_UP, _KIND_FORCED_EXIT = 1, 2, 3
_WITHDRAWAL = 3  # public-data record type of a withdrawal


class L1Divergence(RuntimeError):
    """The operator's state and L1 disagree; proving on would produce batches L1 refuses."""


class SettlementRefused(RuntimeError):
    """L1 refused a proven batch (the revert reason is in the message)."""

    def __init__(self, batch_number: int, reason: str, job_id: str = "") -> None:
        super().__init__(f"L1 refused batch {batch_number}: {reason}")
        self.batch_number = batch_number
        self.reason = reason
        self.job_id = job_id  # the job L1 refused (a revert meanwhile may have replaced it)


def _addr(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    return int(str(value), 16)


def request_from_event(event: WatchedEvent) -> L1Request:
    """The ledger row of a ``Deposited`` / ``ExitRequested`` event."""
    a = event.args
    if event.name == "ExitRequested":
        return L1Request(
            int(a["queueIndex"]),
            "forced_exit",
            int(a["accountIndex"]),
            0,
            _addr(a["requester"]),
            0,
            0,
            event.block_number,
        )
    if event.name != "Deposited":
        raise ValueError(f"not an L1 request event: {event.name}")
    ax, ay = int(a["ax"]), int(a["ay"])
    return L1Request(
        int(a["queueIndex"]),
        "deposit" if (ax or ay) else "top_up",
        int(a["accountIndex"]),
        int(a["amount"]),
        _addr(a["depositor"]),
        ax,
        ay,
        event.block_number,
    )


def withdrawal_addresses(job: JobRecord) -> list[int]:
    """The L1 addresses of a batch's withdrawals in slot order (submitBatch takes them), from the
    circuit inputs the job was proved with."""
    types, addrs = job.inputs["tx_type"], job.inputs["l1_addr"]
    return [int(addr) for t, addr in zip(types, addrs, strict=True) if int(t) == _WITHDRAWAL]


class _LedgerCursor:
    """The watcher's :class:`~l1.watcher.CursorStore` in the job store."""

    def __init__(self, ledger: L1Ledger) -> None:
        self.ledger = ledger

    def load(self) -> Cursor | None:
        data = self.ledger.load_cursor()
        return Cursor.from_json(data) if data else None

    def save(self, cursor: Cursor) -> None:
        self.ledger.save_cursor(cursor.to_json())


@dataclass(frozen=True)
class LinkConfig:
    #: blocks on top of an event's block before its request counts (nodes only)
    confirmations: int = 2
    #: fee cap for the settler on a node, wei per gas
    max_fee_per_gas: int = 500 * 10**9
    #: L1-only batch when requests waited this long without a client batch
    l1_batch_after_s: float = 2.0
    #: seconds between loop turns
    poll_s: float = 0.5


class RollupLink:
    """One operator's view of one Rollup deployment (see the module docstring)."""

    def __init__(
        self,
        chain: L1Chain,
        rollup: Contract,
        store: JobStore,
        config: LinkConfig | None = None,
        *,
        settler: BatchSettler | None = None,
    ) -> None:
        self.chain = chain
        self.rollup = rollup
        self.store = store
        self.config = config or LinkConfig()
        self.ledger = L1Ledger(store)
        self.on_node = isinstance(chain, NodeChain)
        sender = chain.accounts[0]
        if settler is None:
            if self.on_node:
                settler = Settler(chain, sender, FeePolicy(self.config.max_fee_per_gas), confirmations=0)  # type: ignore[arg-type]
            else:
                settler = InProcessSettler(sender)
        self.settler = settler
        self.watcher: EventWatcher | None = None
        if self.on_node:
            self.watcher = EventWatcher.for_contract(
                chain,  # type: ignore[arg-type]
                rollup,
                _LedgerCursor(self.ledger),
                events=["Deposited", "ExitRequested"],
                confirmations=self.config.confirmations,
            )

    @classmethod
    def attach(
        cls, chain: L1Chain, address: bytes | str, store: JobStore, config: LinkConfig | None = None
    ) -> RollupLink:
        return cls(chain, attach(chain, "Rollup", address), store, config)

    @property
    def rollup_address(self) -> int:
        return int.from_bytes(self.rollup.address, "big")

    # --- L1 requests in ------------------------------------------------------------------------
    def follow(self) -> int:
        """Record newly confirmed L1 requests; how many were new."""
        if self.watcher is not None:
            new = 0

            def deliver(event: WatchedEvent) -> None:
                nonlocal new
                new += self.ledger.record(request_from_event(event))

            self.watcher.poll(deliver)
        else:
            new = self._read_queue()
        metrics.L1_REQUESTS_WAITING.set(len(self.ledger.waiting()))
        return new

    def _read_queue(self) -> int:
        """In-process chain: read queue entries not yet recorded (no reorgs, every block final)."""
        known = self.ledger.all()
        start = known[-1].queue_index + 1 if known else 0
        accounts = sum(1 for r in known if r.kind == "deposit")
        return sum(
            self.ledger.record(r) for r in self.queue_entries(start, int(self.rollup.call("queueTail")), accounts)
        )

    def queue_entries(self, start: int, stop: int, accounts_before: int) -> list[L1Request]:
        """The priority queue's entries ``start``..``stop - 1`` read from the contract's storage,
        ``accounts_before`` being the number of new-account deposits before ``start`` (a new
        account's index is that count). An entry refunded in exodus is left out: no batch takes it."""
        out = []
        next_account = accounts_before
        for qi in range(start, stop):
            sender, amount, _deadline, kind, x, y = self.rollup.call("queue", qi)
            address = _addr(sender)
            if kind == _KIND_NEW_ACCOUNT:
                out.append(L1Request(qi, "deposit", next_account, amount, address, x, y))
                next_account += 1
            elif kind == _KIND_TOP_UP:
                out.append(L1Request(qi, "top_up", x, amount, address))
            elif kind == _KIND_FORCED_EXIT:
                out.append(L1Request(qi, "forced_exit", x, 0, address))
        return out

    # --- batches out --------------------------------------------------------------------------------
    def settled_batch(self) -> int:
        return int(self.rollup.call("batchNumber"))

    def settle_next(self) -> int | None:
        """Settle the batch after L1's newest if it is proven; its number, or None if not ready.

        Raises SettlementRefused when L1 refuses it (the caller reverts that batch).
        """
        target = self.settled_batch() + 1
        jobs = self.store.list(None, 1, target - 1)
        if not jobs or jobs[0].batch_number != target or jobs[0].state != SUCCEEDED:
            self._publish(target - 1)
            return None
        job = jobs[0]
        from l1.calldata import submit_batch_args

        args = submit_batch_args(
            int(job.new_root),
            bytes.fromhex(job.public_data.removeprefix("0x")),
            proof_from_json(_json(job.proof_json)),
            withdrawal_addresses(job),
        )
        try:
            receipt = self.settler.settle(self.rollup, "submitBatch", *args, batch=target, settled=self.settled_batch)
        except CallReverted as exc:
            raise SettlementRefused(target, exc.error, job.job_id) from exc
        if receipt is None:  # L1 had it already (sent before a restart): what it cost is not known here
            self.ledger.record_settlement(Settlement(target, "", 0, 0, job.tx_count))
            self._publish(target)
            return target
        if not receipt.ok:
            raise SettlementRefused(target, receipt.error or "reverted", job.job_id)
        self.ledger.record_settlement(
            Settlement(target, receipt.tx_hash.hex(), receipt.gas_used, receipt.fee_wei, job.tx_count)
        )
        metrics.L1_BATCH_GAS.observe(receipt.gas_used)
        metrics.L1_BATCH_FEE.observe(receipt.fee_wei)
        metrics.L1_GAS_PER_TX.set(receipt.gas_used / max(job.tx_count, 1))
        metrics.L1_FEE_PER_TX.set(receipt.fee_wei / max(job.tx_count, 1))
        log.info("batch %d settled on L1: %d gas, %d wei", target, receipt.gas_used, receipt.fee_wei)
        self._publish(target)
        return target

    def _publish(self, settled: int) -> None:
        metrics.L1_SETTLED_BATCH.set(settled)
        metrics.L1_BATCHES_UNSETTLED.set(max(self.store.head().batch_number - settled, 0))

    # --- consistency -------------------------------------------------------------------------------
    def check(self) -> int:
        """Check the store against L1; the settled batch number. Raises L1Divergence (and sets
        the ``zkprover_l1_divergence`` gauge) when the store's batch at L1's settled number has
        another root, or L1 settled batches this store does not hold (see
        :mod:`prover.service.l1_resync`, which rebuilds those from L1 first)."""
        settled = self.settled_batch()
        if settled == 0:
            metrics.L1_DIVERGENCE.set(0)
            return 0
        jobs = self.store.list(None, 1, settled - 1)
        l1_root = int(self.rollup.call("stateRoot"))
        if not jobs or jobs[0].batch_number != settled:
            raise diverged(
                f"L1 has settled batch {settled} (root {l1_root}) but this operator's store has no batch {settled}: "
                "another operator, or a lost store; resync from L1 before proving"
            )
        if int(jobs[0].new_root) != l1_root:
            raise diverged(
                f"batch {settled}: L1's root is {l1_root}, the store's is {jobs[0].new_root}"
                "; not proving on a wrong root"
            )
        # Settled while no process of this operator was there to record it (kill -9 after sending).
        for n in range(self.ledger.last_settled() + 1, settled + 1):
            job = self.store.list(None, 1, n - 1)[0]
            self.ledger.record_settlement(Settlement(n, "", 0, 0, job.tx_count))
        metrics.L1_DIVERGENCE.set(0)
        self._publish(settled)
        return settled


def diverged(message: str) -> L1Divergence:
    """The error to raise when the store and L1 disagree: logged, and counted in the divergence
    gauge so an alert fires while the operator refuses to go on."""
    metrics.L1_DIVERGENCE.set(1)
    log.error("operator diverged from L1: %s", message)
    return L1Divergence(message)


def _json(text: str) -> Any:
    import json

    return json.loads(text)


class L1Loop:
    """Follow L1, make L1-only batches when requests wait, revert what cannot be proven, settle
    proven batches: in a thread, for one :class:`~prover.service.core.ProverCore`.

    A batch whose job failed for good or was cancelled, and one L1 refuses, is reverted with its
    successors (``core.revert_from``) so L1 never stalls behind it. A node that goes away is
    retried each turn; the loop never gives up on its own.
    """

    def __init__(self, link: RollupLink, core: Any) -> None:
        self.link = link
        self.core = core
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._waiting_since: float | None = None
        self.last_error: str = ""

    def turn(self) -> None:
        """One pass: check the store still agrees with L1, follow, maybe an L1-only batch, settle
        everything proven in order. L1Divergence when L1 settled something this store did not make
        (a second operator on the same Rollup, or a store swapped under the process)."""
        self.link.check()
        self.link.follow()
        self.core.reconcile()
        if self.link.ledger.waiting(1):
            now = time.monotonic()
            self._waiting_since = self._waiting_since or now
            if now - self._waiting_since >= self.link.config.l1_batch_after_s:
                self.core.submit_l1_only()
                self._waiting_since = None
        else:
            self._waiting_since = None
        while True:
            try:
                if self.link.settle_next() is None:
                    break
            except SettlementRefused as exc:
                log.error("%s", exc)
                self.core.revert_from(exc.batch_number, f"reverted: {exc}", exc.job_id)
                break

    def run(self) -> None:
        while not self._stop.is_set():
            try:
                self.turn()
                self.last_error = ""
            except L1Divergence as exc:  # nothing this process can repair: stop changing the state
                self.last_error = str(exc)
                self.core.halt(f"its store diverged from L1 ({exc})")
                log.error(
                    "L1 loop stopped; the operator refuses batches until restarted on a store that agrees with L1"
                )
                return
            except (NodeUnavailable, SettlerError, OSError) as exc:
                self.last_error = str(exc)
                log.warning("L1 unavailable (%s); retrying", exc)
            except Exception as exc:  # keep the operator up; the error is logged and visible
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("L1 loop turn failed")
            self._stop.wait(self.link.config.poll_s)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run, name="l1-loop", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def connect(
    store: JobStore,
    *,
    url: str | None,
    rollup_address: int,
    key_file: str | None = None,
    config: LinkConfig | None = None,
    vk: Any = None,
    depth: int = 0,
) -> RollupLink:
    """The link an operator was configured with.

    With ``url``: the node there, signing with the operator key from ``key_file`` or the
    environment (:mod:`l1.keyfile`; never the command line), and the Rollup already deployed at
    ``rollup_address`` (required). Without: the embedded in-process EVM, with a Rollup for
    ``vk`` (the batch circuit's verifying key) and ``depth`` deployed into it now; it lives as
    long as the process, for demos and trials.
    """
    from l1.chain import open_chain

    if url is not None and not rollup_address:
        raise ValueError("--rollup-address is required with --l1 (the deployed Rollup contract)")
    chain = open_chain(url, key_file=key_file)
    if url is not None:
        return RollupLink.attach(chain, rollup_address.to_bytes(20, "big"), store, config)
    from l1.evm import RollupConfig, deploy_rollup

    rollup = deploy_rollup(chain, vk, RollupConfig(depth=depth))  # type: ignore[arg-type]
    log.info("embedded L1: Rollup deployed in process at 0x%s (chain id %d)", rollup.address.hex(), chain.chain_id)
    return RollupLink(chain, rollup, store, config)
