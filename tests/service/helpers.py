"""Builders shared by the service tests: a small registry, a core over a store, request makers."""

from __future__ import annotations

import socket

from prover.backend.python_backend import PythonBackend
from prover.service.core import ProverCore
from prover.service.example_rollup import ExampleOperator, ExampleRegistry
from prover.service.gen import prover_pb2 as pb

#: one registry (and its keys) for the whole session: setups are the slow part of these tests
_REGISTRY: ExampleRegistry | None = None


def registry() -> ExampleRegistry:
    global _REGISTRY
    if _REGISTRY is None:
        _REGISTRY = ExampleRegistry(sizes=(1, 2), rounds_per_tx=2)
    return _REGISTRY


def make_core(store, max_attempts: int = 3) -> ProverCore:
    core = ProverCore(store, ExampleOperator(capacity=1024), registry(), max_attempts=max_attempts,
                      backend_description="python")  # fmt: skip
    core.start()
    return core


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def backend() -> PythonBackend:
    return PythonBackend()


DEPOSITOR = "0x" + "d0" * 20


def deposit(index: int, amount: int, key: tuple[int, int] = (1, 2), depositor: str = DEPOSITOR) -> pb.Transaction:
    """A deposit creating account ``index`` with ``key`` (L1 deposit(ax, ay))."""
    d = pb.Deposit(to_index=index, pubkey_ax=str(key[0]), pubkey_ay=str(key[1]), amount=str(amount))
    d.depositor = depositor
    return pb.Transaction(deposit=d)


def top_up(index: int, amount: int, depositor: str = DEPOSITOR) -> pb.Transaction:
    """A deposit to the existing account ``index`` (L1 depositTo(index))."""
    return pb.Transaction(deposit=pb.Deposit(to_index=index, amount=str(amount), depositor=depositor))


def forced_exit(index: int, requester: str = DEPOSITOR) -> pb.Transaction:
    return pb.Transaction(forced_exit=pb.ForcedExit(index=index, requester=requester))


def transfer(src: int, dst: int, amount: int, nonce: int, fee: int = 0) -> pb.Transaction:
    return pb.Transaction(
        transfer=pb.Transfer(
            from_index=src,
            to_index=dst,
            amount=str(amount),
            fee=str(fee),
            nonce=nonce,
            signature=pb.Signature(r8x="1", r8y="2", s="3"),
        )
    )
