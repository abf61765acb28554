"""The servicer in-process (no network): submission, idempotency, bad input, queries, cancel,
and a worker proving the job, with the proof checked against GetVerifyingKey."""

from __future__ import annotations

import json

import grpc
import pytest

from prover.groth16.formats import proof_from_json, vk_from_json
from prover.groth16.verifier import verify
from prover.service.errors import ServiceError, status_for
from prover.service.gen import prover_pb2 as pb
from prover.service.servicer import ProverServicer
from prover.service.worker import Worker
from tests.service.helpers import DEPOSITOR, backend, deposit, forced_exit, make_core, registry, top_up, transfer


class Ctx:
    """A stand-in ServicerContext for direct calls."""

    def is_active(self) -> bool:
        return True


def call(method, request):
    """Call a servicer method as the interceptor would: exceptions become (code, message)."""
    try:
        return method(request, Ctx())
    except Exception as exc:
        code, message = status_for(exc)
        raise GrpcError(code, message) from exc


class GrpcError(Exception):
    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        self.code, self.message = code, message
        super().__init__(f"{code.name}: {message}")


@pytest.fixture
def svc(store):
    core = make_core(store)
    return ProverServicer(core)


def submit(svc, batch_id, *txs, size=0):
    return call(svc.SubmitBatch, pb.SubmitBatchRequest(batch_id=batch_id, transactions=list(txs), batch_size=size))


def test_submit_prove_and_verify(svc):
    resp = submit(svc, "b-1", deposit(3, 100))
    assert resp.created and resp.job.state == pb.JOB_STATE_QUEUED and resp.job.batch_number == 1
    assert resp.job.batch_size == 1 and resp.job.transaction_count == 1
    acct = call(svc.GetAccount, pb.GetAccountRequest(index=3))
    assert acct.exists and acct.balance == "100" and acct.nonce == 0
    assert call(svc.GetStateRoot, pb.GetStateRootRequest()).root == resp.job.new_root

    worker = Worker(svc.core.store, svc.core.registry, backend(), worker_id="w-test")
    assert worker.run_once().state == "SUCCEEDED"
    job = call(svc.GetJob, pb.GetJobRequest(job_id=resp.job.job_id))
    assert job.state == pb.JOB_STATE_SUCCEEDED and job.attempts == 1 and job.worker_id == "w-test"
    assert {"witness", "ntt", "msm", "total"} <= set(job.stage_seconds)
    vk_resp = call(svc.GetVerifyingKey, pb.GetVerifyingKeyRequest(batch_size=1))
    assert vk_resp.key_hash == job.key_hash
    vk = vk_from_json(json.loads(vk_resp.verification_key_json))
    signals = [int(s) for s in job.public_signals]
    assert verify(vk, signals, proof_from_json(json.loads(job.proof_json)))
    assert signals[1] == int(job.new_root)  # the proof binds the batch's new root
    state = call(svc.GetStateRoot, pb.GetStateRootRequest())
    assert state.proven_batch_number == 1 and state.proven_root == job.new_root


def test_submit_is_idempotent(svc):
    first = submit(svc, "same", deposit(1, 5))
    submit(svc, "next", deposit(2, 5))  # the state moves on; the retry must still succeed
    again = submit(svc, "same", deposit(1, 5))
    assert not again.created and again.job.job_id == first.job.job_id
    assert call(svc.GetAccount, pb.GetAccountRequest(index=1)).balance == "5"  # applied once
    with pytest.raises(GrpcError) as e:
        submit(svc, "same", deposit(1, 6))
    assert e.value.code == grpc.StatusCode.ALREADY_EXISTS


@pytest.mark.parametrize(
    "txs, size, needle",
    [
        ([], 0, "at least one transaction"),
        ([pb.Transaction()], 0, "transactions[0]: set one of"),
        ([deposit(1, 5), pb.Transaction(deposit=pb.Deposit(to_index=1, pubkey_ax="x", pubkey_ay="1", amount="1",
                                                           depositor=DEPOSITOR))], 0,
         "transactions[1].deposit.pubkey_ax"),
        ([pb.Transaction(deposit=pb.Deposit(to_index=1, pubkey_ax="1", pubkey_ay="2", amount="1"))], 0,
         "transactions[0].deposit.depositor is required"),
        ([deposit(1, 5, depositor="0x1234")], 0, "transactions[0].deposit.depositor: '0x1234' is not"),
        ([pb.Transaction(deposit=pb.Deposit(amount="1", depositor=DEPOSITOR))], 0,
         "transactions[0].deposit.to_index is required for a top-up"),
        ([top_up(1, 5)], 0, "top-up of account 1, which does not exist"),
        ([deposit(1, 5), deposit(1, 5)], 0, "transaction 1 (deposit): account 1 exists"),
        ([pb.Transaction(forced_exit=pb.ForcedExit(index=1))], 0, "transactions[0].forced_exit.requester is required"),
        ([deposit(1, 5)], 3, "batch_size 3 is not one of [1, 2]"),
        ([deposit(1, 1)] * 3, 0, "do not fit the largest batch size 2"),
        ([transfer(1, 2, 1, 0)], 0, "transaction 0 (transfer): account 1 does not exist"),
        ([pb.Transaction(transfer=pb.Transfer(from_index=1, to_index=2, amount="1"))], 0,
         "transactions[0].transfer.signature is required"),
        ([pb.Transaction(withdrawal=pb.Withdrawal(from_index=1, amount="1", l1_address="0x12"))], 0,
         "transactions[0].withdrawal.l1_address"),
        ([deposit(1, 2**300)], 0, "transactions[0].deposit.amount"),
        ([deposit(5000, 1)], 0, "outside the state"),
    ],
)  # fmt: skip
def test_bad_input_is_invalid_argument_and_writes_nothing(svc, txs, size, needle):
    before = call(svc.GetStateRoot, pb.GetStateRootRequest())
    with pytest.raises(GrpcError) as e:
        submit(svc, "bad", *txs, size=size)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert needle in e.value.message
    assert call(svc.GetStateRoot, pb.GetStateRootRequest()) == before
    assert svc.core.store.get_by_batch("bad") is None


def test_rejected_batch_is_all_or_nothing(svc):
    submit(svc, "fund", deposit(1, 10))
    with pytest.raises(GrpcError) as e:  # the deposit is fine, the transfer overdraws: neither applies
        submit(svc, "b", deposit(2, 7), transfer(1, 2, 50, 0))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "transaction 1 (transfer)" in e.value.message
    assert not call(svc.GetAccount, pb.GetAccountRequest(index=2)).exists
    ok = submit(svc, "b", deposit(2, 7), transfer(1, 2, 5, 0))  # same id, fixed: accepted
    assert ok.created and ok.job.batch_size == 2
    assert call(svc.GetAccount, pb.GetAccountRequest(index=2)).balance == "12"


def test_top_up_and_forced_exit(svc):
    submit(svc, "create", deposit(1, 10, depositor=DEPOSITOR))
    submit(svc, "top-up", top_up(1, 5, depositor="0x" + "ab" * 20))  # anyone may top up; the owner stays
    acct = call(svc.GetAccount, pb.GetAccountRequest(index=1))
    assert acct.balance == "15" and acct.owner == DEPOSITOR
    submit(svc, "stranger", forced_exit(1, requester="0x" + "ab" * 20))  # consumed, pays nothing
    assert call(svc.GetAccount, pb.GetAccountRequest(index=1)).balance == "15"
    submit(svc, "owner", forced_exit(1))
    assert call(svc.GetAccount, pb.GetAccountRequest(index=1)).balance == "0"


def test_queries_and_errors(svc):
    with pytest.raises(GrpcError) as e:
        call(svc.GetJob, pb.GetJobRequest(job_id="nope"))
    assert e.value.code == grpc.StatusCode.NOT_FOUND
    with pytest.raises(GrpcError) as e:
        call(svc.GetJob, pb.GetJobRequest())
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(GrpcError) as e:
        call(svc.GetAccount, pb.GetAccountRequest(index=1 << 40))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    info = call(svc.GetCircuitInfo, pb.GetCircuitInfoRequest())
    assert [c.batch_size for c in info.circuits] == [1, 2] and info.capacity == 1024
    assert all(c.constraints > 0 and len(c.key_hash) == 64 and c.development_key for c in info.circuits)
    by_batch = submit(svc, "x", deposit(1, 1))
    assert call(svc.GetJob, pb.GetJobRequest(batch_id="x")).job_id == by_batch.job.job_id


def test_list_jobs_pages_and_filters(svc):
    for i in range(5):
        submit(svc, f"b{i}", deposit(i, 1))
    Worker(svc.core.store, registry(), backend()).run_once()
    seen, token = [], ""
    while True:
        page = call(svc.ListJobs, pb.ListJobsRequest(page_size=2, page_token=token))
        seen += [j.batch_id for j in page.jobs]
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"b{i}" for i in range(5)]
    queued = call(svc.ListJobs, pb.ListJobsRequest(state=pb.JOB_STATE_QUEUED))
    assert [j.batch_id for j in queued.jobs] == ["b1", "b2", "b3", "b4"]
    with pytest.raises(GrpcError) as e:
        call(svc.ListJobs, pb.ListJobsRequest(page_token="garbage"))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT


def test_cancel_queued_and_watch(svc):
    job = submit(svc, "c", deposit(1, 1)).job
    cancelled = call(svc.CancelJob, pb.CancelJobRequest(job_id=job.job_id, reason="test"))
    assert cancelled.state == pb.JOB_STATE_CANCELLED
    assert Worker(svc.core.store, registry(), backend()).run_once() is None  # nothing to claim
    states = [j.state for j in call(svc.WatchJob, pb.WatchJobRequest(job_id=job.job_id))]
    assert states == [pb.JOB_STATE_CANCELLED]  # a final job: one message, then the stream ends


def test_cancel_while_proving_stops_at_stage_boundary(svc):
    job = submit(svc, "c", deposit(1, 1)).job
    store = svc.core.store
    worker = Worker(store, registry(), backend(), worker_id="w")
    claimed = store.claim("w", 30)
    store.cancel(job.job_id, "operator")
    done = worker.process(claimed)
    assert done.state == "CANCELLED" and "witness" in done.stage_seconds and "msm" not in done.stage_seconds
    with pytest.raises(GrpcError) as e:  # cancelling a finished job: FAILED_PRECONDITION only for success/failure
        store2 = submit(svc, "d", deposit(2, 1)).job
        Worker(store, registry(), backend()).run_once()
        call(svc.CancelJob, pb.CancelJobRequest(job_id=store2.job_id))
    assert e.value.code == grpc.StatusCode.FAILED_PRECONDITION


def test_permanent_failure_is_not_retried(svc):
    job = submit(svc, "bad-witness", deposit(1, 1)).job
    store = svc.core.store
    # corrupt the stored inputs as a broken operator would: the witness cannot be built
    claimed = store.claim("w", 30)
    claimed.inputs = {"x": "1"}  # "key" missing
    done = Worker(store, registry(), backend(), worker_id="w").process(claimed)
    assert done.state == "FAILED" and "key" in done.last_error and done.attempts == 1
    assert call(svc.GetJob, pb.GetJobRequest(job_id=job.job_id)).last_error == done.last_error


def test_service_errors_carry_codes():
    from prover.service.errors import InvalidArgument

    assert status_for(InvalidArgument("x"))[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert issubclass(InvalidArgument, ServiceError)
    assert status_for(RuntimeError("secret detail"))[1].startswith("internal error (RuntimeError)")
