"""Inputs for the GPU tests and the GPU benchmark harness: fresh random Fr vectors at any size
(vectorised, full range below r) and synthetic proving keys for the H step at sizes where a
real setup would take hours in Python (the H step reads only the coefficient records; the
points can be zeros). Also where the GPU tests run: :func:`gpu_test_mode`."""

from __future__ import annotations

import functools
import os

import numpy as np

from prover.backend.interface import COEFF_DTYPE, KeyArrays
from prover.field.bn254 import FR_MODULUS

_R_LIMBS = [(FR_MODULUS >> (64 * i)) & 0xFFFFFFFFFFFFFFFF for i in range(4)]


def below_r(v: np.ndarray) -> np.ndarray:
    """Row mask: the 4-limb value is < r."""
    lt = np.zeros(len(v), dtype=bool)
    eq = np.ones(len(v), dtype=bool)
    for i in (3, 2, 1, 0):
        lt |= eq & (v[:, i] < np.uint64(_R_LIMBS[i]))
        eq &= v[:, i] == np.uint64(_R_LIMBS[i])
    return lt


def rand_fr_array(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 4) uint64, uniform below r (254-bit draws, rejection of those >= r)."""
    out = np.empty((n, 4), dtype=np.uint64)
    todo = np.arange(n)
    while len(todo):
        cand = rng.integers(0, 2**64, size=(len(todo), 4), dtype=np.uint64, endpoint=False)
        cand[:, 3] &= np.uint64((1 << 62) - 1)  # 254 bits: r > 2^253, so ~76% are accepted
        ok = below_r(cand)
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return out


def synthetic_key(log_n: int, rng: np.random.Generator, terms_per_row: int = 3) -> KeyArrays:
    """A key with domain 2^log_n whose A and B rows have ``terms_per_row`` random entries over
    about 2^log_n signals, random coefficients (stored as snarkjs does, any value < r is a
    valid coef * R^2), rows up to ~97% of the domain (the rest is padding, as in real keys),
    and all-zero points. For H-step parity and timing only: no proof can be made with it."""
    n = 1 << log_n
    n_vars = max(4, n - n // 8)
    rows_used = max(1, n - n // 32)
    recs = []
    for m in (0, 1):
        count = rows_used * terms_per_row
        r = np.zeros(count, dtype=COEFF_DTYPE)
        r["matrix"] = m
        r["constraint"] = np.repeat(np.arange(rows_used, dtype=np.uint32), terms_per_row)
        r["signal"] = rng.integers(0, n_vars, size=count, dtype=np.uint32)
        r["value"] = rand_fr_array(count, rng)
        recs.append(r)
    coeffs = np.concatenate(recs)
    rng.shuffle(coeffs)  # .zkey records need not be sorted by row
    zeros_g1 = np.zeros((n_vars, 2, 4), dtype=np.uint64)
    return KeyArrays(
        n_vars=n_vars,
        n_public=1,
        domain_size=n,
        a_query=zeros_g1,
        b1_query=zeros_g1,
        b2_query=np.zeros((n_vars, 2, 2, 4), dtype=np.uint64),
        c_query=np.zeros((n_vars - 2, 2, 4), dtype=np.uint64),
        h_query=np.zeros((n, 2, 4), dtype=np.uint64),
        coeffs=coeffs,
    )


def synthetic_witness(key: KeyArrays, rng: np.random.Generator) -> np.ndarray:
    w = rand_fr_array(key.n_vars, rng)
    w[0] = (1, 0, 0, 0)
    return w


#: largest size (log2) the emulated GPU tests use: emulation runs ~30-40x slower than the
#: native backend, and the suite must stay within its CI time budget
EMULATED_MAX_LOG = 12


@functools.cache
def gpu_test_mode() -> tuple[str | None, str]:
    """Where ``-m gpu`` tests run: ("device", why) with CuPy and a CUDA device, else
    ("emulated", why) with the kernels on the CPU (``kernels.emulator``), else (None, why).
    ``ZKPROVER_GPU_TESTS=emulated`` forces emulation on a GPU machine (to compare the two)."""
    no_device = _no_device_reason()
    if no_device is None and os.environ.get("ZKPROVER_GPU_TESTS", "").strip() != "emulated":
        return "device", "CUDA device found"
    from kernels import emulator

    ok, why = emulator.probe()
    if ok:
        return "emulated", f"kernels emulated on the CPU ({no_device or 'forced by ZKPROVER_GPU_TESTS'})"
    return None, f"{no_device}; emulation unavailable: {why}"


def _no_device_reason() -> str | None:
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device found"
    except Exception as exc:  # CUDA driver missing or broken
        return f"CUDA unavailable: {exc}"
    return None


def on_device() -> bool:
    return gpu_test_mode()[0] == "device"


def gpu_backend_class() -> type:
    """GpuBackend on a device, EmulatedGpuBackend under emulation."""
    from prover.backend.gpu import EmulatedGpuBackend, GpuBackend

    return GpuBackend if on_device() else EmulatedGpuBackend


def sizes(device: list, emulated: list) -> list:
    """Test sizes: ``device`` on a GPU, ``emulated`` (at most 2^EMULATED_MAX_LOG) under emulation."""
    return device if on_device() else emulated
