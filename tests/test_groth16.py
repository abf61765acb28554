"""Groth16 on Python-built circuits: setup -> prove -> verify, and everything that must fail.

The accept/reject tests run on both verifier engines (native pairing and py_ecc fallback).
"""

from __future__ import annotations

import json

import pytest

from circuits.examples import cube_chain, cube_chain_output
from prover.backend.python_backend import PythonBackend
from prover.cli import main as zkprover
from prover.field.bn254 import FQ_MODULUS
from prover.field.curve import G1
from prover.groth16.formats import (
    proof_from_json,
    proof_to_json,
    public_to_json,
    vk_from_json,
    vk_to_json,
    write_json,
)
from prover.groth16.keys import Proof
from prover.groth16.prover import WitnessError, prove
from prover.groth16.setup import domain_size_for, setup
from prover.groth16.verifier import verify
from prover.groth16.zkey import read_zkey, write_zkey

BACKEND = PythonBackend()


@pytest.fixture(scope="module")
def chain():
    circuit = cube_chain(12)
    pk = setup(circuit.r1cs, name=circuit.name)
    witness = circuit.witness({"x": 3, "key": 77})
    return circuit, pk, witness


@pytest.fixture(scope="module")
def proved(chain):
    circuit, pk, witness = chain
    return prove(pk, witness, BACKEND, r1cs=circuit.r1cs)


def test_valid_proof_verifies(chain, proved, verifier_engine):
    _, pk, _ = chain
    assert proved.public_signals == [cube_chain_output(3, 77, 12), 3]
    assert verify(pk.vk, proved.public_signals, proved.proof)
    assert {"quotient", "msm_a", "msm_b2", "msm_h", "total"} <= set(proved.timings)


def test_proofs_are_randomised(chain, proved):
    _, pk, witness = chain
    again = prove(pk, witness, BACKEND)
    assert again.proof != proved.proof
    assert verify(pk.vk, again.public_signals, again.proof)


def test_domain_size_follows_snarkjs(chain):
    circuit, pk, _ = chain
    m = circuit.n_constraints + circuit.n_public
    assert pk.domain_size >= m + 1 and pk.domain_size // 2 < m + 1
    assert domain_size_for(circuit.r1cs) == pk.domain_size


@pytest.mark.parametrize("part", ["a", "b", "c"])
def test_tampered_proof_rejected(chain, proved, part, verifier_engine):
    _, pk, _ = chain
    p = proved.proof
    if part == "b":
        from prover.field.curve import G2

        bad = Proof(p.a, G2.affine_add(p.b, G2.generator), p.c)
    else:
        moved = G1.affine_add(getattr(p, part), G1.generator)
        bad = Proof(moved, p.b, p.c) if part == "a" else Proof(p.a, p.b, moved)
    assert not verify(pk.vk, proved.public_signals, bad)


def test_off_curve_point_rejected(chain, proved, verifier_engine):
    _, pk, _ = chain
    a = proved.proof.a
    assert not verify(pk.vk, proved.public_signals, Proof((a[0], a[1] + 1), proved.proof.b, proved.proof.c))


@pytest.mark.parametrize("coordinate", ["a.x", "b.x.c1", "c.y"])
def test_non_canonical_coordinate_rejected(chain, proved, coordinate, verifier_engine):
    """x + q names the same field element, but the EVM precompiles refuse coordinates >= q, so
    the off-chain twin of the L1 verifier must refuse them too."""
    _, pk, _ = chain
    a, b, c = proved.proof.a, proved.proof.b, proved.proof.c
    if coordinate == "a.x":
        a = (a[0] + FQ_MODULUS, a[1])
    elif coordinate == "b.x.c1":
        b = ((b[0][0], b[0][1] + FQ_MODULUS), b[1])
    else:
        c = (c[0], c[1] + FQ_MODULUS)
    assert not verify(pk.vk, proved.public_signals, Proof(a, b, c))


def test_wrong_public_input_rejected(chain, proved, verifier_engine):
    _, pk, _ = chain
    out, x = proved.public_signals
    assert not verify(pk.vk, [out, x + 1], proved.proof)
    assert not verify(pk.vk, [out + 1, x], proved.proof)
    from prover.field.bn254 import FR_MODULUS

    assert not verify(pk.vk, [out + FR_MODULUS, x], proved.proof)  # x >= r is not x mod r
    with pytest.raises(ValueError, match="expects 2"):
        verify(pk.vk, [out], proved.proof)


def test_proof_for_another_circuits_key_rejected(chain, proved):
    circuit, _, _ = chain
    other_pk = setup(circuit.r1cs, name="same circuit, other ceremony")
    assert not verify(other_pk.vk, proved.public_signals, proved.proof)
    other = cube_chain(13)
    other_key = setup(other.r1cs, name=other.name)
    assert not verify(other_key.vk, proved.public_signals, proved.proof)


def test_prover_refuses_unsatisfied_witness_naming_the_constraint(chain):
    circuit, pk, witness = chain
    bad = list(witness)
    bad[-1] = bad[-1] + 1
    with pytest.raises(WitnessError, match=r"constraint \d+"):
        prove(pk, bad, BACKEND, r1cs=circuit.r1cs)
    with pytest.raises(WitnessError, match="expects"):
        prove(pk, witness[:-1], BACKEND)
    with pytest.raises(WitnessError, match="constant wire"):
        prove(pk, [2, *witness[1:]], BACKEND)


def test_unsatisfied_witness_without_r1cs_gives_invalid_proof(chain):
    _, pk, witness = chain
    bad = list(witness)
    bad[-1] = bad[-1] + 1
    result = prove(pk, bad, BACKEND)
    assert not verify(pk.vk, result.public_signals, result.proof)


def test_zkey_round_trip_and_dev_marking(chain, tmp_path):
    _, pk, witness = chain
    write_zkey(pk, tmp_path / "k.zkey")
    again = read_zkey(tmp_path / "k.zkey")
    assert again.digest() == pk.digest()
    assert again.is_development and "NOT FOR PRODUCTION" in again.metadata["warning"]
    result = prove(again, witness, BACKEND)
    assert verify(pk.vk, result.public_signals, result.proof)


def test_json_round_trips(chain, proved):
    _, pk, _ = chain
    assert proof_from_json(json.loads(json.dumps(proof_to_json(proved.proof)))) == proved.proof
    assert vk_from_json(json.loads(json.dumps(vk_to_json(pk.vk)))) == pk.vk


def test_cli_verify_exit_codes(chain, proved, tmp_path):
    _, pk, _ = chain
    write_json(vk_to_json(pk.vk), tmp_path / "vk.json")
    write_json(proof_to_json(proved.proof), tmp_path / "proof.json")
    write_json(public_to_json(proved.public_signals), tmp_path / "public.json")
    args = [str(tmp_path / n) for n in ("vk.json", "public.json", "proof.json")]
    assert zkprover(["verify", *args]) == 0
    write_json(public_to_json([proved.public_signals[0], 4]), tmp_path / "public.json")
    assert zkprover(["verify", *args]) == 1
    (tmp_path / "public.json").write_text("[1, 2")
    assert zkprover(["verify", *args]) == 2
    write_json(["1"], tmp_path / "public.json")
    assert zkprover(["verify", *args]) == 2


def test_cli_setup_prove_verify(tmp_path, capsys):
    from circuits.r1cs import write_r1cs
    from circuits.wtns import write_wtns

    circuit = cube_chain(5)
    write_r1cs(circuit.r1cs, tmp_path / "c.r1cs")
    write_wtns(circuit.witness({"x": 1, "key": 2}), tmp_path / "c.wtns")
    assert zkprover(["setup", str(tmp_path / "c.r1cs"), str(tmp_path / "c.zkey")]) == 0
    assert "NOT FOR PRODUCTION" in capsys.readouterr().err
    files = [str(tmp_path / n) for n in ("c.zkey", "c.wtns", "proof.json", "public.json")]
    assert zkprover(["prove", *files, "--backend", "python", "--r1cs", str(tmp_path / "c.r1cs")]) == 0
    assert zkprover(["export", "verificationkey", str(tmp_path / "c.zkey"), str(tmp_path / "vk.json")]) == 0
    assert zkprover(["verify", *(str(tmp_path / n) for n in ("vk.json", "public.json", "proof.json"))]) == 0


def test_cli_demo_small(capsys):
    assert zkprover(["demo", "--circuit", "--rounds", "10", "--backend", "python"]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "a wrong output is rejected" in out
