"""The batches a Rollup contract has settled, read back from L1: what an operator that lost its
job store rebuilds the rollup state from.

Every settled batch left two things on L1: a ``BatchVerified(batchNumber, oldRoot, newRoot,
queueHead)`` event, and the ``submitBatch(newRoot, publicData, proof, withdrawalAddresses)``
transaction that emitted it. The calldata carries the batch's whole public data (every record's
type, accounts, amount and fee: ``prover.rollup.public_data``), the proof and the withdrawals' L1
addresses; the priority queue (contract storage) carries the deposits' keys and depositors. That
is enough to replay every batch without any signature (the proof on L1 already vouched for them).

Read from a node through ``eth_getLogs`` (in ranges of ``max_range`` blocks, as public endpoints
limit them) and ``eth_getTransactionByHash``; from the in-process chain, from its blocks. A
batch settled through another contract (a multisig, a proxy calling ``submitBatch``) has no
calldata of its own to decode: :class:`HistoryError` says which transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak

from l1.chain import L1Chain
from l1.evm import GAS_PRICE, Contract, EvmChain
from l1.node import NodeChain

BATCH_EVENT = "BatchVerified(uint64,uint256,uint256,uint256)"


class HistoryError(RuntimeError):
    """L1's record of settled batches cannot be read back as this module expects."""


@dataclass(frozen=True)
class SettledBatch:
    """One batch as L1 settled it."""

    number: int
    old_root: int
    new_root: int
    #: the queue head after this batch (entries below it are consumed)
    queue_head: int
    public_data: bytes
    proof_words: tuple[int, ...]
    withdrawal_addresses: tuple[int, ...]
    tx_hash: bytes
    block_number: int
    gas_used: int
    fee_wei: int


def _settled(
    rollup: Contract, data: bytes, event_args: dict, tx_hash: bytes, block: int, gas: int, fee: int
) -> SettledBatch:
    try:
        new_root, public_data, proof, withdrawals = rollup.decode_input("submitBatch", data)
    except ValueError as exc:
        raise HistoryError(
            f"batch {event_args['batchNumber']} was settled by transaction 0x{tx_hash.hex()}, which is not a "
            f"direct submitBatch call ({exc}); its public data cannot be read from calldata"
        ) from exc
    if int(new_root) != int(event_args["newRoot"]):
        raise HistoryError(f"transaction 0x{tx_hash.hex()}: calldata root differs from its BatchVerified event")
    return SettledBatch(
        number=int(event_args["batchNumber"]),
        old_root=int(event_args["oldRoot"]),
        new_root=int(new_root),
        queue_head=int(event_args["queueHead"]),
        public_data=bytes(public_data),
        proof_words=tuple(int(w) for w in proof),
        withdrawal_addresses=tuple(int(a, 16) if isinstance(a, str) else int.from_bytes(a, "big") for a in withdrawals),
        tx_hash=tx_hash,
        block_number=block,
        gas_used=gas,
        fee_wei=fee,
    )


def _from_node(node: NodeChain, rollup: Contract, from_block: int, max_range: int) -> list[SettledBatch]:
    topic = int.from_bytes(keccak(text=BATCH_EVENT), "big")
    head = node.block_number
    out = []
    for start in range(from_block, head + 1, max_range):
        for raw in node.logs(rollup.address, [topic], from_block=start, to_block=min(start + max_range - 1, head)):
            (event,) = rollup.decode_logs([raw])
            tx = node.transaction(raw.tx_hash)
            receipt = node.receipt(raw.tx_hash)
            if tx is None or receipt is None:
                raise HistoryError(
                    f"the node no longer has transaction 0x{raw.tx_hash.hex()} (batch {event.args['batchNumber']})"
                )
            if bytes.fromhex(str(tx.get("to") or "").removeprefix("0x")) != rollup.address:
                raise HistoryError(
                    f"batch {event.args['batchNumber']} was settled by transaction 0x{raw.tx_hash.hex()} to "
                    f"{tx.get('to')}, not to the Rollup: its public data cannot be read from calldata"
                )
            gas = int(receipt["gasUsed"], 16)
            fee = gas * int(receipt.get("effectiveGasPrice", "0x0"), 16)
            data = bytes.fromhex(str(tx["input"]).removeprefix("0x"))
            out.append(_settled(rollup, data, event.args, raw.tx_hash, raw.block_number, gas, fee))
    return out


def _from_evm(chain: EvmChain, rollup: Contract, from_block: int) -> list[SettledBatch]:
    out = []
    for call in chain.mined(rollup.address, from_block):
        for event in rollup.decode_logs(call.logs):
            if event.name == "BatchVerified":
                fee = call.gas_used * GAS_PRICE  # the in-process chain's one gas price
                out.append(_settled(rollup, call.data, event.args, call.tx_hash, call.block_number, call.gas_used, fee))
    return out


def settled_batches(
    chain: L1Chain, rollup: Contract, *, from_block: int = 0, max_range: int = 5000
) -> list[SettledBatch]:
    """Every batch ``rollup`` settled in blocks from ``from_block`` on, in batch order, checked to
    be the unbroken chain 1, 2, ... whose roots link (each old root the previous new root)."""
    if isinstance(chain, NodeChain):
        batches = _from_node(chain, rollup, from_block, max_range)
    elif isinstance(chain, EvmChain):
        batches = _from_evm(chain, rollup, from_block)
    else:
        raise HistoryError(f"cannot read settled batches from a {type(chain).__name__}")
    batches.sort(key=lambda b: b.number)
    for i, b in enumerate(batches):
        if b.number != i + 1:
            raise HistoryError(f"settled batches are not 1..{len(batches)}: found {b.number} at position {i + 1}")
        if i and b.old_root != batches[i - 1].new_root:
            raise HistoryError(f"batch {b.number}'s old root is not batch {b.number - 1}'s new root")
    return batches
