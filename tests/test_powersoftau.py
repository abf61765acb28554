"""The native powers of tau without the snarkjs peers: its BLAKE2b partial hash against hashlib,
the group inverse FFT against the closed-form Lagrange values, the compressed encoding, and a
whole small ceremony (new, contribute, beacon, prepare phase2, verify) with the tampering that
verify must refuse. tests/interop/test_powersoftau.py runs the same files through snarkjs."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
from pathlib import Path

import numpy as np
import pytest

from prover.backend import cpu
from prover.binfile import BinWriter, u32
from prover.cli import main as zkprover
from prover.field.arrays import fr_vector, g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.field.curve import G1, G2
from prover.groth16 import powersoftau as pot
from prover.groth16 import ptau as pt
from prover.groth16.phase2 import CeremonyError
from prover.groth16.setup import lagrange_at

pytestmark = pytest.mark.skipif(cpu._native is None, reason="native extension not built")
R, Q = FR_MODULUS, FQ_MODULUS


@pytest.mark.parametrize("length", [0, 1, 127, 128, 129, 256, 300, 1000])
def test_partial_blake2b_matches_hashlib_and_resumes(length):
    data = os.urandom(length)
    h = pot.PartialBlake2b()
    h.update(data[: length // 3])
    resumed = pot.PartialBlake2b(h.partial())  # snarkjs's record: the state mid-stream
    for x in (h, resumed):
        x.update(data[length // 3 :])
        assert x.digest() == hashlib.blake2b(data, digest_size=64).digest()
    with pytest.raises(ValueError, match="216 bytes"):
        pot.PartialBlake2b(b"short")


@pytest.mark.parametrize("g2", [False, True])
def test_group_ifft_gives_the_lagrange_basis(g2):
    group, arr = (G2, g2_array) if g2 else (G1, g1_array)
    tau = 987654321
    for log_n in (0, 1, 3):
        n = 1 << log_n
        powers = arr([group.affine_mul(group.generator, pow(tau, i, R)) for i in range(n)])
        got = (g2_points if g2 else g1_points)(pot.lagrange_points(powers, log_n, g2))
        assert got == [group.affine_mul(group.generator, v) for v in lagrange_at(tau, log_n)]
    # fewer points than the domain: the missing top power counts as zero (snarkjs's tau G1 top)
    powers = arr([group.affine_mul(group.generator, pow(tau, i, R)) for i in range(3)])
    got = (g2_points if g2 else g1_points)(pot.lagrange_points(powers, 2, g2))
    want = [sum(pow(tau, j, R) * pow(x, -j, R) for j in range(3)) * pow(4, -1, R) % R for x in _roots(2)]
    assert got == [group.affine_mul(group.generator, v) for v in want]


def _roots(log_n: int) -> list[int]:
    from prover.field.bn254 import root_of_unity

    w = root_of_unity(log_n)
    return [pow(w, i, R) for i in range(1 << log_n)]


def test_mul_each_matches_the_python_curve():
    # Random scalars: both GLV halves full size (the fixed ones have small or zero halves).
    rng = random.Random(19)
    pts = [G1.affine_mul(G1.generator, 5 + i) for i in range(12)] + [None]
    scalars = [3, R - 1, 0, R // 5, *(rng.randrange(R) for _ in range(8)), 7]
    out = np.empty_like(g1_array(pts))
    cpu._native.mul_each(False, g1_array(pts), pot.native_scalars(scalars, False), out, 2)
    assert g1_points(out) == [None if p is None else G1.affine_mul(p, s) for p, s in zip(pts, scalars, strict=True)]
    g2_pts = [G2.affine_mul(G2.generator, 5 + i) for i in range(3)]
    out2 = np.empty_like(g2_array(g2_pts))
    cpu._native.mul_each(True, g2_array(g2_pts), pot.native_scalars(scalars[:3], True), out2, 2)
    assert g2_points(out2) == [G2.affine_mul(p, s) for p, s in zip(g2_pts, scalars[:3], strict=True)]
    with pytest.raises(ValueError, match="bad buffer sizes"):
        cpu._native.mul_each(False, g1_array(pts), fr_vector(scalars), out, 2)  # G1 wants the GLV split


def _compressed_ref(p, g2: bool) -> bytes:
    if p is None:
        return bytes([0x40]) + bytes(63 if g2 else 31)
    x, y = p
    raw = (x[1].to_bytes(32, "big") + x[0].to_bytes(32, "big")) if g2 else x.to_bytes(32, "big")
    sign_of = (y[1] if y[1] else y[0]) if g2 else y
    return bytes([raw[0] | (0x80 if sign_of > (Q - 1) // 2 else 0)]) + raw[1:]


@pytest.mark.parametrize("g2", [False, True])
def test_compressed_encoding(g2):
    group, arr = (G2, g2_array) if g2 else (G1, g1_array)
    pts = [group.affine_mul(group.generator, k) for k in (1, 2, 3, R - 1, R - 2)] + [None]
    assert len({_compressed_ref(p, g2)[0] & 0x80 for p in pts[:-1]}) == 2  # both signs occur
    assert pot.compressed(arr(pts)) == b"".join(_compressed_ref(p, g2) for p in pts)


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory) -> dict[str, Path]:
    """power 3: new, two contributions, prepare phase2; a beacon on the first (through the CLI)."""
    d = tmp_path_factory.mktemp("pot")
    f = {k: d / f"{k}.ptau" for k in ("p0", "p1", "p2", "beacon", "final")}
    assert zkprover(["powersoftau", "new", "bn128", "3", str(f["p0"])]) == 0
    assert zkprover(["powersoftau", "contribute", str(f["p0"]), str(f["p1"]), "--name=alice", "-e=one"]) == 0
    assert zkprover(["powersoftau", "contribute", str(f["p1"]), str(f["p2"]), "-n", "bob", "-e", "two"]) == 0
    beacon = ["powersoftau", "beacon", str(f["p1"]), str(f["beacon"]), "0a0b0c0d", "10", "-n", "final beacon"]
    assert zkprover(beacon) == 0
    assert zkprover(["powersoftau", "prepare", "phase2", str(f["p2"]), str(f["final"])]) == 0
    return f


def test_a_native_ceremony_verifies(ceremony, capsys):
    capsys.readouterr()
    assert zkprover(["powersoftau", "verify", str(ceremony["final"])]) == 0
    out = capsys.readouterr().out
    assert "Powers of Tau Ok!" in out and "Contribution #1: alice" in out and "Contribution #2: bob" in out
    report = pot.verify(ceremony["beacon"])
    assert report.ok and not report.prepared and [c.name for c in report.contributions] == ["alice", "final beacon"]
    assert report.contributions[1].beacon_hash == bytes.fromhex("0a0b0c0d")
    assert pot.verify(ceremony["p0"]).problem.startswith("this file has no contribution")
    p = pt.Ptau(ceremony["final"])
    assert p.lagrange(pt.TAU_G1, 16).shape == (16, 2, 4) and p.lagrange(pt.TAU_G2, 8).shape == (8, 2, 2, 4)


def _tampered(src: Path, dst: Path, stype: int, index: int, size: int) -> Path:
    """A copy with point ``index`` of section ``stype`` replaced by its neighbour."""
    shutil.copy(src, dst)
    data = bytearray(dst.read_bytes())
    pos, off = 12, None
    while pos < len(data):
        t, n = int.from_bytes(data[pos : pos + 4], "little"), int.from_bytes(data[pos + 4 : pos + 12], "little")
        if t == stype:
            off = pos + 12
            break
        pos += 12 + n
    assert off is not None
    a, b = off + index * size, off + (index + 1) * size
    data[a:b] = data[b : b + size]
    dst.write_bytes(bytes(data))
    return dst


@pytest.mark.parametrize(
    ("stype", "index", "size", "problem"),
    [
        (pt.TAU_G1, 5, 64, "tauG1 section"),
        (pt.TAU_G2, 2, 128, "tauG2 section"),
        (pt.BETA_TAU_G1, 0, 64, "betaTauG1 section"),
        (12, 9, 64, "section 12"),
        (13, 4, 128, "section 13"),
    ],
)
def test_verify_refuses_tampered_points(ceremony, tmp_path, stype, index, size, problem):
    bad = _tampered(ceremony["final"], tmp_path / "bad.ptau", stype, index, size)
    report = pot.verify(bad)
    assert not report.ok and problem in report.problem
    assert zkprover(["powersoftau", "verify", str(bad)]) == 1


def test_verify_refuses_a_forged_record(ceremony, tmp_path):
    p = pt.Ptau(ceremony["p2"])
    contrs = pot.read_contributions(p)
    contrs[0].tau_g1 = G1.affine_mul(contrs[0].tau_g1, 2)  # alice's record no longer follows
    w_sections = {s: bytes(p.file.section(s, str(s))) for s in (1, *pot.SERIES)}
    w = BinWriter(pt.PTAU_MAGIC, 1)
    for s, body in w_sections.items():
        w.add(s, body)
    w.add(7, u32(len(contrs)) + b"".join(c.encode() for c in contrs))
    w.save(tmp_path / "forged.ptau")
    report = pot.verify(tmp_path / "forged.ptau")
    assert not report.ok and "contribution #2: tau*G1 does not follow" in report.problem


def test_bad_input_is_named(ceremony, tmp_path):
    with pytest.raises(CeremonyError, match="power 0 is out of range"):
        pot.new(tmp_path / "x.ptau", 0)
    assert zkprover(["powersoftau", "new", "bls12381", "3", str(tmp_path / "x.ptau")]) == 2
    with pytest.raises(CeremonyError, match="numIterationsExp 3"):
        pot.beacon(ceremony["p1"], tmp_path / "b.ptau", "0a0b", 3)
    (tmp_path / "junk.ptau").write_bytes(b"ptau" + bytes(20))
    assert zkprover(["powersoftau", "verify", str(tmp_path / "junk.ptau")]) == 2
