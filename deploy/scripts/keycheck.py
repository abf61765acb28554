#!/usr/bin/env python3
"""Check (or build) the proving keys on the key volume before the server or a worker starts.

    keycheck.py --batch-sizes 1,2,4 --depth 12 [--cache-dir DIR] [--expect NAME=SHA256 ...] [--build]

For each batch size it rebuilds the batch circuit (seconds), hashes its R1CS and looks the key
up where ``prover.rollup.circuit_cache`` keeps it (``<cache>/circuits/<sha256 of .r1cs>/``):
the stored .r1cs is re-hashed, the .zkey is read and its wire and public counts are checked
against the circuit. So a key volume made for another version of the circuit code, or a
truncated copy, fails here, at start, with a clear message, instead of in the first job.

``--expect NAME=SHA256`` (or ``$ZKPROVER_KEY_SHA256`` = ``NAME=SHA256,NAME=SHA256``) pins the
SHA-256 of a circuit's ``circuit.zkey`` file, e.g. a production key from a ceremony that was
copied onto the volume: ``sha256sum`` of the ceremony's output is the value to pin. NAME is the
circuit name the service uses (``rollup_b4_d12``).

Without ``--build`` a missing key is an error (exit 1): a production deployment must not run a
development setup by accident. ``--build`` runs the development setup for missing keys (NOT for
production; it is what the compose file's one-shot ``keys`` service does for a trial cluster).
With ``$ZKPROVER_KEYS_DIR`` set (ceremony keys, ``<dir>/rollup_b<N>_d<D>.zkey``) it runs the
service's own start check instead (``prover.rollup.key_source``): every key present, pinned, as
pinned, and a ceremony key.
Exit status: 0 all keys present and matching, 1 a key missing or not matching, 2 usage.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path


class KeyMissing(Exception):
    pass


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_expect(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        for part in filter(None, (p.strip() for p in item.split(","))):
            name, sep, digest = part.partition("=")
            digest = digest.strip().lower()
            if not sep or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise argparse.ArgumentTypeError(f"--expect {part!r}: want NAME=<64 hex digits>")
            out[name.strip()] = digest
    return out


def check(
    sizes: list[int], depth: int, cache_dir: str | None, expect: dict[str, str], build: bool
) -> list[tuple[str, bool, str]]:
    """(circuit name, ok, detail) per batch size."""
    from circuits.rollup.batch_circuit import build_batch_circuit
    from circuits.rollup.params import BatchShape
    from prover.rollup.circuit_cache import ZKEY_NAME, load_or_setup

    def refuse(_r1cs, name: str):
        raise KeyMissing(f"{name}: no valid key in the cache (run with --build for a development key)")

    results = []
    for size in sizes:
        name = f"rollup_b{size}_d{depth}"
        t = time.perf_counter()
        circuit = build_batch_circuit(BatchShape(size, depth))
        try:
            cached = load_or_setup(circuit, cache_dir=cache_dir, make_key=None if build else refuse)
        except KeyMissing as exc:
            results.append((name, False, str(exc)))
            continue
        zkey_sha = _sha256_file(cached.directory / ZKEY_NAME)
        detail = (
            f"r1cs {cached.digest[:16]}… zkey sha256 {zkey_sha} key_hash {cached.pk.digest()[:16]}… "
            f"({circuit.n_constraints} constraints, {'cached' if cached.from_cache else 'built'}, "
            f"{time.perf_counter() - t:.1f} s)"
        )
        want = expect.get(name)
        if want is not None and want != zkey_sha:
            results.append((name, False, f"zkey sha256 {zkey_sha} != pinned {want}"))
        else:
            results.append((name, True, detail + (" pinned" if want else "")))
    unknown = set(expect) - {r[0] for r in results}
    for name in sorted(unknown):
        results.append((name, False, "pinned by --expect but not among the checked batch sizes"))
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="check the proving keys on the key volume")
    p.add_argument("--batch-sizes", default=os.environ.get("ZKPROVER_BATCH_SIZES", "1,2,4"))
    p.add_argument("--depth", type=int, default=int(os.environ.get("ZKPROVER_DEPTH", "12")))
    p.add_argument("--cache-dir", default=None, help="key cache (default $ZKPROVER_CACHE_DIR or ~/.cache/zkprover)")
    p.add_argument("--expect", action="append", default=[], help="NAME=SHA256 of circuit.zkey (repeatable)")
    p.add_argument("--build", action="store_true", help="run the development setup for missing keys")
    args = p.parse_args(argv)
    try:
        sizes = sorted({int(s) for s in args.batch_sizes.split(",") if s.strip()})
        expect = parse_expect([os.environ.get("ZKPROVER_KEY_SHA256", ""), *args.expect])
    except (ValueError, argparse.ArgumentTypeError) as exc:
        print(f"keycheck: {exc}", file=sys.stderr)
        return 2
    keys_dir = os.environ.get("ZKPROVER_KEYS_DIR")
    if keys_dir:  # ceremony keys: the check the server and workers also run at start
        from pathlib import Path

        from prover.rollup.key_source import KeyPolicy, KeyRefused, check_ceremony_keys

        try:
            check_ceremony_keys(KeyPolicy(Path(keys_dir), expect), [f"rollup_b{s}_d{args.depth}" for s in sizes])
        except KeyRefused as exc:
            print(f"keycheck: FAIL {exc}", file=sys.stderr)
            return 1
        print(f"keycheck: OK ceremony keys in {keys_dir}, pinned: {', '.join(sorted(expect))}")
        return 0
    if args.build:  # a setup too big for this machine stops here, not in the kernel's OOM killer
        from prover.groth16.memory import InsufficientMemory
        from prover.rollup.memory_check import check_batch_shapes

        try:
            check_batch_shapes([max(sizes)], args.depth, setup=True)  # one key at a time
        except InsufficientMemory as exc:
            print(f"keycheck: FAIL {exc}", file=sys.stderr)
            return 1
    failed = 0
    for name, ok, detail in check(sizes, args.depth, args.cache_dir, expect, args.build):
        print(f"keycheck: {name}: {'OK' if ok else 'FAIL'} {detail}", file=sys.stdout if ok else sys.stderr, flush=True)
        failed += not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
