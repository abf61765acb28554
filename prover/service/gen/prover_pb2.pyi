import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATE_UNSPECIFIED: _ClassVar[JobState]
    JOB_STATE_QUEUED: _ClassVar[JobState]
    JOB_STATE_PROVING: _ClassVar[JobState]
    JOB_STATE_SUCCEEDED: _ClassVar[JobState]
    JOB_STATE_FAILED: _ClassVar[JobState]
    JOB_STATE_CANCELLED: _ClassVar[JobState]

class JobStage(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STAGE_UNSPECIFIED: _ClassVar[JobStage]
    JOB_STAGE_QUEUED: _ClassVar[JobStage]
    JOB_STAGE_WITNESS: _ClassVar[JobStage]
    JOB_STAGE_READY: _ClassVar[JobStage]
    JOB_STAGE_PROVING: _ClassVar[JobStage]
    JOB_STAGE_SETTLING: _ClassVar[JobStage]
    JOB_STAGE_SETTLED: _ClassVar[JobStage]
    JOB_STAGE_DONE: _ClassVar[JobStage]
JOB_STATE_UNSPECIFIED: JobState
JOB_STATE_QUEUED: JobState
JOB_STATE_PROVING: JobState
JOB_STATE_SUCCEEDED: JobState
JOB_STATE_FAILED: JobState
JOB_STATE_CANCELLED: JobState
JOB_STAGE_UNSPECIFIED: JobStage
JOB_STAGE_QUEUED: JobStage
JOB_STAGE_WITNESS: JobStage
JOB_STAGE_READY: JobStage
JOB_STAGE_PROVING: JobStage
JOB_STAGE_SETTLING: JobStage
JOB_STAGE_SETTLED: JobStage
JOB_STAGE_DONE: JobStage

class Signature(_message.Message):
    __slots__ = ("r8x", "r8y", "s")
    R8X_FIELD_NUMBER: _ClassVar[int]
    R8Y_FIELD_NUMBER: _ClassVar[int]
    S_FIELD_NUMBER: _ClassVar[int]
    r8x: str
    r8y: str
    s: str
    def __init__(self, r8x: _Optional[str] = ..., r8y: _Optional[str] = ..., s: _Optional[str] = ...) -> None: ...

class Deposit(_message.Message):
    __slots__ = ("to_index", "pubkey_ax", "pubkey_ay", "amount", "depositor")
    TO_INDEX_FIELD_NUMBER: _ClassVar[int]
    PUBKEY_AX_FIELD_NUMBER: _ClassVar[int]
    PUBKEY_AY_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    DEPOSITOR_FIELD_NUMBER: _ClassVar[int]
    to_index: int
    pubkey_ax: str
    pubkey_ay: str
    amount: str
    depositor: str
    def __init__(self, to_index: _Optional[int] = ..., pubkey_ax: _Optional[str] = ..., pubkey_ay: _Optional[str] = ..., amount: _Optional[str] = ..., depositor: _Optional[str] = ...) -> None: ...

class ForcedExit(_message.Message):
    __slots__ = ("index", "requester")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    REQUESTER_FIELD_NUMBER: _ClassVar[int]
    index: int
    requester: str
    def __init__(self, index: _Optional[int] = ..., requester: _Optional[str] = ...) -> None: ...

class Transfer(_message.Message):
    __slots__ = ("from_index", "to_index", "amount", "fee", "nonce", "signature")
    FROM_INDEX_FIELD_NUMBER: _ClassVar[int]
    TO_INDEX_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    from_index: int
    to_index: int
    amount: str
    fee: str
    nonce: int
    signature: Signature
    def __init__(self, from_index: _Optional[int] = ..., to_index: _Optional[int] = ..., amount: _Optional[str] = ..., fee: _Optional[str] = ..., nonce: _Optional[int] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ...) -> None: ...

class Withdrawal(_message.Message):
    __slots__ = ("from_index", "amount", "fee", "nonce", "l1_address", "signature")
    FROM_INDEX_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    FEE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    L1_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    from_index: int
    amount: str
    fee: str
    nonce: int
    l1_address: str
    signature: Signature
    def __init__(self, from_index: _Optional[int] = ..., amount: _Optional[str] = ..., fee: _Optional[str] = ..., nonce: _Optional[int] = ..., l1_address: _Optional[str] = ..., signature: _Optional[_Union[Signature, _Mapping]] = ...) -> None: ...

class Transaction(_message.Message):
    __slots__ = ("deposit", "transfer", "withdrawal", "forced_exit")
    DEPOSIT_FIELD_NUMBER: _ClassVar[int]
    TRANSFER_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWAL_FIELD_NUMBER: _ClassVar[int]
    FORCED_EXIT_FIELD_NUMBER: _ClassVar[int]
    deposit: Deposit
    transfer: Transfer
    withdrawal: Withdrawal
    forced_exit: ForcedExit
    def __init__(self, deposit: _Optional[_Union[Deposit, _Mapping]] = ..., transfer: _Optional[_Union[Transfer, _Mapping]] = ..., withdrawal: _Optional[_Union[Withdrawal, _Mapping]] = ..., forced_exit: _Optional[_Union[ForcedExit, _Mapping]] = ...) -> None: ...

class SubmitBatchRequest(_message.Message):
    __slots__ = ("batch_id", "transactions", "batch_size")
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    TRANSACTIONS_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    batch_id: str
    transactions: _containers.RepeatedCompositeFieldContainer[Transaction]
    batch_size: int
    def __init__(self, batch_id: _Optional[str] = ..., transactions: _Optional[_Iterable[_Union[Transaction, _Mapping]]] = ..., batch_size: _Optional[int] = ...) -> None: ...

class SubmitBatchResponse(_message.Message):
    __slots__ = ("job", "created")
    JOB_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    job: Job
    created: bool
    def __init__(self, job: _Optional[_Union[Job, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("job_id", "batch_id", "batch_number", "state", "batch_size", "transaction_count", "old_root", "new_root", "attempts", "max_attempts", "last_error", "worker_id", "cancel_requested", "created_at", "started_at", "finished_at", "lease_expires_at", "stage_seconds", "proof_json", "public_signals", "key_hash", "public_data", "version", "owner", "stage", "stage_since")
    class StageSecondsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    OLD_ROOT_FIELD_NUMBER: _ClassVar[int]
    NEW_ROOT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    LEASE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    STAGE_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PROOF_JSON_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_SIGNALS_FIELD_NUMBER: _ClassVar[int]
    KEY_HASH_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_DATA_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    STAGE_FIELD_NUMBER: _ClassVar[int]
    STAGE_SINCE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    batch_id: str
    batch_number: int
    state: JobState
    batch_size: int
    transaction_count: int
    old_root: str
    new_root: str
    attempts: int
    max_attempts: int
    last_error: str
    worker_id: str
    cancel_requested: bool
    created_at: _timestamp_pb2.Timestamp
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    lease_expires_at: _timestamp_pb2.Timestamp
    stage_seconds: _containers.ScalarMap[str, float]
    proof_json: str
    public_signals: _containers.RepeatedScalarFieldContainer[str]
    key_hash: str
    public_data: str
    version: int
    owner: str
    stage: JobStage
    stage_since: _timestamp_pb2.Timestamp
    def __init__(self, job_id: _Optional[str] = ..., batch_id: _Optional[str] = ..., batch_number: _Optional[int] = ..., state: _Optional[_Union[JobState, str]] = ..., batch_size: _Optional[int] = ..., transaction_count: _Optional[int] = ..., old_root: _Optional[str] = ..., new_root: _Optional[str] = ..., attempts: _Optional[int] = ..., max_attempts: _Optional[int] = ..., last_error: _Optional[str] = ..., worker_id: _Optional[str] = ..., cancel_requested: _Optional[bool] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., lease_expires_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stage_seconds: _Optional[_Mapping[str, float]] = ..., proof_json: _Optional[str] = ..., public_signals: _Optional[_Iterable[str]] = ..., key_hash: _Optional[str] = ..., public_data: _Optional[str] = ..., version: _Optional[int] = ..., owner: _Optional[str] = ..., stage: _Optional[_Union[JobStage, str]] = ..., stage_since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id", "batch_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    BATCH_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    batch_id: str
    def __init__(self, job_id: _Optional[str] = ..., batch_id: _Optional[str] = ...) -> None: ...

class WatchJobRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...

class CancelJobRequest(_message.Message):
    __slots__ = ("job_id", "reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    reason: str
    def __init__(self, job_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("state", "page_size", "page_token")
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    state: JobState
    page_size: int
    page_token: str
    def __init__(self, state: _Optional[_Union[JobState, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "next_page_token")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    next_page_token: str
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetVerifyingKeyRequest(_message.Message):
    __slots__ = ("batch_size",)
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    def __init__(self, batch_size: _Optional[int] = ...) -> None: ...

class GetVerifyingKeyResponse(_message.Message):
    __slots__ = ("batch_size", "verification_key_json", "key_hash")
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    VERIFICATION_KEY_JSON_FIELD_NUMBER: _ClassVar[int]
    KEY_HASH_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    verification_key_json: str
    key_hash: str
    def __init__(self, batch_size: _Optional[int] = ..., verification_key_json: _Optional[str] = ..., key_hash: _Optional[str] = ...) -> None: ...

class GetCircuitInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CircuitInfo(_message.Message):
    __slots__ = ("batch_size", "name", "constraints", "wires", "public_inputs", "domain_size", "key_hash", "development_key", "provenance", "contribution_hashes")
    BATCH_SIZE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_FIELD_NUMBER: _ClassVar[int]
    WIRES_FIELD_NUMBER: _ClassVar[int]
    PUBLIC_INPUTS_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_SIZE_FIELD_NUMBER: _ClassVar[int]
    KEY_HASH_FIELD_NUMBER: _ClassVar[int]
    DEVELOPMENT_KEY_FIELD_NUMBER: _ClassVar[int]
    PROVENANCE_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTION_HASHES_FIELD_NUMBER: _ClassVar[int]
    batch_size: int
    name: str
    constraints: int
    wires: int
    public_inputs: int
    domain_size: int
    key_hash: str
    development_key: bool
    provenance: str
    contribution_hashes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, batch_size: _Optional[int] = ..., name: _Optional[str] = ..., constraints: _Optional[int] = ..., wires: _Optional[int] = ..., public_inputs: _Optional[int] = ..., domain_size: _Optional[int] = ..., key_hash: _Optional[str] = ..., development_key: _Optional[bool] = ..., provenance: _Optional[str] = ..., contribution_hashes: _Optional[_Iterable[str]] = ...) -> None: ...

class GetCircuitInfoResponse(_message.Message):
    __slots__ = ("circuits", "capacity", "tree_depth", "backend")
    CIRCUITS_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_FIELD_NUMBER: _ClassVar[int]
    TREE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    circuits: _containers.RepeatedCompositeFieldContainer[CircuitInfo]
    capacity: int
    tree_depth: int
    backend: str
    def __init__(self, circuits: _Optional[_Iterable[_Union[CircuitInfo, _Mapping]]] = ..., capacity: _Optional[int] = ..., tree_depth: _Optional[int] = ..., backend: _Optional[str] = ...) -> None: ...

class GetAccountRequest(_message.Message):
    __slots__ = ("index",)
    INDEX_FIELD_NUMBER: _ClassVar[int]
    index: int
    def __init__(self, index: _Optional[int] = ...) -> None: ...

class Account(_message.Message):
    __slots__ = ("index", "exists", "pubkey_ax", "pubkey_ay", "balance", "nonce", "owner")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    EXISTS_FIELD_NUMBER: _ClassVar[int]
    PUBKEY_AX_FIELD_NUMBER: _ClassVar[int]
    PUBKEY_AY_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    NONCE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    index: int
    exists: bool
    pubkey_ax: str
    pubkey_ay: str
    balance: str
    nonce: int
    owner: str
    def __init__(self, index: _Optional[int] = ..., exists: _Optional[bool] = ..., pubkey_ax: _Optional[str] = ..., pubkey_ay: _Optional[str] = ..., balance: _Optional[str] = ..., nonce: _Optional[int] = ..., owner: _Optional[str] = ...) -> None: ...

class GetStateRootRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class StateRoot(_message.Message):
    __slots__ = ("root", "batch_number", "proven_batch_number", "proven_root")
    ROOT_FIELD_NUMBER: _ClassVar[int]
    BATCH_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PROVEN_BATCH_NUMBER_FIELD_NUMBER: _ClassVar[int]
    PROVEN_ROOT_FIELD_NUMBER: _ClassVar[int]
    root: str
    batch_number: int
    proven_batch_number: int
    proven_root: str
    def __init__(self, root: _Optional[str] = ..., batch_number: _Optional[int] = ..., proven_batch_number: _Optional[int] = ..., proven_root: _Optional[str] = ...) -> None: ...
