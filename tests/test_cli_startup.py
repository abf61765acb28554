"""Start-up cost of ``zkprover prove`` (issue #19): what the prove path imports, and the CLI's
start-up measures (lean parser, one OpenBLAS thread, no final garbage walk).

The import checks run the real command in a fresh interpreter on a real key and witness and then
look at ``sys.modules``: a module imported anywhere on the path, directly or through another one,
shows up there, which no static check of import lines would catch.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from circuits.examples import cube_chain
from circuits.wtns import write_wtns
from prover.cli import _OWN_VERBS, _verb, build_parser
from prover.groth16.formats import load_json, proof_from_json, public_from_json
from prover.groth16.setup import setup
from prover.groth16.verifier import verify
from prover.groth16.zkey import write_zkey

ROOT = Path(__file__).resolve().parents[1]

#: Modules the prove path has no use for, each costing milliseconds to tens of milliseconds to
#: import: py_ecc (its bn128 pairing module multiplies points at import), the service stack
#: (gRPC, protobuf, metrics, job stores), the ceremony and R1CS code, the L1 code.
HEAVY = (
    "py_ecc",
    "grpc",
    "google.protobuf",
    "prometheus_client",
    "sqlite3",
    "psycopg",
    "prover.service",
    "prover.jobs",
    "prover.ceremony_cli",
    "prover.groth16.phase2",
    "prover.groth16.verifier",
    "circuits.r1cs",
    "l1",
)

#: The GPU backend's modules: imported only where CuPy is there to drive them.
GPU_ONLY = ("cupy", "prover.backend.gpu", "prover.backend.gpu_engine", "prover.backend.gpu_launch")

_CHILD = """
import json, sys
from prover.cli import main
sys.argv = ["zkprover", *json.loads(sys.argv[1])]
{before}
status = main()
print(json.dumps({{"status": status, "modules": sorted(sys.modules),
                   "blas": __import__("os").environ.get("OPENBLAS_NUM_THREADS"),
                   "frozen": __import__("gc").get_freeze_count()}}))
"""


@pytest.fixture(scope="module")
def prove_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("startup")
    circuit = cube_chain(4)
    pk = setup(circuit.r1cs, name=circuit.name)
    write_zkey(pk, d / "c.zkey")
    write_wtns(circuit.witness({"x": 3, "key": 5}), d / "c.wtns")
    return {
        "zkey": d / "c.zkey",
        "wtns": d / "c.wtns",
        "proof": d / "proof.json",
        "public": d / "public.json",
        "pk": pk,
    }


def run_command(argv: list[str], *, before: str = "", env: dict[str, str] | None = None) -> dict:
    """``zkprover ARGV`` as the command (``main()`` without arguments) in a fresh interpreter."""
    child_env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    child_env.update(env or {})
    child_env["PYTHONPATH"] = os.pathsep.join([str(ROOT), child_env.get("PYTHONPATH", "")])
    out = subprocess.run(
        [sys.executable, "-c", _CHILD.format(before=before), json.dumps(argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=child_env,
        timeout=300,
        check=True,
    )
    return json.loads(out.stdout.splitlines()[-1])


def heavy_imports(modules: list[str]) -> list[str]:
    names = HEAVY if importlib.util.find_spec("cupy") else HEAVY + GPU_ONLY
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in names))


def prove_argv(files: dict) -> list[str]:
    return ["prove", *(str(files[k]) for k in ("zkey", "wtns", "proof", "public"))]


def test_prove_command_imports_nothing_heavy(prove_files):
    """The whole command as users type it (backend auto) proves, and imports none of HEAVY."""
    got = run_command(prove_argv(prove_files))
    assert got["status"] == 0
    assert heavy_imports(got["modules"]) == []
    assert "prover.groth16.zkey" in got["modules"]  # the child really took the prove path
    pk = prove_files["pk"]
    proof = proof_from_json(load_json(prove_files["proof"]), "proof")
    assert verify(pk.vk, public_from_json(load_json(prove_files["public"]), "public"), proof)


def test_the_import_check_sees_a_heavy_import(prove_files):
    """Negative control: the same run with py_ecc imported on the way is caught."""
    got = run_command(prove_argv(prove_files), before="import py_ecc.bn128")
    assert got["status"] == 0
    assert "py_ecc.bn128" in heavy_imports(got["modules"])


def test_verify_command_still_works_in_a_fresh_process(prove_files, tmp_path):
    """verify imports the pairing (natively or py_ecc) lazily: the verb still runs on its own."""
    from prover.groth16.formats import vk_to_json, write_json

    run_command(prove_argv(prove_files))
    write_json(vk_to_json(prove_files["pk"].vk), tmp_path / "vk.json")
    got = run_command(["verify", str(tmp_path / "vk.json"), str(prove_files["public"]), str(prove_files["proof"])])
    assert got["status"] == 0


@pytest.mark.parametrize(
    ("argv", "verb"),
    [
        (["prove", "k.zkey", "w.wtns", "p.json", "q.json"], "prove"),
        (["--log-level", "INFO", "prove", "a"], "prove"),
        (["--log-level=INFO", "--log-format", "json", "verify", "a"], "verify"),
        (["--log-level", "serve", "prove"], "prove"),  # an option's value is not the verb
        (["serve", "--workers", "2"], "serve"),
        (["-h", "prove"], None),  # top-level help lists every verb: the full parser
        (["--log-level", "INFO"], None),
        ([], None),
    ],
)
def test_verb_is_found_past_top_level_options(argv, verb):
    assert _verb(argv) == verb


@pytest.mark.parametrize(
    "argv",
    [
        ["prove", "k.zkey", "w.wtns", "p.json", "q.json"],
        ["--log-level", "DEBUG", "prove", "k", "w", "p", "q", "--backend", "cpu", "--r1cs", "c.r1cs", "-v"],
        ["verify", "vk.json", "public.json", "proof.json"],
        ["export", "verificationkey", "k.zkey", "vk.json"],
        ["setup", "c.r1cs", "c.zkey"],
        ["demo", "--circuit", "--rounds", "10"],
    ],
)
def test_lean_parser_parses_its_verbs_as_the_full_one(argv):
    assert _verb(argv) in _OWN_VERBS
    assert vars(build_parser(all_verbs=False).parse_args(argv)) == vars(build_parser().parse_args(argv))


def test_lean_parser_lacks_the_other_verbs_and_main_uses_the_full_one_for_them(capsys):
    with pytest.raises(SystemExit):
        build_parser(all_verbs=False).parse_args(["serve"])
    assert build_parser().parse_args(["serve"]).verb == "serve"
    from prover.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["zkey", "--help"])
    assert exc.value.code == 0
    assert "contribute" in capsys.readouterr().out


def test_command_takes_one_blas_thread_unless_told(prove_files):
    assert run_command(prove_argv(prove_files))["blas"] == "1"
    assert run_command(prove_argv(prove_files), env={"OPENBLAS_NUM_THREADS": "3"})["blas"] == "3"


def test_main_called_with_argv_leaves_blas_and_collector_alone(prove_files, monkeypatch):
    """A caller that imports main (the tests, an embedding program) keeps its environment and its
    garbage collector: numpy is already loaded here, and nothing is frozen."""
    from prover.cli import main

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    frozen = gc.get_freeze_count()
    assert main([*prove_argv(prove_files), "--backend", "python"]) == 0
    assert "OPENBLAS_NUM_THREADS" not in os.environ
    assert gc.get_freeze_count() == frozen


def test_command_freezes_the_collector_at_its_end(prove_files):
    assert run_command(prove_argv(prove_files))["frozen"] > 0


@pytest.mark.parametrize("enabled", [True, False])
def test_main_leaves_the_collector_as_it_found_it(prove_files, enabled):
    """main() pauses the collector while it imports numpy and the backend interface, and restores
    the caller's setting, whichever it was."""
    from prover.cli import main

    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        assert main([*prove_argv(prove_files), "--backend", "python"]) == 0
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
