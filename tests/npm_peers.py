"""Installs a test folder's pinned npm packages on first use (interop peers, the anvil node).

Each folder holds a package.json pinning exact versions; :func:`install_pinned` runs
``npm install`` there when a pinned package is missing or at another version, under a file
lock (pytest-xdist workers may race). Where npm or node is absent the calling test skips with
that reason; any other failure (registry error, broken install) fails loudly.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import subprocess
from pathlib import Path

import pytest


def _installed(folder: Path) -> bool:
    wanted = json.loads((folder / "package.json").read_text())["dependencies"]
    for name, version in wanted.items():
        meta = folder / "node_modules" / name / "package.json"
        if not meta.exists() or json.loads(meta.read_text()).get("version") != version:
            return False
    return True


def install_pinned(folder: Path, what: str) -> Path:
    """Install ``folder``'s pinned packages if needed; its node_modules/.bin. ``what`` names them
    in the skip reason and in errors."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip(f"npm/node not installed: {what} unavailable")
    with open(folder / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _installed(folder):
            proc = subprocess.run(
                ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=900,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"npm install of {what} failed:\n{proc.stderr[-4000:]}")
    return folder / "node_modules" / ".bin"
