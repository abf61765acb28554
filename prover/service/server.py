"""The gRPC server: ProverService, standard health checking, reflection, graceful stop.

``ProverServer`` owns the moving parts of ``zkprover serve``: the gRPC server, the in-process
workers (``workers=0`` for an API-only server in front of ``zkprover worker`` processes), a
reaper that requeues expired leases even when no worker is polling, and the metrics endpoint.

Security: TLS when given ``tls`` credentials (``auth.server_credentials``, mutual TLS with a
client CA), bearer tokens with roles when given a ``TokenTable``. A server with neither listens
on loopback only, unless ``allow_insecure`` says a trusted network stands in front of it.

Resources: ``Limits`` sizes the thread pool as unary threads plus one per allowed open stream,
so WatchJob streams cannot starve unary calls or health checks; it also bounds message sizes
and sets keepalive, so a vanished client's connection is dropped.

Shutdown (``stop``, or SIGTERM via ``install_signal_handlers``): health turns NOT_SERVING so
load balancers drain, the workers stop taking jobs and finish or release the current one, the
gRPC server refuses new calls and gives running ones ``grace_s`` to end.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import threading
from concurrent import futures
from typing import TYPE_CHECKING

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from prover import metrics
from prover.backend.interface import Backend
from prover.service.auth import TokenTable
from prover.service.core import ProverCore
from prover.service.gen import prover_pb2 as pb
from prover.service.gen import prover_pb2_grpc as pb_grpc
from prover.service.interceptors import ServiceInterceptor
from prover.service.limits import Limits
from prover.service.servicer import ProverServicer
from prover.service.worker import Worker, spawn

if TYPE_CHECKING:
    from prover.service.l1_link import L1Loop

log = logging.getLogger("zkprover.server")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["ProverService"].full_name


class ProverServer:
    def __init__(
        self,
        core: ProverCore,
        *,
        address: str = "127.0.0.1:50051",
        backend: Backend | None = None,
        workers: int = 1,
        lease_s: float = 30.0,
        verify_proofs: bool = True,
        metrics_port: int | None = None,
        metrics_address: str = "127.0.0.1",
        reap_interval_s: float = 5.0,
        tokens: TokenTable | None = None,
        tls: grpc.ServerCredentials | None = None,
        limits: Limits | None = None,
        allow_insecure: bool = False,
        l1_loop: L1Loop | None = None,
        pipeline_depth: int = 1,
    ) -> None:
        self.core = core
        self.l1_loop = l1_loop  # follows and settles on L1 (an operator linked to its Rollup)
        self.address = address
        self.backend = backend
        self.metrics_port = metrics_port
        self.metrics_address = metrics_address
        self.reap_interval_s = reap_interval_s
        self.tls = tls
        self.limits = limits or Limits()
        tokens = tokens or TokenTable()
        if not (tokens.enabled and tls is not None) and not allow_insecure and not is_loopback(address):
            raise ValueError(
                f"refusing to listen on {address} without TLS and tokens: anyone who can reach it could "
                "submit and cancel jobs. Give --tls-cert/--tls-key and tokens, listen on 127.0.0.1, or "
                "pass --allow-insecure behind a trusted proxy"
            )
        self.port: int | None = None
        self.interceptor = ServiceInterceptor(tokens, self.limits)
        self.grpc = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self.limits.threads, thread_name_prefix="grpc"),
            interceptors=[self.interceptor],
            options=[
                ("grpc.so_reuseport", 0),  # two servers on one port would split clients silently
                *self.limits.grpc_options(),
            ],
            # calls beyond every thread plus as many waiting are refused, not queued without end
            maximum_concurrent_rpcs=2 * self.limits.threads,
        )
        pb_grpc.add_ProverServiceServicer_to_server(ProverServicer(core), self.grpc)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.grpc)
        reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), self.grpc)
        if workers and backend is None:
            raise ValueError("in-process workers need a backend")
        self.workers = [
            Worker(
                core.store,
                core.registry,
                backend,  # type: ignore[arg-type]
                lease_s=lease_s,
                verify_proofs=verify_proofs,
                pipeline_depth=pipeline_depth,
            )
            for _ in range(workers)
        ]
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()  # stop() began: background loops end
        self._finished = threading.Event()  # stop() completed: the process may exit
        self._stop_metrics = None

    def start(self) -> int:
        """Bind, start serving and proving; returns the bound port (useful with port 0)."""
        self.core.start()
        diverged = self._start_from_l1()
        metrics.register_collector("queue_depth", metrics.QueueDepthCollector(self.core.store.counts))
        metrics.register_collector("jobs_by_stage", metrics.JobStageCollector(self.core.store.stage_counts))
        if self.backend is not None:
            metrics.set_backend(self.backend)
        if self.tls is not None:
            self.port = self.grpc.add_secure_port(self.address, self.tls)
        else:
            self.port = self.grpc.add_insecure_port(self.address)
        if self.port == 0:
            raise OSError(f"cannot bind {self.address}")
        self.grpc.start()
        for w in self.workers if not diverged else ():
            self._threads.append(spawn(w))
        reaper = threading.Thread(target=self._reap, name="lease-reaper", daemon=True)
        reaper.start()
        self._threads.append(reaper)
        if self.metrics_port is not None:
            self._stop_metrics = metrics.serve_http(self.metrics_port, self.metrics_address)
        if diverged:  # up for its metrics and logs, NOT_SERVING, nothing proven, submitted or settled
            for name in ("", SERVICE_NAME):
                self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)
            return self.port
        if self.l1_loop is not None:
            self.l1_loop.start()
        for name in ("", SERVICE_NAME):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        log.info(
            "serving %s on port %d (%s, %s; %d in-process workers, store %r)",
            SERVICE_NAME,
            self.port,
            "TLS" if self.tls is not None else "plaintext",
            f"{len(self.interceptor.tokens)} tokens" if self.interceptor.tokens.enabled else "no authentication",
            len(self.workers),
            self.core.store,
        )
        return self.port

    def _start_from_l1(self) -> bool:
        """An operator linked to L1 rebuilds what its store lacks from L1 before anything else.
        True if the store diverged from L1: the core is halted, and ``start`` leaves the server
        up but NOT_SERVING (its metrics show ``zkprover_l1_divergence`` 1) with no worker and no
        L1 loop, so nothing is proven or settled on a wrong root."""
        if self.l1_loop is None:
            return False
        from prover.service.l1_link import L1Divergence
        from prover.service.l1_resync import start_from_l1

        try:
            start_from_l1(self.l1_loop.link, self.core)
        except L1Divergence as exc:
            self.core.halt(f"its store diverged from L1 ({exc})")
            log.error("NOT serving: the store diverged from L1; see deploy/README.md, The L1 operator")
            return True
        return False

    def _reap(self) -> None:
        while not self._stopped.wait(self.reap_interval_s):
            try:
                for job_id in self.core.store.requeue_expired():
                    log.warning("job=%s lease expired; requeued or failed at the attempts cap", job_id)
                    metrics.JOBS_FINISHED.labels("requeued").inc()
            except Exception as exc:
                log.warning("lease reaper: %s", exc)

    def stop(self, grace_s: float = 10.0) -> None:
        """Drain: NOT_SERVING, workers finish or release their job, gRPC stops after ``grace_s``."""
        if self._stopped.is_set():
            return
        log.info("shutting down (grace %.0f s)", grace_s)
        self.health.enter_graceful_shutdown()
        self._stopped.set()
        if self.l1_loop is not None:
            self.l1_loop.stop()
        for w in self.workers:
            w.grace_s = min(w.grace_s, grace_s)
            w.request_stop()
        done = self.grpc.stop(grace_s)
        for t in self._threads:
            t.join(timeout=grace_s + 5)
        done.wait(grace_s + 5)
        if self._stop_metrics:
            self._stop_metrics()
        self.core.close()
        self._finished.set()
        log.info("stopped")

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a stop (e.g. by signal) has completed."""
        return self._finished.wait(timeout)

    def install_signal_handlers(self, grace_s: float = 30.0) -> None:
        """SIGTERM/SIGINT -> graceful stop (from the main thread, as signal handlers must be)."""

        def handler(signum: int, _frame: object) -> None:
            log.info("signal %d received", signum)
            threading.Thread(target=self.stop, args=(grace_s,), name="shutdown").start()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def is_loopback(address: str) -> bool:
    """Whether a listen address (``host:port``, ``[v6]:port``) binds loopback only."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name, or "" / "0.0.0.0" / "[::]": every interface
