"""NodeChain against anvil: the same deploy/call/transact surface as the in-process EvmChain."""

from __future__ import annotations

import pytest

from l1.chain import L1Chain, attach, open_chain
from l1.evm import CallReverted, DeployError, EvmChain
from l1.keyfile import OperatorKeyError
from l1.node import NodeChain, NodeUnavailable
from tests.l1node.anvil import _free_port

MINIMUM = 10**15


@pytest.fixture(params=["evm", "node"])
def chain(request, probe_artifact) -> L1Chain:
    """Each test below runs once in process (py-evm) and once on anvil."""
    if request.param == "evm":
        return EvmChain()
    return request.getfixturevalue("node")


def test_both_chains_satisfy_the_protocol(chain):
    assert isinstance(chain, L1Chain)
    assert chain.block_number >= 0
    assert chain.balance(chain.accounts[0].address) > 0


def test_deploy_call_transact_and_events(chain, probe_artifact):
    probe, receipt = chain.deploy(probe_artifact, MINIMUM)
    assert receipt.ok and receipt.contract_address == probe.address and chain.code(probe.address)
    assert probe.call("minimum") == MINIMUM and probe.call("batchCount") == 0

    depositor = chain.accounts[1]
    receipt = probe.transact("deposit", sender=depositor, value=3 * MINIMUM)
    assert receipt.ok and receipt.error is None and receipt.gas_used > 21_000
    event = receipt.event("Deposited")
    assert event.args == {"index": 0, "from": "0x" + depositor.address.hex(), "amount": 3 * MINIMUM}
    assert event.address == probe.address
    assert chain.balance(probe.address) == 3 * MINIMUM

    receipt = probe.transact("submitBatch", 1, b"\x11" * 32)
    assert receipt.ok and receipt.event("BatchVerified").args == {"batch": 1, "root": b"\x11" * 32}
    assert probe.call("batchCount") == 1
    assert chain.storage(probe.address, 0) == 1  # batchCount is slot 0 (minimum is immutable)


def test_reverts_name_the_custom_error(chain, probe_artifact):
    probe, _ = chain.deploy(probe_artifact, MINIMUM)
    receipt = probe.transact("submitBatch", 2, b"\x00" * 32)
    assert not receipt.ok and receipt.error == "OutOfOrder(1, 2)" and receipt.events == []
    receipt = probe.transact("deposit", value=MINIMUM - 1)
    assert not receipt.ok and receipt.error == f"TooSmall({MINIMUM - 1}, {MINIMUM})"
    assert probe.call("batchCount") == 0 and probe.call("depositCount") == 0
    with pytest.raises(CallReverted, match=r"OutOfOrder\(1, 5\)"):
        probe.call("submitBatch", 5, b"\x00" * 32)


def test_deploy_refused_on_revert(chain, probe_artifact):
    # A constructor that reverts (here: Probe's bytecode with value sent to a non-payable constructor).
    with pytest.raises(DeployError, match="deploying Probe failed"):
        chain.deploy(probe_artifact, MINIMUM, value=1)


def test_attach_finds_deployed_contract_and_refuses_empty_address(chain, probe_artifact):
    probe, _ = chain.deploy(probe_artifact, MINIMUM)
    again = attach(chain, probe_artifact, "0x" + probe.address.hex())
    assert again.call("minimum") == MINIMUM
    with pytest.raises(ValueError, match="no code at 0x0000000000000000000000000000000000000042"):
        attach(chain, probe_artifact, bytes(19) + b"\x42")


def test_node_chain_refuses_bad_endpoints():
    with pytest.raises(ValueError, match="http"):
        NodeChain("ws://127.0.0.1:8545")
    with pytest.raises(NodeUnavailable, match="did not answer eth_chainId"):
        NodeChain(f"http://127.0.0.1:{_free_port()}", timeout_s=2)


def test_node_chain_without_accounts_cannot_send(anvil):
    chain = NodeChain(anvil.url)
    with pytest.raises(ValueError, match="no account to send from"):
        chain.send(b"", b"")


def test_open_chain_picks_the_embedded_chain_or_a_node(anvil):
    assert isinstance(open_chain(), EvmChain)
    key = "59c6995e998f97a5a0044966f094539dbbc9e6c4e1d3ca4c0f4d8e1b6a8e0e1d"
    chain = open_chain(anvil.url, environ={"ZKPROVER_L1_KEY": key})
    assert isinstance(chain, NodeChain) and chain.chain_id == 31337 and len(chain.accounts) == 1
    with pytest.raises(OperatorKeyError, match="no operator key"):
        open_chain(anvil.url, environ={})
