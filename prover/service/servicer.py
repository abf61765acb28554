"""The gRPC servicer: protobuf in, internal types to ``ProverCore``, protobuf out. Nothing else.

Field-level checks that need no state happen here while converting (a decimal string that is
not a number, a field element >= r, a missing signature) and fail with INVALID_ARGUMENT naming
the field, e.g. ``transactions[2].transfer.amount``; checks against the state are the
operator's. Errors are raised, never reported with ``context.abort``: the interceptor maps them.
The interceptor also attaches the authenticated caller to the context; job methods pass its
owner filter on, so each client sees and cancels only its own jobs (admins every job).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from prover.field.bn254 import FR_MODULUS
from prover.groth16.formats import vk_to_json
from prover.jobs import JOB_STAGES, JobRecord
from prover.service.auth import caller_of
from prover.service.core import ProverCore
from prover.service.errors import InvalidArgument
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.rollup_api import TxRequest

_STATE_TO_PB = {
    "QUEUED": pb.JOB_STATE_QUEUED,
    "PROVING": pb.JOB_STATE_PROVING,
    "SUCCEEDED": pb.JOB_STATE_SUCCEEDED,
    "FAILED": pb.JOB_STATE_FAILED,
    "CANCELLED": pb.JOB_STATE_CANCELLED,
}
_PB_TO_STATE = {v: k for k, v in _STATE_TO_PB.items()}
_STAGE_TO_PB = {stage: pb.JobStage.Value(f"JOB_STAGE_{stage.upper()}") for stage in JOB_STAGES}
MAX_TRANSACTIONS = 4096


# --- protobuf -> internal --------------------------------------------------------------------
def _uint(text: str, where: str, *, bound: int, required: bool = True) -> int:
    if text == "":
        if required:
            raise InvalidArgument(f"{where} is required")
        return 0
    # str.isdigit() also accepts digits such as "²" that int() rejects: ASCII only
    if not (text.isascii() and text.isdigit()) or len(text) > 80:
        raise InvalidArgument(f"{where}: {text[:40]!r} is not a decimal integer")
    value = int(text)
    if value >= bound:
        raise InvalidArgument(f"{where}: {value} is too large (must be < {bound})")
    return value


def _field(text: str, where: str) -> int:
    return _uint(text, where, bound=FR_MODULUS)


def _signature(sig: pb.Signature, where: str, present: bool) -> tuple[int, int, int]:
    if not present:
        raise InvalidArgument(f"{where} is required")
    return (_field(sig.r8x, f"{where}.r8x"), _field(sig.r8y, f"{where}.r8y"), _field(sig.s, f"{where}.s"))


def _address(text: str, where: str) -> int:
    """A required 0x-prefixed 20-byte hex L1 address."""
    if text == "":
        raise InvalidArgument(f"{where} is required (a 0x-prefixed 20-byte hex L1 address)")
    addr = text.lower()
    if not (addr.startswith("0x") and len(addr) == 42 and all(c in "0123456789abcdef" for c in addr[2:])):
        raise InvalidArgument(f"{where}: {text[:50]!r} is not a 0x-prefixed 20-byte hex address")
    return int(addr, 16)


def _deposit(d: pb.Deposit, where: str) -> TxRequest:
    amount = _field(d.amount, f"{where}.amount")
    depositor = _address(d.depositor, f"{where}.depositor")
    index = d.to_index if d.HasField("to_index") else None
    if d.pubkey_ax == d.pubkey_ay == "":  # no key: depositTo(index), a top-up
        if index is None:
            raise InvalidArgument(f"{where}.to_index is required for a top-up (a deposit without a key)")
        return TxRequest(kind="deposit", from_index=index, amount=amount, l1_address=depositor)
    key = (_field(d.pubkey_ax, f"{where}.pubkey_ax"), _field(d.pubkey_ay, f"{where}.pubkey_ay"))
    return TxRequest(kind="deposit", from_index=index, amount=amount, pubkey=key, l1_address=depositor)


def tx_from_pb(tx: pb.Transaction, where: str) -> TxRequest:
    kind = tx.WhichOneof("kind")
    if kind is None:
        raise InvalidArgument(f"{where}: set one of deposit, transfer, withdrawal, forced_exit")
    where = f"{where}.{kind}"
    if kind == "deposit":
        return _deposit(tx.deposit, where)
    if kind == "forced_exit":
        f = tx.forced_exit
        return TxRequest(kind="forced_exit", from_index=f.index, l1_address=_address(f.requester, f"{where}.requester"))
    if kind == "transfer":
        t = tx.transfer
        return TxRequest(
            kind="transfer",
            from_index=t.from_index,
            to_index=t.to_index,
            amount=_field(t.amount, f"{where}.amount"),
            fee=_uint(t.fee, f"{where}.fee", bound=FR_MODULUS, required=False),
            nonce=t.nonce,
            signature=_signature(t.signature, f"{where}.signature", t.HasField("signature")),
        )
    w = tx.withdrawal
    address = _address(w.l1_address, f"{where}.l1_address")
    return TxRequest(
        kind="withdrawal",
        from_index=w.from_index,
        amount=_field(w.amount, f"{where}.amount"),
        fee=_uint(w.fee, f"{where}.fee", bound=FR_MODULUS, required=False),
        nonce=w.nonce,
        signature=_signature(w.signature, f"{where}.signature", w.HasField("signature")),
        l1_address=address,
    )


# --- internal -> protobuf --------------------------------------------------------------------
def _ts(seconds: float | None) -> Timestamp | None:
    if seconds is None:
        return None
    ts = Timestamp()
    ts.FromNanoseconds(int(seconds * 1e9))
    return ts


def job_to_pb(job: JobRecord) -> pb.Job:
    return pb.Job(
        job_id=job.job_id,
        batch_id=job.batch_id,
        batch_number=max(job.batch_number, 0),  # a reverted job left the sequence (stored negative)
        state=_STATE_TO_PB[job.state],
        batch_size=job.batch_size,
        transaction_count=job.tx_count,
        old_root=job.old_root,
        new_root=job.new_root,
        attempts=job.attempts,
        max_attempts=job.max_attempts,
        last_error=job.last_error,
        worker_id=job.worker_id or "",
        cancel_requested=job.cancel_requested,
        created_at=_ts(job.created_at),
        started_at=_ts(job.started_at),
        finished_at=_ts(job.finished_at),
        lease_expires_at=_ts(job.lease_expires),
        stage_seconds=job.stage_seconds,
        proof_json=job.proof_json,
        public_signals=job.public_signals,
        key_hash=job.key_hash,
        public_data=job.public_data,
        version=job.version,
        owner=job.owner,
        stage=_STAGE_TO_PB[job.stage],
        stage_since=_ts(job.stage_at),
    )


class ProverServicer(pb_grpc.ProverServiceServicer):
    def __init__(self, core: ProverCore) -> None:
        self.core = core

    def SubmitBatch(self, request: pb.SubmitBatchRequest, context: grpc.ServicerContext) -> pb.SubmitBatchResponse:
        if len(request.transactions) > MAX_TRANSACTIONS:
            raise InvalidArgument(f"transactions: {len(request.transactions)} exceed {MAX_TRANSACTIONS}")
        txs = [tx_from_pb(tx, f"transactions[{i}]") for i, tx in enumerate(request.transactions)]
        job, created = self.core.submit(request.batch_id, txs, request.batch_size, owner=caller_of(context).client)
        return pb.SubmitBatchResponse(job=job_to_pb(job), created=created)

    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.Job:
        owner = caller_of(context).owner_filter
        return job_to_pb(self.core.get_job(request.job_id, request.batch_id, owner=owner))

    def WatchJob(self, request: pb.WatchJobRequest, context: grpc.ServicerContext) -> Iterator[pb.Job]:
        for job in self.core.watch(request.job_id, context.is_active, owner=caller_of(context).owner_filter):
            yield job_to_pb(job)

    def CancelJob(self, request: pb.CancelJobRequest, context: grpc.ServicerContext) -> pb.Job:
        owner = caller_of(context).owner_filter
        return job_to_pb(self.core.cancel(request.job_id, request.reason, owner=owner))

    def ListJobs(self, request: pb.ListJobsRequest, context: grpc.ServicerContext) -> pb.ListJobsResponse:
        if request.state not in _PB_TO_STATE and request.state != pb.JOB_STATE_UNSPECIFIED:
            raise InvalidArgument(f"state: unknown value {request.state}")
        state = _PB_TO_STATE.get(request.state)
        jobs, token = self.core.list_jobs(
            state, request.page_size, request.page_token, owner=caller_of(context).owner_filter
        )
        return pb.ListJobsResponse(jobs=[job_to_pb(j) for j in jobs], next_page_token=token)

    def GetVerifyingKey(
        self, request: pb.GetVerifyingKeyRequest, context: grpc.ServicerContext
    ) -> pb.GetVerifyingKeyResponse:
        entry = self.core.circuit(request.batch_size)
        return pb.GetVerifyingKeyResponse(
            batch_size=entry.batch_size,
            verification_key_json=json.dumps(vk_to_json(entry.pk.vk)),
            key_hash=entry.key_hash,
        )

    def GetCircuitInfo(
        self, request: pb.GetCircuitInfoRequest, context: grpc.ServicerContext
    ) -> pb.GetCircuitInfoResponse:
        circuits = [
            pb.CircuitInfo(
                batch_size=e.batch_size,
                name=e.name,
                constraints=e.circuit.n_constraints,
                wires=e.pk.n_vars,
                public_inputs=e.pk.n_public,
                domain_size=e.pk.domain_size,
                key_hash=e.key_hash,
                development_key=e.pk.is_development,
                provenance=e.pk.provenance,
                contribution_hashes=e.pk.contribution_hashes,
            )
            for e in self.core.circuits()
        ]
        op = self.core.operator
        return pb.GetCircuitInfoResponse(
            circuits=circuits, capacity=op.capacity, tree_depth=op.depth, backend=self.core.backend_description
        )

    def GetAccount(self, request: pb.GetAccountRequest, context: grpc.ServicerContext) -> pb.Account:
        acct = self.core.account(request.index)
        if acct is None:
            return pb.Account(index=request.index, exists=False)
        return pb.Account(
            index=acct.index,
            exists=True,
            pubkey_ax=str(acct.pubkey[0]),
            pubkey_ay=str(acct.pubkey[1]),
            balance=str(acct.balance),
            nonce=acct.nonce,
            owner="0x" + acct.owner.to_bytes(20, "big").hex(),
        )

    def GetStateRoot(self, request: pb.GetStateRootRequest, context: grpc.ServicerContext) -> pb.StateRoot:
        s = self.core.state()
        return pb.StateRoot(
            root=s.root,
            batch_number=s.batch_number,
            proven_batch_number=s.proven_batch_number,
            proven_root=s.proven_root,
        )
