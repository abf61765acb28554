"""An Ethereum JSON-RPC node as an :class:`l1.chain.L1Chain`, driven with web3.py.

::

    node = NodeChain("http://127.0.0.1:8545", accounts=[load_operator_key()])
    rollup, receipt = node.deploy("Rollup", ...)          # same Contract as on EvmChain
    receipt = rollup.transact("submitBatch", ...)         # waits for the receipt
    receipt.ok, receipt.gas_used, receipt.events, receipt.error

Transactions are EIP-1559 (type 2), signed here with the sender's key; the node never holds a
key. :meth:`NodeChain.send` is the simple path a wallet takes (pending nonce, fee from the
newest base fee, wait for the receipt): enough for deployment, demos and tests. An operator
settling batches uses :class:`l1.settler.Settler` on top of the primitives below (nonces, fees,
raw sending, receipts, headers, logs), which adds ordering, confirmations and resubmission.

Every request goes through :meth:`NodeChain.rpc`, which turns transport failures into
:class:`NodeUnavailable` (the caller may retry) and JSON-RPC errors into :class:`RpcError`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests
from eth_abi import encode
from eth_account import Account as EthAccount
from eth_utils import keccak
from eth_utils.abi import get_abi_input_types
from web3 import Web3

from l1.build import load_artifact
from l1.evm import DEFAULT_GAS, Account, Contract, DeployError, Receipt, to_address

#: a tip when the node cannot suggest one (eth_maxPriorityFeePerGas is not in every client)
FALLBACK_PRIORITY_FEE = 10**9


class NodeError(RuntimeError):
    """The node could not do what was asked."""


class NodeUnavailable(NodeError):
    """The node did not answer (refused, reset, timed out): worth retrying later."""


class RpcError(NodeError):
    """The node answered with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str, data: Any = None) -> None:
        super().__init__(f"{method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.message = message
        self.data = data


class InsufficientFunds(NodeError):
    """The sending account cannot pay for a transaction (gas limit x max fee + value)."""

    def __init__(self, address: bytes, balance: int, needed: int | None, detail: str = "") -> None:
        need = f"needs {needed} wei" if needed is not None else "needs more"
        super().__init__(
            f"account 0x{address.hex()} cannot pay: balance {balance} wei, {need}" + (f" ({detail})" if detail else "")
        )
        self.address = address
        self.balance = balance
        self.needed = needed


@dataclass(frozen=True)
class RawLog:
    """One log as the node reported it; shaped like py-evm's log entries (address bytes,
    topics as ints, data bytes) so :meth:`l1.evm.Contract.decode_logs` decodes it."""

    address: bytes
    topics: tuple[int, ...]
    data: bytes
    block_number: int
    block_hash: bytes
    log_index: int
    tx_hash: bytes
    removed: bool = False


@dataclass(frozen=True)
class BlockHeader:
    number: int
    hash: bytes
    parent_hash: bytes
    base_fee: int | None  # None before London


def _hex(value: int) -> str:
    return hex(value)


def _bytes(value: str | None) -> bytes:
    return bytes.fromhex(value.removeprefix("0x")) if value else b""


def _int(value: str | int) -> int:
    return value if isinstance(value, int) else int(value, 16)


def parse_log(item: dict) -> RawLog:
    return RawLog(
        address=_bytes(item["address"]),
        topics=tuple(int(t, 16) for t in item["topics"]),
        data=_bytes(item["data"]),
        block_number=_int(item["blockNumber"]),
        block_hash=_bytes(item["blockHash"]),
        log_index=_int(item["logIndex"]),
        tx_hash=_bytes(item["transactionHash"]),
        removed=bool(item.get("removed", False)),
    )


def revert_data(error: RpcError) -> bytes | None:
    """The revert payload of a failed eth_call/eth_estimateGas, or None if the error is not a revert."""
    data = error.data
    if isinstance(data, dict):  # some clients nest it: {"data": "0x..."} or {"result": ...}
        data = data.get("data") or data.get("result")
    if isinstance(data, str) and data.startswith("0x"):
        return _bytes(data)
    if "revert" in error.message.lower():
        return b""
    return None


class NodeChain:
    """A JSON-RPC endpoint with the accounts this process signs for (``accounts[0]`` by default)."""

    def __init__(
        self,
        url: str,
        accounts: Sequence[Account] = (),
        *,
        timeout_s: float = 10.0,
        poll_s: float = 0.05,
        receipt_timeout_s: float = 120.0,
    ) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"L1 endpoint must be an http(s) JSON-RPC URL, got {url!r}")
        self.url = url
        self.accounts = list(accounts)
        self.poll_s = poll_s
        self.receipt_timeout_s = receipt_timeout_s
        self.w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": timeout_s}))
        self.chain_id = _int(self.rpc("eth_chainId"))

    # --- transport -------------------------------------------------------------------------
    def rpc(self, method: str, *params: Any) -> Any:
        """One JSON-RPC request: its result, or NodeUnavailable / RpcError."""
        try:
            response = self.w3.provider.make_request(method, list(params))  # type: ignore[arg-type]
        except (requests.ConnectionError, requests.Timeout, ConnectionError, TimeoutError) as exc:
            raise NodeUnavailable(f"L1 node at {self.url} did not answer {method}: {exc}") from exc
        error = response.get("error")
        if error:
            raise RpcError(method, int(error.get("code", 0)), str(error.get("message", "")), error.get("data"))
        return response.get("result")

    # --- reads -----------------------------------------------------------------------------
    @property
    def block_number(self) -> int:
        return _int(self.rpc("eth_blockNumber"))

    def balance(self, address: bytes | str, block: str = "latest") -> int:
        return _int(self.rpc("eth_getBalance", "0x" + to_address(address).hex(), block))

    def code(self, address: bytes | str) -> bytes:
        return _bytes(self.rpc("eth_getCode", "0x" + to_address(address).hex(), "latest"))

    def storage(self, address: bytes | str, slot: int) -> int:
        return _int(self.rpc("eth_getStorageAt", "0x" + to_address(address).hex(), _hex(slot), "latest"))

    def nonce(self, address: bytes | str, block: str = "pending") -> int:
        """Transaction count of ``address``: at ``pending`` it counts the node's mempool too."""
        return _int(self.rpc("eth_getTransactionCount", "0x" + to_address(address).hex(), block))

    def header(self, block: int | str = "latest") -> BlockHeader | None:
        """A block's header by number (or tag), None if the node has no such block."""
        tag = _hex(block) if isinstance(block, int) else block
        item = self.rpc("eth_getBlockByNumber", tag, False)
        if item is None:
            return None
        base = item.get("baseFeePerGas")
        return BlockHeader(_int(item["number"]), _bytes(item["hash"]), _bytes(item["parentHash"]), base and _int(base))

    def logs(
        self,
        address: bytes,
        topics: Sequence[int] | None = None,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        block_hash: bytes | None = None,
    ) -> list[RawLog]:
        """eth_getLogs for one contract, either over a block range or in exactly one block
        (by hash, EIP-234: a reorg cannot swap that block's logs under us)."""
        query: dict[str, Any] = {"address": "0x" + address.hex()}
        if topics:
            query["topics"] = [["0x" + t.to_bytes(32, "big").hex() for t in topics]]
        if block_hash is not None:
            query["blockHash"] = "0x" + block_hash.hex()
        else:
            if from_block is None or to_block is None:
                raise ValueError("logs(): give block_hash, or both from_block and to_block")
            query["fromBlock"], query["toBlock"] = _hex(from_block), _hex(to_block)
        logs = [parse_log(item) for item in self.rpc("eth_getLogs", query)]
        return sorted(logs, key=lambda g: (g.block_number, g.log_index))

    def max_priority_fee(self) -> int:
        try:
            return _int(self.rpc("eth_maxPriorityFeePerGas"))
        except RpcError:
            return FALLBACK_PRIORITY_FEE

    def receipt(self, tx_hash: bytes) -> dict | None:
        return self.rpc("eth_getTransactionReceipt", "0x" + tx_hash.hex())

    def transaction(self, tx_hash: bytes) -> dict | None:
        return self.rpc("eth_getTransactionByHash", "0x" + tx_hash.hex())

    # --- signing and sending ----------------------------------------------------------------
    def sign(
        self,
        sender: Account,
        *,
        nonce: int,
        to: bytes,
        data: bytes,
        value: int,
        gas: int,
        max_fee: int,
        priority_fee: int,
    ) -> tuple[bytes, bytes]:
        """An EIP-1559 transaction signed by ``sender``: (raw bytes, transaction hash)."""
        fields: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "value": value,
            "gas": gas,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": priority_fee,
            "data": data,
        }
        if to:
            fields["to"] = to
        signed = EthAccount.sign_transaction(fields, sender.key.to_bytes())
        return bytes(signed.raw_transaction), bytes(signed.hash)

    def send_raw(self, raw: bytes, sender: Account | None = None) -> bytes:
        """Broadcast a signed transaction; its hash. A refusal for lack of funds raises
        InsufficientFunds (when ``sender`` is known), any other refusal RpcError."""
        try:
            return _bytes(self.rpc("eth_sendRawTransaction", "0x" + raw.hex()))
        except RpcError as exc:
            if sender is not None and "insufficient funds" in exc.message.lower():
                raise InsufficientFunds(sender.address, self.balance(sender.address), None, exc.message) from exc
            raise

    def wait_receipt(self, tx_hash: bytes, timeout_s: float | None = None) -> dict:
        """Poll until the transaction is mined; its receipt (JSON as the node sent it)."""
        limit = self.receipt_timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + limit
        while True:
            receipt = self.receipt(tx_hash)
            if receipt is not None and receipt.get("blockNumber") is not None:
                return receipt
            if time.monotonic() > deadline:
                raise TimeoutError(f"transaction 0x{tx_hash.hex()} not mined within {limit} s")
            time.sleep(self.poll_s)

    def to_receipt(self, receipt: dict, *, sender: bytes, to: bytes, data: bytes, value: int, gas: int) -> Receipt:
        """A node's receipt as an :class:`l1.evm.Receipt`; on a revert, the revert data comes
        from replaying the call on the parent block's state."""
        ok = _int(receipt["status"]) == 1
        block = _int(receipt["blockNumber"])
        output = b""
        if not ok:
            ok_replay, output, _ = self._eth_call(sender, to, data, value, gas, _hex(block - 1))
            if ok_replay:
                output = b""  # succeeded on the parent state: the revert came from an earlier tx in the block
        created = receipt.get("contractAddress")
        return Receipt(
            ok=ok,
            gas_used=_int(receipt["gasUsed"]),
            output=output,
            contract_address=_bytes(created) if (ok and created) else None,
            block_number=block,
            logs_raw=tuple(parse_log(item) for item in receipt.get("logs", [])),
            fee_wei=_int(receipt["gasUsed"]) * _int(receipt.get("effectiveGasPrice", "0x0")),
            tx_hash=_bytes(receipt.get("transactionHash")),
        )

    def default_fees(self) -> tuple[int, int]:
        """(max fee, priority fee) a wallet would pick: twice the newest base fee plus the tip."""
        head = self.header("latest")
        tip = self.max_priority_fee()
        base = (head.base_fee if head else None) or 0
        return 2 * base + tip, tip

    # --- the L1Chain surface ----------------------------------------------------------------
    def _sender(self, sender: Account | None) -> Account:
        if sender is not None:
            return sender
        if not self.accounts:
            raise ValueError("this NodeChain has no account to send from (pass accounts=[...] or sender=)")
        return self.accounts[0]

    def new_account(self, seed: str) -> Account:
        from eth_keys import keys

        key = keys.PrivateKey(keccak(text=seed))
        return Account(key, key.public_key.to_canonical_address())

    def send(
        self, to: bytes, data: bytes, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> Receipt:
        account = self._sender(sender)
        max_fee, tip = self.default_fees()
        raw, tx_hash = self.sign(
            account,
            nonce=self.nonce(account.address),
            to=to,
            data=data,
            value=value,
            gas=gas,
            max_fee=max_fee,
            priority_fee=tip,
        )
        self.send_raw(raw, account)
        return self.to_receipt(
            self.wait_receipt(tx_hash), sender=account.address, to=to, data=data, value=value, gas=gas
        )

    def _eth_call(
        self, sender: bytes, to: bytes, data: bytes, value: int, gas: int, block: str
    ) -> tuple[bool, bytes, int]:
        tx: dict[str, Any] = {"from": "0x" + sender.hex(), "data": "0x" + data.hex(), "gas": _hex(gas)}
        if to:
            tx["to"] = "0x" + to.hex()
        if value:
            tx["value"] = _hex(value)
        try:
            output = _bytes(self.rpc("eth_call", tx, block))
        except RpcError as exc:
            reverted = revert_data(exc)
            if reverted is None:
                raise
            return False, reverted, gas
        try:
            used = _int(self.rpc("eth_estimateGas", tx, block))
        except RpcError:
            used = 0  # succeeds as a call yet cannot be estimated (e.g. state-dependent): no figure
        return True, output, used

    def call(
        self, to: bytes, data: bytes, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> tuple[bool, bytes, int]:
        """eth_call at the newest block: (success, output or revert data, the node's gas estimate)."""
        who = sender.address if sender is not None else (self.accounts[0].address if self.accounts else bytes(20))
        return self._eth_call(who, to, data, value, gas, "latest")

    def deploy(
        self, artifact: str | dict, *args: Any, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> tuple[Contract, Receipt]:
        art = load_artifact(artifact) if isinstance(artifact, str) else artifact
        ctor = next((i for i in art["abi"] if i["type"] == "constructor"), {"type": "constructor", "inputs": []})
        code = bytes.fromhex(art["bytecode"].removeprefix("0x"))
        receipt = self.send(b"", code + encode(get_abi_input_types(ctor), list(args)), sender, value, gas)
        # Contract is typed for EvmChain; it only calls send and call, which this class has too.
        contract = Contract(self, receipt.contract_address or bytes(20), art["abi"], art.get("contractName", ""))  # type: ignore[arg-type]
        if not receipt.ok:
            raise DeployError(
                f"deploying {contract.name or 'contract'} failed: {contract.decode_error(receipt.output)}"
            )
        receipt.events = contract.decode_logs(receipt.logs_raw)
        return contract, receipt
