"""Every Prometheus metric of zkprover, declared in this one module (as KServe does).

Other modules import the objects below and update them; nothing else creates metrics, so the
names, labels and buckets stay consistent and are documented in one place. Metrics that are a
view of shared state (queue depth, GPU memory) are read at scrape time by collectors, so that a
``worker`` process and a ``serve`` process pointed at one store report the same queue.

    zkprover_jobs{state}                       jobs in the store per state (queue depth)
    zkprover_jobs_finished_total{outcome}      jobs ended by this process: succeeded|failed|cancelled|requeued|released
    zkprover_stage_seconds{stage}              per-proof stage durations: witness, ready, ntt, msm, prove, verify, total
    zkprover_job_stage_seconds{stage}          time per batch in each stage: apply|queued|witness|ready|proving
    zkprover_jobs_by_stage{stage}              jobs in the store per pipeline stage (where batches wait)
    zkprover_backend_idle_seconds              backend idle between consecutive proofs while work waited
    zkprover_proofs_total                      proofs made by this process (rate() = proofs per second)
    zkprover_proofs_per_second                 proofs per second over the last minute, this process
    zkprover_circuit_constraints{circuit,batch_size}
    zkprover_backend_info{backend,device}      the prover backend in use
    zkprover_gpu_memory_bytes{kind}            used|total device memory, when proving on a GPU
    zkprover_grpc_requests_total{method,code}  gRPC requests by method and status code
    zkprover_grpc_request_seconds{method}      gRPC handling time (unary; streams until their end)
    zkprover_batches_submitted_total{result}   SubmitBatch outcomes: created|duplicate|rejected
    zkprover_l1_transactions_total{outcome}    L1 transactions by the settler: sent|resent|mined|reverted|skipped
    zkprover_l1_tx_gas_used                    gas used per mined L1 transaction
    zkprover_l1_tx_fee_wei                     wei paid per mined L1 transaction (gas used x effective gas price)
    zkprover_l1_fee_wei_total                  wei paid for all mined L1 transactions (ETH spent)
    zkprover_l1_settled_batch                  newest batch number the settler saw settled on L1
    zkprover_l1_block{kind}                    L1 watcher: head|confirmed block numbers
    zkprover_l1_events_total{event,action}     L1 watcher: events delivered|retracted
    zkprover_l1_reorgs_total                   L1 watcher: reorgs seen (blocks replaced above the cursor)
    zkprover_l1_batches_unsettled              batches the operator holds that L1 has not settled yet
    zkprover_l1_batch_gas_used / _fee_wei      gas and wei per settled batch
    zkprover_l1_gas_per_l2_tx / _fee_wei_per_l2_tx   the newest settled batch's cost per L2 transaction
    zkprover_l1_requests_waiting               confirmed L1 requests no batch has taken yet
    zkprover_l1_divergence                     1 while the store and L1 disagree (the operator refuses to prove)
    zkprover_l1_recovered_batches_total        settled batches rebuilt from L1's public data (lost or stale store)
    zkprover_auth_failures_total{reason}       refused calls: missing_token|unknown_token|permission_denied
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger("zkprover.metrics")

# Proofs take from milliseconds (tiny test circuits) to minutes (large batches on a CPU).
_STAGE_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

JOBS_FINISHED = Counter("zkprover_jobs_finished_total", "Jobs ended by this process, by outcome", ["outcome"])
STAGE_SECONDS = Histogram("zkprover_stage_seconds", "Duration of each proving stage", ["stage"], buckets=_STAGE_BUCKETS)
PROOFS = Counter("zkprover_proofs_total", "Proofs made by this process")
JOB_STAGE_SECONDS = Histogram(
    "zkprover_job_stage_seconds", "Time jobs spent in each pipeline stage", ["stage"], buckets=_STAGE_BUCKETS
)
# A GPU backend's proof takes well under a second: the host must hand it work within milliseconds.
BACKEND_IDLE_SECONDS = Histogram(
    "zkprover_backend_idle_seconds",
    "Backend idle time between consecutive proofs while the next job was already submitted",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
CIRCUIT_CONSTRAINTS = Gauge(
    "zkprover_circuit_constraints", "Constraints of each batch circuit", ["circuit", "batch_size"]
)
BACKEND_INFO = Gauge("zkprover_backend_info", "Prover backend in use (value 1)", ["backend", "device"])
GRPC_REQUESTS = Counter("zkprover_grpc_requests_total", "gRPC requests by method and status code", ["method", "code"])
GRPC_SECONDS = Histogram(
    "zkprover_grpc_request_seconds", "gRPC request handling time", ["method"], buckets=_STAGE_BUCKETS
)
BATCHES_SUBMITTED = Counter("zkprover_batches_submitted_total", "SubmitBatch outcomes", ["result"])
AUTH_FAILURES = Counter("zkprover_auth_failures_total", "Calls refused by authentication or role", ["reason"])

# L1 settlement and watching. Gas per transaction spans a 21,000 transfer to a 30M-gas block;
# fees a few gwei-priced transfers (~1e13 wei) to congested batch submissions (~1e17 wei).
_GAS_BUCKETS = (21_000, 50_000, 100_000, 200_000, 300_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 15_000_000)
_FEE_BUCKETS = tuple(10**e for e in range(12, 20))
L1_TRANSACTIONS = Counter("zkprover_l1_transactions_total", "L1 transactions by the settler, by outcome", ["outcome"])
L1_TX_GAS = Histogram("zkprover_l1_tx_gas_used", "Gas used per mined L1 transaction", buckets=_GAS_BUCKETS)
L1_TX_FEE = Histogram("zkprover_l1_tx_fee_wei", "Wei paid per mined L1 transaction", buckets=_FEE_BUCKETS)
L1_FEE_TOTAL = Counter("zkprover_l1_fee_wei", "Wei paid for all mined L1 transactions")
L1_SETTLED_BATCH = Gauge("zkprover_l1_settled_batch", "Newest batch number seen settled on L1")
L1_BLOCK = Gauge("zkprover_l1_block", "L1 block numbers the watcher follows", ["kind"])
L1_EVENTS = Counter("zkprover_l1_events_total", "L1 events handled by the watcher", ["event", "action"])
L1_REORGS = Counter("zkprover_l1_reorgs_total", "L1 reorgs the watcher saw above its cursor")
L1_BATCHES_UNSETTLED = Gauge(
    "zkprover_l1_batches_unsettled", "Batches submitted to the operator, not yet settled on L1"
)
L1_BATCH_GAS = Histogram("zkprover_l1_batch_gas_used", "Gas used per settled batch", buckets=_GAS_BUCKETS)
L1_BATCH_FEE = Histogram("zkprover_l1_batch_fee_wei", "Wei paid per settled batch", buckets=_FEE_BUCKETS)
L1_GAS_PER_TX = Gauge("zkprover_l1_gas_per_l2_tx", "Gas per L2 transaction of the newest settled batch")
L1_FEE_PER_TX = Gauge("zkprover_l1_fee_wei_per_l2_tx", "Wei per L2 transaction of the newest settled batch")
BATCHES_REVERTED = Counter(
    "zkprover_batches_reverted_total",
    "Batches taken out of the sequence (failed, cancelled, refused by L1, or after one that was)",
)
L1_REQUESTS_WAITING = Gauge("zkprover_l1_requests_waiting", "Confirmed L1 requests no batch has taken yet")
L1_DIVERGENCE = Gauge(
    "zkprover_l1_divergence", "1 while the operator's store and L1 disagree (it refuses to prove and settle), else 0"
)
L1_RECOVERED_BATCHES = Counter(
    "zkprover_l1_recovered_batches", "Settled batches rebuilt from L1's public data into a lost or stale store"
)


class _RecentRate:
    """Events per second over a sliding window (a gauge operators can read without PromQL)."""

    def __init__(self, window_s: float = 60.0) -> None:
        self.window_s = window_s
        self._times: collections.deque[float] = collections.deque()
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self._times.append(time.monotonic())

    def rate(self) -> float:
        cutoff = time.monotonic() - self.window_s
        with self._lock:
            while self._times and self._times[0] < cutoff:
                self._times.popleft()
            return len(self._times) / self.window_s


_PROOF_RATE = _RecentRate()
PROOFS_PER_SECOND = Gauge("zkprover_proofs_per_second", "Proofs per second over the last minute (this process)")
PROOFS_PER_SECOND.set_function(_PROOF_RATE.rate)


def proof_done(stages: dict[str, float]) -> None:
    """Record one finished proof: its stage durations, the counter and the recent rate."""
    for stage, seconds in stages.items():
        STAGE_SECONDS.labels(stage).observe(seconds)
    PROOFS.inc()
    _PROOF_RATE.add()


class QueueDepthCollector(Collector):
    """``zkprover_jobs{state}``, read from the job store at scrape time."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("zkprover_jobs", "Jobs in the store by state (queue depth)", labels=["state"])
        try:
            for state, n in self._counts().items():
                g.add_metric([state.lower()], n)
        except Exception as exc:  # a scrape must not fail because the store is briefly away
            log.warning("queue depth unavailable: %s", exc)
        yield g


class JobStageCollector(Collector):
    """``zkprover_jobs_by_stage{stage}``, read from the job store at scrape time."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("zkprover_jobs_by_stage", "Jobs in the store by pipeline stage", labels=["stage"])
        try:
            for stage, n in self._counts().items():
                g.add_metric([stage], n)
        except Exception as exc:  # a scrape must not fail because the store is briefly away
            log.warning("jobs by stage unavailable: %s", exc)
        yield g


class GpuMemoryCollector(Collector):
    """``zkprover_gpu_memory_bytes{kind}`` from CuPy, when the backend runs on a GPU."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("zkprover_gpu_memory_bytes", "GPU memory (device-wide)", labels=["kind"])
        try:
            import cupy

            free, total = cupy.cuda.runtime.memGetInfo()
            g.add_metric(["used"], total - free)
            g.add_metric(["total"], total)
            g.add_metric(["pool_used"], cupy.get_default_memory_pool().used_bytes())
        except Exception:  # no CuPy, no device: the metric is simply absent
            return
        yield g


_registered: dict[str, Collector] = {}


def register_collector(name: str, collector: Collector, registry: CollectorRegistry = REGISTRY) -> None:
    """Register (or replace) a named collector; tests start several servers in one process."""
    old = _registered.pop(name, None)
    if old is not None:
        registry.unregister(old)
    registry.register(collector)
    _registered[name] = collector


def set_backend(backend: object) -> None:
    """Publish the backend's description (and GPU memory, for a GPU backend)."""
    name = getattr(backend, "name", type(backend).__name__)
    describe = getattr(backend, "describe", None)
    device = describe() if callable(describe) else name
    BACKEND_INFO.clear()
    BACKEND_INFO.labels(str(name), str(device)).set(1)
    if name == "gpu":
        register_collector("gpu_memory", GpuMemoryCollector())


def serve_http(port: int, addr: str = "127.0.0.1") -> Callable[[], None]:
    """Start the /metrics HTTP endpoint (loopback unless ``addr`` says otherwise: the metrics
    name jobs and clients); returns a function that stops it."""
    server, thread = start_http_server(port, addr=addr)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
