"""Job store: proving jobs and the rollup state they prove, in SQLite or PostgreSQL.

``open_store(url)`` picks the implementation; ``prover.jobs.store`` has the interface.
"""

from prover.jobs.store import (
    CANCELLED,
    FAILED,
    FINAL_STATES,
    JOB_STAGES,
    PROVING,
    QUEUED,
    STATES,
    SUCCEEDED,
    BatchIdConflict,
    Head,
    JobFinal,
    JobNotFound,
    JobRecord,
    JobStore,
    JobStoreError,
    Lease,
    NewJob,
    StaleState,
    StoreFull,
    open_store,
)

__all__ = [
    "CANCELLED",
    "FAILED",
    "FINAL_STATES",
    "JOB_STAGES",
    "PROVING",
    "QUEUED",
    "STATES",
    "SUCCEEDED",
    "BatchIdConflict",
    "Head",
    "JobFinal",
    "JobNotFound",
    "JobRecord",
    "JobStore",
    "JobStoreError",
    "Lease",
    "NewJob",
    "StaleState",
    "StoreFull",
    "open_store",
]
