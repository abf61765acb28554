"""What the operator needs from an L1 chain, whichever one it is.

Two chains satisfy :class:`L1Chain`: :class:`l1.evm.EvmChain` (py-evm in this process, the
embedded default: nothing to install, every transaction mined at once) and
:class:`l1.node.NodeChain` (any Ethereum JSON-RPC endpoint: anvil, a testnet, mainnet). Code written
against the protocol deploys, calls and transacts on either, and gets the same results back:
:class:`l1.evm.Contract` objects, whose ``call`` raises :class:`l1.evm.CallReverted` on a
revert and whose ``transact`` returns a :class:`l1.evm.Receipt` with ``ok``, ``gas_used``,
decoded ``events`` and, on a revert, the decoded custom ``error``.

The protocol is the small surface :class:`~l1.evm.Contract` itself calls (``send`` and
``call``) plus deployment and the reads a demo or an operator makes. What only a real node has
(pending nonces, fee markets, reorgs, confirmations) lives in :mod:`l1.node`,
:mod:`l1.settler` and :mod:`l1.watcher`, not here.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from l1.build import load_artifact
from l1.evm import DEFAULT_GAS, Account, Contract, Receipt, to_address


@runtime_checkable
class L1Chain(Protocol):
    """An EVM chain the L1 contracts can be deployed on and driven through."""

    #: EIP-155 chain id (the Rollup binds it into every public input)
    chain_id: int
    #: accounts this chain signs for; ``accounts[0]`` sends when no sender is named
    accounts: list[Account]

    @property
    def block_number(self) -> int:
        """Number of the newest block."""
        ...

    def balance(self, address: bytes | str) -> int:
        """Balance in wei at the newest block."""
        ...

    def code(self, address: bytes | str) -> bytes:
        """Runtime bytecode at ``address`` (empty for an account without code)."""
        ...

    def storage(self, address: bytes | str, slot: int) -> int:
        """One storage word of a contract at the newest block."""
        ...

    def new_account(self, seed: str) -> Account:
        """A deterministic, unfunded account (e.g. an L1 withdrawal recipient)."""
        ...

    def send(
        self, to: bytes, data: bytes, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> Receipt:
        """Send one transaction and wait until it is mined; ``to=b""`` creates a contract.

        A revert does not raise: the receipt has ``ok=False`` and ``output`` holds the revert data.
        """
        ...

    def call(
        self, to: bytes, data: bytes, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> tuple[bool, bytes, int]:
        """eth_call at the newest block: (success, output or revert data, gas used)."""
        ...

    def deploy(
        self, artifact: str | dict, *args: Any, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> tuple[Contract, Receipt]:
        """Deploy from a committed artifact name or an artifact dict; raise DeployError on a revert."""
        ...


def attach(chain: L1Chain, artifact: str | dict, address: bytes | str) -> Contract:
    """The contract of ``artifact``'s ABI already deployed at ``address`` on ``chain``.

    Refuses an address without code: a wrong address in an operator's configuration would
    otherwise read as zeros and fail much later.
    """
    art = load_artifact(artifact) if isinstance(artifact, str) else artifact
    raw = to_address(address)
    if not chain.code(raw):
        name = art.get("contractName") or "contract"
        raise ValueError(f"no code at 0x{raw.hex()}: not a deployed {name} on chain {chain.chain_id}")
    # Contract is typed for EvmChain but only calls send/call, which every L1Chain has.
    return Contract(chain, raw, art["abi"], art.get("contractName", ""))  # type: ignore[arg-type]


def open_chain(
    url: str | None = None, *, key_file: str | None = None, environ: dict[str, str] | None = None
) -> L1Chain:
    """The chain an operator was pointed at: a node at ``url`` signing with the operator key
    (from ``key_file`` or the environment, see :mod:`l1.keyfile`), or, without a URL, a fresh
    in-process :class:`~l1.evm.EvmChain` (the embedded default)."""
    if url is None:
        from l1.evm import EvmChain

        return EvmChain()
    from l1.keyfile import load_operator_key
    from l1.node import NodeChain

    return NodeChain(url, accounts=[load_operator_key(key_file, environ)])
