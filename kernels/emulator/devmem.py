"""Device memory for the emulator: a stand-in for the parts of CuPy that the GPU backend uses,
with NumPy arrays as device buffers.

Each buffer gets its own anonymous mapping whose last byte is followed by an unmapped page, so
a kernel that reads or writes past the end of a buffer faults, and cuda_host.h turns the fault
into a launch error naming the thread (a GPU may silently read its allocator's slack instead;
a read *before* the start of a buffer is not caught). Fresh buffers from ``empty`` hold a
garbage byte pattern, never zeros, as device memory does. Anything not defined here (``cumsum``,
dtypes, ...) is NumPy's, which works because device arrays are NumPy arrays.
"""

from __future__ import annotations

import ctypes
import mmap
import types
from typing import Any

import numpy as np

PAGE = mmap.PAGESIZE
#: what ``empty`` fills a fresh buffer with
GARBAGE = 0x5A
#: the device memory the stand-in reports (free = total: it has no real limit)
REPORTED_BYTES = 16 << 30

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]


def _guarded(shape: Any, dtype: Any, fill: int | None) -> np.ndarray:
    """A C-contiguous array whose last byte is followed by a PROT_NONE page."""
    dtype = np.dtype(dtype)
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    data_pages = max(1, -(-nbytes // PAGE)) * PAGE
    region = mmap.mmap(-1, data_pages + PAGE)
    base = ctypes.addressof(ctypes.c_char.from_buffer(region))
    if _libc.mprotect(base + data_pages, PAGE, 0) != 0:
        raise OSError(ctypes.get_errno(), "mprotect of a device buffer's guard page failed")
    # end-aligned: the start is still aligned to the largest power of two dividing nbytes
    raw = np.frombuffer(region, dtype=np.uint8, count=nbytes, offset=data_pages - nbytes)
    if fill is not None:
        raw.fill(fill)
    return raw.view(dtype).reshape(shape)


def empty(shape: Any, dtype: Any = float) -> np.ndarray:
    return _guarded(shape, dtype, GARBAGE)


def zeros(shape: Any, dtype: Any = float) -> np.ndarray:
    return _guarded(shape, dtype, 0)


def full(shape: Any, value: Any, dtype: Any = None) -> np.ndarray:
    out = _guarded(shape, dtype if dtype is not None else np.asarray(value).dtype, None)
    out.fill(value)
    return out


def asarray(a: Any, dtype: Any = None) -> np.ndarray:
    src = np.asarray(a, dtype=dtype)
    out = _guarded(src.shape, src.dtype, None)
    out[...] = src
    return out


def asnumpy(a: Any) -> np.ndarray:
    return np.array(a, copy=True)


class _Pool:
    """CuPy's memory pool, as far as the backend and the metrics ask about it."""

    def free_bytes(self) -> int:
        return 0

    def used_bytes(self) -> int:
        return 0

    def total_bytes(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        pass


_POOL = _Pool()


def array_module() -> types.ModuleType:
    """A ``cupy``-shaped module over the functions above (NumPy for the rest)."""
    mod = types.ModuleType("cupy_emulated", __doc__)
    for fn in (empty, zeros, full, asarray, asnumpy):
        setattr(mod, fn.__name__, fn)
    mod.array = asarray  # type: ignore[attr-defined]
    mod.get_default_memory_pool = lambda: _POOL  # type: ignore[attr-defined]
    stream = types.SimpleNamespace(synchronize=lambda: None)
    mod.cuda = types.SimpleNamespace(  # type: ignore[attr-defined]
        runtime=types.SimpleNamespace(memGetInfo=lambda: (REPORTED_BYTES, REPORTED_BYTES), getDeviceCount=lambda: 1),
        get_current_stream=lambda: stream,
        Device=lambda *_: types.SimpleNamespace(compute_capability="90", id=0),
    )
    mod.__getattr__ = lambda name: getattr(np, name)  # type: ignore[attr-defined]
    return mod
