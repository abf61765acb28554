"""The generic Groth16Verifier contract in py-evm against the Python verifier: same answers.

Full verifications (a pairing in py-evm, ~1.5 s each): valid, tampered input, tampered proof.
Everything else is refused before the pairing or by the precompile's point checks, cheaply.
"""

from __future__ import annotations

import pytest

from l1.build import CONTRACTS_DIR, generated_sources, stale_artifacts
from l1.calldata import (
    VERIFY_PROOF_ONE_INPUT_SIGNATURE,
    VERIFY_PROOF_SIGNATURE,
    g2_words,
    proof_args,
    proof_from_words,
    proof_words,
    verify_words,
    vk_constructor_args,
)
from l1.evm import CallReverted, DeployError
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.groth16.verifier import verify


def _contract_says(verifier, words, public) -> bool:
    w = list(words)
    return verifier.call(VERIFY_PROOF_SIGNATURE, w[0:2], [w[2:4], w[4:6]], w[6:8], list(public))


def test_committed_artifacts_match_sources():
    # Without a compiler: the artifact records the hash of the source it was built from, and
    # generated sources equal their generator's output.
    assert stale_artifacts() == []
    for name, text in generated_sources().items():
        assert (CONTRACTS_DIR / name).read_text() == text, f"{name}: run python -m l1.build"


def test_words_round_trip_and_g2_order(keyed):
    words = proof_words(keyed.proof)
    (x0, x1), (y0, y1) = keyed.proof.b
    assert words[2:6] == [x1, x0, y1, y0]  # EVM order: imaginary part first
    assert proof_from_words(words) == keyed.proof
    assert g2_words(None) == [[0, 0], [0, 0]]


def test_valid_proof_accepted_with_gas(chain, verifier, keyed):
    assert verify(keyed.pk.vk, keyed.public, keyed.proof)
    receipt = verifier.transact(VERIFY_PROOF_SIGNATURE, *proof_args(keyed.proof), keyed.public)
    assert receipt.ok
    assert verifier.decode_output(VERIFY_PROOF_SIGNATURE, receipt.output) is True
    # snarkjs's verifier spends about 221,000 for one input; ours reads the key from a data
    # account (one cold EXTCODECOPY) and takes a dynamic array, a few thousand more.
    print(f"Groth16Verifier.verifyProof, 1 public input: {receipt.gas_used} gas")
    assert 200_000 < receipt.gas_used < 230_000
    assert verifier.call("nPublic") == 1


REFUSED = [
    "tampered public input",
    "A and C swapped",
    "public input >= r",
    "public input = r",
    "G2 in JSON order",
    "coordinate >= q",
    "A off the curve",
    "all-zero proof",
]


def _refused_case(keyed, name: str) -> tuple[list[int], list[int]]:
    """(words, public) for a proof the contract and the Python twin must both refuse."""
    w = proof_words(keyed.proof)
    x = keyed.public[0]
    return {
        "tampered public input": (w, [x + 1]),
        "A and C swapped": (w[6:8] + w[2:6] + w[0:2], [x]),
        "public input >= r": (w, [x + FR_MODULUS]),
        "public input = r": (w, [FR_MODULUS]),
        "G2 in JSON order": ([*w[:2], w[3], w[2], w[5], w[4], *w[6:]], [x]),
        "coordinate >= q": ([w[0], w[1] + FQ_MODULUS, *w[2:]], [x]),
        "A off the curve": ([w[0], w[1] ^ 1, *w[2:]], [x]),
        "all-zero proof": ([0] * 8, [x]),
    }[name]


@pytest.mark.parametrize("name", REFUSED)
def test_rejections_agree_with_python(verifier, keyed, name):
    words, public = _refused_case(keyed, name)
    assert verify_words(keyed.pk.vk, words, public) is False
    assert _contract_says(verifier, words, public) is False


def test_python_twin_accepts_the_valid_words(keyed):
    assert verify_words(keyed.pk.vk, proof_words(keyed.proof), keyed.public)


def test_wrong_input_count_reverts_and_raises(verifier, keyed):
    w = proof_words(keyed.proof)
    with pytest.raises(CallReverted, match="WrongInputCount"):
        _contract_says(verifier, w, [1, 2])
    with pytest.raises(ValueError):
        verify_words(keyed.pk.vk, w, [1, 2])


def test_key_with_g2_in_json_order_is_refused_at_deployment(chain, keyed):
    alpha, beta, gamma, delta, ic = vk_constructor_args(keyed.pk.vk)
    beta_json = [list(reversed(beta[0])), list(reversed(beta[1]))]
    with pytest.raises(DeployError, match="BadVerifyingKey"):
        chain.deploy("Groth16Verifier", alpha, beta_json, gamma, delta, ic)
    with pytest.raises(DeployError, match="BadVerifyingKey"):
        chain.deploy("Groth16Verifier", alpha, beta, gamma, delta, [])


@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_key_point_at_infinity_is_refused_at_deployment(chain, keyed, which):
    """alpha1, beta2, gamma2, delta2 at infinity: with gamma2 or delta2 there, constant proofs
    would verify every input."""
    args = list(vk_constructor_args(keyed.pk.vk))
    args[which] = [0, 0] if which == 0 else [[0, 0], [0, 0]]
    with pytest.raises(DeployError, match=f"KeyPointAtInfinity\\({which}\\)"):
        chain.deploy("Groth16Verifier", *args)


def test_one_input_overload_answers_as_the_general_form(verifier, keyed):
    """snarkjs's ABI (uint256[1]), the one Rollup calls: same answers, no pairing for the
    refusals the general form already covers (a tampered input is one full check)."""
    a, b, c = proof_args(keyed.proof)
    x = keyed.public[0]
    assert verifier.call(VERIFY_PROOF_ONE_INPUT_SIGNATURE, a, b, c, [x]) is True
    assert verifier.call(VERIFY_PROOF_ONE_INPUT_SIGNATURE, a, b, c, [x + 1]) is False
    assert verifier.call(VERIFY_PROOF_ONE_INPUT_SIGNATURE, a, b, c, [x + FR_MODULUS]) is False
    with pytest.raises(KeyError, match="overloaded"):
        verifier.encode("verifyProof", a, b, c, [x])


def test_one_input_overload_refuses_a_key_with_other_input_counts(chain, keyed):
    alpha, beta, gamma, delta, ic = vk_constructor_args(keyed.pk.vk)
    two_inputs, _ = chain.deploy("Groth16Verifier", alpha, beta, gamma, delta, [*ic, ic[1]])
    a, b, c = proof_args(keyed.proof)
    with pytest.raises(CallReverted, match=r"WrongInputCount\(1, 2\)"):
        two_inputs.call(VERIFY_PROOF_ONE_INPUT_SIGNATURE, a, b, c, [keyed.public[0]])
