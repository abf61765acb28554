"""The service verbs of ``zkprover``: serve, worker, submit, status (and an end-to-end demo).

``prover.cli`` registers them with :func:`add_service_verbs`; they live here so the service's
options stay next to the service.

    zkprover serve  [--listen ADDR] [--store URL] [--workers N] [--metrics-port P] ...
                    [--tls-cert F --tls-key F [--tls-client-ca F]] [--tokens-file F]
    zkprover worker [--store URL] [--backend B] [--lease S] [--id NAME] [--metrics-port P]
    zkprover submit BATCH.json [--server ADDR] [--batch-id ID] [--watch] [--proof F --public F]
    zkprover status [JOB_ID | --batch-id ID | --list [--state S]] [--server ADDR]
                    (clients: [--tls | --tls-ca F] [--tls-cert F --tls-key F] [--token-file F])
    zkprover service-demo                 server in-process on SQLite: submit, watch, verify

Stores: ``sqlite:///path.db`` (default ``$ZKPROVER_STORE`` or ``sqlite:///zkprover-data/jobs.db``)
or ``postgresql://user@host/db?schema=NAME``. Secrets never go on the command line, where ``ps``
shows them: a store password comes from ``--store-password-file`` or the environment
(``$ZKPROVER_STORE`` with the password in it, or libpq's ``$PGPASSWORD``); tokens from files or
the environment (``prover.service.auth``). ``--rollup`` picks the state machine: ``rollup``
(the real operator and batch circuit) or ``example`` (a stand-in ledger proving a tiny cube chain,
for trying the service in seconds); servers and workers of one deployment must agree.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from typing import Any

log = logging.getLogger("zkprover.service")

DEFAULT_STORE = "sqlite:///zkprover-data/jobs.db"
DEFAULT_SERVER = "127.0.0.1:50051"


class UsageError(ValueError):
    """A bad combination of options; ``zkprover`` prints it and exits 2."""


def _store_url(args: argparse.Namespace) -> str:
    from urllib.parse import quote, urlsplit

    if args.store and urlsplit(args.store).password:
        raise UsageError(
            "--store must not carry a password (the command line is visible in ps): set $ZKPROVER_STORE "
            "or use --store-password-file"
        )
    url = args.store or os.environ.get("ZKPROVER_STORE") or DEFAULT_STORE
    path = args.store_password_file or os.environ.get("ZKPROVER_STORE_PASSWORD_FILE")
    if path:
        parts = urlsplit(url)
        if not parts.scheme.startswith("postgres"):
            raise UsageError("--store-password-file is for a PostgreSQL store")
        with open(path) as f:
            password = f.read().strip()
        user = parts.username or ""
        host = parts.netloc.rsplit("@", 1)[-1]
        url = parts._replace(netloc=f"{quote(user, safe='')}:{quote(password, safe='')}@{host}").geturl()
    return url


def _sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"batch sizes: {text!r} is not a comma-separated list of integers") from None
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("batch sizes must be positive")
    return sizes


def _pipeline_depth(text: str) -> int:
    try:
        depth = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"pipeline depth: {text!r} is not an integer") from None
    if depth < 1:
        raise argparse.ArgumentTypeError(f"pipeline depth: {depth} jobs in flight; it must be at least 1")
    return depth


#: jobs in flight per worker by default: one proving and the next one's witness. A batch-32
#: witness is ~1M field elements (tens of MB as Python ints); a deeper pipeline helps where a
#: witness takes longer than a proof, and costs that memory per extra job.
DEFAULT_PIPELINE_DEPTH = 2


def _add_pipeline_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--pipeline-depth",
        type=_pipeline_depth,
        default=DEFAULT_PIPELINE_DEPTH,
        help="jobs in flight per worker: one proving while the next ones' witnesses are built "
        f"(1: no pipeline; default {DEFAULT_PIPELINE_DEPTH}; each extra job holds its witness in memory)",
    )


def _l1_address(text: str) -> int:
    """An L1 address: 0x and up to 40 hex digits (``0x0`` is the placeholder before deployment)."""
    digits = text.lower().removeprefix("0x")
    hex_ok = all(c in "0123456789abcdef" for c in digits)
    if not text.lower().startswith("0x") or not 1 <= len(digits) <= 40 or not hex_ok:
        raise argparse.ArgumentTypeError(f"rollup address: {text!r} is not 0x followed by up to 40 hex digits")
    return int(digits, 16)


def build_rollup(args: argparse.Namespace) -> tuple[Any, Any]:
    """(operator, registry) for ``--rollup``."""
    if args.rollup == "example":
        from prover.rollup.circuit_cache import default_cache_dir
        from prover.service.example_rollup import ExampleOperator, ExampleRegistry, KeyCache

        # A folder by default: a server and its workers must prove and verify with one key,
        # and a setup per process would give each its own.
        keys = KeyCache(os.path.join(args.cache_dir or default_cache_dir(), "example-keys"))
        return ExampleOperator(capacity=4**args.depth), ExampleRegistry(args.batch_sizes, keys=keys)
    from prover.rollup.memory_check import check_batch_shapes
    from prover.service.rollup_adapter import RollupAdapter, RollupRegistry

    # Before anything is built: a batch shape whose key, proof or setup cannot fit stops the
    # process now with the figures, not the kernel's OOM killer minutes into a setup or a proof.
    # Ceremony keys (--keys-dir) are never set up here; development keys may be. An API-only
    # server (serve --workers 0) holds the keys but does not prove.
    ceremony = args.keys_dir or os.environ.get("ZKPROVER_KEYS_DIR")
    check_batch_shapes(args.batch_sizes, args.depth, setup=not ceremony, proving=getattr(args, "workers", 1) > 0)
    operator = RollupAdapter(
        depth=args.depth, chain_id=args.chain_id, fee_account=args.fee_account, rollup_address=args.rollup_address
    )
    registry = RollupRegistry(args.batch_sizes, depth=args.depth, cache_dir=args.cache_dir, keys=key_policy(args))
    registry.check_keys()  # at start: a missing or unpinned key stops the process here, not a job later
    return operator, registry


def key_policy(args: argparse.Namespace):
    """--keys-dir / --key-sha256 / --allow-development-keys, each defaulting to its environment
    variable (ZKPROVER_KEYS_DIR, ZKPROVER_KEY_SHA256, ZKPROVER_ALLOW_DEVELOPMENT_KEYS)."""
    from pathlib import Path

    from prover.rollup.key_source import KeyPolicy, parse_pins

    keys_dir = args.keys_dir or os.environ.get("ZKPROVER_KEYS_DIR") or None
    pins = parse_pins(",".join([os.environ.get("ZKPROVER_KEY_SHA256", ""), *args.key_sha256]))
    allow = args.allow_development_keys or os.environ.get("ZKPROVER_ALLOW_DEVELOPMENT_KEYS", "") not in ("", "0")
    return KeyPolicy(Path(keys_dir) if keys_dir else None, pins, allow)


def _add_rollup_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=None, help=f"job store URL (default $ZKPROVER_STORE or {DEFAULT_STORE})")
    p.add_argument(
        "--store-password-file", default=None, help="file holding the PostgreSQL password (not in --store: ps shows it)"
    )
    p.add_argument("--rollup", choices=("rollup", "example"), default="rollup", help="state machine (default rollup)")
    p.add_argument("--batch-sizes", type=_sizes, default=[1, 2, 4], help="circuit batch sizes (default 1,2,4)")
    p.add_argument("--depth", type=int, default=12, help="state tree depth, 4^depth accounts (default 12)")
    p.add_argument("--chain-id", type=int, default=1, help="the L1's chain id, < 2^64 (default 1)")
    p.add_argument(
        "--rollup-address",
        type=_l1_address,
        default=0,
        help="the L1 Rollup contract's address (0x + 40 hex digits): with the chain id, the domain every "
        "proof and signature is bound to (default 0x0: no L1 deployment yet)",
    )
    p.add_argument("--fee-account", type=int, default=0, help="account credited with fees (default 0)")
    p.add_argument("--cache-dir", default=None, help="circuit/key cache (default $ZKPROVER_CACHE_DIR or ~/.cache)")
    p.add_argument("--keys-dir", default=None, help="ceremony keys, <dir>/rollup_b<N>_d<D>.zkey ($ZKPROVER_KEYS_DIR)")
    p.add_argument(
        "--key-sha256", action="append", default=[], help="NAME=SHA256 pin of a ceremony key, repeatable "
        "(also $ZKPROVER_KEY_SHA256, comma-separated)"
    )  # fmt: skip
    p.add_argument(
        "--allow-development-keys", action="store_true", help="accept development keys (forgeable: trials "
        "only; $ZKPROVER_ALLOW_DEVELOPMENT_KEYS=1)"
    )  # fmt: skip
    p.add_argument("--backend", default=None, help="auto | gpu | cpu | python | gpu-emu")
    p.add_argument("--lease", type=float, default=30.0, help="worker lease seconds (heartbeat every third)")
    p.add_argument("--metrics-port", type=int, default=None, help="serve Prometheus /metrics on this port")
    p.add_argument(
        "--metrics-address", default="127.0.0.1", help="address /metrics binds (default 127.0.0.1; 0.0.0.0 in pods)"
    )
    p.add_argument("--no-verify", action="store_true", help="skip the self-check of each proof")


def _add_l1_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--l1",
        default=os.environ.get("ZKPROVER_L1_URL"),
        metavar="URL",
        help="the L1 node's JSON-RPC URL (default $ZKPROVER_L1_URL; none: an embedded in-process EVM with a fresh "
        "Rollup, for trials). The operator key comes from --l1-key-file, $ZKPROVER_L1_KEY_FILE or $ZKPROVER_L1_KEY",
    )
    p.add_argument(
        "--l1-role",
        choices=("operator", "api"),
        default=os.environ.get("ZKPROVER_L1_ROLE", "operator"),
        help="operator (default, $ZKPROVER_L1_ROLE): follow L1 and settle batches; exactly ONE server of a "
        "deployment may be it. api: serve the API on the shared store (L1 requests from the operator's ledger, "
        "no L1 connection, no key); needs --chain-id and --rollup-address of the operator's Rollup",
    )
    p.add_argument("--l1-key-file", default=None, help="file holding the operator's L1 private key (mode 600)")
    p.add_argument("--confirmations", type=int, default=2, help="blocks before an L1 request counts (default 2)")
    p.add_argument(
        "--l1-batch-after",
        type=float,
        default=5.0,
        help="seconds L1 requests may wait for a client batch before an L1-only batch is made (default 5)",
    )
    p.add_argument("--max-fee-gwei", type=float, default=500.0, help="settlement fee cap, gwei per gas (default 500)")


def build_l1(args: argparse.Namespace, store: Any, operator: Any, registry: Any) -> Any:
    """The L1 loop for ``serve`` with the real rollup: the link (node or embedded EVM), its
    domain bound into the operator. One batch size only, the largest given: the Rollup verifies
    one circuit's key, so batches of any other size could never settle."""
    from prover.service.l1_link import L1Loop, LinkConfig, connect

    size = max(args.batch_sizes)
    if len(args.batch_sizes) > 1:
        log.warning("linked to L1: batches of %d only (the Rollup holds one verifying key)", size)
        registry.sizes = [size]
    config = LinkConfig(
        confirmations=args.confirmations,
        max_fee_per_gas=int(args.max_fee_gwei * 10**9),
        l1_batch_after_s=args.l1_batch_after,
    )
    url = args.l1 or None  # an empty $ZKPROVER_L1_URL: the embedded chain
    vk = None if url else registry.get(size).pk.vk
    link = connect(
        store, url=url, rollup_address=args.rollup_address, key_file=args.l1_key_file, config=config, vk=vk,
        depth=args.depth,
    )  # fmt: skip
    if link.chain.chain_id != operator.domain.chain_id or link.rollup_address != operator.domain.rollup_address:
        operator.domain = type(operator.domain)(link.chain.chain_id, link.rollup_address)
    return L1Loop(link, None)


# --- serve / worker ---------------------------------------------------------------------------
def cmd_serve(args: argparse.Namespace) -> int:
    from prover.backend.select import select_backend
    from prover.jobs import open_store
    from prover.service.auth import TokenTable, server_credentials
    from prover.service.core import ProverCore
    from prover.service.limits import Limits
    from prover.service.server import ProverServer

    tokens = TokenTable.from_sources(args.tokens_file)
    cert = args.tls_cert or os.environ.get("ZKPROVER_TLS_CERT")
    key = args.tls_key or os.environ.get("ZKPROVER_TLS_KEY")
    client_ca = args.tls_client_ca or os.environ.get("ZKPROVER_TLS_CLIENT_CA")
    if bool(cert) != bool(key):
        raise UsageError("TLS needs both --tls-cert and --tls-key")
    if client_ca and not cert:
        raise UsageError("--tls-client-ca (mutual TLS) needs --tls-cert and --tls-key")
    tls = server_credentials(cert, key, client_ca) if cert and key else None
    limits = Limits(
        max_streams=args.max_streams,
        max_streams_per_client=args.max_streams_per_client,
        rate_per_client=args.rate_limit,
        burst_per_client=max(1, int(2 * args.rate_limit)),
    )
    store_url = _store_url(args)  # option mistakes first, before the (slow) key checks
    if args.rollup == "rollup" and args.l1_role == "api" and not args.rollup_address:
        raise UsageError(
            "--l1-role=api needs --rollup-address (and --chain-id): the operator's Rollup, which every proof and "
            "signature is bound to"
        )
    backend = select_backend(args.backend) if args.workers else None
    operator, registry = build_rollup(args)
    store = open_store(store_url)
    linked = args.rollup == "rollup"
    l1_loop = build_l1(args, store, operator, registry) if linked and args.l1_role == "operator" else None
    core = ProverCore(
        store,
        operator,
        registry,
        max_attempts=args.max_attempts,
        backend_description=backend.describe() if backend else "none (API only; proofs by zkprover worker)",
        requests_from_l1=linked,
    )
    if l1_loop is not None:
        l1_loop.core = core
    server = ProverServer(
        core,
        address=args.listen,
        backend=backend,
        workers=args.workers,
        lease_s=args.lease,
        verify_proofs=not args.no_verify,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        tokens=tokens,
        tls=tls,
        limits=limits,
        allow_insecure=args.allow_insecure,
        l1_loop=l1_loop,
        pipeline_depth=args.pipeline_depth,
    )
    port = server.start()
    server.install_signal_handlers(grace_s=args.grace)
    print(f"zkprover serving prover.v1 on {args.listen.rsplit(':', 1)[0]}:{port}", flush=True)
    server.wait()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from prover import metrics
    from prover.backend.select import select_backend
    from prover.jobs import open_store
    from prover.service.worker import Worker

    store_url = _store_url(args)  # option mistakes first, before the (slow) key checks
    backend = select_backend(args.backend)
    _, registry = build_rollup(args)
    store = open_store(store_url)
    store.migrate()
    worker = Worker(
        store,
        registry,
        backend,
        worker_id=args.id,
        lease_s=args.lease,
        verify_proofs=not args.no_verify,
        grace_s=args.grace,
        hold_s=float(os.environ.get("ZKPROVER_TEST_HOLD_S", "0")),  # test hook: see tests/service
        pipeline_depth=args.pipeline_depth,
    )
    metrics.set_backend(backend)
    metrics.register_collector("queue_depth", metrics.QueueDepthCollector(store.counts))
    metrics.register_collector("jobs_by_stage", metrics.JobStageCollector(store.stage_counts))
    stop_metrics = (
        metrics.serve_http(args.metrics_port, args.metrics_address) if args.metrics_port is not None else None
    )

    def on_signal(signum: int, _frame: object) -> None:
        log.info("worker %s: signal %d, finishing the current job", worker.worker_id, signum)
        worker.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    print(f"zkprover worker {worker.worker_id} on {store!r}", flush=True)
    t = threading.Thread(target=worker.run, name="worker")
    t.start()
    while t.is_alive():
        t.join(0.5)  # the main thread stays free to receive signals
    if stop_metrics:
        stop_metrics()
    store.close()
    return 0


# --- client verbs ------------------------------------------------------------------------------
def _stub(args: argparse.Namespace) -> Any:
    from prover.service.auth import client_token
    from prover.service.client import connect
    from prover.service.gen import prover_pb2_grpc as pb_grpc

    channel = connect(
        args.server,
        token=client_token(args.token_file),
        tls=args.tls,
        ca=args.tls_ca or os.environ.get("ZKPROVER_TLS_CA"),
        cert=args.tls_cert,
        key=args.tls_key,
        server_name=args.tls_server_name,
    )
    return pb_grpc.ProverServiceStub(channel)


def _add_client_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--server", default=DEFAULT_SERVER)
    p.add_argument("--token-file", default=None, help="bearer token file (or $ZKPROVER_TOKEN_FILE, $ZKPROVER_TOKEN)")
    p.add_argument("--tls", action="store_true", help="TLS, trusting the system's CAs (or --tls-ca)")
    p.add_argument("--tls-ca", default=None, help="CA certificate to trust for the server (implies --tls)")
    p.add_argument("--tls-cert", default=None, help="client certificate, for mutual TLS")
    p.add_argument("--tls-key", default=None, help="client key, for mutual TLS")
    p.add_argument("--tls-server-name", default=None, help="expect this name in the server certificate")


def _job_line(job: Any) -> str:
    from prover.service.gen import prover_pb2 as pb

    state = pb.JobState.Name(job.state).removeprefix("JOB_STATE_")
    if job.stage != pb.JOB_STAGE_UNSPECIFIED:
        state += "/" + pb.JobStage.Name(job.stage).removeprefix("JOB_STAGE_").lower()
    extra = f" error={job.last_error!r}" if job.last_error else ""
    timing = f" total={job.stage_seconds['total']:.3f}s" if "total" in job.stage_seconds else ""
    return (
        f"{job.job_id} batch={job.batch_id} #{job.batch_number} {state} attempts={job.attempts}/{job.max_attempts}"
        f"{timing}{extra}"
    )


def _rpc_error(exc: Exception) -> int:
    code = exc.code().name if hasattr(exc, "code") else "?"
    details = exc.details() if hasattr(exc, "details") else str(exc)
    print(f"error: {code}: {details}", file=sys.stderr)
    return 2


def cmd_submit(args: argparse.Namespace) -> int:
    import grpc
    from google.protobuf import json_format

    from prover.service.gen import prover_pb2 as pb

    with open(args.batch) as f:
        data = json.load(f)
    if isinstance(data, list):
        data = {"transactions": data}
    request = pb.SubmitBatchRequest()
    try:
        json_format.ParseDict(data, request)
    except json_format.ParseError as exc:
        print(f"error: {args.batch}: {exc}", file=sys.stderr)
        return 2
    request.batch_id = args.batch_id or request.batch_id or uuid.uuid4().hex
    stub = _stub(args)
    try:
        resp = stub.SubmitBatch(request, timeout=args.timeout)
        print(("submitted " if resp.created else "already submitted ") + _job_line(resp.job), flush=True)
        job = resp.job
        if args.watch or args.proof:
            for job in stub.WatchJob(pb.WatchJobRequest(job_id=resp.job.job_id)):
                print("  " + _job_line(job), flush=True)
    except grpc.RpcError as exc:
        return _rpc_error(exc)
    if args.proof and job.state == pb.JOB_STATE_SUCCEEDED:
        with open(args.proof, "w") as f:
            f.write(json.dumps(json.loads(job.proof_json), indent=1) + "\n")
        if args.public:
            with open(args.public, "w") as f:
                f.write(json.dumps(list(job.public_signals), indent=1) + "\n")
    final_bad = job.state in (pb.JOB_STATE_FAILED, pb.JOB_STATE_CANCELLED)
    return 1 if final_bad else 0


def cmd_status(args: argparse.Namespace) -> int:
    import grpc

    from prover.service.gen import prover_pb2 as pb

    stub = _stub(args)
    try:
        if args.job_id or args.batch_id:
            job = stub.GetJob(pb.GetJobRequest(job_id=args.job_id or "", batch_id=args.batch_id or ""), timeout=10)
            print(_job_line(job))
            if args.json:
                print(json.dumps(json.loads(_to_json(job)), indent=1))
            return 0
        state = pb.JobState.Value(f"JOB_STATE_{args.state.upper()}") if args.state else 0
        root = stub.GetStateRoot(pb.GetStateRootRequest(), timeout=10)
        print(f"state root {root.root} at batch {root.batch_number}; proven up to batch {root.proven_batch_number}")
        token = ""
        while True:
            page = stub.ListJobs(pb.ListJobsRequest(state=state, page_size=100, page_token=token), timeout=10)
            for job in page.jobs:
                print(_job_line(job))
            token = page.next_page_token
            if not token:
                return 0
    except grpc.RpcError as exc:
        return _rpc_error(exc)


def _to_json(msg: Any) -> str:
    from google.protobuf import json_format

    return json_format.MessageToJson(msg, preserving_proto_field_name=True)


# --- end-to-end demo ----------------------------------------------------------------------------
def cmd_service_demo(args: argparse.Namespace) -> int:
    """Server in-process on a temporary SQLite store: submit a batch over gRPC, watch, verify."""
    import grpc

    from prover.groth16.formats import proof_from_json, vk_from_json
    from prover.groth16.verifier import verify
    from prover.service.gen import prover_pb2 as pb

    with tempfile.TemporaryDirectory(prefix="zkprover-demo-") as tmp:
        args.store = f"sqlite:///{tmp}/jobs.db"
        args.listen = "127.0.0.1:0"
        args.workers, args.max_attempts, args.grace = 1, 3, 10.0
        from prover.backend.select import select_backend
        from prover.jobs import open_store
        from prover.service.core import ProverCore
        from prover.service.server import ProverServer

        t0 = time.perf_counter()
        backend = select_backend(args.backend)
        operator, registry = build_rollup(args)
        core = ProverCore(open_store(args.store), operator, registry, backend_description=backend.describe())
        server = ProverServer(core, address=args.listen, backend=backend, workers=1, lease_s=args.lease)
        port = server.start()
        from prover.service.gen import prover_pb2_grpc as pb_grpc

        stub = pb_grpc.ProverServiceStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        print(f"zkprover service demo: server on 127.0.0.1:{port}, store {args.store}, backend {backend.describe()}")
        try:
            info = stub.GetCircuitInfo(pb.GetCircuitInfoRequest(), timeout=600)
            c = info.circuits[0]
            print(
                f"  circuit   {c.name}: {c.constraints} constraints, key {c.key_hash[:16]}…, {c.provenance} key"
                + (f" ({len(c.contribution_hashes)} contributions)" if c.contribution_hashes else "")
            )
            txs = demo_transactions(args, operator)
            t = time.perf_counter()
            resp = stub.SubmitBatch(pb.SubmitBatchRequest(batch_id="demo-1", transactions=txs, batch_size=c.batch_size))
            print(f"  submit    {_job_line(resp.job)}")
            for job in stub.WatchJob(pb.WatchJobRequest(job_id=resp.job.job_id)):
                print(f"  watch     {pb.JobState.Name(job.state).removeprefix('JOB_STATE_')}")
            latency = time.perf_counter() - t
            vk_resp = stub.GetVerifyingKey(pb.GetVerifyingKeyRequest(batch_size=c.batch_size))
            vk = vk_from_json(json.loads(vk_resp.verification_key_json))
            ok = job.state == pb.JOB_STATE_SUCCEEDED and verify(
                vk, [int(s) for s in job.public_signals], proof_from_json(json.loads(job.proof_json))
            )
            print(f"  proof     {'valid' if ok else 'INVALID'}; submit->proof {latency:.2f} s, stages "
                  + ", ".join(f"{k} {v:.3f}" for k, v in job.stage_seconds.items()))  # fmt: skip
            acct = stub.GetAccount(pb.GetAccountRequest(index=0))
            print(f"  account 0 balance {acct.balance}; total {time.perf_counter() - t0:.1f} s")
            return 0 if ok else 1
        finally:
            server.stop(5)


def demo_transactions(args: argparse.Namespace, operator: Any) -> list[Any]:
    """One deposit (and, for the real rollup, a signed transfer) as protobuf transactions."""
    from prover.service.gen import prover_pb2 as pb

    depositor = "0x" + "11" * 20
    if args.rollup == "example":
        key = (1, 2)
    else:
        from prover.rollup.accounts import generate_key

        key = generate_key().public_key().point
    deposit = pb.Deposit(to_index=0, pubkey_ax=str(key[0]), pubkey_ay=str(key[1]), amount="1000", depositor=depositor)
    return [pb.Transaction(deposit=deposit)]


# --- registration -------------------------------------------------------------------------------
def add_service_verbs(sub: Any) -> None:
    s = sub.add_parser("serve", help="run the gRPC prover service (proves in-process unless --workers 0)")
    s.add_argument("--listen", default=DEFAULT_SERVER, help=f"address to bind (default {DEFAULT_SERVER})")
    s.add_argument("--workers", type=int, default=1, help="in-process workers (0: API only)")
    s.add_argument("--max-attempts", type=int, default=3, help="claims per job before it fails (default 3)")
    s.add_argument("--grace", type=float, default=30.0, help="shutdown grace seconds (default 30)")
    s.add_argument(
        "--tokens-file", default=None, help="'CLIENT ROLE TOKEN' lines (or $ZKPROVER_TOKENS_FILE, $ZKPROVER_TOKENS)"
    )
    s.add_argument("--tls-cert", default=None, help="server certificate chain, PEM (default $ZKPROVER_TLS_CERT)")
    s.add_argument("--tls-key", default=None, help="server private key, PEM (default $ZKPROVER_TLS_KEY)")
    s.add_argument("--tls-client-ca", default=None, help="require client certificates signed by this CA (mutual TLS)")
    s.add_argument("--allow-insecure", action="store_true", help="listen beyond loopback without TLS and tokens")
    s.add_argument("--max-streams", type=int, default=128, help="open WatchJob streams, all clients (default 128)")
    s.add_argument("--max-streams-per-client", type=int, default=32, help="open streams per client (default 32)")
    s.add_argument("--rate-limit", type=float, default=100.0, help="requests per second per client (default 100)")
    _add_rollup_options(s)
    _add_pipeline_option(s)
    _add_l1_options(s)
    s.set_defaults(fn=cmd_serve)

    w = sub.add_parser("worker", help="claim and prove jobs from a shared store (one per GPU)")
    w.add_argument("--id", default=None, help="worker id (default host-pid-random)")
    w.add_argument("--grace", type=float, default=30.0, help="on SIGTERM, finish the job within this, else release")
    _add_rollup_options(w)
    _add_pipeline_option(w)
    w.set_defaults(fn=cmd_worker)

    m = sub.add_parser("submit", help="submit a batch (JSON: a list of transactions, protobuf JSON form)")
    m.add_argument("batch", help="JSON file: [{'deposit': {...}}, {'transfer': {...}}] or a SubmitBatchRequest")
    _add_client_options(m)
    m.add_argument("--batch-id", default=None, help="idempotency key (default: from the file, else random)")
    m.add_argument("--watch", action="store_true", help="stream the job's states until it ends")
    m.add_argument("--proof", default=None, help="wait, then write proof.json here")
    m.add_argument("--public", default=None, help="with --proof: write public.json here")
    m.add_argument("--timeout", type=float, default=60.0)
    m.set_defaults(fn=cmd_submit)

    st = sub.add_parser("status", help="show a job, or list jobs and the state root")
    st.add_argument("job_id", nargs="?", default=None)
    st.add_argument("--batch-id", default=None)
    st.add_argument("--state", default=None, help="list only jobs in this state (queued, proving, ...)")
    st.add_argument("--json", action="store_true", help="print the whole job as JSON")
    _add_client_options(st)
    st.set_defaults(fn=cmd_status)

    d = sub.add_parser("service-demo", help="end-to-end: server in-process on SQLite, submit, watch, verify")
    _add_rollup_options(d)
    # the demo proves on a development key, explicitly allowed (check_keys logs it)
    d.set_defaults(
        fn=cmd_service_demo, batch_sizes=[1], depth=2, cache_dir=None, rollup="rollup", allow_development_keys=True
    )
