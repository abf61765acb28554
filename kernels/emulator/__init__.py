"""The CUDA kernels executed on the CPU, for tests and debugging on machines without a GPU.

``kernels/*.cu`` are compiled unchanged as host C++ (``cuda_host.h`` supplies CUDA's keywords,
built-ins and the PTX instructions the kernels use; ``translate.py`` rewrites the inline PTX,
``build.py`` compiles and caches) and launched through the same ``CupyOps`` -> ``GpuEngine`` ->
``GpuBackend`` code as on a device, with NumPy arrays as device memory (``devmem.py``). Each CUDA
thread is a fiber; barriers, warp collectives, the carry flag, launch limits and memory
accesses are checked against CUDA's rules and a violation is a :class:`~kernels.emulator.runtime.LaunchError`
(see ``cuda_host.h`` for the model).

Select it with ``--backend gpu-emu`` or ``ZKPROVER_BACKEND=gpu-emu``; ``auto`` never picks it.
The test suite runs ``tests/gpu`` on it wherever no CUDA device is found.

What it cannot show: speed, the code ptxas generates and the hardware's own carry behaviour,
races that the sequential model happens to order correctly (blocks never overlap, threads
switch only at sync points, memory is sequentially consistent), register and shared-memory
limits, and CuPy's own allocator and streams.
"""

from __future__ import annotations

import platform
import shutil

#: the host C++ runtime, next to this file
HEADER_NAME = "cuda_host.h"


def probe() -> tuple[bool, str]:
    """(True, description) where kernels can be emulated here, else (False, why)."""
    from kernels.emulator.build import compiler

    if platform.machine() not in ("x86_64", "AMD64"):
        return False, f"the emulator's fiber switch is x86-64 only (this machine: {platform.machine()})"
    if shutil.which(compiler()) is None:
        return False, f"no C++ compiler ({compiler()!r}; set ZKPROVER_EMU_CXX)"
    return True, "CUDA kernels emulated on the CPU (not a GPU: no timing, see kernels/emulator)"
