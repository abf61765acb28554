"""An Ethereum chain in memory (py-evm, Cancun rules) to deploy and drive the L1 contracts.

Used by the tests, by the demo, and by anyone who wants to dry-run a batch against the real
contract bytecode before paying for it on a real chain::

    chain = EvmChain()
    verifier = deploy_verifier(chain, vk)
    ok = verifier.call(VERIFY_PROOF_SIGNATURE, *proof_args(proof), public_signals)  # l1.calldata
    receipt = rollup.transact("submitBatch", new_root, public_data, proof_words(proof))
    receipt.ok, receipt.gas_used, receipt.events, receipt.error

A function is named by its name, or by its full signature where the ABI overloads the name
(``Groth16Verifier.verifyProof`` takes ``uint256[]`` or ``uint256[1]``). Every transaction is
mined in a block of its own (``chain.mine(n)`` adds empty blocks, to pass deadlines), so a
receipt's ``gas_used`` is that transaction's gas (intrinsic 21,000 and calldata included), the
number a wallet would show. Reverts do not raise: a receipt says ``ok=False`` and names the custom error, as a block
explorer would; calls that revert raise :class:`CallReverted` instead, since they have no
receipt to carry the news.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from eth import constants
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks import CancunVM
from eth.vm.spoof import SpoofTransaction
from eth_abi import decode, encode
from eth_keys import keys
from eth_utils import keccak, to_checksum_address

from l1.build import load_artifact

DEFAULT_CHAIN_ID = 1337
DEFAULT_BALANCE = 10**24  # one million ether per test account
DEFAULT_GAS = 15_000_000
BLOCK_GAS_LIMIT = 30_000_000
GAS_PRICE = 10**9


def _abi_type(item: dict) -> str:
    """ABI JSON parameter -> canonical type string (tuples expanded)."""
    t = item["type"]
    if t.startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in item["components"]) + ")" + t[len("tuple") :]
    return t


def to_address(a: bytes | str) -> bytes:
    """20 canonical bytes from bytes or a hex string (eth_abi decodes addresses to strings)."""
    raw = bytes.fromhex(a.removeprefix("0x")) if isinstance(a, str) else bytes(a)
    if len(raw) != 20:
        raise ValueError(f"not an address: {a!r}")
    return raw


def _signature(item: dict) -> str:
    return f"{item['name']}({','.join(_abi_type(i) for i in item['inputs'])})"


@dataclass(frozen=True)
class Account:
    key: keys.PrivateKey
    address: bytes  # 20 bytes

    @property
    def checksum(self) -> str:
        return to_checksum_address(self.address)


@dataclass
class Event:
    name: str
    args: dict[str, Any]
    address: bytes


@dataclass
class Receipt:
    ok: bool
    gas_used: int
    output: bytes
    events: list[Event] = field(default_factory=list)
    #: the decoded revert: a custom error's name with its arguments, a require message, a panic
    error: str | None = None
    contract_address: bytes | None = None
    block_number: int = 0
    #: py-evm's log entries, decoded into ``events`` by the contract that sent the transaction
    logs_raw: Sequence[Any] = field(default_factory=tuple, repr=False)
    #: what the sender paid (gas used x effective gas price), and the mined transaction's hash
    fee_wei: int = 0
    tx_hash: bytes = b""

    def event(self, name: str) -> Event:
        found = [e for e in self.events if e.name == name]
        if len(found) != 1:
            raise LookupError(f"{len(found)} {name} events in the receipt, expected 1")
        return found[0]


@dataclass(frozen=True)
class MinedCall:
    """A successful transaction as mined: its block, hash, calldata, gas used and logs."""

    block_number: int
    tx_hash: bytes
    data: bytes
    gas_used: int
    logs: Sequence[Any]


class CallReverted(RuntimeError):
    def __init__(self, error: str, output: bytes) -> None:
        super().__init__(error)
        self.error = error
        self.output = output


class DeployError(RuntimeError):
    pass


class Contract:
    """A deployed contract: encodes calls from its ABI and decodes results, events and errors."""

    def __init__(self, chain: EvmChain, address: bytes | str, abi: list[dict], name: str = "") -> None:
        self.chain = chain
        self.address = to_address(address)
        self.abi = abi
        self.name = name
        functions = [i for i in abi if i["type"] == "function"]
        self._by_signature = {_signature(i): i for i in functions}
        self._by_name: dict[str, list[dict]] = {}
        for i in functions:
            self._by_name.setdefault(i["name"], []).append(i)
        self._events = {keccak(text=_signature(i)): i for i in abi if i["type"] == "event"}
        self._errors = {keccak(text=_signature(i))[:4]: i for i in abi if i["type"] == "error"}

    def function(self, fn: str) -> dict:
        """The ABI item of ``fn``: a full signature, or a name that is not overloaded."""
        if "(" in fn:
            if fn not in self._by_signature:
                raise KeyError(f"{self.name or 'contract'} has no function {fn}")
            return self._by_signature[fn]
        items = self._by_name.get(fn)
        if not items:
            raise KeyError(f"{self.name or 'contract'} has no function {fn!r}")
        if len(items) > 1:
            sigs = ", ".join(sorted(_signature(i) for i in items))
            raise KeyError(f"{fn!r} is overloaded: name one of {sigs}")
        return items[0]

    def encode(self, fn: str, *args: Any) -> bytes:
        item = self.function(fn)
        types = [_abi_type(i) for i in item["inputs"]]
        return keccak(text=_signature(item))[:4] + encode(types, list(args))

    def decode_input(self, fn: str, data: bytes) -> tuple:
        """The arguments of a call to ``fn`` from its calldata (selector first); ValueError if
        the calldata calls another function."""
        item = self.function(fn)
        if data[:4] != keccak(text=_signature(item))[:4]:
            raise ValueError(f"calldata does not call {_signature(item)} (selector 0x{data[:4].hex()})")
        return tuple(decode([_abi_type(i) for i in item["inputs"]], data[4:]))

    def decode_output(self, fn: str, data: bytes) -> Any:
        outs = self.function(fn)["outputs"]
        values = decode([_abi_type(o) for o in outs], data)
        return values[0] if len(values) == 1 else values

    def decode_error(self, data: bytes) -> str:
        if len(data) < 4:
            return "reverted without data (out of gas, invalid opcode, or a bare revert)"
        sel, body = data[:4], data[4:]
        if sel == keccak(text="Error(string)")[:4]:
            return f"Error({decode(['string'], body)[0]!r})"
        if sel == keccak(text="Panic(uint256)")[:4]:
            return f"Panic(0x{decode(['uint256'], body)[0]:x})"
        item = self._errors.get(sel)
        if item is None:
            return f"unknown error 0x{data.hex()}"
        values = decode([_abi_type(i) for i in item["inputs"]], body)
        return f"{item['name']}({', '.join(str(v) for v in values)})"

    def decode_logs(self, logs: Sequence[Any]) -> list[Event]:
        out = []
        for log in logs:
            if log.address != self.address or not log.topics:
                continue
            item = self._events.get(log.topics[0].to_bytes(32, "big"))
            if item is None:
                continue
            indexed = [i for i in item["inputs"] if i["indexed"]]
            plain = [i for i in item["inputs"] if not i["indexed"]]
            args = {}
            for i, topic in zip(indexed, log.topics[1:], strict=True):
                args[i["name"]] = decode([_abi_type(i)], topic.to_bytes(32, "big"))[0]
            for i, v in zip(plain, decode([_abi_type(i) for i in plain], log.data), strict=True):
                args[i["name"]] = v
            out.append(Event(item["name"], args, log.address))
        return out

    def call(self, fn: str, *args: Any, sender: Account | None = None, value: int = 0) -> Any:
        """Run ``fn`` without a transaction (eth_call) and return its decoded result."""
        ok, output, _ = self.chain.call(self.address, self.encode(fn, *args), sender=sender, value=value)
        if not ok:
            raise CallReverted(self.decode_error(output), output)
        return self.decode_output(fn, output)

    def transact(
        self, fn: str, *args: Any, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> Receipt:
        """Send ``fn`` as a mined transaction; a revert gives ``ok=False``, it does not raise."""
        receipt = self.chain.send(self.address, self.encode(fn, *args), sender=sender, value=value, gas=gas)
        receipt.events = self.decode_logs(receipt.logs_raw) if receipt.ok else []
        if not receipt.ok:
            receipt.error = self.decode_error(receipt.output)
        return receipt


class EvmChain:
    """A fresh chain with ``n_accounts`` funded accounts; ``accounts[0]`` sends by default."""

    def __init__(self, n_accounts: int = 4, balance: int = DEFAULT_BALANCE, chain_id: int = DEFAULT_CHAIN_ID) -> None:
        self.chain_id = chain_id
        # Deterministic keys: reruns give the same addresses, handy when reading logs.
        self.accounts = [self._account(f"zkprover-l1-account-{i}") for i in range(n_accounts)]
        chain_class = MiningChain.configure(
            __name__="ZkproverDevChain", vm_configuration=((0, CancunVM),), chain_id=chain_id
        )
        genesis = {
            "difficulty": 0,
            "gas_limit": BLOCK_GAS_LIMIT,
            "timestamp": 1_700_000_000,
            "coinbase": constants.ZERO_ADDRESS,
            "nonce": b"\x00" * 8,
            "mix_hash": constants.ZERO_HASH32,
            "extra_data": b"",
        }
        state = {a.address: {"balance": balance, "nonce": 0, "code": b"", "storage": {}} for a in self.accounts}
        self._chain = chain_class.from_genesis(AtomicDB(), genesis, state)

    @staticmethod
    def _account(seed: str) -> Account:
        key = keys.PrivateKey(keccak(text=seed))
        return Account(key, key.public_key.to_canonical_address())

    def new_account(self, seed: str) -> Account:
        """An unfunded account (e.g. an L1 withdrawal recipient whose balance starts at 0)."""
        return self._account(seed)

    # --- state ----------------------------------------------------------------------------
    @property
    def block_number(self) -> int:
        return self._chain.get_canonical_head().block_number

    def balance(self, address: bytes | str) -> int:
        return self._chain.get_vm().state.get_balance(to_address(address))

    def code(self, address: bytes | str) -> bytes:
        return self._chain.get_vm().state.get_code(to_address(address))

    def storage(self, address: bytes | str, slot: int) -> int:
        return self._chain.get_vm().state.get_storage(to_address(address), slot)

    def mine(self, n_blocks: int = 1) -> int:
        """Mine ``n_blocks`` empty blocks (to pass a deadline); returns the new head's number."""
        for _ in range(n_blocks):
            self._chain.mine_all([])
        return self.block_number

    def mined(self, to: bytes, from_block: int = 1) -> list[MinedCall]:
        """Every successful transaction to ``to`` mined from ``from_block`` on, oldest first
        (what a node's logs and ``eth_getTransactionByHash`` give; here read from the blocks)."""
        out = []
        for n in range(max(from_block, 1), self.block_number + 1):
            block = self._chain.get_canonical_block_by_number(n)
            receipts = block.get_receipts(self._chain.chaindb)
            for tx, receipt in zip(block.transactions, receipts, strict=True):
                # post-Byzantium receipts carry the status where the state root was: 1 = success
                if tx.to == to and receipt.state_root == b"\x01":
                    # one transaction per block: the block's cumulative gas is this transaction's
                    out.append(MinedCall(n, bytes(tx.hash), bytes(tx.data), receipt.gas_used, tuple(receipt.logs)))
        return out

    # --- transactions ---------------------------------------------------------------------
    def send(
        self,
        to: bytes,
        data: bytes,
        sender: Account | None = None,
        value: int = 0,
        gas: int = DEFAULT_GAS,
    ) -> Receipt:
        """Mine one transaction in a block of its own; ``to=b""`` creates a contract."""
        sender = sender or self.accounts[0]
        vm = self._chain.get_vm()
        tx = vm.create_unsigned_transaction(
            nonce=vm.state.get_nonce(sender.address),
            gas_price=GAS_PRICE,
            gas=gas,
            to=to,
            value=value,
            data=data,
        ).as_signed_transaction(sender.key, chain_id=self.chain_id)
        _, receipts, computations = self._chain.mine_all([tx])
        receipt, computation = receipts[0], computations[0]
        ok = not computation.is_error
        created = computation.msg.storage_address if (to == b"" and ok) else None
        return Receipt(
            ok=ok,
            gas_used=receipt.gas_used,
            output=bytes(computation.output or b""),
            contract_address=created,
            block_number=self.block_number,
            logs_raw=receipt.logs,
        )

    def call(
        self, to: bytes, data: bytes, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> tuple[bool, bytes, int]:
        """eth_call at the head: (success, output or revert data, gas used before refunds,
        intrinsic included)."""
        sender = sender or self.accounts[0]
        vm = self._chain.get_vm()
        tx = vm.create_unsigned_transaction(
            nonce=vm.state.get_nonce(sender.address), gas_price=0, gas=gas, to=to, value=value, data=data
        )
        spoofed = SpoofTransaction(tx, from_=sender.address)
        with self._chain.get_vm(self._chain.get_canonical_head()).in_costless_state() as state:
            computation = state.costless_execute_transaction(spoofed)
            # The message got gas minus the intrinsic cost, so this counts both.
            gas_used = gas - computation.get_gas_remaining()
        return (not computation.is_error, bytes(computation.output or b""), gas_used)

    def deploy(
        self, artifact: str | dict, *args: Any, sender: Account | None = None, value: int = 0, gas: int = DEFAULT_GAS
    ) -> tuple[Contract, Receipt]:
        """Deploy a contract from a committed artifact name or an artifact dict."""
        art = load_artifact(artifact) if isinstance(artifact, str) else artifact
        ctor = next((i for i in art["abi"] if i["type"] == "constructor"), {"inputs": []})
        code = bytes.fromhex(art["bytecode"].removeprefix("0x"))
        data = code + encode([_abi_type(i) for i in ctor["inputs"]], list(args))
        receipt = self.send(b"", data, sender=sender, value=value, gas=gas)
        contract = Contract(self, receipt.contract_address or bytes(20), art["abi"], art.get("contractName", ""))
        if not receipt.ok:
            reason = contract.decode_error(receipt.output)
            raise DeployError(f"deploying {contract.name or 'contract'} failed: {reason}")
        receipt.events = contract.decode_logs(receipt.logs_raw)
        return contract, receipt


# --- the project's contracts -----------------------------------------------------------------
#: Wei per L2 amount unit unless told otherwise: 1 gwei makes the 40-bit amount ~1,100 ETH.
DEFAULT_AMOUNT_UNIT = 10**9


def deploy_verifier(chain: EvmChain, vk: Any, sender: Account | None = None) -> Contract:
    """Deploy the generic ``Groth16Verifier`` for a :class:`~prover.groth16.keys.VerifyingKey`."""
    from l1.calldata import vk_constructor_args

    contract, _ = chain.deploy("Groth16Verifier", *vk_constructor_args(vk), sender=sender)
    return contract


@dataclass(frozen=True)
class RollupConfig:
    """``Rollup.Config`` less the two contract addresses, which ``deploy_rollup`` fills in.

    ``admin`` and ``operator`` default to the deploying account. Windows and the delay are in
    blocks; the defaults suit tests and the demo (a chain that only moves when it is used).
    """

    depth: int
    amount_unit: int = DEFAULT_AMOUNT_UNIT
    admin: bytes | None = None
    operator: bytes | None = None
    forced_request_window: int = 100
    settlement_window: int = 1_000
    change_delay: int = 200


def deploy_poseidon(chain: EvmChain, sender: Account | None = None) -> Contract:
    """Deploy ``PoseidonT5`` (circomlib Poseidon of four inputs), which the Rollup uses."""
    contract, _ = chain.deploy("PoseidonT5", sender=sender)
    return contract


def deploy_rollup(
    chain: EvmChain,
    vk: Any,
    config: RollupConfig,
    *,
    verifier: Contract | bytes | None = None,
    poseidon: Contract | bytes | None = None,
    sender: Account | None = None,
) -> Contract:
    """Deploy a ``Rollup`` for the batch circuit's key ``vk`` (a
    :class:`~prover.groth16.keys.VerifyingKey`), with a fresh generic verifier for it and a fresh
    PoseidonT5 unless ``verifier`` / ``poseidon`` (contracts or addresses) are given. Raises
    :class:`DeployError` naming the refused parameter or key defect."""
    from l1.calldata import rollup_constructor_args

    sender = sender or chain.accounts[0]
    verifier_address = _address_of(verifier) if verifier is not None else deploy_verifier(chain, vk, sender).address
    poseidon_address = _address_of(poseidon) if poseidon is not None else deploy_poseidon(chain, sender).address
    args = rollup_constructor_args(
        vk,
        verifier=verifier_address,
        poseidon=poseidon_address,
        depth=config.depth,
        amount_unit=config.amount_unit,
        admin=config.admin or sender.address,
        operator=config.operator or sender.address,
        forced_request_window=config.forced_request_window,
        settlement_window=config.settlement_window,
        change_delay=config.change_delay,
    )
    rollup, _ = chain.deploy("Rollup", *args, sender=sender)
    return rollup


def _address_of(c: Contract | bytes) -> bytes:
    return c.address if isinstance(c, Contract) else to_address(c)
