"""The phase-2 ceremony against snarkjs, both ways: either tool makes, extends and verifies the
other's keys; a tampered key is refused by both; the final key proves for snarkjs's verifier.

Phase 1 is the session's snarkjs powers of tau (power 10, conftest); the circuit is the circom
sample (a few hundred constraints, two public inputs and two outputs).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from circuits.examples import cube_chain
from circuits.r1cs import write_r1cs
from prover.binfile import BinFile, BinWriter
from prover.cli import main as zkprover
from prover.field.arrays import g1_array
from prover.field.curve import G1
from prover.groth16 import phase2
from prover.groth16.ptau import PTAU_MAGIC
from tests.interop.conftest import snarkjs
from tests.interop.peers import run_peer

pytestmark = pytest.mark.interop


def snarkjs_verify(r1cs: Path, ptau: Path, zkey: Path) -> bool:
    proc = run_peer("snarkjs", "zkey", "verify", str(r1cs), str(ptau), str(zkey))
    return proc.returncode == 0 and "ZKey Ok!" in proc.stdout


def ours_verify(r1cs: Path, ptau: Path, zkey: Path) -> bool:
    return zkprover(["zkey", "verify", str(r1cs), str(ptau), str(zkey)]) == 0


def rewrite(src: Path, dst: Path, magic: bytes, replace: dict[int, bytes], drop: tuple[int, ...] = ()) -> None:
    """Copy a container, replacing or dropping sections (the order of the others is kept)."""
    f = BinFile(src, magic, 2)
    w = BinWriter(magic, f.version)
    pos = 12
    order = []
    data = f.data
    while pos < len(data):
        stype = int.from_bytes(data[pos : pos + 4], "little")
        size = int.from_bytes(data[pos + 4 : pos + 12], "little")
        order.append(stype)
        pos += 12 + size
    for stype in order:
        if stype not in drop:
            w.add(stype, replace.get(stype, f.section(stype, str(stype))))
    w.save(dst)


def test_zkey_new_is_byte_identical_to_snarkjs(circom_sample, ptau10, tmp_path):
    ours, theirs = tmp_path / "ours.zkey", tmp_path / "theirs.zkey"
    assert zkprover(["zkey", "new", str(circom_sample["r1cs"]), str(ptau10), str(ours)]) == 0
    snarkjs("zkey", "new", str(circom_sample["r1cs"]), str(ptau10), str(theirs))
    assert ours.read_bytes() == theirs.read_bytes()


def test_snarkjs_verifies_and_extends_our_ceremony(circom_sample, ptau10, tmp_path):
    r1cs, k = circom_sample["r1cs"], [tmp_path / f"k{i}.zkey" for i in range(4)]
    assert zkprover(["zkey", "new", str(r1cs), str(ptau10), str(k[0])]) == 0
    assert zkprover(["zkey", "contribute", str(k[0]), str(k[1]), "--name=alice", "-e=first entropy"]) == 0
    assert zkprover(["zkey", "contribute", str(k[1]), str(k[2]), "-n", "bob", "-e", "second"]) == 0
    assert snarkjs_verify(r1cs, ptau10, k[2])
    snarkjs("zkey", "contribute", str(k[2]), str(k[3]), "--name=carol", "-e=third")
    out = run_peer("snarkjs", "zkey", "verify", str(r1cs), str(ptau10), str(k[3])).stdout
    assert "ZKey Ok!" in out and "contribution #1 alice" in out and "contribution #2 bob" in out
    assert ours_verify(r1cs, ptau10, k[3])


def test_we_verify_and_extend_a_snarkjs_ceremony(circom_sample, ptau10, tmp_path):
    r1cs, k = circom_sample["r1cs"], [tmp_path / f"k{i}.zkey" for i in range(4)]
    snarkjs("zkey", "new", str(r1cs), str(ptau10), str(k[0]))
    snarkjs("zkey", "contribute", str(k[0]), str(k[1]), "--name=first", "-e=snarkjs entropy")
    assert ours_verify(r1cs, ptau10, k[1])
    assert zkprover(["zkey", "contribute", str(k[1]), str(k[2]), "--name=ours", "-e=more"]) == 0
    beacon = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    assert zkprover(["zkey", "beacon", str(k[2]), str(k[3]), beacon, "10", "--name=final beacon"]) == 0
    assert ours_verify(r1cs, ptau10, k[3])
    assert snarkjs_verify(r1cs, ptau10, k[3])


def test_snarkjs_beacon_is_recomputed_by_us(circom_sample, ptau10, tmp_path):
    r1cs, k = circom_sample["r1cs"], [tmp_path / f"k{i}.zkey" for i in range(3)]
    assert zkprover(["zkey", "new", str(r1cs), str(ptau10), str(k[0])]) == 0
    snarkjs("zkey", "beacon", str(k[0]), str(k[1]), "ab" * 16, "11", "-n=theirs")
    assert ours_verify(r1cs, ptau10, k[1])
    # the same beacon applied by us gives the very same key: the draw is ffjavascript's
    assert zkprover(["zkey", "beacon", str(k[0]), str(k[2]), "ab" * 16, "11", "-n=theirs"]) == 0
    assert k[1].read_bytes() == k[2].read_bytes()


@pytest.fixture
def contributed(circom_sample, ptau10, tmp_path) -> Path:
    key0, key1 = tmp_path / "c0.zkey", tmp_path / "c1.zkey"
    assert zkprover(["zkey", "new", str(circom_sample["r1cs"]), str(ptau10), str(key0)]) == 0
    assert zkprover(["zkey", "contribute", str(key0), str(key1), "-e=entropy"]) == 0
    return key1


def _tamper_l(key: Path, out: Path) -> None:
    f = BinFile(key, b"zkey", 2)
    pts = np.frombuffer(f.section(8, "L"), dtype="<u8").reshape(-1, 2, 4).copy()
    pts[0] = g1_array([G1.affine_mul(G1.generator, 7)])[0]
    rewrite(key, out, b"zkey", {8: pts.tobytes()})


def _tamper_record(key: Path, out: Path) -> None:
    f = BinFile(key, b"zkey", 2)
    sec = bytearray(f.section(10, "contributions"))
    sec[64 + 4 + 64 * 3 + 128 + 5] ^= 1  # a byte of contribution 1's transcript
    rewrite(key, out, b"zkey", {10: bytes(sec)})


def _tamper_h(key: Path, out: Path) -> None:
    """Two H points swapped: every point still valid, the section no longer the scaled original."""
    f = BinFile(key, b"zkey", 2)
    pts = np.frombuffer(f.section(9, "H"), dtype="<u8").reshape(-1, 2, 4).copy()
    pts[[0, 1]] = pts[[1, 0]]
    rewrite(key, out, b"zkey", {9: pts.tobytes()})


@pytest.mark.parametrize("tamper", [_tamper_l, _tamper_record, _tamper_h], ids=["L", "record", "H"])
def test_tampered_contribution_is_refused_by_both(circom_sample, ptau10, contributed, tmp_path, tamper):
    r1cs = circom_sample["r1cs"]
    assert ours_verify(r1cs, ptau10, contributed)  # the untampered key passes, so the refusals below count
    bad = tmp_path / "bad.zkey"
    tamper(contributed, bad)
    assert not ours_verify(r1cs, ptau10, bad)
    assert not snarkjs_verify(r1cs, ptau10, bad)


def test_final_key_proves_for_snarkjs(circom_sample, ptau10, contributed, tmp_path):
    final = tmp_path / "final.zkey"
    assert zkprover(["zkey", "beacon", str(contributed), str(final), "c0ffee", "10"]) == 0
    vk, proof, public = tmp_path / "vk.json", tmp_path / "proof.json", tmp_path / "public.json"
    snarkjs("zkey", "export", "verificationkey", str(final), str(vk))
    assert zkprover(["prove", str(final), str(circom_sample["wtns"]), str(proof), str(public)]) == 0
    assert "OK" in snarkjs("groth16", "verify", str(vk), str(public), str(proof))
    assert zkprover(["verify", str(vk), str(public), str(proof)]) == 0
    # the development key of the same circuit does not verify this proof: the ceremony key is used
    assert zkprover(["verify", str(circom_sample["vk"]), str(public), str(proof)]) == 1


def test_unprepared_or_small_powers_of_tau_are_refused(circom_sample, ptau10, tmp_path, capsys):
    unprepared = tmp_path / "unprepared.ptau"
    rewrite(ptau10, unprepared, PTAU_MAGIC, {}, drop=(12, 13, 14, 15))
    rc = zkprover(["zkey", "new", str(circom_sample["r1cs"]), str(unprepared), str(tmp_path / "x.zkey")])
    assert rc == 2 and "prepare phase2" in capsys.readouterr().err
    big = tmp_path / "big.r1cs"
    write_r1cs(cube_chain(600).r1cs, big)  # 1,200 constraints: a domain of 2^11 > power 10
    with pytest.raises(phase2.CeremonyError, match="power >= 11, this one is 10"):
        phase2.zkey_new(big, ptau10, tmp_path / "y.zkey")
    assert not (tmp_path / "x.zkey").exists() and not (tmp_path / "y.zkey").exists()
