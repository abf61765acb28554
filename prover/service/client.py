"""A client channel to ``zkprover serve``: TLS (mutual when given a certificate) and a bearer token.

The CLI's client verbs, the tests and the load benchmark connect through :func:`connect`. The
token travels as ``authorization: Bearer`` metadata on every call; a client interceptor adds
it, because gRPC's call credentials refuse to travel over a plaintext channel, and a loopback
test server with tokens but no TLS is a case worth testing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from prover.service.auth import channel_credentials
from prover.service.limits import Limits


class _BearerToken(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    def __init__(self, token: str) -> None:
        self._entry = ("authorization", f"Bearer {token}")

    def _with_token(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(details.metadata or ()), self._entry]
        return details._replace(metadata=metadata) if hasattr(details, "_replace") else _Details(details, metadata)

    def intercept_unary_unary(self, continuation: Callable, details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Callable, details: grpc.ClientCallDetails, request: Any) -> Any:
        return continuation(self._with_token(details), request)


class _Details(grpc.ClientCallDetails):
    def __init__(self, base: grpc.ClientCallDetails, metadata: list[tuple[str, str]]) -> None:
        self.method = base.method
        self.timeout = base.timeout
        self.metadata = metadata
        self.credentials = base.credentials
        self.wait_for_ready = getattr(base, "wait_for_ready", None)
        self.compression = getattr(base, "compression", None)


def connect(
    address: str,
    *,
    token: str | None = None,
    tls: bool = False,
    ca: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    server_name: str | None = None,
) -> grpc.Channel:
    """A channel to ``address``; TLS when ``tls`` or any of ``ca``/``cert``/``key`` is given."""
    limits = Limits()
    options: list[tuple[str, Any]] = [
        ("grpc.max_receive_message_length", limits.max_send_bytes),
        ("grpc.max_send_message_length", limits.max_receive_bytes),
    ]
    if server_name:
        options.append(("grpc.ssl_target_name_override", server_name))
    if tls or ca or cert or key:
        channel = grpc.secure_channel(address, channel_credentials(ca, cert, key), options=options)
    else:
        channel = grpc.insecure_channel(address, options=options)
    return grpc.intercept_channel(channel, _BearerToken(token)) if token else channel
