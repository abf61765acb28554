"""Shared fixtures for the interop tests: a small snarkjs ceremony and a circom-compiled circuit.

The phase-1 ceremony (power 10, about half a minute) is cached under tests/interop/.cache so
that repeated runs skip it; everything circuit-specific is made fresh in a temporary directory.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.interop.peers import HERE, NODE_MODULES, run_peer

CACHE = HERE / ".cache"


def snarkjs(*args: str, cwd: Path | None = None) -> str:
    proc = run_peer("snarkjs", *args, cwd=cwd)
    if proc.returncode != 0:
        raise AssertionError(f"snarkjs {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


@pytest.fixture(scope="session")
def ptau10() -> Path:
    """A prepared powers-of-tau file of power 10 (circuits up to 512 constraints)."""
    final = CACHE / "pot10_final.ptau"
    if final.exists():
        return final
    CACHE.mkdir(exist_ok=True)
    work = CACHE / "pot10_tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    snarkjs("powersoftau", "new", "bn128", "10", str(work / "p0.ptau"))
    snarkjs("powersoftau", "contribute", str(work / "p0.ptau"), str(work / "p1.ptau"), "-e=zkprover interop tests")
    snarkjs("powersoftau", "prepare", "phase2", str(work / "p1.ptau"), str(work / "final.ptau"))
    (work / "final.ptau").rename(final)
    shutil.rmtree(work, ignore_errors=True)
    return final


@pytest.fixture(scope="session")
def circom_sample(tmp_path_factory, ptau10) -> dict[str, Path]:
    """circuits/sample.circom compiled by circom2, set up by snarkjs, with a witness and a vk."""
    out = tmp_path_factory.mktemp("circom_sample")
    proc = run_peer(
        "circom2",
        str(HERE / "circuits" / "sample.circom"),
        "--r1cs",
        "--wasm",
        "-o",
        str(out),
        "-l",
        str(NODE_MODULES),
        timeout=300,
    )
    if proc.returncode != 0:
        raise AssertionError(f"circom2 failed:\n{proc.stdout}\n{proc.stderr}")
    (out / "input.json").write_text(json.dumps({"secret": "123456789", "salt": "42", "limit": "1000000000"}))
    snarkjs(
        "wtns", "calculate", str(out / "sample_js" / "sample.wasm"), str(out / "input.json"), str(out / "sample.wtns")
    )
    snarkjs("groth16", "setup", str(out / "sample.r1cs"), str(ptau10), str(out / "sample.zkey"))
    snarkjs("zkey", "export", "verificationkey", str(out / "sample.zkey"), str(out / "vk.json"))
    return {
        "dir": out,
        "r1cs": out / "sample.r1cs",
        "wtns": out / "sample.wtns",
        "zkey": out / "sample.zkey",
        "vk": out / "vk.json",
    }
