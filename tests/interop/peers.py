"""The npm peers the interop tests run against (snarkjs, circom2, circomlib, circomlibjs, solc).

They are installed on first use into tests/interop/node_modules from the pinned package.json,
so a clean clone needs nothing but npm. Where npm is absent the tests that need a peer skip with
that reason; any other failure (registry error, broken install) fails loudly.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
NODE_MODULES = HERE / "node_modules"
BIN = NODE_MODULES / ".bin"


def _installed() -> bool:
    wanted = json.loads((HERE / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        meta = NODE_MODULES / name / "package.json"
        if not meta.exists() or json.loads(meta.read_text()).get("version") != version:
            return False
    return True


def ensure_peers() -> Path:
    """Install the pinned peers if needed and return node_modules/.bin; skip if npm is absent."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("npm/node not installed: interop peers (snarkjs, circom2, circomlibjs) unavailable")
    with open(HERE / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # pytest-xdist workers may race here
        if not _installed():
            proc = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=900,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"npm install of interop peers failed:\n{proc.stderr[-4000:]}")
    return BIN


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
