"""The native MSM's techniques measured one by one (issue #19).

    .venv/bin/python bench/bench_msm.py                     # 2^16, 2^18, 2^20, G1 and G2
    .venv/bin/python bench/bench_msm.py --logs 16 --repeat 3 --sweep ""

Each technique of ``native/msm.c`` is a flag of ``_native.msm_g1/g2`` (``MSM_SIGNED``,
``MSM_AFFINE``, ``MSM_ENDO``; flags -1 is the default the backend uses). For every size and group
the configurations below run interleaved, then two with a precomputed table of the bases'
multiples (2 rows: half the passes; one row per window: a single pass; its memory and build
time reported), (round r runs them all, in an order rotated by r), on
the same bases (distinct points start + i*step) and the same full-size random scalars; the table
gives the median wall time, the median CPU time of the process (core-seconds: the OpenMP threads
included) and the speed-up against the plain Pippenger (unsigned digits, XYZZ buckets). Every
configuration's result is compared with the plain one's: a mismatch stops the run.

The technique rows run the scalar flush (``ZKPROVER_NO_IFMA=1``), so that they compare with the
figures before the vector flush; where the extension has AVX-512 IFMA and the CPU too, a last
row runs the default techniques with the batched affine additions on it (``msm_ifma.h``).

``--sweep`` times the default techniques with each forced window size c at the given log sizes
(the auto choice of ``msm_window_bits`` marked), to check the window model per size.
``--witness`` adds witness-shaped scalars (mostly 0/1/short) at the largest size.

JSON goes to --json (default bench/results/msm-<time>.json) with the machine, commit and load.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_cpu import machine_info, rand_scalars, witness_like  # noqa: E402

from prover.backend import _native  # noqa: E402
from prover.backend.cpu import ifma_allowed, point_series  # noqa: E402
from prover.field.curve import G1, G2  # noqa: E402

S, A, E = _native.MSM_SIGNED, _native.MSM_AFFINE, _native.MSM_ENDO

#: (label, flags): the plain algorithm, each technique alone, the pre-#19 default, all, default
CONFIGS: list[tuple[str, int]] = [
    ("plain (unsigned, XYZZ)", 0),
    ("signed digits", S),
    ("batch-affine", A),
    ("endomorphism", E),
    ("signed + affine (before #19)", S | A),
    ("signed + affine + endo", S | A | E),
    ("default (auto)", -1),
]


def with_flush(ifma: bool, fn):
    """fn run with the IFMA flush allowed or not (read by the extension when an MSM starts)."""

    def run():
        with ifma_allowed(ifma):
            return fn()

    return run


def ifma_available() -> bool:
    return bool(getattr(_native, "IFMA_COMPILED", 0)) and with_flush(True, _native.scale_g1_glv_path)() == "ifma"


def timed(fn) -> tuple[float, float]:
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def run_interleaved(calls: list[tuple[str, object]], repeat: int) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each (label, zero-argument callable), interleaved: round r
    runs them all in an order rotated by r. The first result of each is checked equal to the
    first callable's (that run is also the warm-up)."""
    ref = calls[0][1]()
    for label, fn in calls:
        if fn() != ref:
            raise SystemExit(f"MSM mismatch: {label} differs from {calls[0][0]}")
    walls: dict[str, list[float]] = {label: [] for label, _ in calls}
    cpus: dict[str, list[float]] = {label: [] for label, _ in calls}
    for r in range(repeat):
        k = r % len(calls)
        for label, fn in calls[k:] + calls[:k]:
            w, c = timed(fn)
            walls[label].append(w)
            cpus[label].append(c)
    return {label: (statistics.median(walls[label]), statistics.median(cpus[label])) for label, _ in calls}


def table_call(group: str, bases: np.ndarray, scalars: np.ndarray, threads: int, flags: int, c: int, tw: int):
    """Builds the precomputed table (timed, reported) and returns (MSM callable, build s, MiB)."""
    g2 = group == "g2"
    m = len(bases) * (2 if flags & E else 1)
    table = np.empty((tw * m, *bases.shape[1:]), dtype=np.uint64)
    t0 = time.perf_counter()
    _native.msm_table_build(g2, bases, flags, c, tw, threads, table)
    build = time.perf_counter() - t0
    return (lambda: _native.msm_with_table(g2, table, scalars, threads, flags, c, tw)), build, table.nbytes / 2**20


def windows_for(bits: int, c: int) -> int:
    return (bits + c - 1) // c


def make_bases(group: str, n: int, threads: int, rng) -> np.ndarray:
    Gp = G1 if group == "g1" else G2
    start = Gp.affine_mul(Gp.generator, int(rng.integers(1, 2**62)))
    step = Gp.affine_mul(Gp.generator, int(rng.integers(1, 2**62)))
    return point_series(group, start, step, n, threads=threads)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logs", default="16,18,20", help="log2 sizes")
    ap.add_argument("--groups", default="g1,g2")
    ap.add_argument("--repeat", type=int, default=5, help="interleaved rounds (median reported)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sweep", default="16,18,20", help="log2 sizes for the window sweep ('' for none)")
    ap.add_argument("--witness", action="store_true", help="also witness-shaped scalars at the largest size")
    ap.add_argument("--tables", default="2,full", help="table rows to time ('full': one per window; '' for none)")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    logs = [int(x) for x in args.logs.split(",") if x]
    sweep_logs = [int(x) for x in args.sweep.split(",") if x]
    rng = np.random.default_rng(19)
    report: dict = {"machine": machine_info(), "threads": args.threads, "repeat": args.repeat, "rows": [], "sweep": []}
    print(f"commit {report['machine']['commit']}, load {report['machine']['load_average_start']}", flush=True)
    for group in args.groups.split(","):
        msm = _native.msm_g1 if group == "g1" else _native.msm_g2
        bases = make_bases(group, 1 << max(logs + sweep_logs), args.threads, rng)
        for lg in logs:
            n = 1 << lg
            kinds = [("random", rand_scalars(n, rng))]
            if args.witness and lg == max(logs):
                kinds.append(("witness-like", witness_like(n, rng)))
            for kind, scalars in kinds:
                calls = [
                    (
                        label,
                        with_flush(False, lambda f=flags, b=bases[:n], sc=scalars, m=msm: m(b, sc, args.threads, f, 0)),
                    )
                    for label, flags in CONFIGS
                ]
                if ifma_available():
                    calls.append(
                        (
                            "default + IFMA flush",
                            with_flush(True, lambda b=bases[:n], sc=scalars, m=msm: m(b, sc, args.threads, -1, 0)),
                        )
                    )
                extra: dict[str, dict] = {}
                if kind == "random":  # precomputed multiples: signed + affine, c fixed, tw rows
                    c = 12 if lg <= 16 else 13
                    rows_wanted = [x for x in args.tables.split(",") if x]
                    for tw in [windows_for(255, c) if x == "full" else int(x) for x in rows_wanted]:
                        fn, build, mib = table_call(group, bases[:n], scalars, args.threads, S | A, c, tw)
                        fn = with_flush(False, fn)
                        label = f"table c={c}, {tw} rows" + (" (one pass)" if tw > 2 else "")
                        calls.append((label, fn))
                        extra[label] = {"table_build_s": build, "table_mib": mib, "bases_mib": bases[:n].nbytes / 2**20}
                med = run_interleaved(calls, args.repeat)
                plain = med[CONFIGS[0][0]][0]
                for label, _ in calls:
                    wall, cpu = med[label]
                    row = {
                        "config": label,
                        "group": group,
                        "log_n": lg,
                        "scalars": kind,
                        "seconds": wall,
                        "cpu_seconds": cpu,
                        "speedup": plain / wall,
                        **extra.get(label, {}),
                    }
                    report["rows"].append(row)
                    more = (
                        f"  table {row['table_mib']:.0f} MiB, built in {row['table_build_s']:.1f} s"
                        if label in extra
                        else ""
                    )
                    print(
                        f"  {group.upper()} 2^{lg} {kind:12s} {label:30s} {wall:7.3f} s "
                        f"cpu {cpu:7.3f} s  x{row['speedup']:.2f}{more}",
                        flush=True,
                    )
        for lg in sweep_logs:
            n = 1 << lg
            scalars = rand_scalars(n, rng)
            windows = [("auto", 0)] + [(f"c={c}", c) for c in range(max(6, lg // 2 - 4), min(17, lg // 2 + 6))]
            # the window is forced through the C argument; flags -1 keeps the default techniques
            calls = [(lb, lambda c=c, b=bases[:n], s=scalars, m=msm: m(b, s, args.threads, -1, c)) for lb, c in windows]
            med = run_interleaved(calls, max(1, args.repeat // 2))
            rows = [
                {"window": label, "group": group, "log_n": lg, "seconds": med[label][0], "cpu_seconds": med[label][1]}
                for label, _ in windows
            ]
            report["sweep"].extend(rows)
            best = min(rows, key=lambda x: x["seconds"])
            print(
                f"  sweep {group.upper()} 2^{lg}: "
                + ", ".join(f"{x['window']} {x['seconds']:.3f}" for x in rows)
                + f"  -> best {best['window']}",
                flush=True,
            )
    report["machine"]["load_average_end"] = __import__("os").getloadavg()
    out = Path(args.json or ROOT / "bench" / "results" / f"msm-{time.strftime('%Y%m%d-%H%M%S')}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
