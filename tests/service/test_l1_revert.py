"""Reverting batches on an L1-linked operator, without proving: the real rollup adapter (depth
2), a SQLite store, L1 requests put in the ledger as the follower would."""

from __future__ import annotations

import json
import sqlite3

import pytest

from prover.jobs import open_store
from prover.jobs.l1_ledger import L1Request
from prover.rollup.accounts import PrivateKey
from prover.rollup.transactions import Transfer
from prover.service.core import ProverCore
from prover.service.errors import NotFound
from prover.service.rollup_adapter import RollupAdapter, RollupRegistry
from prover.service.rollup_api import TxRequest

KEYS = [PrivateKey(bytes([i + 1]) * 32) for i in range(3)]
DEPOSITS = (1000, 500, 300)  # alice (account 0), bob (1), carol (2)


def _core(path) -> ProverCore:
    adapter = RollupAdapter(2, 31337, rollup_address=0xABC)
    core = ProverCore(open_store(f"sqlite:///{path}"), adapter, RollupRegistry([4], depth=2), requests_from_l1=True)
    core.start()
    for i, key in enumerate(KEYS):
        pub = key.public_key()
        core.ledger.record(L1Request(i, "deposit", i, DEPOSITS[i], 0xA0 + i, pub.x, pub.y))
    return core


def _transfer(core: ProverCore, key: int, frm: int, to: int, amount: int, nonce: int) -> TxRequest:
    t = Transfer(frm, to, amount, 0, nonce).signed(KEYS[key], core.operator.domain)
    sig = (t.signature.r8[0], t.signature.r8[1], t.signature.s)
    return TxRequest(kind="transfer", from_index=frm, to_index=to, amount=amount, nonce=nonce, signature=sig)


def test_cancel_reverts_rebuilds_what_still_applies_and_drops_what_does_not(tmp_path):
    core = _core(tmp_path / "jobs.db")
    a, _ = core.submit("a", [_transfer(core, 0, 0, 1, 100, 0)])  # batch 1: the 3 deposits + this
    b, _ = core.submit("b", [_transfer(core, 1, 1, 0, 550, 0)])  # only possible after a's 100
    c, _ = core.submit("c", [_transfer(core, 2, 2, 0, 10, 0)])  # independent of a and b
    assert (a.tx_count, b.batch_number, c.batch_number) == (4, 2, 3)
    core.cancel(a.job_id, "changed my mind")
    rebuilt = core.get_job(batch_id="c")
    assert rebuilt.batch_number == 1 and rebuilt.tx_count == 4  # the deposits in front again
    with pytest.raises(NotFound):
        core.get_job(batch_id="b")  # no longer applies: dropped
    assert core.get_job(job_id=b.job_id).state == "CANCELLED" and core.get_job(job_id=c.job_id).batch_number < 0
    assert core.ledger.waiting() == [] and core.state().batch_number == 1
    assert [core.account(i).balance for i in range(3)] == [1010, 500, 290]
    # a restart rebuilds the same state from the store
    again = _core(tmp_path / "jobs.db")
    assert again.operator.state_root() == core.operator.state_root()


def test_a_revert_whose_undo_does_not_reach_the_old_root_changes_nothing(tmp_path):
    core = _core(tmp_path / "jobs.db")
    assert core.submit_l1_only().batch_number == 1
    core.submit("a", [_transfer(core, 0, 0, 1, 100, 0)])  # batch 2: the transfer in slot 0, no-ops after
    root = core.operator.state_root()
    with sqlite3.connect(tmp_path / "jobs.db") as conn:
        (inputs,) = conn.execute("SELECT inputs FROM jobs WHERE batch_number = 2").fetchone()
        data = json.loads(inputs)
        slot = data["tx_type"].index("2")  # the transfer's sender, as recorded before it
        data["a_balance"][slot] = "7"  # no longer the account under the old root
        conn.execute("UPDATE jobs SET inputs = ? WHERE batch_number = 2", (json.dumps(data),))
    with pytest.raises(RuntimeError, match="undoing batch 2 gave root"):
        core.revert_from(2, "test")
    assert core.state().batch_number == 2 and core.operator.state_root() == root
    assert core.get_job(batch_id="a").batch_number == 2 and core.ledger.waiting() == []
