#!/usr/bin/env python3
"""Container health probe for zkprover: exit 0 healthy, 1 unhealthy, 2 usage.

    healthcheck.py [--grpc ADDR] [--service NAME] [--tls-ca PEM [--tls-server-name NAME]]
                   [--tls-cert PEM --tls-key PEM] [--timeout S]     server: gRPC health checking
    healthcheck.py --http URL [--timeout S]                         worker: the metrics endpoint

``zkprover serve`` implements the standard ``grpc.health.v1.Health`` service (SERVING after
start, NOT_SERVING while it drains on SIGTERM), so the server probe asks it, as Kubernetes'
native gRPC probe does. ``zkprover worker`` has no gRPC port; its liveness signal is the
``/metrics`` endpoint, served from the same process.

Defaults come from the environment so one image-level HEALTHCHECK fits both roles:
``ZKPROVER_HEALTH_HTTP`` (a URL: probe that instead of gRPC) and ``ZKPROVER_HEALTH_ADDR``
(default ``127.0.0.1:50051``). A server with TLS is probed over TLS: ``--tls-ca`` (or
``$ZKPROVER_HEALTH_TLS_CA``) is the CA to trust and ``--tls-server-name`` (or
``$ZKPROVER_HEALTH_TLS_NAME``) the name in the server's certificate, since the probe dials
127.0.0.1; with mutual TLS also a client certificate. Health checking needs no token.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.request
from typing import Any


def _channel(addr: str, ca: str | None, name: str | None, cert: str | None, key: str | None) -> Any:
    import grpc

    if not ca:
        return grpc.insecure_channel(addr)

    def read(path: str | None) -> bytes | None:
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()

    creds = grpc.ssl_channel_credentials(read(ca), read(key), read(cert))
    options = [("grpc.ssl_target_name_override", name)] if name else []
    return grpc.secure_channel(addr, creds, options=options)


def check_grpc(
    addr: str,
    service: str,
    timeout: float,
    ca: str | None = None,
    name: str | None = None,
    cert: str | None = None,
    key: str | None = None,
) -> tuple[bool, str]:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with _channel(addr, ca, name, cert, key) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as exc:
            return False, f"{addr}: {exc.code().name}: {exc.details()}"
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)
    return resp.status == health_pb2.HealthCheckResponse.SERVING, f"{addr} {service or '(server)'}: {status}"


def check_http(url: str, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            body = resp.read(1 << 20)
            ok = resp.status == 200 and b"zkprover_" in body
            return ok, f"{url}: HTTP {resp.status}" + ("" if ok else " (no zkprover metrics)")
    except OSError as exc:
        return False, f"{url}: {exc}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="zkprover health probe")
    p.add_argument("--grpc", default=os.environ.get("ZKPROVER_HEALTH_ADDR", "127.0.0.1:50051"))
    p.add_argument("--service", default="", help="health service name ('' = the whole server)")
    p.add_argument("--http", default=os.environ.get("ZKPROVER_HEALTH_HTTP") or None, help="probe this URL instead")
    p.add_argument("--tls-ca", default=os.environ.get("ZKPROVER_HEALTH_TLS_CA") or None, help="CA of a TLS server")
    p.add_argument("--tls-server-name", default=os.environ.get("ZKPROVER_HEALTH_TLS_NAME") or None)
    p.add_argument("--tls-cert", default=os.environ.get("ZKPROVER_HEALTH_TLS_CERT") or None, help="for mutual TLS")
    p.add_argument("--tls-key", default=os.environ.get("ZKPROVER_HEALTH_TLS_KEY") or None, help="for mutual TLS")
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.http:
        ok, detail = check_http(args.http, args.timeout)
    else:
        tls = (args.tls_ca, args.tls_server_name, args.tls_cert, args.tls_key)
        ok, detail = check_grpc(args.grpc, args.service, args.timeout, *tls)
    if not args.quiet or not ok:
        print(("healthy: " if ok else "unhealthy: ") + detail, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
