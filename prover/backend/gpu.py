"""The CUDA backend: NTT, the H step and the MSMs on the GPU, proving key resident on the device.

Layers:

* ``kernels/*.cu`` (CUDA C++, compiled by ``kernels.loader`` through CuPy/NVRTC, cached on
  disk): Fr/Fq/Fq2 Montgomery arithmetic, fused-stage NTT passes, the sparse A.w / B.w step,
  the MSM steps.
* :class:`~prover.backend.gpu_launch.CupyOps` (``gpu_launch.py``): one method per kernel launch.
* :class:`~prover.backend.gpu_engine.GpuEngine` (``gpu_engine.py``): everything between the
  Backend API and the launches. ``tests/test_gpu_mirror.py`` runs it on NumPy mirrors of the
  kernels.
* :class:`GpuBackend` (here): the ``Backend`` (``prover.backend.interface``): resident keys,
  MSM dispatch, the start-up self-test. :class:`EmulatedGpuBackend` is the same backend with
  the kernels executed on the CPU (``kernels.emulator``; ``--backend gpu-emu``), for tests and
  debugging without a GPU.

``ZKPROVER_GPU_MSM=cpu`` sends every MSM to the CPU backend instead (comparison, fallback).
This module imports without CuPy; ``GpuBackend.available()`` says why the GPU is unusable.
The names of ``gpu_launch`` and ``gpu_engine`` are re-exported here.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import numpy as np

from prover.backend.gpu_engine import (
    MEMORY_MARGIN,
    MSM_FANIN,
    MSM_SEGMENT,
    SCALE_DST,
    SCALE_DST_BITREV,
    SCALE_NONE,
    SCALE_SRC,
    DevicePoints,
    GpuEngine,
    MsmPlan,
    _fmt_bytes,
    msm_chunk_len,
    msm_window,
    msm_windows,
    xyzz_to_affine,
)
from prover.backend.gpu_launch import ELEMENTWISE_BLOCK, MSM_BLOCK, CupyOps
from prover.backend.interface import Backend, BackendError, KeyArrays, ResidentKey, check_msm_sizes
from prover.backend.selftest import self_test
from prover.field.arrays import FrVector, fr_vector, g1_array, g2_array
from prover.field.curve import G1Affine, G2Affine

__all__ = [
    "ELEMENTWISE_BLOCK",
    "MEMORY_MARGIN",
    "MSM_BLOCK",
    "MSM_FANIN",
    "MSM_SEGMENT",
    "SCALE_DST",
    "SCALE_DST_BITREV",
    "SCALE_NONE",
    "SCALE_SRC",
    "CupyOps",
    "DevicePoints",
    "EmulatedGpuBackend",
    "GpuBackend",
    "GpuEngine",
    "MsmPlan",
    "msm_chunk_len",
    "msm_window",
    "msm_windows",
    "xyzz_to_affine",
]

log = logging.getLogger("zkprover.backend.gpu")


def _msm_fallback() -> Backend:
    from prover.backend.cpu import CpuBackend

    if CpuBackend.available()[0]:
        return CpuBackend()
    from prover.backend.python_backend import PythonBackend

    return PythonBackend()


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as exc:
        raise BackendError(f"{name} must be an integer number of bytes, got {raw!r}") from exc


class GpuBackend(Backend):
    """NTT, H and MSMs on the GPU (see the module docstring).

    ``poison``: fill fresh output buffers with 0xff (tests; env ``ZKPROVER_GPU_POISON=1``).
    ``memory_limit``: cap on the device bytes this backend assumes it may use (env
    ``ZKPROVER_GPU_MEMORY_LIMIT``), e.g. to share a GPU between workers.
    """

    name = "gpu"

    def __init__(
        self, *, poison: bool | None = None, memory_limit: int | None = None, msm_backend: Backend | None = None
    ) -> None:
        ok, reason = self.available()
        if not ok:
            raise BackendError(f"GPU backend unavailable: {reason}")
        if poison is None:
            poison = os.environ.get("ZKPROVER_GPU_POISON", "") not in ("", "0")
        if memory_limit is None:
            memory_limit = _env_int("ZKPROVER_GPU_MEMORY_LIMIT")
        self._device = reason
        self.engine = GpuEngine(self._make_ops(), poison=poison, memory_limit=memory_limit)
        #: the CPU backend: the final window combination of every GPU MSM (W points), and all
        #: of each MSM when ``msm_on_cpu``
        self._msm = msm_backend or _msm_fallback()
        #: ZKPROVER_GPU_MSM=cpu runs the MSMs on the CPU backend (comparison, fallback)
        self.msm_on_cpu = os.environ.get("ZKPROVER_GPU_MSM", "gpu").strip().lower() == "cpu"
        self._resident: dict[str, tuple[ResidentKey, int]] = {}  # digest -> (key, refcount)

    #: the start-up self-test's verdict, once per process
    _verdict: tuple[bool, str] | None = None

    @staticmethod
    def _make_ops() -> Any:
        return CupyOps()

    @staticmethod
    def _probe() -> tuple[bool, str]:
        from kernels import loader

        return loader.probe()

    @classmethod
    def available(cls) -> tuple[bool, str]:
        """CuPy finds a device, the kernels compile, and they pass a known-answer self-test
        against the pure-Python backend (``prover.backend.selftest``), run once per process."""
        ok, reason = cls._probe()
        if not ok:
            return ok, reason
        if cls._verdict is None:
            cls._verdict = (True, reason)  # lets the constructor below pass its own check
            try:
                problem = self_test(cls())
            except Exception as exc:  # a kernel launch failing is a verdict too
                problem = f"{type(exc).__name__}: {exc}"
            if problem is not None:
                cls._verdict = (False, f"GPU kernels failed the start-up self-test on {reason}: {problem}")
        return cls._verdict

    def describe(self) -> str:
        where = f"MSM on {self._msm.name} (ZKPROVER_GPU_MSM=cpu)" if self.msm_on_cpu else "MSM on the GPU"
        return f"{self.name} ({self._device}; {where})"

    # --- NTT ----------------------------------------------------------------------------------
    def ntt(self, values: FrVector, *, inverse: bool = False, coset: int | None = None) -> FrVector:
        return self.engine.ntt(values, inverse=inverse, coset=coset)

    # --- MSM -------------------------------------------------------------------------------------
    def msm_g1(self, bases: Any, scalars: FrVector) -> G1Affine:
        if self.msm_on_cpu:
            return self._msm.msm_g1(bases.host if isinstance(bases, DevicePoints) else bases, scalars)
        return self._msm_device(bases, scalars, g2=False)

    def msm_g2(self, bases: Any, scalars: FrVector) -> G2Affine:
        if self.msm_on_cpu:
            return self._msm.msm_g2(bases.host if isinstance(bases, DevicePoints) else bases, scalars)
        return self._msm_device(bases, scalars, g2=True)

    def _msm_device(self, bases: Any, scalars: FrVector, *, g2: bool) -> Any:
        """Bases: a resident handle (already on the device) or a host array (uploaded for this
        call). Scalars: the resident witness / H when they are (no upload, see
        GpuEngine.device_scalars_form), else uploaded as given (any 256-bit values; the kernels
        reduce them mod r)."""
        what = "msm_g2" if g2 else "msm_g1"
        shape = (2, 2, 4) if g2 else (2, 4)
        up = self.engine.ops.upload
        if isinstance(bases, DevicePoints):
            if bases.device is None:
                raise BackendError(f"{what}: the key was released")
            dev_bases, n = bases.device, len(bases)
        else:
            arr = np.ascontiguousarray(bases, dtype=np.uint64)
            if arr.shape[1:] != shape:
                raise BackendError(f"{what}: bases must be an (n, {', '.join(map(str, shape))}) uint64 array")
            dev_bases, n = (up(arr) if len(arr) else None), len(arr)
        check_msm_sizes(n, scalars, what)
        if n == 0:
            return None
        found = None
        for res, _count in self._resident.values():
            found = self.engine.device_scalars_form(res, scalars)
            if found is not None:
                break
        dev_scalars, mont = found if found is not None else (up(np.ascontiguousarray(scalars, dtype=np.uint64)), False)
        if g2:
            combine = lambda pts, ks: self._msm.msm_g2(g2_array(pts), fr_vector(ks))  # noqa: E731
        else:
            combine = lambda pts, ks: self._msm.msm_g1(g1_array(pts), fr_vector(ks))  # noqa: E731
        return self.engine.msm(dev_bases, dev_scalars, n, g2=g2, mont=mont, combine=combine)

    # --- resident key -------------------------------------------------------------------------
    def load_key(self, key: KeyArrays) -> ResidentKey:
        """Upload once per key digest; a second load of the same key shares the first (its
        reference count goes up, and ``release_key`` frees at zero)."""
        digest = key.digest()
        have = self._resident.get(digest)
        if have is not None:
            self._resident[digest] = (have[0], have[1] + 1)
            return have[0]
        # points first checked with everything else inside engine.load_key; upload after
        state = self.engine.load_key(key)
        try:
            up = self.engine.ops.upload
            queries = {
                name: DevicePoints(np.ascontiguousarray(arr, dtype=np.uint64), None)
                for name, arr in (
                    ("a", key.a_query),
                    ("b1", key.b1_query),
                    ("b2", key.b2_query),
                    ("c", key.c_query),
                    ("h", key.h_query),
                )
            }
            for q in queries.values():
                q.device = up(q.host)
        except Exception as exc:
            state.clear()
            self.engine.ops.free_pool()
            raise BackendError(f"load_key: uploading the points failed: {exc}") from exc
        resident = ResidentKey(
            source=key,
            known_digest=digest,
            n_vars=key.n_vars,
            n_public=key.n_public,
            domain_size=key.domain_size,
            a_query=queries["a"],
            b1_query=queries["b1"],
            b2_query=queries["b2"],
            c_query=queries["c"],
            h_query=queries["h"],
            private=state,
        )
        self._resident[digest] = (resident, 1)
        log.info(
            "gpu: key %s resident (%s)",
            digest[:12],
            ", ".join(f"{k} {_fmt_bytes(v)}" for k, v in self.engine.key_bytes(key).items()),
        )
        return resident

    def release_key(self, resident: ResidentKey) -> None:
        have = self._resident.get(resident.digest)
        if have is None:
            return
        key, count = have
        if count > 1:
            self._resident[resident.digest] = (key, count - 1)
            return
        del self._resident[resident.digest]
        for r in {id(key): key, id(resident): resident}.values():
            r.private.clear()
            for name in ("a_query", "b1_query", "b2_query", "c_query", "h_query"):
                q = getattr(r, name)
                if isinstance(q, DevicePoints):
                    q.device = None
        self.engine.ops.free_pool()  # give the memory back to the driver, not just CuPy's pool

    def resident_keys(self) -> dict[str, int]:
        """digest -> reference count of the keys on the device (for metrics and tests)."""
        return {d: c for d, (_, c) in self._resident.items()}

    def quotient_evaluations(self, resident: ResidentKey, witness: FrVector) -> FrVector:
        if not resident.private:
            raise BackendError("quotient_evaluations: the key was released")
        if witness.ndim != 2 or witness.shape[1] != 4 or len(witness) != resident.n_vars:
            raise BackendError(
                f"quotient_evaluations: witness shape {witness.shape}, key has {resident.n_vars} signals"
            )
        h = self.engine.quotient(resident.private, resident.n_vars, resident.domain_size, witness)
        resident.private["w_host"] = witness
        resident.private["h_host"] = h
        return h


class EmulatedGpuBackend(GpuBackend):
    """The GPU backend with its kernels executed on the CPU (``kernels.emulator``): the same
    launches, engine and backend code, for tests and debugging where there is no GPU. Chosen
    only by name (``--backend gpu-emu``), never by ``auto``; its speed means nothing."""

    name = "gpu-emu"
    _verdict: tuple[bool, str] | None = None

    @staticmethod
    def _make_ops() -> Any:
        from kernels import emulator
        from kernels.emulator import devmem, runtime

        ok, why = emulator.probe()
        if not ok:
            raise BackendError(f"GPU emulation unavailable: {why}")
        return CupyOps(xp=devmem.array_module(), load=runtime.load)

    @staticmethod
    def _probe() -> tuple[bool, str]:
        from kernels import emulator

        ok, why = emulator.probe()
        if ok:
            from kernels import loader
            from kernels.emulator import build

            try:
                build.build_all(loader.PRODUCTION_MODULES)
            except Exception as exc:  # a compiler error is a reason, like NVRTC's on a device
                return False, f"kernels failed to build for the CPU: {type(exc).__name__}: {str(exc)[:2000]}"
        return ok, why
