"""Proving backends (CPU, GPU, pure Python) behind one interface (``interface.py``).

A portable build (``ZKPROVER_PORTABLE=1``: images, wheels) holds two builds of the native
module: ``_native`` for any x86-64 CPU and ``_native_v4`` (x86-64-v4 with AVX-512 IFMA and ADX:
MULX/ADX field multiplication, the IFMA MSM). Where the second exists and this CPU has what it
was compiled for, it is registered as ``prover.backend._native`` before anything imports that, so
every ``from prover.backend import _native`` gets it. ``ZKPROVER_NATIVE_VARIANT=baseline`` keeps
the baseline. A build with ``-march=native`` (the default from source) has only ``_native``.
"""

from __future__ import annotations

import importlib.util
import os
import sys

#: the CPU flags (as /proc/cpuinfo names them) that _native_v4 is compiled for
_V4_FLAGS = frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx512ifma", "adx", "bmi2"})


def _cpu_flags() -> frozenset[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def _select_native() -> str:
    """Register the native build this process uses; returns 'v4' or 'baseline'."""
    if os.environ.get("ZKPROVER_NATIVE_VARIANT", "") == "baseline":
        return "baseline"
    if importlib.util.find_spec(__name__ + "._native_v4") is None or not _cpu_flags() >= _V4_FLAGS:
        return "baseline"
    from prover.backend import _native_v4

    sys.modules[__name__ + "._native"] = _native_v4
    return "v4"


NATIVE_VARIANT = _select_native()
