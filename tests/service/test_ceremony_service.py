"""The whole operator path on the real batch circuit (slow, ~3-5 minutes on 2 cores): export the
circuit, a (development) powers of tau, a phase 2 with a contribution and a beacon, verify it,
then the service proves a batch on that key, pinned by hash, and reports its provenance."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pytest

from prover.cli import main as zkprover

pytestmark = pytest.mark.slow


def test_service_proves_a_batch_on_a_ceremony_key(tmp_path):
    name = "rollup_b1_d2"
    r1cs, ptau, keys = tmp_path / f"{name}.r1cs", tmp_path / "pot17.ptau", tmp_path / "keys"
    keys.mkdir()
    assert zkprover(["circuit", "export", str(tmp_path), "--batch-sizes", "1", "--depth", "2"]) == 0
    assert zkprover(["powersoftau", "development", "17", str(ptau)]) == 0  # 65,706 constraints: 2^17
    assert zkprover(["zkey", "new", str(r1cs), str(ptau), str(tmp_path / "k0.zkey")]) == 0
    assert zkprover(["zkey", "contribute", str(tmp_path / "k0.zkey"), str(tmp_path / "k1.zkey"), "-e=op"]) == 0
    final = keys / f"{name}.zkey"
    assert zkprover(["zkey", "beacon", str(tmp_path / "k1.zkey"), str(final), "0badc0de", "10"]) == 0
    assert zkprover(["zkey", "verify", str(r1cs), str(ptau), str(final)]) == 0
    pin = f"{name}={hashlib.sha256(final.read_bytes()).hexdigest()}"
    cmd = [sys.executable, "-m", "prover.cli", "service-demo", "--keys-dir", str(keys), "--key-sha256", pin,
           "--backend", "cpu"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ceremony key (2 contributions)" in out.stdout and "proof     valid" in out.stdout
    # the same service refuses a key that is not the pinned one
    wrong = f"{name}={'0' * 64}"
    bad = subprocess.run([*cmd[:-3], wrong, "--backend", "cpu"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "the configuration pins" in bad.stderr
