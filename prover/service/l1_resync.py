"""On start, an operator linked to L1 makes its view agree with L1 before it proves anything.

L1 is the source of truth; the job store is the operator's memory of it plus the batches it has
made since. :func:`start_from_l1` compares the two and does one of three things:

- **The store holds L1's newest settled batch, with L1's root**: it goes on from there. Batches
  in the store after it (made, maybe proven, not settled yet) chain from that root, because the
  store keeps one unbroken sequence of batches; they are kept and settled in order.
- **The store is behind L1** (lost and started empty, restored from an old backup, or a
  standby that was not running): the batches it lacks are rebuilt from L1's public data
  (:mod:`l1.history` reads each settled ``submitBatch``'s calldata, :mod:`prover.rollup.replay`
  applies it, deposits' keys and depositors coming from the priority queue). Each replayed
  batch must encode to exactly the public data L1 settled and end on the root L1 stored;
  the store's own newest batch must be L1's batch of that number (same root). Then the
  recovered batches go into the store in one transaction, as SUCCEEDED jobs with the proof
  from their calldata, and the operator proves and settles the next batch on L1's root.
- **Anything else is a divergence**: the store's batch at L1's settled number has another root
  (another operator settled other batches, or the store belongs to another deployment), or the
  store's newest batch is not L1's, or L1's data does not replay. The operator logs it, sets
  ``zkprover_l1_divergence`` to 1 and raises :class:`~prover.service.l1_link.L1Divergence`:
  ``serve`` then refuses to start, so nothing is proven or settled on a wrong root. Unsettled
  batches that do not chain from L1's root can never settle; the store is left as it is for an
  operator to inspect. To carry on, move the store aside and start on an empty one: the state
  is rebuilt from L1, and the clients of the dropped batches resubmit (their batch ids then
  find no job).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from circuits.rollup.params import TxType
from l1.calldata import proof_from_words
from l1.history import HistoryError, SettledBatch, settled_batches
from prover import metrics
from prover.groth16.formats import proof_to_json
from prover.jobs.l1_ledger import L1Request, RecoveredBatch, Settlement
from prover.rollup import public_data as pd
from prover.rollup.replay import ReplayMismatch
from prover.service.core import ProverCore
from prover.service.l1_link import RollupLink, diverged

log = logging.getLogger("zkprover.service.l1")


@dataclass(frozen=True)
class StartReport:
    """What :func:`start_from_l1` found and did."""

    settled: int  # L1's newest settled batch
    recovered: int  # batches rebuilt from L1 into the store
    unsettled: int  # store batches after L1's newest, kept
    seconds: float


def start_from_l1(link: RollupLink, core: ProverCore) -> StartReport:
    """Bring the store level with L1, or raise L1Divergence (see the module docstring).
    ``core`` must be started (its state loaded from the store)."""
    t = time.perf_counter()
    recovered = 0
    with core.exclusive():
        settled = link.settled_batch()
        head = core.store.head()
        if settled > head.batch_number:
            try:
                recovered = _recover(link, core, head.batch_number, settled)
            finally:
                core.reload()  # the state as the store now has it (recovered, or as it was)
        link.check()
    report = StartReport(settled, recovered, core.store.head().batch_number - settled, time.perf_counter() - t)
    log.info(
        "in step with L1: batch %d settled, %d rebuilt from L1, %d unsettled in the store (%.2f s)",
        report.settled, report.recovered, report.unsettled, report.seconds,
    )  # fmt: skip
    return report


def _entry(r: L1Request) -> pd.L1Entry:
    if r.kind == "forced_exit":
        return pd.L1Entry(TxType.FORCED_EXIT, r.account_index, 0, r.address)
    return pd.L1Entry(TxType.DEPOSIT, r.account_index, r.amount, r.address, r.ax, r.ay)


def _recover(link: RollupLink, core: ProverCore, have: int, settled: int) -> int:
    """Rebuild batches ``have + 1 .. settled`` from L1 into the store; how many."""
    try:
        history = settled_batches(link.chain, link.rollup)
    except HistoryError as exc:
        raise diverged(f"cannot rebuild the store from L1: {exc}") from exc
    l1_root = int(link.rollup.call("stateRoot"))
    if len(history) != settled or history[-1].new_root != l1_root:
        raise diverged(
            f"L1 reports batch {settled} settled with root {l1_root}, its events show {len(history)} batches"
            + (f" ending on root {history[-1].new_root}" if history else "")
        )
    _check_common_start(core, history, have)
    missing = history[have:]
    start = history[have - 1].queue_head if have else 0
    accounts_before = sum(1 for r in core.ledger.all() if r.kind == "deposit" and r.queue_index < start)
    queue = link.queue_entries(start, missing[-1].queue_head, accounts_before)
    if len(queue) != missing[-1].queue_head - start:
        raise diverged(f"L1 queue entries {start}..{missing[-1].queue_head - 1} include refunded ones: not replayable")
    rows: list[RecoveredBatch] = []
    taken: list[L1Request] = []
    touched: set[int] = set()
    for b in missing:
        mine = queue[: b.queue_head - start]
        queue, start = queue[len(mine) :], b.queue_head
        entries = iter([_entry(r) for r in mine])
        try:
            new_root, changed = core.operator.replay(b.public_data, entries, b.withdrawal_addresses)  # type: ignore[attr-defined]
        except (ReplayMismatch, ValueError) as exc:
            raise diverged(f"L1's batch {b.number} does not replay on this operator's state: {exc}") from exc
        if next(entries, None) is not None:
            raise diverged(f"L1's batch {b.number} consumed queue entries its public data does not name")
        if new_root != b.new_root:
            raise diverged(f"L1's batch {b.number} replays to root {new_root}, L1 stored {b.new_root}")
        touched |= changed
        taken += [replace(r, batch_number=b.number) for r in mine]
        rows.append(_row(core, b))
    accounts = {i: data for i in sorted(touched) if (data := core.operator.encoded(i)) is not None}  # type: ignore[attr-defined]
    settlements = [
        Settlement(b.number, b.tx_hash.hex(), b.gas_used, b.fee_wei, r.tx_count)
        for b, r in zip(missing, rows, strict=True)
    ]
    core.ledger.install_settled(have, rows, accounts, taken, settlements)
    metrics.L1_RECOVERED_BATCHES.inc(len(rows))
    log.warning("store was behind L1: batches %d..%d rebuilt from L1's public data", have + 1, settled)
    return len(rows)


def _check_common_start(core: ProverCore, history: Sequence[SettledBatch], have: int) -> None:
    """The store's newest batch (``have``) must be L1's batch of that number: the replay starts
    on the store's state, so both must mean the same state."""
    if have == 0:
        genesis = core.operator.genesis_root()
        if history[0].old_root != genesis:
            raise diverged(f"L1's first batch starts on root {history[0].old_root}, this rollup's genesis is {genesis}")
        return
    jobs = core.store.list(None, 1, have - 1)
    if not jobs or jobs[0].batch_number != have or int(jobs[0].new_root) != history[have - 1].new_root:
        ours = jobs[0].new_root if jobs and jobs[0].batch_number == have else "missing"
        raise diverged(
            f"the store's batch {have} (root {ours}) is not L1's batch {have} (root {history[have - 1].new_root}): "
            "the store went another way than L1; not proving on it"
        )


def _row(core: ProverCore, b: SettledBatch) -> RecoveredBatch:
    depth = core.operator.depth  # type: ignore[attr-defined]
    data = pd.PublicData.decode(b.public_data, depth)
    domain = core.operator.domain  # type: ignore[attr-defined]
    return RecoveredBatch(
        batch_number=b.number,
        batch_size=len(data.records),
        tx_count=sum(1 for r in data.records if r.tx_type != TxType.NOOP),
        circuit=core.registry.name(len(data.records)),
        old_root=str(b.old_root),
        new_root=str(b.new_root),
        public_data=b.public_data.hex(),
        proof_json=json.dumps(proof_to_json(proof_from_words(b.proof_words))),
        public_signals=(str(pd.public_input(domain, b.number, b.old_root, b.new_root, b.public_data)),),
    )
