"""The ``zkprover`` command line.

Verbs that mirror snarkjs's Groth16 commands (same argument order), so its users need nothing
new, plus the project's own:

    zkprover demo                                   the whole product end to end (service, rollup, L1)
    zkprover demo --circuit                         build, set up, prove and verify a sample circuit
    zkprover setup CIRCUIT.r1cs CIRCUIT.zkey        development setup (NOT for production)
    zkprover prove CIRCUIT.zkey WITNESS.wtns PROOF.json PUBLIC.json
    zkprover verify VERIFICATION_KEY.json PUBLIC.json PROOF.json
    zkprover export verificationkey CIRCUIT.zkey VERIFICATION_KEY.json
    zkprover export solidityverifier CIRCUIT.zkey VERIFIER.sol
    zkprover circuit export OUTDIR                  the batch circuits' .r1cs, for a ceremony
    zkprover zkey new|contribute|beacon|verify ...  phase-2 ceremony, as snarkjs (see ceremony_cli.py)

Exit status: 0 success (verify: valid), 1 verify: invalid proof, 2 bad input or usage (or not enough
memory for the circuit: refused before reading it).
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
import time
from collections.abc import Sequence

EXIT_OK, EXIT_INVALID, EXIT_BAD_INPUT = 0, 1, 2

log = logging.getLogger("zkprover")


def _backend(name: str | None):
    from prover.backend.select import select_backend

    return select_backend(name)


def _fmt_timings(timings: dict[str, float]) -> str:
    return ", ".join(f"{k} {v * 1000:.1f} ms" for k, v in timings.items())


# --- verbs --------------------------------------------------------------------------------
def _require_memory(path: str, figure: str, constraints: int, n_public: int, what: str) -> None:
    """Refuse, before reading ``path`` in full, work whose estimated ``figure`` (a
    ``MemoryEstimate`` field) exceeds the host memory available."""
    from prover.groth16.memory import estimate, require_host_memory

    e = estimate(path, constraints, n_public)
    require_host_memory(getattr(e, figure), f"{what} of {path}", detail=e.describe())


def cmd_setup(args: argparse.Namespace) -> int:
    from circuits.r1cs import read_r1cs, read_r1cs_header
    from prover.groth16.keys import DEV_SETUP_WARNING
    from prover.groth16.setup import setup
    from prover.groth16.zkey import write_zkey

    header = read_r1cs_header(args.r1cs)
    _require_memory(args.r1cs, "setup_peak", header.n_constraints, header.n_public, "the setup")
    r1cs = read_r1cs(args.r1cs)
    print(f"WARNING: {DEV_SETUP_WARNING}", file=sys.stderr)
    t = time.perf_counter()
    pk = setup(r1cs, name=args.r1cs, backend=_backend(args.backend))
    write_zkey(pk, args.zkey)
    print(
        f"setup: {r1cs.n_constraints} constraints, {r1cs.n_wires} wires, domain {pk.domain_size}, "
        f"{time.perf_counter() - t:.2f} s -> {args.zkey}"
    )
    return EXIT_OK


def cmd_prove(args: argparse.Namespace) -> int:
    from circuits.wtns import read_wtns
    from prover.groth16.formats import proof_to_json, public_to_json, write_json
    from prover.groth16.prover import prove
    from prover.groth16.zkey import read_zkey, read_zkey_counts

    n_vars, n_public, _ = read_zkey_counts(args.zkey)
    _require_memory(args.zkey, "proving_peak", n_vars, n_public, "a proof")  # signals ~ constraints
    t = time.perf_counter()
    pk = read_zkey(args.zkey)
    witness = read_wtns(args.wtns)
    r1cs = None
    if args.r1cs:
        from circuits.r1cs import read_r1cs

        r1cs = read_r1cs(args.r1cs)
    loaded = time.perf_counter() - t
    backend = _backend(args.backend)
    result = prove(pk, witness, backend, r1cs=r1cs)
    write_json(proof_to_json(result.proof), args.proof)
    write_json(public_to_json(result.public_signals), args.public)
    if args.verbose:
        print(f"prove [{backend.name}]: read {loaded * 1000:.1f} ms, {_fmt_timings(result.timings)}", file=sys.stderr)
    return EXIT_OK


def cmd_verify(args: argparse.Namespace) -> int:
    from prover.groth16.formats import load_json, proof_from_json, public_from_json, vk_from_json
    from prover.groth16.verifier import verify

    vk = vk_from_json(load_json(args.vk), args.vk)
    public = public_from_json(load_json(args.public), args.public)
    proof = proof_from_json(load_json(args.proof), args.proof)
    if len(public) != vk.n_public:
        raise ValueError(f"{args.public}: {len(public)} public signals, the key expects {vk.n_public}")
    if verify(vk, public, proof):
        print("OK: proof is valid")
        return EXIT_OK
    print("INVALID: proof does not verify", file=sys.stderr)
    return EXIT_INVALID


def cmd_export_vk(args: argparse.Namespace) -> int:
    from prover.groth16.formats import vk_to_json, write_json
    from prover.groth16.zkey import read_zkey

    pk = read_zkey(args.zkey)
    write_json(vk_to_json(pk.vk), args.vk)
    return EXIT_OK


def cmd_export_solidity(args: argparse.Namespace) -> int:
    from l1.solidity_export import write_solidity_verifier
    from prover.groth16.zkey import read_zkey

    write_solidity_verifier(read_zkey(args.zkey).vk, args.sol)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    if not args.circuit:
        from prover.demo import run_demo

        return run_demo(args)
    return cmd_circuit_demo(args)


def cmd_circuit_demo(args: argparse.Namespace) -> int:
    from circuits.examples import cube_chain, cube_chain_output
    from prover.groth16.keys import DEV_SETUP_WARNING
    from prover.groth16.prover import prove
    from prover.groth16.setup import setup
    from prover.groth16.verifier import verify

    def stage(name: str, started: float, detail: str = "") -> None:
        print(f"  {name:<10} {(time.perf_counter() - started) * 1000:9.1f} ms  {detail}")

    print(f"zkprover demo: a {args.rounds}-round cube chain (x -> (x + key + c_i)^3), Groth16 on BN254")
    t = time.perf_counter()
    circuit = cube_chain(args.rounds)
    stage("build", t, f"{circuit.n_constraints} constraints, {circuit.r1cs.n_wires} wires")

    backend = _backend(args.backend)
    print(f"  backend    {backend.describe()}")
    t = time.perf_counter()
    pk = setup(circuit.r1cs, name=circuit.name, backend=backend)
    stage("setup", t, f"domain {pk.domain_size} ({DEV_SETUP_WARNING.split(':')[0]}, not for production)")

    x, key = 5, 0xC0FFEE
    t = time.perf_counter()
    witness = circuit.witness({"x": x, "key": key})
    stage("witness", t, f"{len(witness)} values")

    t = time.perf_counter()
    result = prove(pk, witness, backend)
    stage("prove", t, _fmt_timings({k: v for k, v in result.timings.items() if k != "total"}))

    t = time.perf_counter()
    ok = verify(pk.vk, result.public_signals, result.proof)
    stage("verify", t, "valid" if ok else "INVALID")

    expected = cube_chain_output(x, key, args.rounds)
    if result.public_signals != [expected, x]:
        print("  public signals do not match the native computation", file=sys.stderr)
        return EXIT_INVALID
    tampered = verify(pk.vk, [(expected + 1), x], result.proof)
    verdict = "ACCEPTED" if tampered else "rejected"
    print(f"  check      public output matches the native twin; a wrong output is {verdict}")
    return EXIT_OK if ok and not tampered else EXIT_INVALID


# --- parser -------------------------------------------------------------------------------
#: Verbs defined in this module. A command line whose verb is one of these is parsed without the
#: ceremony and service verbs: importing their modules and building their parsers is ~15 ms of
#: every ``zkprover prove`` (issue #19 counts the whole command). Help and unknown verbs get the
#: full parser.
_OWN_VERBS = frozenset({"demo", "setup", "prove", "verify", "export"})

#: Top-level options that take a value (the value is not the verb).
_TOP_OPTIONS_WITH_VALUE = frozenset({"--log-level", "--log-format"})


def _verb(argv: Sequence[str]) -> str | None:
    """The verb of a command line: its first word that is neither a top-level option nor one's
    value; None when there is none or top-level help comes first (which lists every verb)."""
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help"):
            return None
        if word in _TOP_OPTIONS_WITH_VALUE:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(*, all_verbs: bool = True) -> argparse.ArgumentParser:
    """The command-line parser; ``all_verbs=False`` leaves out the ceremony and service verbs."""
    p = argparse.ArgumentParser(prog="zkprover", description="Groth16 (BN254) prover for ZK-rollups")
    p.add_argument("--log-level", default="WARNING", help="logging level (default WARNING)")
    p.add_argument("--log-format", default=None, help="text | json (default $ZKPROVER_LOG_FORMAT or text)")
    sub = p.add_subparsers(dest="verb", required=True)

    d = sub.add_parser(
        "demo", help="end to end: service on SQLite, a rollup batch over gRPC, proof, L1 settlement in an EVM"
    )
    d.add_argument("--circuit", action="store_true", help="only build, set up, prove and verify a sample circuit")
    d.add_argument("--rounds", type=int, default=2000, help="with --circuit: cube-chain rounds (2 constraints each)")
    d.add_argument("--cache-dir", default=None, help="circuit/key cache (default $ZKPROVER_CACHE_DIR or ~/.cache)")
    d.add_argument(
        "--backend", default=None, help="auto | gpu | cpu | python | gpu-emu (default: $ZKPROVER_BACKEND or auto)"
    )
    d.add_argument(
        "--l1",
        default=None,
        metavar="URL",
        help="run against this L1 node (JSON-RPC) instead of the in-process EVM; the paying account's key comes "
        "from $ZKPROVER_L1_KEY_FILE or $ZKPROVER_L1_KEY, never the command line",
    )
    d.set_defaults(fn=cmd_demo)

    s = sub.add_parser("setup", help="development Groth16 setup for an .r1cs (NOT for production)")
    s.add_argument("r1cs")
    s.add_argument("zkey")
    s.add_argument(
        "--backend", default=None, help="auto | gpu | cpu | python | gpu-emu (runs the fixed-base multiplications)"
    )
    s.set_defaults(fn=cmd_setup)

    pr = sub.add_parser("prove", help="prove from a .zkey and a .wtns (as snarkjs groth16 prove)")
    pr.add_argument("zkey")
    pr.add_argument("wtns")
    pr.add_argument("proof")
    pr.add_argument("public")
    pr.add_argument("--backend", default=None, help="auto | gpu | cpu | python | gpu-emu")
    pr.add_argument("--r1cs", default=None, help="check the witness against this .r1cs first")
    pr.add_argument("-v", "--verbose", action="store_true", help="print where the time went")
    pr.set_defaults(fn=cmd_prove)

    v = sub.add_parser("verify", help="verify a proof (as snarkjs groth16 verify); exit 0 valid, 1 invalid")
    v.add_argument("vk")
    v.add_argument("public")
    v.add_argument("proof")
    v.set_defaults(fn=cmd_verify)

    e = sub.add_parser("export", help="export artefacts from a .zkey")
    esub = e.add_subparsers(dest="what", required=True)
    ev = esub.add_parser("verificationkey", help="write the verification key JSON")
    ev.add_argument("zkey")
    ev.add_argument("vk")
    ev.set_defaults(fn=cmd_export_vk)
    es = esub.add_parser("solidityverifier", help="write a standalone Solidity verifier for the key")
    es.add_argument("zkey")
    es.add_argument("sol")
    es.set_defaults(fn=cmd_export_solidity)
    if not all_verbs:
        return p

    from prover.ceremony_cli import add_ceremony_verbs  # circuit export; zkey new / contribute / beacon / verify

    add_ceremony_verbs(sub)

    from prover.service.cli import add_service_verbs  # serve, worker, submit, status, service-demo

    add_service_verbs(sub)
    return p


def _quiet_blas() -> None:
    """One OpenBLAS thread, unless the environment says otherwise, when numpy is not loaded yet.

    numpy's OpenBLAS starts a thread per core and allocates their buffers when numpy is imported:
    ~30-50 ms of every command on a 2-core VM, more with more cores (issue #19 counts the whole
    command). Nothing in zkprover calls BLAS (no ``numpy.linalg``, ``dot`` or ``matmul``); the
    heavy kernels are our own C with OpenMP, which this does not touch.
    """
    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line (``argv``, default ``sys.argv[1:]``) and return its exit status.

    Without ``argv`` the call is the ``zkprover`` command itself (the console script,
    ``python -m prover.cli``), whose process ends when this returns: see :func:`_end_of_process`.
    """
    _quiet_blas()
    if argv is None:
        try:
            return _run(sys.argv[1:])
        finally:
            _end_of_process()
    return _run(list(argv))


def _end_of_process() -> None:
    """Exempt every object alive now from the interpreter's final garbage collections.

    At exit CPython walks every tracked object (numpy's, the key's metadata, the modules) looking
    for cycles, ~10-30 ms after a proof on a 2-core VM, then frees what it finds; the OS frees the
    whole process a moment later anyway. Freezing skips only that walk: ``atexit`` handlers (the
    logging flush) still run and objects whose last reference goes away are still finalised.
    Only for the command's own process: a caller that imports :func:`main` keeps its collector.
    """
    gc.freeze()


def _run(argv: list[str]) -> int:
    parser = build_parser(all_verbs=_verb(argv) not in _OWN_VERBS)
    args = parser.parse_args(argv)
    from prover.logs import configure_logging

    try:
        configure_logging(args.log_level, args.log_format)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    # numpy's first import on most verbs: tens of thousands of objects that live as long as the
    # process, which the collector would walk again and again while they are created (~3-5 ms)
    collecting = gc.isenabled()
    gc.disable()
    try:
        from prover.backend.interface import BackendError
        from prover.binfile import FormatError
        from prover.groth16.memory import InsufficientMemory
    finally:
        if collecting:
            gc.enable()

    try:
        return args.fn(args)
    except (FormatError, ValueError, BackendError, OSError, InsufficientMemory) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
