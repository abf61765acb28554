"""Compatibility with snarkjs and circom2 (ARCHITECTURE §3): proofs, keys, r1cs and wtns files
cross in both directions."""

from __future__ import annotations

import json

import pytest

from circuits.examples import cube_chain
from circuits.r1cs import read_r1cs, write_r1cs
from circuits.wtns import read_wtns, write_wtns
from prover.cli import main as zkprover
from prover.field.arrays import fr_ints
from prover.groth16.formats import load_json, proof_from_json, public_from_json, vk_from_json, vk_to_json
from prover.groth16.setup import setup
from prover.groth16.verifier import verify
from prover.groth16.zkey import read_zkey, write_zkey
from tests.interop.conftest import snarkjs

pytestmark = pytest.mark.interop

BACKENDS = ["python", "auto"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_our_proof_from_snarkjs_key_passes_snarkjs_verify(circom_sample, tmp_path, backend):
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    rc = zkprover(
        ["prove", str(circom_sample["zkey"]), str(circom_sample["wtns"]), str(proof), str(public), "--backend", backend]
    )
    assert rc == 0
    out = snarkjs("groth16", "verify", str(circom_sample["vk"]), str(public), str(proof))
    assert "OK" in out
    # and our own verifier agrees
    assert zkprover(["verify", str(circom_sample["vk"]), str(public), str(proof)]) == 0


def test_snarkjs_proof_passes_our_verifier(circom_sample, tmp_path):
    proof, public = tmp_path / "proof.json", tmp_path / "public.json"
    snarkjs("groth16", "prove", str(circom_sample["zkey"]), str(circom_sample["wtns"]), str(proof), str(public))
    assert zkprover(["verify", str(circom_sample["vk"]), str(public), str(proof)]) == 0
    vk = vk_from_json(load_json(circom_sample["vk"]))
    signals = public_from_json(load_json(public))
    good = proof_from_json(load_json(proof))
    assert verify(vk, signals, good)
    # a changed public signal or a swapped proof element must fail
    assert not verify(vk, [signals[0] ^ 1, *signals[1:]], good)
    assert not verify(vk, signals, type(good)(a=good.c, b=good.b, c=good.a))
    public.write_text(json.dumps([str(signals[0] + 1), *map(str, signals[1:])]))
    assert zkprover(["verify", str(circom_sample["vk"]), str(public), str(proof)]) == 1


def test_circom_r1cs_and_wtns_read_and_satisfied(circom_sample):
    r1cs = read_r1cs(circom_sample["r1cs"])
    witness = fr_ints(read_wtns(circom_sample["wtns"]))
    assert 200 < r1cs.n_constraints < 1000
    assert (r1cs.n_pub_out, r1cs.n_pub_in) == (2, 2)
    assert r1cs.first_unsatisfied(witness) is None
    witness[1] = witness[1] + 1  # the Poseidon output
    assert r1cs.first_unsatisfied(witness) is not None


def test_our_vk_export_matches_snarkjs(circom_sample, tmp_path):
    ours = tmp_path / "vk.json"
    assert zkprover(["export", "verificationkey", str(circom_sample["zkey"]), str(ours)]) == 0
    assert json.loads(ours.read_text()) == json.loads(circom_sample["vk"].read_text())


def test_python_circuit_files_pass_snarkjs_checks(tmp_path):
    circuit = cube_chain(40)
    witness = circuit.witness({"x": 3, "key": 99})
    write_r1cs(circuit.r1cs, tmp_path / "c.r1cs")
    write_wtns(witness, tmp_path / "c.wtns")
    info = snarkjs("r1cs", "info", str(tmp_path / "c.r1cs"))
    assert f"# of Constraints: {circuit.n_constraints}" in info
    assert "# of Public Inputs: 1" in info and "# of Outputs: 1" in info
    out = snarkjs("wtns", "check", str(tmp_path / "c.r1cs"), str(tmp_path / "c.wtns"))
    assert "WITNESS IS CORRECT" in out
    # round trip through our readers
    assert read_r1cs(tmp_path / "c.r1cs").constraints == circuit.r1cs.constraints
    assert fr_ints(read_wtns(tmp_path / "c.wtns")) == witness
    # and a wrong witness is refused by snarkjs too
    bad = list(witness)
    bad[-1] = bad[-1] + 1
    write_wtns(bad, tmp_path / "bad.wtns")
    proc_out = snarkjs_fails("wtns", "check", str(tmp_path / "c.r1cs"), str(tmp_path / "bad.wtns"))
    assert "WITNESS IS CORRECT" not in proc_out


def snarkjs_fails(*args: str) -> str:
    from tests.interop.peers import run_peer

    proc = run_peer("snarkjs", *args)
    return proc.stdout + proc.stderr


def test_our_zkey_is_read_by_snarkjs(tmp_path):
    circuit = cube_chain(30)
    witness = circuit.witness({"x": 11, "key": 5})
    pk = setup(circuit.r1cs, name=circuit.name)
    write_zkey(pk, tmp_path / "ours.zkey")
    write_wtns(witness, tmp_path / "w.wtns")
    snarkjs("zkey", "export", "verificationkey", str(tmp_path / "ours.zkey"), str(tmp_path / "vk_snarkjs.json"))
    assert json.loads((tmp_path / "vk_snarkjs.json").read_text()) == json.loads(json.dumps(vk_to_json(pk.vk)))
    # snarkjs proves with our key; our verifier accepts its proof
    snarkjs(
        "groth16",
        "prove",
        str(tmp_path / "ours.zkey"),
        str(tmp_path / "w.wtns"),
        str(tmp_path / "p.json"),
        str(tmp_path / "pub.json"),
    )
    assert (
        zkprover(["verify", str(tmp_path / "vk_snarkjs.json"), str(tmp_path / "pub.json"), str(tmp_path / "p.json")])
        == 0
    )
    # our reader gives back the same key
    again = read_zkey(tmp_path / "ours.zkey")
    assert again.digest() == pk.digest() and again.is_development
