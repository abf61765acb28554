"""The one gRPC server interceptor: errors -> status codes, request metrics, request logs.

Servicer methods raise; they never call ``context.abort`` themselves. Here every exception
becomes a status code with a message (``errors.status_for``): bad input INVALID_ARGUMENT naming
the field, unknown jobs NOT_FOUND, an unexpected fault INTERNAL with the traceback in the log
and not on the wire. Each request is counted by method and final code and timed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from prover import metrics
from prover.service.errors import status_for

log = logging.getLogger("zkprover.grpc")


def _short(method: str) -> str:
    return method.rsplit("/", 1)[-1]


class ErrorsAndMetricsInterceptor(grpc.ServerInterceptor):
    def intercept_service(self, continuation: Callable, handler_call_details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        if not method.startswith("/prover.v1."):
            return handler  # health and reflection: grpc's own services, left alone
        name = _short(method)
        if handler.unary_unary:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, name),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, name),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    @staticmethod
    def _finish(name: str, started: float, code: grpc.StatusCode) -> None:
        metrics.GRPC_REQUESTS.labels(name, code.name).inc()
        metrics.GRPC_SECONDS.labels(name).observe(time.perf_counter() - started)

    @staticmethod
    def _fail(name: str, exc: BaseException, context: grpc.ServicerContext) -> grpc.StatusCode:
        code, message = status_for(exc)
        if code == grpc.StatusCode.INTERNAL:
            log.exception("%s failed", name)
        else:
            log.info("%s -> %s: %s", name, code.name, message)
        context.set_code(code)
        context.set_details(message)
        return code

    def _unary(self, fn: Callable, name: str) -> Callable:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            try:
                response = fn(request, context)
            except Exception as exc:
                self._finish(name, started, self._fail(name, exc, context))
                return None
            self._finish(name, started, grpc.StatusCode.OK)
            return response

        return wrapper

    def _stream(self, fn: Callable, name: str) -> Callable:
        def wrapper(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            started = time.perf_counter()
            try:
                yield from fn(request, context)
            except Exception as exc:
                self._finish(name, started, self._fail(name, exc, context))
                return
            code = grpc.StatusCode.OK if context.is_active() else grpc.StatusCode.CANCELLED
            self._finish(name, started, code)

        return wrapper
