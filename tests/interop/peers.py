"""The npm peers the interop tests run against (snarkjs, circom2, circomlib, circomlibjs, solc).

They are installed on first use into tests/interop/node_modules from the pinned package.json,
so a clean clone needs nothing but npm. Where npm is absent the tests that need a peer skip with
that reason; any other failure (registry error, broken install) fails loudly.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.npm_peers import install_pinned

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
BIN = NODE_MODULES / ".bin"


def ensure_peers() -> Path:
    """Install the pinned peers if needed and return node_modules/.bin; skip if npm is absent."""
    return install_pinned(HERE, "interop peers (snarkjs, circom2, circomlibjs)")


def run_peer(tool: str, *args: str, cwd: Path | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    """Run a peer CLI (e.g. ``snarkjs``) and return the completed process (no check)."""
    bin_dir = ensure_peers()
    return subprocess.run([str(bin_dir / tool), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout)


def run_node(script: str, *args: str, timeout: int = 600) -> str:
    """Run a Node.js snippet with the peers importable (NODE_PATH) and return its stdout."""
    ensure_peers()
    proc = subprocess.run(
        ["node", "-e", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**_env(), "NODE_PATH": str(NODE_MODULES)},
    )
    if proc.returncode != 0:
        raise RuntimeError(f"node failed: {proc.stderr[-4000:]}")
    return proc.stdout


def _env() -> dict:
    import os

    return dict(os.environ)
