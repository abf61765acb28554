"""Memory a Groth16 key needs, estimated from the circuit's size, and the memory there is.

A proving key, its setup and its proofs all grow with the constraint count and the domain, so
their memory is predicted from those two numbers and checked *before* the work starts: a batch
circuit too big for the machine is refused in a second with the figures, instead of being killed
by the kernel after many minutes of setup or in the middle of a proof.

Host memory is linear in the constraint count: a fixed :data:`HOST_BASE` (interpreter, numpy,
the native library) plus bytes per constraint for each of three figures, taken from
:data:`HOST_CALIBRATION`, the measurements of ``deploy/scripts/measure_memory.py`` (the
deploy/README sizes table). Each per-constraint rate is the *largest* of the measured ones, so the
estimate is at or above every measurement. GPU memory is what ``GpuEngine.load_key`` checks
before uploading a key (points, A/B matrices, scratch, twiddle tables, ``MEMORY_MARGIN``), with
the signal and matrix-term counts taken per constraint from measured keys.

Available host memory is the smaller of ``MemAvailable`` and what the process's cgroup still
allows (limit minus usage, the reclaimable page cache not counted as used; v2 or v1);
``$ZKPROVER_MEMORY_AVAILABLE`` (bytes, or with a K/M/G/T suffix) replaces both, e.g. to keep
room for another process on the same host.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
GIB = 1 << 30

#: Bytes kept free on a GPU for the CUDA context, kernels' stacks and allocator slack (here, not in
#: ``gpu_engine``, which imports numpy and the kernel plans: every ``zkprover prove`` estimates).
MEMORY_MARGIN = 256 << 20

#: Interpreter, numpy and the native library, before any circuit: ~40 MiB measured at start,
#: ~100 MiB once the backend and the circuit code are imported.
HOST_BASE = 100 * MIB


@dataclass(frozen=True)
class HostMeasurement:
    """One row of the sizes table: what ``measure_memory.py`` reported for a circuit."""

    constraints: int
    resident: int  # RSS after the key is loaded and one proof is done (a worker between jobs)
    proving_peak: int  # the high-water mark of that run (cached key)
    setup_peak: int  # the high-water mark of a first run: circuit build, setup, key written


#: deploy/README.md, section 5 (depth 12, CPU backend, 2 threads), in MiB as measured. The setup
#: peak is the first run's high-water mark up to the key being written (batch 8: the whole run).
#: Batch 128's resident figure is the first run's (for batch 64 the cached-key run's was 2 MiB less).
HOST_CALIBRATION: dict[str, HostMeasurement] = {
    "rollup_b8_d12": HostMeasurement(291_419, 783 * MIB, 913 * MIB, 924 * MIB),
    "rollup_b32_d12": HostMeasurement(955_259, 2_497 * MIB, 3_185 * MIB, 2_882 * MIB),
    "rollup_b64_d12": HostMeasurement(1_898_878, 4_779 * MIB, 6_260 * MIB, 5_610 * MIB),
    "rollup_b128_d12": HostMeasurement(3_710_006, 9_424 * MIB, 12_292 * MIB, 11_054 * MIB),
}


def _rate(figure: str) -> float:
    """Bytes per constraint above :data:`HOST_BASE`: the largest measured."""
    return max((getattr(m, figure) - HOST_BASE) / m.constraints for m in HOST_CALIBRATION.values())


#: GPU key data per constraint (points of A, B1, B2, C per signal; A/B matrix terms at 36 bytes;
#: the witness scratch), from the batch-64 key (1,899,237 signals and 45,542,662 A/B terms for
#: 1,898,878 constraints).
GPU_SIGNALS_PER_CONSTRAINT = 1.0002
GPU_TERMS_PER_CONSTRAINT = 24.0
_GPU_POINT_BYTES_PER_SIGNAL = 64 + 64 + 128 + 64  # A, B1 and C in G1, B2 in G2 (affine)
# per domain element: H points (64), [a|b|c] and h scratch (4·32), twiddle tables (32), CSR rows (2·8)
_GPU_BYTES_PER_DOMAIN = 64 + 4 * 32 + 32 + 2 * 8


def domain_for(constraints: int, n_public: int) -> int:
    """The QAP domain: the smallest power of two holding the constraints and one extra constraint
    per public signal and the constant (snarkjs's layout)."""
    need = constraints + n_public + 1
    return 1 << max(0, (need - 1).bit_length())


@dataclass(frozen=True)
class MemoryEstimate:
    """Estimated memory for one circuit, in bytes."""

    name: str
    constraints: int
    domain: int
    resident: int  # host, with the key loaded (held for as long as the process serves the shape)
    proving_peak: int  # host, while proving
    setup_peak: int  # host, building the circuit and running the development setup
    gpu: int  # device, what GpuBackend.load_key will ask for

    def describe(self) -> str:
        return (
            f"{self.name}: ~{self.constraints:,} constraints, domain 2^{self.domain.bit_length() - 1}, "
            f"host ~{gib(self.resident)} with the key, ~{gib(self.proving_peak)} proving, "
            f"~{gib(self.setup_peak)} for the setup; GPU ~{gib(self.gpu)}"
        )


def estimate(name: str, constraints: int, n_public: int, *, uncertainty: float = 0.0) -> MemoryEstimate:
    """Memory for a circuit of ``constraints`` constraints and ``n_public`` public signals;
    ``uncertainty`` (relative) raises every constraint-proportional part, for a predicted count."""
    n = domain_for(constraints, n_public)
    scaled = constraints * (1 + uncertainty)
    signals = GPU_SIGNALS_PER_CONSTRAINT * scaled
    gpu = (
        signals * (_GPU_POINT_BYTES_PER_SIGNAL + 32)
        + GPU_TERMS_PER_CONSTRAINT * scaled * (32 + 4)
        + n * _GPU_BYTES_PER_DOMAIN
        + MEMORY_MARGIN
    )
    return MemoryEstimate(
        name=name,
        constraints=constraints,
        domain=n,
        resident=round(HOST_BASE + _rate("resident") * scaled),
        proving_peak=round(HOST_BASE + _rate("proving_peak") * scaled),
        setup_peak=round(HOST_BASE + _rate("setup_peak") * scaled),
        gpu=round(gpu),
    )


def host_need(estimates: list[MemoryEstimate], *, setup: bool, proving: bool = True) -> int:
    """Host memory for one process serving every circuit in ``estimates``: all keys resident
    (a registry keeps each once loaded), plus the largest transient on top: a proof's where the
    process proves, a setup's where keys may have to be made."""
    if not estimates:
        return 0
    resident = sum(e.resident for e in estimates)
    transient = max(
        max(e.proving_peak if proving else e.resident, e.setup_peak if setup else 0) - e.resident for e in estimates
    )
    return resident + transient


# --- what the machine has -------------------------------------------------------------------
_SUFFIX = {"": 1, "K": 1 << 10, "M": MIB, "G": GIB, "T": 1 << 40}
_NO_LIMIT = 1 << 60  # cgroup v1 writes ~2^63 for "unlimited"


def parse_bytes(text: str) -> int:
    """``"20G"``, ``"512M"``, ``"1073741824"`` -> bytes (binary units; a trailing ``i``/``B``
    is accepted: ``20GiB``)."""
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = t[-1:] if t[-1:] in _SUFFIX and t[-1:] else ""
    try:
        value = float(t[: len(t) - len(unit)] if unit else t)
    except ValueError:
        raise ValueError(f"memory size {text!r}: want bytes or a number with K, M, G or T") from None
    if value <= 0:
        raise ValueError(f"memory size {text!r} must be positive")
    return int(value * _SUFFIX[unit])


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes "max" for no limit


def _inactive_file(stat: Path, key: str) -> int:
    """Reclaimable page cache in a cgroup's memory.stat (what the kubelet leaves out of the
    working set): counted in the usage, but the kernel drops it before it kills anything."""
    try:
        for line in stat.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key and value.strip().isdigit():
                return int(value)
    except OSError:
        pass
    return 0


def _cgroup_room(proc_cgroup: Path, root: Path) -> int | None:
    """Limit minus working set (usage less inactive page cache) of this process's memory cgroup
    (v2, else v1); None when unlimited or not found."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        hierarchy, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if hierarchy == "0" and controllers == "":  # v2
            names, base = ("memory.max", "memory.current", "inactive_file"), root
        elif "memory" in controllers.split(","):  # v1
            names, base = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_inactive_file"), root / "memory"
        else:
            continue
        # the namespaced view shows the process's own group at the mount's root
        for folder in (base / rel, base):
            limit, usage = _read_int(folder / names[0]), _read_int(folder / names[1])
            if limit is not None and limit < _NO_LIMIT and usage is not None:
                return max(0, limit - usage + _inactive_file(folder / "memory.stat", names[2]))
    return None


def _mem_available(meminfo: Path) -> int | None:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def available_host_memory(
    *, proc: Path = Path("/proc"), cgroup_root: Path = Path("/sys/fs/cgroup")
) -> tuple[int | None, str]:
    """(bytes this process may still use, where the figure comes from); None when unknown."""
    env = os.environ.get("ZKPROVER_MEMORY_AVAILABLE")
    if env:
        return parse_bytes(env), "$ZKPROVER_MEMORY_AVAILABLE"
    found = []
    mem = _mem_available(proc / "meminfo")
    if mem is not None:
        found.append((mem, "MemAvailable"))
    room = _cgroup_room(proc / "self" / "cgroup", cgroup_root)
    if room is not None:
        found.append((room, "the cgroup's memory limit minus its usage"))  # less reclaimable cache
    if not found:
        return None, "unknown"
    return min(found)


def gib(n: int) -> str:
    return f"{n / GIB:.1f} GiB"


class InsufficientMemory(RuntimeError):
    """A circuit (or set of circuits) needs more memory than this machine has now. Not a
    ValueError: the request is sound, and a worker with more memory may take the job."""


def require_host_memory(
    need: int, what: str, *, detail: str = "", available: int | None = None, source: str = ""
) -> None:
    """Raise :class:`InsufficientMemory` naming ``need`` against what is available, before
    ``what`` starts. ``available`` defaults to :func:`available_host_memory`; unknown passes."""
    if available is None:
        available, source = available_host_memory()
    if available is None or need <= available:
        return
    raise InsufficientMemory(
        f"not enough memory for {what}: about {gib(need)} of host memory needed, only {gib(available)} "
        f"available ({source}); "
        "use smaller or fewer batch sizes or a machine with more memory "
        f"($ZKPROVER_MEMORY_AVAILABLE overrides the detected figure){': ' + detail if detail else ''}"
    )
