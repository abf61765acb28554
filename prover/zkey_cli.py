"""``zkprover zkey ...``: the Groth16 phase-2 ceremony, argument for argument as snarkjs.

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


def add_zkey_verbs(sub: argparse._SubParsersAction) -> None:
    z = sub.add_parser("zkey", help="Groth16 phase-2 ceremony (snarkjs-compatible: new, contribute, beacon, verify)")
    zs = z.add_subparsers(dest="zkey_verb", required=True)

    n = zs.add_parser("new", help="initial key from a circuit and a prepared powers of tau")
    n.add_argument("r1cs")
    n.add_argument("ptau")
    n.add_argument("zkey")
    n.set_defaults(fn=cmd_new)

    c = zs.add_parser("contribute", help="add a secret contribution to a key")
    c.add_argument("old")
    c.add_argument("new")
    c.add_argument("-n", "--name", default=None, help="the contributor's name, kept in the key")
    c.add_argument("-e", "--entropy", default=None, help="extra entropy text (asked for when absent)")
    c.set_defaults(fn=cmd_contribute)

    b = zs.add_parser("beacon", help="a final contribution from public randomness (e.g. a block hash)")
    b.add_argument("old")
    b.add_argument("new")
    b.add_argument("beacon_hash", metavar="beaconHash", help="hexadecimal")
    b.add_argument("num_iterations_exp", metavar="numIterationsExp", help="SHA-256 iterations = 2^this (10..63)")
    b.add_argument("-n", "--name", default=None)
    b.set_defaults(fn=cmd_beacon)

    v = zs.add_parser("verify", help="check a key against its circuit and powers of tau")
    v.add_argument("r1cs")
    v.add_argument("ptau")
    v.add_argument("zkey")
    v.set_defaults(fn=cmd_verify)
