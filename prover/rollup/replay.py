"""Replay a settled batch from its public data: how an operator rebuilds the state from L1 alone.

A batch's public data (``prover.rollup.public_data``) names, per slot, the transaction type,
the accounts, the amount and the fee. That determines the state change of every type:

* transfer: sender −(amount + fee), nonce + 1; receiver +amount;
* withdrawal: sender −(amount + fee), nonce + 1 (paid on L1 to the address passed with the batch);
* deposit: the queue entry the record consumed gives the key and owner of a new account (or
  names the account a top-up credits); +amount;
* forced exit: −amount (the record carries what was paid);
* the batch's fees credited to its fee account.

Signatures are not needed: the batch's proof, verified on L1, already showed every one of them
valid, and a nonce only ever moves by one per signed transaction. What cannot be checked from
the public data alone is checked by the result: the replayed batch must encode to exactly the
settled public data (the L1 digest included, so every deposit key, depositor, requester and
withdrawal address too), and the caller compares the new root with the one L1 stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from circuits.native.eddsa import PublicKey
from circuits.rollup.params import TxType
from prover.rollup import public_data as pd
from prover.rollup.batch import BatchResult, apply_batch
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, ForcedExit, NoOp, Transaction, Transfer, Withdrawal


class ReplayMismatch(ValueError):
    """The public data does not replay onto this state with these L1 entries."""


def transactions_of(
    data: pd.PublicData, state: State, queue: Iterator[pd.L1Entry], withdrawal_addresses: Sequence[int]
) -> list[Transaction]:
    """The transactions behind ``data``'s records, unsigned; deposits and forced exits take the
    next entries of ``queue`` (the L1 priority queue from the batch's first unconsumed entry)."""
    txs: list[Transaction] = []
    addresses = iter(withdrawal_addresses)
    nonces: dict[int, int] = {}  # a sender's nonce as the batch's earlier slots left it

    def nonce(index: int) -> int:
        if index not in nonces:
            acct = state.get(index)
            nonces[index] = acct.nonce if acct is not None else 0
        nonces[index] += 1
        return nonces[index] - 1

    for pos, r in enumerate(data.records):
        if r.tx_type == TxType.NOOP:
            txs.append(NoOp())
        elif r.tx_type in (TxType.DEPOSIT, TxType.FORCED_EXIT):
            entry = next(queue, None)
            if entry is None or entry.kind != r.tx_type or entry.index != r.from_index:
                what = "deposit" if r.tx_type == TxType.DEPOSIT else "forced exit"
                raise ReplayMismatch(
                    f"record {pos} ({what} of account {r.from_index}) does not match the next L1 queue entry {entry}"
                )
            if r.tx_type == TxType.FORCED_EXIT:
                txs.append(ForcedExit(r.from_index, entry.address, r.amount))
            else:
                key = PublicKey((entry.ax, entry.ay)) if entry.creates_account else None
                txs.append(Deposit(key, r.amount, entry.address, r.from_index))
        elif r.tx_type == TxType.TRANSFER:
            txs.append(Transfer(r.from_index, r.to_index, r.amount, r.fee, nonce(r.from_index)))
        elif r.tx_type == TxType.WITHDRAWAL:
            address = next(addresses, None)
            if address is None:
                raise ReplayMismatch(f"record {pos}: a withdrawal without an L1 address")
            txs.append(Withdrawal(r.from_index, address, r.amount, r.fee, nonce(r.from_index)))
        else:
            raise ReplayMismatch(f"record {pos}: unknown type {r.tx_type}")
    if next(addresses, None) is not None:
        raise ReplayMismatch("more withdrawal addresses than withdrawal records")
    return txs


def replay_batch(
    state: State,
    public_data: bytes,
    *,
    domain: pd.Domain,
    batch_number: int,
    queue: Iterator[pd.L1Entry],
    withdrawal_addresses: Sequence[int] = (),
) -> BatchResult:
    """Apply the settled batch ``public_data`` to ``state`` (see the module docstring).

    Raises ReplayMismatch when the records do not fit the queue entries (``state`` untouched) or
    the applied batch does not encode to ``public_data`` (``state`` then holds the applied batch:
    the caller discards it, as it cannot be the settled state)."""
    data = pd.PublicData.decode(public_data, state.depth)
    txs = transactions_of(data, state, queue, withdrawal_addresses)
    result = apply_batch(
        state, txs, batch_size=len(data.records), domain=domain, batch_number=batch_number,
        fee_account=data.fee_account, check=False,
    )  # fmt: skip
    if result.public_data_bytes != public_data:
        raise ReplayMismatch(f"batch {batch_number} replays to other public data than L1 settled")
    return result
