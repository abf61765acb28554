"""The one gRPC server interceptor: who is calling, may they, is it within budget; then errors
-> status codes, request metrics, request logs.

For every ``prover.v1`` call, in order:

1. the request is decoded; bytes that are not the method's protobuf are INVALID_ARGUMENT (gRPC
   itself would answer INTERNAL and log a traceback);
2. the bearer token names the caller (UNAUTHENTICATED if missing or unknown, when tokens are
   configured) and its role must cover the method (PERMISSION_DENIED); failures are counted in
   ``zkprover_auth_failures_total``;
3. the caller's request rate, and for WatchJob its open streams, are checked
   (RESOURCE_EXHAUSTED);
4. the servicer runs with the caller attached to its context (``auth.caller_of``).

Servicer methods raise; they never call ``context.abort`` themselves. Every exception becomes a
status code with a message (``errors.status_for``): a client mistake is one INFO line, an
unexpected fault INTERNAL with the traceback in the log and not on the wire. Health checking and
reflection pass through untouched: probes need no token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from prover import metrics
from prover.service.auth import ANONYMOUS, METHOD_ROLES, Caller, TokenTable, bearer_token
from prover.service.errors import InvalidArgument, PermissionDenied, Unauthenticated, status_for
from prover.service.limits import Limits, RateLimiter, StreamSlots

log = logging.getLogger("zkprover.grpc")

_PREFIX = "/prover.v1."


def _short(method: str) -> str:
    return method.rsplit("/", 1)[-1]


class _Malformed:
    """Stands in for a request whose bytes did not decode, so the error reaches the wrapper."""

    def __init__(self, exc: Exception) -> None:
        self.reason = str(exc) or type(exc).__name__


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:
            return _Malformed(exc)

    return decode


class CallContext:
    """The servicer's context: gRPC's, plus the authenticated ``caller``."""

    def __init__(self, context: grpc.ServicerContext, caller: Caller) -> None:
        self._context = context
        self.caller = caller

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _peer_host(context: grpc.ServicerContext) -> str:
    # "ipv4:127.0.0.1:53412" -> "ipv4:127.0.0.1": an anonymous client is its host, not its port
    return context.peer().rsplit(":", 1)[0]


class ServiceInterceptor(grpc.ServerInterceptor):
    def __init__(self, tokens: TokenTable | None = None, limits: Limits | None = None) -> None:
        self.tokens = tokens or TokenTable()
        self.limits = limits or Limits()
        self.rates = RateLimiter(self.limits.rate_per_client, self.limits.burst_per_client)
        self.streams = StreamSlots(self.limits.max_streams, self.limits.max_streams_per_client)

    def intercept_service(self, continuation: Callable, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.startswith(_PREFIX):
            return handler  # unknown methods (UNIMPLEMENTED), health and reflection: gRPC's own
        name = _short(method)
        decode = _tolerant(handler.request_deserializer)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, name),
                request_deserializer=decode,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, name),
                request_deserializer=decode,
                response_serializer=handler.response_serializer,
            )
        return handler

    # --- checks -------------------------------------------------------------------------------
    def _admit(self, name: str, request: Any, context: grpc.ServicerContext) -> tuple[Caller, str]:
        """(caller, budget key), or raise the refusal."""
        caller = self._authenticate(name, context)
        role = METHOD_ROLES.get(name, "admin")  # a method missing from the table is admin-only
        if not caller.may(role):
            metrics.AUTH_FAILURES.labels("permission_denied").inc()
            raise PermissionDenied(f"{name} needs the {role} role; client {caller.client!r} has {caller.role}")
        key = caller.client if self.tokens.enabled else _peer_host(context)
        self.rates.take(key)
        if isinstance(request, _Malformed):
            raise InvalidArgument(f"request: not a valid {name} request message ({request.reason[:200]})")
        return caller, key

    def _authenticate(self, name: str, context: grpc.ServicerContext) -> Caller:
        if not self.tokens.enabled:
            return ANONYMOUS
        token = bearer_token(context.invocation_metadata())
        if token is None:
            metrics.AUTH_FAILURES.labels("missing_token").inc()
            raise Unauthenticated(f"{name} needs 'authorization: Bearer <token>' metadata")
        caller = self.tokens.lookup(token)
        if caller is None:
            metrics.AUTH_FAILURES.labels("unknown_token").inc()
            raise Unauthenticated("the bearer token is not one this server knows")
        return caller

    # --- errors, metrics, logs -------------------------------------------------------------------
    @staticmethod
    def _finish(name: str, started: float, code: grpc.StatusCode) -> None:
        metrics.GRPC_REQUESTS.labels(name, code.name).inc()
        metrics.GRPC_SECONDS.labels(name).observe(time.perf_counter() - started)

    @staticmethod
    def _fail(name: str, exc: BaseException, context: grpc.ServicerContext) -> tuple[grpc.StatusCode, str]:
        code, message = status_for(exc)
        if code == grpc.StatusCode.INTERNAL:
            log.exception("%s failed", name)
        else:
            # one line, the client's text quoted by repr: no newline reaches the log
            log.info("%s -> %s: %r", name, code.name, message[:300])
        context.set_code(code)
        context.set_details(message)
        return code, message

    def _unary(self, fn: Callable, name: str) -> Callable:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                caller, _ = self._admit(name, request, context)
                response = fn(request, CallContext(context, caller))
            except Exception as exc:
                code, message = self._fail(name, exc, context)
                self._finish(name, started, code)
                # abort, not "return None": gRPC would try to serialise None and log an ERROR
                context.abort(code, message)
            self._finish(name, started, grpc.StatusCode.OK)
            return response

        return wrapper

    def _stream(self, fn: Callable, name: str) -> Callable:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            try:
                caller, key = self._admit(name, request, context)
                with self.streams.hold(key):
                    yield from fn(request, CallContext(context, caller))
            except Exception as exc:
                self._finish(name, started, self._fail(name, exc, context)[0])
                return
            code = grpc.StatusCode.OK if context.is_active() else grpc.StatusCode.CANCELLED
            self._finish(name, started, code)

        return wrapper
