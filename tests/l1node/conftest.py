"""Fixtures for the L1 node tests: a fresh anvil per test, a NodeChain on it with funded
accounts, and the Probe contract (compiled by solcjs once per session, deployed per test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from l1.build import run_solc, standard_input
from l1.evm import Contract
from l1.node import NodeChain
from tests.l1node.anvil import HERE, NODE_MODULES, Anvil, ensure_anvil, funded


@pytest.fixture(scope="session")
def anvil_binary():
    return ensure_anvil()


@pytest.fixture(scope="session")
def probe_artifact(anvil_binary) -> dict:
    out = run_solc(standard_input({"Probe.sol": (HERE / "Probe.sol").read_text()}), NODE_MODULES)
    c = out["contracts"]["Probe.sol"]["Probe"]
    return {"contractName": "Probe", "abi": c["abi"], "bytecode": "0x" + c["evm"]["bytecode"]["object"]}


@pytest.fixture
def anvil(anvil_binary, tmp_path) -> Iterator[Anvil]:
    node = Anvil(anvil_binary, state=tmp_path / "anvil-state.json")
    node.start()
    try:
        yield node
    finally:
        node.kill()


@pytest.fixture
def node(anvil) -> NodeChain:
    chain = NodeChain(anvil.url, receipt_timeout_s=30)
    chain.accounts = [funded(anvil, chain, f"l1node-test-{i}") for i in range(3)]
    return chain


@pytest.fixture
def probe(node, probe_artifact) -> Contract:
    contract, _ = node.deploy(probe_artifact, 10**15)
    return contract
