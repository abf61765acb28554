"""Will these batch shapes fit this machine? Answered from the shapes alone, before any build.

The service, its workers, the key job and ``measure_memory.py`` call :func:`check_batch_shapes`
first: it predicts each batch circuit's size (``circuits.rollup.size``), turns it into memory
(``prover.groth16.memory``) and refuses, with the figures, a configuration whose keys and
largest proof (or setup) do not fit in the host memory that is available.
"""

from __future__ import annotations

from collections.abc import Iterable

from circuits.rollup.params import BatchShape
from circuits.rollup.size import N_PUBLIC, TOLERANCE, predicted_constraints
from prover.groth16.memory import MemoryEstimate, estimate, gib, host_need, require_host_memory


def shape_estimate(shape: BatchShape) -> MemoryEstimate:
    """Memory of one batch circuit, on the upper side of the constraint prediction's tolerance."""
    name = f"rollup_b{shape.batch_size}_d{shape.depth}"
    return estimate(name, predicted_constraints(shape), N_PUBLIC, uncertainty=TOLERANCE)


def check_batch_shapes(
    sizes: Iterable[int],
    depth: int,
    *,
    setup: bool,
    proving: bool = True,
    available: int | None = None,
    source: str = "",
) -> list[MemoryEstimate]:
    """The estimates for ``sizes`` at ``depth``; :class:`~prover.groth16.memory.InsufficientMemory`
    if one process holding all their keys (and proving, with ``proving``; running a setup, with
    ``setup``) would not fit."""
    unique = sorted(set(sizes))
    estimates = [shape_estimate(BatchShape(s, depth)) for s in unique]
    need = host_need(estimates, setup=setup, proving=proving)
    what = f"batch size{'s' if len(unique) > 1 else ''} {', '.join(map(str, unique))} at depth {depth}"
    detail = "; ".join(e.describe() for e in estimates)
    if len(estimates) > 1:
        detail += f"; one process keeps every key: {gib(sum(e.resident for e in estimates))} together"
    require_host_memory(need, what, detail=detail, available=available, source=source)
    return estimates
