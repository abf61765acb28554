"""Fixtures for the L1 tests: a one-public-input circuit with a development key and a proof,
and a chain with the generic verifier deployed for that key.

Pairings are the cost here: py-evm's ecPairing is pure Python (about 1.5 s for a Groth16
check), so fixtures are module- or session-scoped and tests count their full verifications.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from circuits.builder import CompiledCircuit, ConstraintSystem
from l1.calldata import vk_constructor_args
from l1.evm import Contract, EvmChain
from prover.backend.select import select_backend
from prover.groth16.keys import Proof, ProvingKey
from prover.groth16.prover import prove
from prover.groth16.setup import setup
from tests.interop.conftest import ptau10  # noqa: F401  (fixture re-exported for the interop tests here)


def square_root_circuit() -> CompiledCircuit:
    """One public input x and a private k with k * k = x: the smallest useful circuit."""
    cs = ConstraintSystem("l1_square_root")
    x = cs.public_input("x")
    k = cs.private_input("k")
    cs.assert_equal(cs.mul(k, k), x)
    return cs.compile()


@dataclass
class Keyed:
    pk: ProvingKey
    proof: Proof
    public: list[int]


@pytest.fixture(scope="session")
def keyed() -> Keyed:
    circuit = square_root_circuit()
    pk = setup(circuit.r1cs, name=circuit.name)
    result = prove(pk, circuit.witness({"x": 49, "k": 7}), select_backend("python"))
    assert result.public_signals == [49]
    return Keyed(pk, result.proof, result.public_signals)


@pytest.fixture(scope="module")
def chain() -> EvmChain:
    return EvmChain()


@pytest.fixture(scope="module")
def verifier(chain, keyed) -> Contract:
    contract, _ = chain.deploy("Groth16Verifier", *vk_constructor_args(keyed.pk.vk))
    return contract


@pytest.fixture(scope="session")
def standin():
    """The stand-in batch circuit (one public input, any value) with a development key."""
    from tests.l1.rollup_helpers import StandIn

    return StandIn.create()
