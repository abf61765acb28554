"""Malformed .r1cs / .wtns / .zkey files give a clear error naming the file and the problem,
and a failed write leaves no partial file."""

from __future__ import annotations

import struct

import pytest

from circuits.examples import cube_chain
from circuits.r1cs import R1CS, read_r1cs, write_r1cs
from circuits.wtns import read_wtns, write_wtns
from prover.binfile import FormatError
from prover.cli import main as zkprover
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.groth16.setup import setup
from prover.groth16.zkey import read_zkey, write_zkey


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("formats")
    circuit = cube_chain(4)
    write_r1cs(circuit.r1cs, d / "c.r1cs")
    write_wtns(circuit.witness({"x": 2, "key": 3}), d / "c.wtns")
    write_zkey(setup(circuit.r1cs), d / "c.zkey")
    return d


READERS = {"r1cs": read_r1cs, "wtns": read_wtns, "zkey": read_zkey}


@pytest.mark.parametrize("kind", list(READERS))
@pytest.mark.parametrize("keep", [0, 5, 11, 30, 0.5, -1])
def test_truncated_files(files, tmp_path, kind, keep):
    data = (files / f"c.{kind}").read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else (len(data) + keep if keep < 0 else keep)
    bad = tmp_path / f"bad.{kind}"
    bad.write_bytes(data[:n])
    with pytest.raises(FormatError) as exc:
        READERS[kind](bad)
    assert str(bad) in str(exc.value)
    assert any(w in exc.value.problem for w in ("truncated", "empty", "short", "holds", "expected", "missing"))


@pytest.mark.parametrize("kind", list(READERS))
def test_wrong_magic(files, tmp_path, kind):
    data = bytearray((files / f"c.{kind}").read_bytes())
    data[:4] = b"nope"
    bad = tmp_path / f"bad.{kind}"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=rf"not a \.{kind} file"):
        READERS[kind](bad)


def _patch(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) >= 1
    return data.replace(old, new, 1)


@pytest.mark.parametrize(("kind", "prime"), [("r1cs", FR_MODULUS), ("wtns", FR_MODULUS), ("zkey", FQ_MODULUS)])
def test_wrong_prime(files, tmp_path, kind, prime):
    data = (files / f"c.{kind}").read_bytes()
    other = (prime - 2).to_bytes(32, "little")
    bad = tmp_path / f"bad.{kind}"
    bad.write_bytes(_patch(data, prime.to_bytes(32, "little"), other))
    with pytest.raises(FormatError, match=r"prime|field"):
        READERS[kind](bad)


def test_wtns_count_mismatch(files, tmp_path):
    data = bytearray((files / "c.wtns").read_bytes())
    # header section body: n8 (4) + prime (32) + count (4), after the 12-byte file header and 12-byte section header
    pos = 12 + 12 + 4 + 32
    (count,) = struct.unpack_from("<I", data, pos)
    struct.pack_into("<I", data, pos, count + 1)
    bad = tmp_path / "bad.wtns"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match=f"header says {count + 1} values"):
        read_wtns(bad)


def test_zkey_nvars_mismatch(files, tmp_path):
    data = bytearray((files / "c.zkey").read_bytes())
    pk = read_zkey(files / "c.zkey")
    header = struct.pack("<III", pk.n_vars, pk.n_public, pk.domain_size)
    pos = bytes(data).index(header)
    struct.pack_into("<I", data, pos, pk.n_vars + 3)
    bad = tmp_path / "bad.zkey"
    bad.write_bytes(bytes(data))
    with pytest.raises(FormatError, match="section A holds"):
        read_zkey(bad)


def test_r1cs_wire_out_of_range(tmp_path):
    r1cs = R1CS(n_wires=3, n_pub_out=1, n_pub_in=0, n_prv_in=1, constraints=[({2: 1}, {2: 1}, {7: 1})])
    write_r1cs(r1cs, tmp_path / "bad.r1cs")
    with pytest.raises(FormatError, match="names wire 7 of 3"):
        read_r1cs(tmp_path / "bad.r1cs")


def test_missing_file_is_a_format_error(tmp_path):
    with pytest.raises(FormatError, match="cannot read"):
        read_zkey(tmp_path / "absent.zkey")


def test_failed_write_leaves_no_file_and_keeps_old_one(tmp_path):
    target = tmp_path / "out.r1cs"
    broken = R1CS(n_wires=2, n_pub_out=0, n_pub_in=0, n_prv_in=1, constraints=[({1: "x"}, {}, {})])  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        write_r1cs(broken, target)
    assert list(tmp_path.iterdir()) == []
    target.write_bytes(b"previous contents")
    with pytest.raises(TypeError):
        write_r1cs(broken, target)
    assert target.read_bytes() == b"previous contents"
    assert [p.name for p in tmp_path.iterdir()] == ["out.r1cs"]


def test_cli_prove_with_corrupt_key_writes_nothing(files, tmp_path, capsys):
    data = (files / "c.zkey").read_bytes()
    (tmp_path / "bad.zkey").write_bytes(data[: len(data) // 2])
    out = [tmp_path / "proof.json", tmp_path / "public.json"]
    rc = zkprover(["prove", str(tmp_path / "bad.zkey"), str(files / "c.wtns"), *map(str, out), "--backend", "python"])
    assert rc == 2
    assert "bad.zkey" in capsys.readouterr().err
    assert not any(p.exists() for p in out)


def test_cli_prove_with_mismatched_witness(files, tmp_path, capsys):
    other = cube_chain(6)
    write_wtns(other.witness({"x": 1, "key": 1}), tmp_path / "other.wtns")
    out = [tmp_path / "proof.json", tmp_path / "public.json"]
    rc = zkprover(["prove", str(files / "c.zkey"), str(tmp_path / "other.wtns"), *map(str, out), "--backend", "python"])
    assert rc == 2
    assert "expects" in capsys.readouterr().err
    assert not any(p.exists() for p in out)
