"""Replaying a settled batch from its public data (``prover.rollup.replay``): the state an
operator rebuilds from L1 equals the state that made the batch; public data that does not fit
the L1 entries or the withdrawal addresses given is refused."""

from __future__ import annotations

import pytest

from circuits.rollup.params import TxType
from prover.rollup import public_data as pd
from prover.rollup.batch import apply_batch
from prover.rollup.replay import ReplayMismatch, replay_batch
from prover.rollup.state import State
from prover.rollup.transactions import Deposit, ForcedExit, Transfer, Withdrawal
from tests.test_rollup_state import DOMAIN, KEYS, OWNERS, PUBS

ADDR = 0xD00D


def _batches() -> tuple[State, list[tuple[bytes, list[pd.L1Entry], list[int]]], int]:
    """Two batches with every record type, applied as the operator applies them: the state,
    each batch's (public data, L1 queue entries, withdrawal addresses), the final root."""
    st = State(2)
    first = [Deposit(PUBS[0], 1000, OWNERS[0]), Deposit(PUBS[1], 500, OWNERS[1])]
    second = [
        Transfer(0, 1, 100, 3, 0).signed(KEYS[0], DOMAIN),
        Withdrawal(1, ADDR, 50, 1, 0).signed(KEYS[1], DOMAIN),
        Deposit(None, 70, OWNERS[2], index=1),  # a top-up by someone else
        ForcedExit(0, OWNERS[0]),
    ]
    out = []
    for n, txs in enumerate((first, second), start=1):
        r = apply_batch(st, txs, batch_size=4, domain=DOMAIN, batch_number=n, fee_account=1)
        queue = [e for e in r.l1_entries if e.kind != TxType.WITHDRAWAL]
        out.append((r.public_data_bytes, queue, [a for a, _ in r.withdrawals]))
    return st, out, st.root


def test_replay_rebuilds_the_state_without_signatures() -> None:
    made, batches, root = _batches()
    st = State(2)
    for n, (data, queue, addresses) in enumerate(batches, start=1):
        replay_batch(st, data, domain=DOMAIN, batch_number=n, queue=iter(queue), withdrawal_addresses=addresses)
    assert st.root == root
    assert [(st.get(i).balance, st.get(i).nonce, st.get(i).owner) for i in (0, 1)] == [
        (made.get(i).balance, made.get(i).nonce, made.get(i).owner) for i in (0, 1)
    ]


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda q, a: (q, [a[0] + 1]), "other public data"),  # another withdrawal address
        (lambda q, a: (q, []), "withdrawal without an L1 address"),
        (lambda q, a: (q, [*a, ADDR]), "more withdrawal addresses"),
        (lambda q, a: (q[:1], a), "does not match the next L1 queue entry"),  # the forced exit's entry is missing
        (lambda q, a: ([q[1], q[0]], a), "does not match"),  # queue order swapped
        (lambda q, a: ([q[0], pd.L1Entry(TxType.FORCED_EXIT, 0, 0, 0xBAD)], a), "other public data"),  # requester
    ],
)
def test_replay_refuses_entries_that_do_not_fit_the_public_data(change, match) -> None:
    _, batches, _ = _batches()
    st = State(2)
    data, queue, addresses = batches[0]
    replay_batch(st, data, domain=DOMAIN, batch_number=1, queue=iter(queue), withdrawal_addresses=addresses)
    data, queue, addresses = batches[1]
    queue, addresses = change(queue, addresses)
    with pytest.raises(ReplayMismatch, match=match):
        replay_batch(st, data, domain=DOMAIN, batch_number=2, queue=iter(queue), withdrawal_addresses=addresses)
