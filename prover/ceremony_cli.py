"""The ceremony verbs: the circuits to run a phase 2 for, and the phase 2 itself.

    zkprover circuit export OUTDIR [--batch-sizes 1,2,4] [--depth 12]
    zkprover powersoftau development POWER OUT.ptau   (tests and benchmarks only, see ptau_dev.py)

and a phase 1 of its own, snarkjs's ``powersoftau`` verbs argument for argument on snarkjs's
``.ptau`` files (``prover.groth16.powersoftau``; for development ceremonies and benchmarks,
production keys start from a public ceremony's file):

    zkprover powersoftau new bn128 POWER OUT.ptau
    zkprover powersoftau contribute IN.ptau OUT.ptau [--name NAME] [-e ENTROPY]
    zkprover powersoftau beacon IN.ptau OUT.ptau BEACONHASH NUMITERATIONSEXP [--name NAME]
    zkprover powersoftau prepare phase2 IN.ptau OUT.ptau
    zkprover powersoftau verify IN.ptau

writes ``OUTDIR/rollup_b<size>_d<depth>.r1cs`` for each batch shape, exactly the constraint
system the service proves for that shape (the same builder, the same writer: the SHA-256 it
prints is the service's circuit digest). The ``zkey`` verbs mirror snarkjs argument for argument:

    zkprover zkey new CIRCUIT.r1cs POT.ptau OUT.zkey
    zkprover zkey contribute IN.zkey OUT.zkey [--name NAME] [-e ENTROPY]
    zkprover zkey beacon IN.zkey OUT.zkey BEACONHASH NUMITERATIONSEXP [--name NAME]
    zkprover zkey verify CIRCUIT.r1cs POT.ptau KEY.zkey

Keys and records are snarkjs's own (``prover.groth16.phase2``), so a ceremony can alternate
between the two tools. ``verify`` exits 0 for a valid key, 1 for an invalid one, 2 on bad input.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_INVALID = 0, 1


def _hash(title: str, h: bytes) -> None:
    from prover.groth16.mpc import format_hash

    print(f"{title}\n{format_hash(h)}")


def _entropy(value: str | None) -> str:
    # snarkjs spells it -e="text"; argparse hands a short option's "=text" through verbatim
    if value is not None:
        return value[1:] if value.startswith("=") else value
    if not sys.stdin.isatty():
        raise ValueError("no entropy: pass -e TEXT (stdin is not a terminal to ask on)")
    return input("Enter a random text. (Entropy): ")


def cmd_new(args: argparse.Namespace) -> int:
    from prover.groth16.phase2 import zkey_new

    t = time.perf_counter()
    cs_hash = zkey_new(args.r1cs, args.ptau, args.zkey)
    _hash("Circuit hash:", cs_hash)
    print(f"zkey new: {time.perf_counter() - t:.2f} s -> {args.zkey}", file=sys.stderr)
    return EXIT_OK


def cmd_contribute(args: argparse.Namespace) -> int:
    from prover.groth16.phase2 import contribute

    t = time.perf_counter()
    h = contribute(args.old, args.new, args.name, _entropy(args.entropy))
    _hash("Contribution Hash:", h)
    print(f"zkey contribute: {time.perf_counter() - t:.2f} s -> {args.new}", file=sys.stderr)
    return EXIT_OK


def cmd_beacon(args: argparse.Namespace) -> int:
    from prover.groth16.phase2 import beacon

    t = time.perf_counter()
    h = beacon(args.old, args.new, args.beacon_hash, args.num_iterations_exp, args.name)
    _hash("Contribution Hash:", h)
    print(f"zkey beacon: {time.perf_counter() - t:.2f} s -> {args.new}", file=sys.stderr)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from prover.groth16.mpc import BEACON
    from prover.groth16.phase2 import verify

    t = time.perf_counter()
    report = verify(args.r1cs, args.ptau, args.zkey)
    if not report.ok:
        print(f"INVALID: {report.problem}", file=sys.stderr)
        return EXIT_INVALID
    _hash("Circuit Hash:", report.cs_hash)
    for i in range(len(report.contributions) - 1, -1, -1):
        c = report.contributions[i]
        print("-------------------------")
        _hash(f"contribution #{i + 1} {c.name or ''}:", c.contribution_hash())
        if c.type == BEACON and c.beacon_hash is not None:
            print(f"Beacon generator: {c.beacon_hash.hex()}\nBeacon iterations Exp: {c.num_iterations_exp}")
    print("-------------------------")
    print("ZKey Ok!")
    print(f"zkey verify: {time.perf_counter() - t:.2f} s", file=sys.stderr)
    return EXIT_OK


def cmd_circuit_export(args: argparse.Namespace) -> int:
    from circuits.r1cs import write_r1cs
    from circuits.rollup.batch_circuit import build_batch_circuit
    from circuits.rollup.params import BatchShape
    from prover.rollup.circuit_cache import r1cs_digest

    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    for size in args.batch_sizes:
        t = time.perf_counter()
        circuit = build_batch_circuit(BatchShape(size, args.depth))
        path = out / f"{circuit_name(size, args.depth)}.r1cs"
        write_r1cs(circuit.r1cs, path)
        print(
            f"{path}: {circuit.r1cs.n_constraints} constraints, {circuit.r1cs.n_wires} wires, "
            f"sha256 {r1cs_digest(circuit.r1cs)} ({time.perf_counter() - t:.1f} s)"
        )
    return EXIT_OK


def cmd_ptau_development(args: argparse.Namespace) -> int:
    from prover.groth16.ptau_dev import write_development_ptau

    print(
        "WARNING: a development powers of tau (one process drew tau): for tests and benchmarks, "
        "NOT for production keys",
        file=sys.stderr,
    )
    t = time.perf_counter()
    write_development_ptau(args.ptau, args.power)
    print(f"powersoftau development: power {args.power}, {time.perf_counter() - t:.1f} s -> {args.ptau}")
    return EXIT_OK


def cmd_ptau_new(args: argparse.Namespace) -> int:
    from prover.groth16 import powersoftau

    if args.curve not in ("bn128", "bn254", "alt_bn128"):
        raise ValueError(f"curve {args.curve!r} is not supported (only bn128)")
    t = time.perf_counter()
    h = powersoftau.new(args.ptau, args.power)
    _hash("First Contribution Hash:", h)
    print(f"powersoftau new: power {args.power}, {time.perf_counter() - t:.2f} s -> {args.ptau}", file=sys.stderr)
    return EXIT_OK


def cmd_ptau_contribute(args: argparse.Namespace) -> int:
    from prover.groth16 import powersoftau

    t = time.perf_counter()
    h = powersoftau.contribute(args.old, args.new, args.name, _entropy(args.entropy))
    _hash("Contribution Response Hash:", h)
    print(f"powersoftau contribute: {time.perf_counter() - t:.2f} s -> {args.new}", file=sys.stderr)
    return EXIT_OK


def cmd_ptau_beacon(args: argparse.Namespace) -> int:
    from prover.groth16 import powersoftau

    t = time.perf_counter()
    h = powersoftau.beacon(args.old, args.new, args.beacon_hash, args.num_iterations_exp, args.name)
    _hash("Contribution Response Hash:", h)
    print(f"powersoftau beacon: {time.perf_counter() - t:.2f} s -> {args.new}", file=sys.stderr)
    return EXIT_OK


def cmd_ptau_prepare(args: argparse.Namespace) -> int:
    from prover.groth16 import powersoftau

    t = time.perf_counter()
    powersoftau.prepare_phase2(args.old, args.new)
    print(f"powersoftau prepare phase2: {time.perf_counter() - t:.2f} s -> {args.new}", file=sys.stderr)
    return EXIT_OK


def cmd_ptau_verify(args: argparse.Namespace) -> int:
    from prover.groth16 import powersoftau
    from prover.groth16.mpc import BEACON

    t = time.perf_counter()
    report = powersoftau.verify(args.ptau)
    if not report.ok:
        print(f"INVALID: {report.problem}", file=sys.stderr)
        return EXIT_INVALID
    for i in range(len(report.contributions) - 1, -1, -1):
        c = report.contributions[i]
        print("-----------------------------------------------------")
        print(f"Contribution #{i + 1}: {c.name or ''}")
        _hash("Next Challenge:", c.next_challenge)
        _hash("Response Hash:", c.response_hash())
        if c.type == BEACON and c.beacon_hash is not None:
            print(f"Beacon generator: {c.beacon_hash.hex()}\nBeacon iterations Exp: {c.num_iterations_exp}")
    print("-----------------------------------------------------")
    if not report.prepared:
        print("WARNING: no phase-2 sections (12-15): run `zkprover powersoftau prepare phase2` before `zkey new`")
    print("Powers of Tau Ok!")
    print(f"powersoftau verify: power {report.power}, {time.perf_counter() - t:.2f} s", file=sys.stderr)
    return EXIT_OK


def circuit_name(batch_size: int, depth: int) -> str:
    """The service's name for a batch shape (``RollupRegistry.name``)."""
    return f"rollup_b{batch_size}_d{depth}"


def _add_contribute(verbs: argparse._SubParsersAction, help: str, kept_in: str, fn) -> None:
    """``contribute OLD NEW [-n NAME] [-e ENTROPY]``, the same arguments in both ceremonies (as snarkjs)."""
    c = verbs.add_parser("contribute", help=help)
    c.add_argument("old")
    c.add_argument("new")
    c.add_argument("-n", "--name", default=None, help=f"the contributor's name, kept in the {kept_in}")
    c.add_argument("-e", "--entropy", default=None, help="extra entropy text (asked for when absent)")
    c.set_defaults(fn=fn)


def _add_beacon(verbs: argparse._SubParsersAction, help: str, fn) -> None:
    """``beacon OLD NEW beaconHash numIterationsExp [-n NAME]``, as in snarkjs for both ceremonies."""
    b = verbs.add_parser("beacon", help=help)
    b.add_argument("old")
    b.add_argument("new")
    b.add_argument("beacon_hash", metavar="beaconHash", help="hexadecimal")
    b.add_argument("num_iterations_exp", metavar="numIterationsExp", help="SHA-256 iterations = 2^this (10..63)")
    b.add_argument("-n", "--name", default=None)
    b.set_defaults(fn=fn)


def add_ceremony_verbs(sub: argparse._SubParsersAction) -> None:
    from prover.service.cli import _sizes

    ci = sub.add_parser("circuit", help="the batch circuits, for a ceremony")
    cis = ci.add_subparsers(dest="circuit_verb", required=True)
    ce = cis.add_parser("export", help="write the .r1cs of each batch shape the service proves")
    ce.add_argument("outdir")
    ce.add_argument("--batch-sizes", type=_sizes, default=[1, 2, 4], help="batch sizes (default 1,2,4)")
    ce.add_argument("--depth", type=int, default=12, help="state tree depth (default 12, as the service)")
    ce.set_defaults(fn=cmd_circuit_export)

    pt = sub.add_parser("powersoftau", help="phase 1 (snarkjs-compatible; production uses a public ceremony's .ptau)")
    pts = pt.add_subparsers(dest="ptau_verb", required=True)
    pd = pts.add_parser("development", help="a prepared .ptau from one random tau, for tests and benchmarks")
    pd.add_argument("power", type=int)
    pd.add_argument("ptau")
    pd.set_defaults(fn=cmd_ptau_development)

    pn = pts.add_parser("new", help="a fresh accumulator (every point a generator)")
    pn.add_argument("curve", help="bn128")
    pn.add_argument("power", type=int, help="the largest domain is 2^power (1..28)")
    pn.add_argument("ptau")
    pn.set_defaults(fn=cmd_ptau_new)

    _add_contribute(pts, "add a secret contribution", "file", cmd_ptau_contribute)
    _add_beacon(pts, "a contribution from public randomness (e.g. a block hash)", cmd_ptau_beacon)

    pp = pts.add_parser("prepare", help="prepare phase2: add the Lagrange-basis sections zkey new reads")
    pp.add_argument("what", choices=["phase2"])
    pp.add_argument("old")
    pp.add_argument("new")
    pp.set_defaults(fn=cmd_ptau_prepare)

    pv = pts.add_parser("verify", help="check every contribution, the powers and the phase-2 sections")
    pv.add_argument("ptau")
    pv.set_defaults(fn=cmd_ptau_verify)

    z = sub.add_parser("zkey", help="Groth16 phase-2 ceremony (snarkjs-compatible: new, contribute, beacon, verify)")
    zs = z.add_subparsers(dest="zkey_verb", required=True)

    n = zs.add_parser("new", help="initial key from a circuit and a prepared powers of tau")
    n.add_argument("r1cs")
    n.add_argument("ptau")
    n.add_argument("zkey")
    n.set_defaults(fn=cmd_new)

    _add_contribute(zs, "add a secret contribution to a key", "key", cmd_contribute)
    _add_beacon(zs, "a final contribution from public randomness (e.g. a block hash)", cmd_beacon)

    v = zs.add_parser("verify", help="check a key against its circuit and powers of tau")
    v.add_argument("r1cs")
    v.add_argument("ptau")
    v.add_argument("zkey")
    v.set_defaults(fn=cmd_verify)
