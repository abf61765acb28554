"""The service over the real rollup operator (state only; proving the batch circuit is slow
and is exercised by ``zkprover service-demo``): signed transactions over protobuf, rejection
reasons as INVALID_ARGUMENT, persistence and reload, two servers sharing one store."""

from __future__ import annotations

import grpc
import pytest

from prover.jobs import open_store
from prover.rollup.accounts import generate_key
from prover.rollup.public_data import Domain
from prover.rollup.transactions import Transfer
from prover.service.core import ProverCore
from prover.service.gen import prover_pb2 as pb
from prover.service.rollup_adapter import RollupAdapter, RollupRegistry
from prover.service.servicer import ProverServicer
from tests.service.test_servicer import GrpcError, call

CHAIN = 7
ROLLUP = 0x5FBDB2315678AFECB367F032D93F642F64180AA3
DOMAIN = Domain(CHAIN, ROLLUP)
DEPTH = 2
OWNER = "0x" + "0a" * 20


def make(store) -> ProverServicer:
    # The registry is only asked for names here: nothing is compiled or set up.
    operator = RollupAdapter(depth=DEPTH, chain_id=CHAIN, rollup_address=ROLLUP)
    core = ProverCore(store, operator, RollupRegistry([1, 2], depth=DEPTH))
    core.start()
    return ProverServicer(core)


def dep(key, amount, index=None, depositor=OWNER):
    d = pb.Deposit(pubkey_ax=str(key.x), pubkey_ay=str(key.y), amount=str(amount), depositor=depositor)
    if index is not None:
        d.to_index = index
    return pb.Transaction(deposit=d)


def signed_transfer(prv, src, dst, amount, fee, nonce, domain=DOMAIN):
    t = Transfer(src, dst, amount, fee, nonce).signed(prv, domain)
    sig = pb.Signature(r8x=str(t.signature.r8[0]), r8y=str(t.signature.r8[1]), s=str(t.signature.s))
    return pb.Transaction(
        transfer=pb.Transfer(from_index=src, to_index=dst, amount=str(amount), fee=str(fee), nonce=nonce, signature=sig)
    )


@pytest.fixture
def keys():
    return generate_key(), generate_key()


def test_real_operator_through_the_servicer(store, keys):
    a, b = keys
    svc = make(store)
    r1 = call(svc.SubmitBatch, pb.SubmitBatchRequest(batch_id="d", transactions=[dep(a.public_key(), 100),
                                                                                 dep(b.public_key(), 5)]))  # fmt: skip
    assert r1.job.batch_size == 2
    assert call(svc.GetAccount, pb.GetAccountRequest(index=1)).balance == "5"  # the operator chose index 1
    r2 = call(svc.SubmitBatch, pb.SubmitBatchRequest(batch_id="t", transactions=[signed_transfer(a, 0, 1, 30, 2, 0)]))
    assert r2.job.old_root == r1.job.new_root and r2.job.batch_number == 2
    assert (
        call(svc.GetAccount, pb.GetAccountRequest(index=0)).balance == "70"
    )  # 100 - 30 - 2, + the fee (account 0 is the fee account)
    root = call(svc.GetStateRoot, pb.GetStateRootRequest())
    assert root.root == r2.job.new_root and root.batch_number == 2

    # replay (same nonce), a signature for another chain or deployment: rejected with the rollup's reasons
    for tx, reason in ((signed_transfer(a, 0, 1, 1, 0, 0), "wrong nonce"),
                       (signed_transfer(a, 0, 1, 1, 0, 1, domain=Domain(CHAIN + 1, ROLLUP)), "bad signature"),
                       (signed_transfer(a, 0, 1, 1, 0, 1, domain=Domain(CHAIN, 0)), "bad signature")):  # fmt: skip
        with pytest.raises(GrpcError) as e:
            call(svc.SubmitBatch, pb.SubmitBatchRequest(batch_id="x", transactions=[tx]))
        assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and reason in e.value.message
    assert call(svc.GetStateRoot, pb.GetStateRootRequest()) == root

    # a fresh server over the same store rebuilds the same tree
    again = make(open_store_like(store))
    assert call(again.GetStateRoot, pb.GetStateRootRequest()).root == root.root
    assert again.core.operator.state_root() == int(root.root)
    assert call(again.GetAccount, pb.GetAccountRequest(index=1)).balance == "35"
    assert call(again.GetAccount, pb.GetAccountRequest(index=1)).owner == OWNER  # the owner is stored too

    # a forced exit by the owner, through protobuf: the whole balance leaves the tree
    fx = pb.Transaction(forced_exit=pb.ForcedExit(index=1, requester=OWNER))
    call(again.SubmitBatch, pb.SubmitBatchRequest(batch_id="fx", transactions=[fx]))
    assert call(again.GetAccount, pb.GetAccountRequest(index=1)).balance == "0"


def test_two_servers_share_one_state(store, keys):
    """Server B is behind after A submits: its submit reloads the state instead of forking it."""
    a, _ = keys
    svc_a, svc_b = make(store), make(open_store_like(store))
    call(svc_a.SubmitBatch, pb.SubmitBatchRequest(batch_id="1", transactions=[dep(a.public_key(), 10)]))
    r = call(svc_b.SubmitBatch, pb.SubmitBatchRequest(batch_id="2", transactions=[signed_transfer(a, 0, 0, 1, 0, 0)]))
    assert r.job.batch_number == 2
    assert call(svc_a.GetAccount, pb.GetAccountRequest(index=0)).nonce == 1  # A reloads on read


def test_persistence_failure_reverts_the_in_memory_state(store, keys, monkeypatch):
    a, _ = keys
    svc = make(store)
    before = svc.core.operator.state_root()

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(svc.core.store, "submit", broken)
    with pytest.raises(GrpcError) as e:
        call(svc.SubmitBatch, pb.SubmitBatchRequest(batch_id="1", transactions=[dep(a.public_key(), 10)]))
    assert e.value.code == grpc.StatusCode.INTERNAL and "disk full" not in e.value.message
    assert svc.core.operator.state_root() == before and svc.core.operator.batch_number() == 0
    assert svc.core.operator.account(0) is None


def open_store_like(store):
    if getattr(store, "dialect", "") == "sqlite":
        return open_store(f"sqlite:///{store.path}")
    return open_store(f"{store.dsn}{'&' if '?' in store.dsn else '?'}schema={store.schema}")


def test_rollup_address_flag_names_the_domain(capsys):
    import argparse

    from prover.service.cli import add_service_verbs, build_rollup

    parser = argparse.ArgumentParser()
    add_service_verbs(parser.add_subparsers(dest="verb"))
    args = parser.parse_args(["serve", "--depth", "2", "--chain-id", str(CHAIN), "--rollup-address", hex(ROLLUP),
                              "--allow-development-keys"])  # fmt: skip
    operator, _ = build_rollup(args)
    assert operator.domain == DOMAIN
    default, _ = build_rollup(parser.parse_args(["serve", "--depth", "2", "--allow-development-keys"]))
    assert default.domain == Domain(1, 0)  # 0x0: no L1 deployment yet
    for bad in ("0x12g4", "1234", "0x" + "1" * 41):
        with pytest.raises(SystemExit):
            parser.parse_args(["serve", "--rollup-address", bad])
        assert "rollup address" in capsys.readouterr().err


def test_rollup_address_binds_before_the_first_batch_only(store, keys):
    operator = RollupAdapter(depth=DEPTH, chain_id=CHAIN)
    operator.bind_rollup_address(ROLLUP)
    assert operator.domain == DOMAIN
    svc = ProverServicer(ProverCore(store, operator, RollupRegistry([1, 2], depth=DEPTH)))
    svc.core.start()
    call(svc.SubmitBatch, pb.SubmitBatchRequest(batch_id="1", transactions=[dep(keys[0].public_key(), 10)]))
    with pytest.raises(RuntimeError, match="before the first batch"):
        operator.bind_rollup_address(ROLLUP + 1)
