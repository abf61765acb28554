"""Compile once, prove many: batch circuits and their proving keys cached on disk.

Building the constraints of a batch circuit takes seconds; the (development) Groth16 setup for it
takes minutes to hours in pure Python. So the key is cached, and the circuit is rebuilt in each
process (a ``CompiledCircuit`` holds closures for witness generation, which cannot be pickled):

    <cache>/circuits/<sha256 of the .r1cs>/circuit.r1cs   the constraint system as written
    <cache>/circuits/<sha256 of the .r1cs>/circuit.zkey   its proving key (snarkjs layout)
    <cache>/circuits/<name>.json                          name -> digest, for inspection

``<cache>`` is ``$ZKPROVER_CACHE_DIR`` or ``~/.cache/zkprover``. The directory name is the hash
of the rebuilt R1CS, so any change to the circuit code (a new constraint, a new wire order)
lands in a new directory instead of silently reusing a key that no longer fits. On load the
stored .r1cs is re-hashed (a truncated or tampered file is rebuilt, not trusted) and the key's
wire and public counts are checked against the circuit.

A directory is written under a temporary name and renamed into place, so readers never see a
half-written key; a lock file serialises concurrent builders of the same circuit, so two
workers starting together run the setup once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from circuits.builder import CompiledCircuit
from circuits.r1cs import R1CS, r1cs_writer, write_r1cs
from circuits.rollup.batch_circuit import build_batch_circuit
from circuits.rollup.params import BatchShape
from prover.backend.select import select_backend
from prover.groth16.keys import ProvingKey
from prover.groth16.setup import setup
from prover.groth16.zkey import read_zkey, write_zkey

log = logging.getLogger("zkprover.rollup.cache")

R1CS_NAME = "circuit.r1cs"
ZKEY_NAME = "circuit.zkey"


def default_cache_dir() -> Path:
    """``$ZKPROVER_CACHE_DIR`` or ``~/.cache/zkprover``."""
    env = os.environ.get("ZKPROVER_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "zkprover"


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class _HashSink:
    def __init__(self) -> None:
        self.hash = hashlib.sha256()

    def write(self, data: bytes | memoryview) -> None:
        self.hash.update(data)


def r1cs_digest(r1cs: R1CS) -> str:
    """SHA-256 of ``r1cs`` in .r1cs form, streamed: nothing is written, so a cache on a
    read-only volume can still be looked up."""
    sink = _HashSink()
    r1cs_writer(r1cs).write_to(sink)
    return sink.hash.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@dataclass
class CachedCircuit:
    """A compiled circuit with its proving key, and where the key lives."""

    circuit: CompiledCircuit
    pk: ProvingKey
    digest: str
    directory: Path
    from_cache: bool
    seconds: dict[str, float]


def _default_setup(r1cs: R1CS, name: str) -> ProvingKey:
    """The development setup, its fixed-base multiplications on the selected backend (a native
    ``batch_mul`` makes it minutes instead of hours for big batches)."""
    return setup(r1cs, name=name, backend=select_backend())


def _load(directory: Path, digest: str, circuit: CompiledCircuit) -> ProvingKey | None:
    r1cs_path, zkey_path = directory / R1CS_NAME, directory / ZKEY_NAME
    if not (r1cs_path.is_file() and zkey_path.is_file()):
        return None
    if _sha256_file(r1cs_path) != digest:
        log.warning("cached circuit %s: stored .r1cs does not match its hash; rebuilding", directory)
        return None
    try:
        pk = read_zkey(zkey_path)
    except (OSError, ValueError) as exc:
        log.warning("cached key %s unreadable (%s); rebuilding", zkey_path, exc)
        return None
    if pk.n_vars != circuit.r1cs.n_wires or pk.n_public != circuit.r1cs.n_public:
        log.warning("cached key %s does not fit the circuit; rebuilding", zkey_path)
        return None
    return pk


def load_or_setup(
    circuit: CompiledCircuit,
    *,
    cache_dir: str | os.PathLike | None = None,
    make_key: Callable[[R1CS, str], ProvingKey] | None = None,
) -> CachedCircuit:
    """The proving key of ``circuit`` from the cache, running the setup (and storing it) if absent.

    ``make_key(r1cs, name)`` defaults to the development setup; pass another to import a ceremony
    key or to use a faster setup.
    """
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    base = root / "circuits"
    seconds: dict[str, float] = {}
    t = time.perf_counter()
    digest = r1cs_digest(circuit.r1cs)
    seconds["hash"] = time.perf_counter() - t
    directory = base / digest
    pk = _load(directory, digest, circuit)
    if pk is not None:
        return CachedCircuit(circuit, pk, digest, directory, True, seconds)
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix=".tmp-") as scratch, _locked(base / f"{digest}.lock"):
        pk = _load(directory, digest, circuit)  # another process may have finished meanwhile
        if pk is not None:
            return CachedCircuit(circuit, pk, digest, directory, True, seconds)
        log.info("setup for %s (%d constraints): not cached, running it", circuit.name, circuit.n_constraints)
        t = time.perf_counter()
        pk = (make_key or _default_setup)(circuit.r1cs, circuit.name)
        seconds["setup"] = time.perf_counter() - t
        staging = Path(scratch) / "entry"
        staging.mkdir()
        write_r1cs(circuit.r1cs, staging / R1CS_NAME)
        write_zkey(pk, staging / ZKEY_NAME)
        if directory.exists():  # a stale or corrupt entry: replace it
            shutil.rmtree(directory)
        os.replace(staging, directory)
        (base / f"{circuit.name}.json").write_text(json.dumps({"digest": digest}) + "\n")
        return CachedCircuit(circuit, pk, digest, directory, False, seconds)


def batch_circuit(
    shape: BatchShape,
    *,
    cache_dir: str | os.PathLike | None = None,
    make_key: Callable[[R1CS, str], ProvingKey] | None = None,
) -> CachedCircuit:
    """The batch circuit for ``shape`` (rebuilt: seconds) and its key (cached: setup once)."""
    t = time.perf_counter()
    circuit = build_batch_circuit(shape)
    compile_s = time.perf_counter() - t
    cached = load_or_setup(circuit, cache_dir=cache_dir, make_key=make_key)
    cached.seconds["compile"] = compile_s
    return cached
