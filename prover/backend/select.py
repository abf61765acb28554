"""Backend selection: ``auto`` (default), ``gpu``, ``cpu``, ``python`` or ``gpu-emu``.

The name comes from the caller (CLI flag, config) or the ``ZKPROVER_BACKEND`` environment
variable. ``auto`` takes the GPU when CuPy finds a device and the kernels compile, else the
native CPU backend, else the pure-Python one, and logs one line saying which and why. Asking
for ``gpu`` where there is none is an error, not a silent fallback: an operator who pays for a
GPU instance wants to know. ``gpu-emu`` is the GPU backend with its kernels emulated on the CPU
(``kernels.emulator``): for tests and debugging, slow, and only ever chosen by name.
"""

from __future__ import annotations

import importlib
import logging
import os

from prover.backend.interface import Backend, BackendError

log = logging.getLogger("zkprover.backend")

CHOICES = ("auto", "gpu", "cpu", "python", "gpu-emu")


def _probe(module: str, cls: str) -> tuple[type[Backend] | None, str]:
    """Import a backend class and ask it whether it can run here: (class or None, reason)."""
    try:
        klass = getattr(importlib.import_module(module), cls)
    except ImportError as exc:
        return None, f"{module} cannot be imported ({exc})"
    ok, reason = klass.available()
    return (klass if ok else None), reason


def select_backend(name: str | None = None) -> Backend:
    choice = (name or os.environ.get("ZKPROVER_BACKEND") or "auto").strip().lower()
    if choice not in CHOICES:
        raise BackendError(f"unknown backend {choice!r}; choose one of {', '.join(CHOICES)}")
    if choice == "python":
        from prover.backend.python_backend import PythonBackend

        return PythonBackend()
    if choice == "gpu-emu":
        emu, why = _probe("prover.backend.gpu", "EmulatedGpuBackend")
        if emu is None:
            raise BackendError(f"GPU emulation requested but unavailable: {why}")
        backend = emu()
        log.warning("backend: %s: for tests and debugging, not for production", backend.describe())
        return backend

    if choice in ("auto", "gpu"):
        # GpuBackend.available() asks kernels.loader.probe() first; asking it here, before the GPU
        # backend is imported (gpu_engine, gpu_launch, selftest: tens of milliseconds of every
        # `zkprover prove`), skips that import where there is no CuPy or no device
        from kernels import loader

        ok, why = loader.probe()
        gpu, why = _probe("prover.backend.gpu", "GpuBackend") if ok else (None, why)
        if gpu is not None:
            backend = gpu()
            log.info("backend: %s (%s)", backend.describe(), why)
            return backend
        if choice == "gpu":
            raise BackendError(f"GPU backend requested but unavailable: {why}")
        gpu_reason = why
    else:
        gpu_reason = "not requested"

    cpu, why = _probe("prover.backend.cpu", "CpuBackend")
    if cpu is not None:
        backend = cpu()
        log.info("backend: %s (GPU: %s)", backend.describe(), gpu_reason)
        return backend
    log.warning("backend: pure-Python fallback, proofs will be slow (native CPU backend: %s; GPU: %s)", why, gpu_reason)
    from prover.backend.python_backend import PythonBackend

    return PythonBackend()
