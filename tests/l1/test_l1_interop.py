"""The L1 contracts against the npm peers: solcjs rebuilds the committed artifacts byte for
byte; our exported .sol and snarkjs's exported verifier both accept our proofs, at comparable
gas; a snarkjs proof of a circom circuit passes our generic verifier contract."""

from __future__ import annotations

import json

import pytest

from l1.build import ARTIFACTS_DIR, artifact_text, compile_artifacts, run_solc, standard_input
from l1.calldata import (
    VERIFY_PROOF_SIGNATURE,
    proof_args,
    proof_bytes,
    proof_words,
    soliditycalldata_text,
    verify_words,
    vk_constructor_args,
)
from l1.evm import EvmChain
from l1.solidity_export import solidity_verifier
from prover.cli import main as zkprover
from prover.field.bn254 import FR_MODULUS
from prover.groth16.formats import (
    load_json,
    proof_from_json,
    proof_to_json,
    public_from_json,
    public_to_json,
    vk_from_json,
    write_json,
)
from prover.groth16.zkey import write_zkey
from tests.interop.conftest import snarkjs
from tests.interop.peers import NODE_MODULES, run_peer
from tests.l1.rollup_helpers import NOOP, TRANSFER, blob, make_world, record

pytestmark = pytest.mark.interop


def test_solcjs_rebuilds_committed_artifacts():
    run_peer("solcjs", "--version")  # installs the pinned peers if needed
    fresh = compile_artifacts(NODE_MODULES)
    committed = {p.stem: p.read_text() for p in ARTIFACTS_DIR.glob("*.json")}
    assert sorted(fresh) == sorted(committed)
    for name, art in fresh.items():
        assert artifact_text(art) == committed[name], f"{name}: run python -m l1.build"


@pytest.fixture(scope="module")
def exported(keyed, tmp_path_factory):
    """Our standalone .sol (through the CLI) and snarkjs's, compiled together by solcjs."""
    d = tmp_path_factory.mktemp("exported")
    write_zkey(keyed.pk, d / "key.zkey")
    assert zkprover(["export", "solidityverifier", str(d / "key.zkey"), str(d / "ours.sol")]) == 0
    assert (d / "ours.sol").read_text() == solidity_verifier(keyed.pk.vk)
    snarkjs("zkey", "export", "solidityverifier", str(d / "key.zkey"), str(d / "snarkjs.sol"))
    out = run_solc(
        standard_input({"ours.sol": (d / "ours.sol").read_text(), "snarkjs.sol": (d / "snarkjs.sol").read_text()}),
        NODE_MODULES,
    )
    arts = {}
    for src in ("ours.sol", "snarkjs.sol"):
        c = out["contracts"][src]["Groth16Verifier"]
        arts[src] = {"contractName": src, "abi": c["abi"], "bytecode": c["evm"]["bytecode"]["object"]}
    return d, arts


def test_exported_verifiers_accept_our_proof(exported, keyed, verifier):
    _, arts = exported
    chain = EvmChain()
    a, b, c = proof_args(keyed.proof)
    gas = {}
    for name, art in arts.items():
        contract, _ = chain.deploy(art)
        receipt = contract.transact("verifyProof", a, b, c, keyed.public)
        assert receipt.ok and contract.decode_output("verifyProof", receipt.output) is True, name
        gas[name] = receipt.gas_used
    generic = verifier.transact(VERIFY_PROOF_SIGNATURE, a, b, c, keyed.public)
    assert generic.ok
    gas["generic Groth16Verifier"] = generic.gas_used
    print("verifyProof gas, 1 public input:", gas)
    # Standalone: the same work as snarkjs's; generic: plus reading the key (~2,700) and
    # the dynamic input array.
    assert abs(gas["ours.sol"] - gas["snarkjs.sol"]) < 1_500
    assert gas["generic Groth16Verifier"] - gas["snarkjs.sol"] < 6_000


def test_exported_verifier_refuses_tampered_input(exported, keyed):
    _, arts = exported
    contract, _ = EvmChain().deploy(arts["ours.sol"])
    a, b, c = proof_args(keyed.proof)
    assert contract.call("verifyProof", a, b, c, [keyed.public[0] + 1]) is False
    assert contract.call("verifyProof", a, b, c, [keyed.public[0] + FR_MODULUS]) is False


def test_soliditycalldata_matches_snarkjs(exported, keyed):
    d, _ = exported
    write_json(proof_to_json(keyed.proof), d / "proof.json")
    write_json(public_to_json(keyed.public), d / "public.json")
    out = snarkjs("zkey", "export", "soliditycalldata", str(d / "public.json"), str(d / "proof.json"))
    assert out.strip() == soliditycalldata_text(keyed.proof, keyed.public)
    assert len(proof_bytes(keyed.proof)) == 256


CIRCOM = """pragma circom 2.0.0;
template Product() {
    signal input a;
    signal input b;
    signal output c;
    c <== a * b;
}
component main {public [a]} = Product();
"""


def test_snarkjs_proof_of_circom_circuit_passes_generic_verifier(tmp_path, ptau10):
    (tmp_path / "product.circom").write_text(CIRCOM)
    proc = run_peer("circom2", str(tmp_path / "product.circom"), "--r1cs", "--wasm", "-o", str(tmp_path), timeout=300)
    assert proc.returncode == 0, proc.stderr
    (tmp_path / "input.json").write_text(json.dumps({"a": "3", "b": "11"}))
    wasm = tmp_path / "product_js" / "product.wasm"
    snarkjs("wtns", "calculate", str(wasm), str(tmp_path / "input.json"), str(tmp_path / "w.wtns"))
    snarkjs("groth16", "setup", str(tmp_path / "product.r1cs"), str(ptau10), str(tmp_path / "p.zkey"))
    snarkjs("zkey", "export", "verificationkey", str(tmp_path / "p.zkey"), str(tmp_path / "vk.json"))
    snarkjs(
        "groth16", "prove", str(tmp_path / "p.zkey"), str(tmp_path / "w.wtns"),
        str(tmp_path / "proof.json"), str(tmp_path / "public.json"),
    )  # fmt: skip
    vk = vk_from_json(load_json(tmp_path / "vk.json"))
    proof = proof_from_json(load_json(tmp_path / "proof.json"))
    public = public_from_json(load_json(tmp_path / "public.json"))
    assert public == [33, 3]  # output c, then public input a
    contract, _ = EvmChain().deploy("Groth16Verifier", *vk_constructor_args(vk))
    assert contract.call(VERIFY_PROOF_SIGNATURE, *proof_args(proof), public) is True
    assert verify_words(vk, proof_words(proof), public)


def test_rollup_settles_a_batch_with_snarkjs_exported_verifier(standin, tmp_path):
    """`snarkjs zkey export solidityverifier` of the stand-in key (exported by our zkey writer)
    plugs into Rollup as it is: the deployment probe passes, a batch settles, a wrong proof fails."""
    write_zkey(standin.pk, tmp_path / "standin.zkey")
    snarkjs("zkey", "export", "solidityverifier", str(tmp_path / "standin.zkey"), str(tmp_path / "verifier.sol"))
    out = run_solc(standard_input({"verifier.sol": (tmp_path / "verifier.sol").read_text()}), NODE_MODULES)
    compiled = out["contracts"]["verifier.sol"]["Groth16Verifier"]
    art = {"contractName": "snarkjs", "abi": compiled["abi"], "bytecode": compiled["evm"]["bytecode"]["object"]}
    chain = EvmChain()
    verifier, _ = chain.deploy(art)
    world = make_world(standin, chain=chain, verifier=verifier)
    data = blob([], [record(TRANSFER, frm=0, to=1, amount=3), record(NOOP)])
    wrong = standin.prove(world.input_for(0x99, data) + 1)
    receipt = world.submit(0x99, data, proof=wrong)
    assert not receipt.ok and "InvalidProof" in receipt.error
    receipt = world.submit(0x99, data)
    assert receipt.ok, receipt.error
    assert world.rollup.call("stateRoot") == 0x99 and world.rollup.call("batchNumber") == 1
    print(f"submitBatch through snarkjs's verifier (2 records, first batch): {receipt.gas_used} gas")
