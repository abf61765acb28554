"""Errors the service raises, each with the gRPC status code the interceptor turns it into.

Lower layers raise their own exceptions (the job store's, the rollup's BatchRejected); the
interceptor maps those too (``status_for``), so no servicer method handles errors itself.
"""

from __future__ import annotations

import grpc

from prover.jobs import BatchIdConflict, JobFinal, JobNotFound, JobStoreError, StaleState, StoreFull
from prover.service.rollup_api import BatchRejected


class ServiceError(Exception):
    code = grpc.StatusCode.INTERNAL


class InvalidArgument(ServiceError, ValueError):
    """Bad input; the message names the field and what was wrong."""

    code = grpc.StatusCode.INVALID_ARGUMENT


class NotFound(ServiceError):
    code = grpc.StatusCode.NOT_FOUND


class AlreadyExists(ServiceError):
    code = grpc.StatusCode.ALREADY_EXISTS


class FailedPrecondition(ServiceError):
    code = grpc.StatusCode.FAILED_PRECONDITION


class Unavailable(ServiceError):
    code = grpc.StatusCode.UNAVAILABLE


class Aborted(ServiceError):
    """A race with another server was lost; the client may retry at once."""

    code = grpc.StatusCode.ABORTED


class ResourceExhausted(ServiceError):
    """A per-client limit (request rate, open streams) or the server's capacity was reached."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED


class Unauthenticated(ServiceError):
    """No credentials, or credentials this server does not know."""

    code = grpc.StatusCode.UNAUTHENTICATED


class PermissionDenied(ServiceError):
    """A known client whose role does not allow the call."""

    code = grpc.StatusCode.PERMISSION_DENIED


def status_for(exc: BaseException) -> tuple[grpc.StatusCode, str]:
    """The status code and message for an exception that reached the gRPC layer."""
    if isinstance(exc, ServiceError):
        return exc.code, str(exc)
    if isinstance(exc, BatchRejected):
        return grpc.StatusCode.INVALID_ARGUMENT, f"batch rejected: {exc}"
    if isinstance(exc, JobNotFound):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, BatchIdConflict):
        return grpc.StatusCode.ALREADY_EXISTS, str(exc)
    if isinstance(exc, JobFinal):
        return grpc.StatusCode.FAILED_PRECONDITION, str(exc)
    if isinstance(exc, StoreFull):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, f"job store: {exc}"
    if isinstance(exc, StaleState):
        return grpc.StatusCode.ABORTED, f"{exc}; retry the request"
    if isinstance(exc, JobStoreError):
        return grpc.StatusCode.UNAVAILABLE, f"job store: {exc}"
    return grpc.StatusCode.INTERNAL, f"internal error ({type(exc).__name__}); see the server log"
