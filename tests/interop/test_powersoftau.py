"""The native powers of tau against snarkjs, both ways: snarkjs verifies a ceremony made by
``zkprover powersoftau new`` + ``contribute`` + ``prepare phase2`` and runs ``zkey new`` on it
(byte-identical to ours); we verify snarkjs's own ceremony (the session's power-10 file) and a
chain where snarkjs contributes after us, and refuse a tampered snarkjs file.

Power 4 keeps it fast: the circuit is two cubing rounds (a 16-point domain).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from circuits.builder import ConstraintSystem
from circuits.r1cs import write_r1cs
from prover.cli import main as zkprover
from prover.groth16 import powersoftau as pot
from tests.interop.conftest import snarkjs
from tests.interop.peers import run_peer

pytestmark = pytest.mark.interop


@pytest.fixture(scope="module")
def ours(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ours_ptau")
    f = {k: d / f"{k}.ptau" for k in ("p0", "p1", "final")}
    assert zkprover(["powersoftau", "new", "bn128", "4", str(f["p0"])]) == 0
    assert zkprover(["powersoftau", "contribute", str(f["p0"]), str(f["p1"]), "--name=ours", "-e=native"]) == 0
    assert zkprover(["powersoftau", "prepare", "phase2", str(f["p1"]), str(f["final"])]) == 0
    f["r1cs"] = d / "cube.r1cs"
    write_r1cs(_tiny_circuit().r1cs, f["r1cs"])
    return f


def _tiny_circuit():
    cs = ConstraintSystem("tiny")
    state = cs.public_input("x")
    key = cs.private_input("key")
    for i in range(2):
        t = state + key + i
        state = cs.mul(cs.mul(t, t, name=f"sq{i}"), t, name=f"cube{i}")
    cs.public_output("y", state)
    return cs.compile()


def test_snarkjs_verifies_our_ceremony_and_sets_up_from_it(ours, tmp_path):
    out = snarkjs("powersoftau", "verify", str(ours["final"]))
    assert "Powers of Tau Ok!" in out and "Contribution #1: ours" in out
    theirs, mine = tmp_path / "theirs.zkey", tmp_path / "ours.zkey"
    snarkjs("zkey", "new", str(ours["r1cs"]), str(ours["final"]), str(theirs))
    assert zkprover(["zkey", "new", str(ours["r1cs"]), str(ours["final"]), str(mine)]) == 0
    assert mine.read_bytes() == theirs.read_bytes()


def test_we_verify_a_snarkjs_contribution_after_ours(ours, tmp_path):
    nxt = tmp_path / "p2.ptau"
    snarkjs("powersoftau", "contribute", str(ours["p1"]), str(nxt), "--name=snarkjs", "-e=their entropy")
    report = pot.verify(nxt)
    assert report.ok, report.problem
    assert [c.name for c in report.contributions] == ["ours", "snarkjs"]


def test_we_verify_snarkjs_ceremony_and_refuse_it_tampered(ptau10, tmp_path):
    report = pot.verify(ptau10)
    assert report.ok and report.prepared, report.problem
    # swap two neighbouring tau G1 points (section 2 starts 12 + 12 + 44 + 12 bytes in)
    data = bytearray(ptau10.read_bytes())
    off = 12 + 12 + 44 + 12 + 7 * 64
    data[off : off + 128] = data[off + 64 : off + 128] + data[off : off + 64]
    bad = tmp_path / "bad.ptau"
    bad.write_bytes(bytes(data))
    report = pot.verify(bad)
    assert not report.ok and "tauG1 section" in report.problem
    proc = run_peer("snarkjs", "powersoftau", "verify", str(bad))
    assert "Powers of Tau Ok!" not in proc.stdout  # snarkjs agrees
