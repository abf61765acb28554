"""Load emulated kernel modules and launch their kernels: the CPU counterpart of CuPy's
``RawModule`` / ``RawKernel``, called exactly as ``CupyOps`` calls those.

``load(name)`` gives a :class:`Module` whose ``get_function(kernel)`` returns a :class:`Kernel`;
``kernel(grid, block, args)`` checks the arguments against the kernel's C signature (a device
array for each pointer, of the pointee's element size and contiguous; a NumPy scalar of exactly
the parameter's type for each value, as CuPy passes them by value) and runs the grid. Whatever
CUDA would reject or leave undefined, the launch raises as :class:`LaunchError`.

Launches are serialised (one lock per process): ``__shared__`` storage and the fiber stacks
are process-wide, and ctypes releases the GIL during the call.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from kernels.emulator.build import build
from kernels.emulator.translate import Kernel as KernelInfo

_lock = threading.Lock()  # held during a launch
_load_lock = threading.Lock()  # held while a module builds (a minute at worst)
_modules: dict[tuple[str, str], Module] = {}
#: C type of each scalar parameter code (see cuda_host.h, param_code)
_SCALARS = {
    "u": (np.uint32, ctypes.c_uint32),
    "U": (np.uint64, ctypes.c_uint64),
    "i": (np.int32, ctypes.c_int32),
    "I": (np.int64, ctypes.c_int64),
}
_LAUNCH_ARGTYPES = [
    ctypes.POINTER(ctypes.c_uint),
    ctypes.POINTER(ctypes.c_uint),
    ctypes.POINTER(ctypes.c_void_p),
    ctypes.c_char_p,
    ctypes.c_int,
]


class LaunchError(RuntimeError):
    """A launch that CUDA would reject, or whose threads broke a rule (see cuda_host.h)."""


def _dims(v: Any) -> tuple[int, int, int]:
    dims = [int(x) for x in (v if isinstance(v, tuple | list) else (v,))]
    if not 1 <= len(dims) <= 3:
        raise LaunchError(f"grid and block take 1 to 3 dimensions, got {v!r}")
    return (*dims, 1, 1)[:3]  # type: ignore[return-value]


class Kernel:
    """One ``extern "C" __global__`` function of an emulated module."""

    def __init__(self, module: Module, name: str) -> None:
        self.module = module
        self.name = name
        self._launch = getattr(module.lib, f"cuemu_launch_{name}")
        self._launch.restype = ctypes.c_int
        self._launch.argtypes = _LAUNCH_ARGTYPES
        sig = getattr(module.lib, f"cuemu_signature_{name}")
        sig.restype = ctypes.c_char_p
        #: one code per parameter (cuda_host.h, param_code)
        self.signature: str = sig().decode()

    def _pack(self, where: str, args: tuple) -> tuple[list[Any], Any]:
        if len(args) != len(self.signature):
            raise LaunchError(f"{where}: {len(args)} arguments for {len(self.signature)} parameters")
        keep: list[Any] = []
        for i, (arg, code) in enumerate(zip(args, self.signature, strict=True)):
            if code.isdigit():
                if arg is None:
                    holder = ctypes.c_void_p(None)
                elif isinstance(arg, np.ndarray):
                    size = int(code)
                    if size not in (0, 9) and arg.dtype.itemsize != size:
                        raise LaunchError(
                            f"{where}: argument {i} holds {arg.dtype} elements, the kernel reads {size}-byte ones"
                        )
                    if not arg.flags.c_contiguous:
                        raise LaunchError(f"{where}: argument {i} is not contiguous")
                    holder = ctypes.c_void_p(arg.ctypes.data)
                else:
                    raise LaunchError(f"{where}: argument {i} must be a device array, got {type(arg).__name__}")
            elif code in _SCALARS:
                np_type, c_type = _SCALARS[code]
                if type(arg) is not np_type:
                    raise LaunchError(
                        f"{where}: argument {i} is {type(arg).__name__}, the kernel takes {np.dtype(np_type).name}"
                    )
                holder = c_type(int(arg))
            else:
                raise LaunchError(f"{where}: parameter {i} has a type the emulator cannot pass")
            keep.append(holder)
        argv = (ctypes.c_void_p * max(1, len(keep)))(*(ctypes.addressof(h) for h in keep))
        return keep, argv

    def __call__(self, grid: Any, block: Any, args: tuple, shared_mem: int = 0, stream: Any = None) -> None:
        g, b = _dims(grid), _dims(block)
        where = f"{self.module.name}.cu {self.name}<<<{g}, {b}>>>"
        if shared_mem:
            raise LaunchError(f"{where}: dynamic shared memory is not emulated")
        _keep, argv = self._pack(where, tuple(args))
        err = ctypes.create_string_buffer(8192)
        with _lock:
            rc = self._launch((ctypes.c_uint * 3)(*g), (ctypes.c_uint * 3)(*b), argv, err, len(err))
        self.module.launches += 1
        if rc:
            raise LaunchError(f"{where}: {err.value.decode(errors='replace')}")


class Module:
    """An emulated kernel module (the counterpart of ``cupy.RawModule``)."""

    def __init__(self, name: str, kernel_dir: Path | None = None) -> None:
        self.name = name
        self.path, infos = build(name, kernel_dir)
        self.lib = ctypes.CDLL(str(self.path))
        self.lib.cuemu_set_seed.argtypes = [ctypes.c_uint]
        self.kernels: dict[str, KernelInfo] = {k.name: k for k in infos}
        self.launches = 0
        self.set_seed(schedule_seed())

    def set_seed(self, seed: int) -> None:
        """0: blocks and threads in index order; else shuffled, deterministically per seed."""
        self.lib.cuemu_set_seed(seed)

    def get_function(self, name: str) -> Kernel:
        if name not in self.kernels:
            raise KeyError(f'{self.name}.cu has no extern "C" kernel {name!r}')
        return Kernel(self, name)


def schedule_seed() -> int:
    """The schedule seed from ``$ZKPROVER_EMU_SEED`` (default 0: index order)."""
    raw = os.environ.get("ZKPROVER_EMU_SEED", "0").strip() or "0"
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"ZKPROVER_EMU_SEED must be an integer, got {raw!r}") from exc


def load(name: str, kernel_dir: Path | None = None) -> Module:
    """The emulated module ``<kernel_dir>/<name>.cu`` (default: the project's kernels), built on
    first use (or taken from the build cache) and kept for the process."""
    key = (name, str(kernel_dir or ""))
    with _load_lock:
        mod = _modules.get(key)
        if mod is None:
            mod = _modules[key] = Module(name, kernel_dir)
    return mod


def set_seed(seed: int) -> None:
    """Apply a schedule seed to every module loaded so far."""
    for mod in _modules.values():
        mod.set_seed(seed)
