"""Per-client budgets: a request rate (token bucket) and a cap on open streams.

The server's threads are split in two: ``unary_threads`` for unary calls (health checks
included) and one per allowed open stream. A stream beyond the server-wide or the per-client cap
is refused at once with RESOURCE_EXHAUSTED, so WatchJob streams can never take the threads that
unary calls and liveness probes need. A client is its token's client name, or, with
authentication off, its peer address.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from prover.service.errors import ResourceExhausted


@dataclass(frozen=True)
class Limits:
    """Server-side bounds, each listed in the README's table under "Securing the service"."""

    unary_threads: int = 16
    max_streams: int = 128  # open WatchJob streams, all clients together
    max_streams_per_client: int = 32
    rate_per_client: float = 100.0  # requests per second, sustained
    burst_per_client: int = 200
    max_receive_bytes: int = 8 << 20  # a 4096-transaction SubmitBatch is ~1.5 MiB
    max_send_bytes: int = 16 << 20  # a ListJobs page of 1000 jobs
    keepalive_s: float = 60.0  # server pings an idle connection this often
    keepalive_timeout_s: float = 20.0  # and drops it if the ping is not answered

    def __post_init__(self) -> None:
        for name in ("unary_threads", "max_streams", "max_streams_per_client", "burst_per_client"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.rate_per_client <= 0:
            raise ValueError("rate_per_client must be positive")

    @property
    def threads(self) -> int:
        return self.unary_threads + self.max_streams

    def grpc_options(self) -> list[tuple[str, int]]:
        return [
            ("grpc.max_receive_message_length", self.max_receive_bytes),
            ("grpc.max_send_message_length", self.max_send_bytes),
            ("grpc.keepalive_time_ms", int(self.keepalive_s * 1000)),
            ("grpc.keepalive_timeout_ms", int(self.keepalive_timeout_s * 1000)),
            # clients may ping (their own keepalive) no more often than every 10 s
            ("grpc.http2.min_ping_interval_without_data_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
        ]


class RateLimiter:
    """A token bucket per client: ``burst`` calls at once, then ``rate`` per second."""

    def __init__(self, rate: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[client] = (tokens, now)
                raise ResourceExhausted(f"rate limit: more than {self.rate:g} requests per second; slow down")
            self._buckets[client] = (tokens - 1.0, now)
            if len(self._buckets) > self.max_clients:
                self._forget_full(now)

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled holds no information; dropping it bounds the table when
        # many peers (e.g. anonymous clients on new ports) come and go.
        for client, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate >= self.burst:
                del self._buckets[client]


class StreamSlots:
    """Counts open streams, server-wide and per client; ``hold`` refuses one over either cap."""

    def __init__(self, total: int, per_client: int) -> None:
        self.total = total
        self.per_client = per_client
        self._open = 0
        self._by_client: dict[str, int] = {}
        self._lock = threading.Lock()

    @property
    def open(self) -> int:
        return self._open

    @contextmanager
    def hold(self, client: str) -> Iterator[None]:
        with self._lock:
            mine = self._by_client.get(client, 0)
            if mine >= self.per_client:
                raise ResourceExhausted(f"open streams: this client already has {mine} (the cap per client)")
            if self._open >= self.total:
                raise ResourceExhausted(f"open streams: the server's {self.total} are all in use; retry later")
            self._open += 1
            self._by_client[client] = mine + 1
        try:
            yield
        finally:
            with self._lock:
                self._open -= 1
                left = self._by_client[client] - 1
                if left:
                    self._by_client[client] = left
                else:
                    del self._by_client[client]
