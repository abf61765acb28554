"""Compile the L1 contracts with solcjs (npm ``solc``, pinned) into committed JSON artifacts.

Users of the package never need a compiler: the runner and the CLI deploy the committed
``l1/artifacts/*.json`` (ABI, creation and runtime bytecode). This module is for developers who
change a contract, and for the test that recompiles every source and checks the committed
artifacts still match byte for byte:

    python -m l1.build            # recompile and rewrite l1/artifacts/
    python -m l1.build --check    # recompile and fail if an artifact differs

solcjs comes from a node_modules folder (``--node-modules``, ``$ZKPROVER_NODE_MODULES``, or the
interop peers' folder tests/interop/node_modules, installed from its pinned package.json).
Settings are fixed here and recorded in every artifact, so the same sources give the same bytes
on any machine: sources are keyed by their path relative to l1/, never by an absolute path,
because the metadata hash appended to the bytecode covers the source names.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

L1_DIR = Path(__file__).resolve().parent
CONTRACTS_DIR = L1_DIR / "contracts"
ARTIFACTS_DIR = L1_DIR / "artifacts"
DEFAULT_NODE_MODULES = L1_DIR.parent / "tests" / "interop" / "node_modules"

#: The compiler every artifact is built with (npm ``solc`` 0.8.28, the interop peers' pin).
SOLC_VERSION = "0.8.28+commit.7893614a"

#: "paris" (no PUSH0, no MCOPY) so the bytecode also runs on EVM chains that lag behind
#: mainnet forks; the verifier's hot path is precompile calls, so newer opcodes would save
#: next to nothing.
SETTINGS: dict = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "paris",
    "metadata": {"bytecodeHash": "ipfs"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}

_COMPILE_JS = r"""
const solc = require('solc');
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  process.stdout.write(JSON.stringify({version: solc.version(), output: JSON.parse(solc.compile(input))}));
});
"""


class BuildError(RuntimeError):
    """solcjs is missing, is the wrong version, or reported an error."""


def generated_sources() -> dict[str, str]:
    """Sources written by Python rather than by hand: {file name in contracts/: text}."""
    from l1.solidity_export import poseidon_solidity

    return {"PoseidonT5.sol": poseidon_solidity(5)}


def source_paths() -> list[Path]:
    return sorted(CONTRACTS_DIR.glob("*.sol"))


def standard_input(sources: dict[str, str] | None = None) -> dict:
    """solc's standard-JSON input for the given sources (default: every l1/contracts/*.sol)."""
    if sources is None:
        sources = {f"contracts/{p.name}": p.read_text() for p in source_paths()}
    return {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sorted(sources.items())},
        "settings": SETTINGS,
    }


def find_node_modules(node_modules: str | os.PathLike | None = None) -> Path:
    candidate = Path(node_modules or os.environ.get("ZKPROVER_NODE_MODULES") or DEFAULT_NODE_MODULES)
    if shutil.which("node") is None:
        raise BuildError("node is not installed: solcjs needs Node.js")
    if not (candidate / "solc" / "package.json").exists():
        raise BuildError(f"solc not found under {candidate} (npm install solc@0.8.28 there, or pass --node-modules)")
    return candidate


def run_solc(std_input: dict, node_modules: str | os.PathLike | None = None) -> dict:
    """Run solcjs on a standard-JSON input and return its output; raise BuildError on errors."""
    nm = find_node_modules(node_modules)
    proc = subprocess.run(
        ["node", "-e", _COMPILE_JS],
        input=json.dumps(std_input),
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NODE_PATH": str(nm)},
    )
    if proc.returncode != 0:
        raise BuildError(f"solcjs failed: {proc.stderr[-4000:]}")
    result = json.loads(proc.stdout)
    if not result["version"].startswith(SOLC_VERSION):
        raise BuildError(f"solcjs is {result['version']}, the artifacts are pinned to {SOLC_VERSION}")
    out = result["output"]
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise BuildError("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    return out


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def compile_artifacts(node_modules: str | os.PathLike | None = None) -> dict[str, dict]:
    """Compile every source and return {contract name: artifact} (one artifact per contract)."""
    std = standard_input()
    out = run_solc(std, node_modules)
    artifacts: dict[str, dict] = {}
    for source_name, contracts in sorted(out["contracts"].items()):
        text = std["sources"][source_name]["content"]
        for name, c in sorted(contracts.items()):
            if not c["evm"]["bytecode"]["object"]:
                continue  # interfaces and abstract contracts have nothing to deploy
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "sourceSha256": _sha256(text),
                "compiler": SOLC_VERSION,
                "settings": {k: v for k, v in SETTINGS.items() if k != "outputSelection"},
                "abi": c["abi"],
                "bytecode": "0x" + c["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
            }
    return artifacts


def artifact_text(artifact: dict) -> str:
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def load_artifact(name: str) -> dict:
    """The committed artifact of contract ``name`` (no compiler needed)."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no compiled artifact for {name!r} in {ARTIFACTS_DIR}")
    return json.loads(path.read_text())


def stale_artifacts() -> list[str]:
    """Names of committed artifacts whose recorded source hash no longer matches the source.

    A cheap check without a compiler: it catches a contract edited without rebuilding.
    """
    stale = []
    for path in sorted(ARTIFACTS_DIR.glob("*.json")):
        art = json.loads(path.read_text())
        src = L1_DIR / art["sourceName"]
        if not src.exists() or _sha256(src.read_text()) != art["sourceSha256"]:
            stale.append(art["contractName"])
    return stale


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m l1.build", description=__doc__.split("\n")[0])
    p.add_argument("--check", action="store_true", help="fail if a committed artifact differs from a fresh build")
    p.add_argument("--node-modules", default=None, help="folder holding npm solc (default: interop peers)")
    args = p.parse_args(argv)
    for name, text in generated_sources().items():
        path = CONTRACTS_DIR / name
        if path.exists() and path.read_text() == text:
            continue
        if args.check:
            print(f"{path} differs from its generator (run python -m l1.build)", file=sys.stderr)
            return 1
        path.write_text(text)
    try:
        artifacts = compile_artifacts(args.node_modules)
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    differing = []
    for name, art in artifacts.items():
        path = ARTIFACTS_DIR / f"{name}.json"
        text = artifact_text(art)
        if path.exists() and path.read_text() == text:
            continue
        differing.append(name)
        if not args.check:
            ARTIFACTS_DIR.mkdir(exist_ok=True)
            path.write_text(text)
    extra = sorted({p.stem for p in ARTIFACTS_DIR.glob("*.json")} - set(artifacts))
    if args.check:
        if differing or extra:
            print(f"artifacts out of date: {', '.join(differing + extra)} (run python -m l1.build)", file=sys.stderr)
            return 1
        print(f"artifacts up to date ({', '.join(artifacts)})")
        return 0
    for name in extra:
        (ARTIFACTS_DIR / f"{name}.json").unlink()
    print(f"wrote {', '.join(differing) or 'nothing (up to date)'}; removed {', '.join(extra) or 'nothing'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
