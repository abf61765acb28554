"""PTX of a kernel module for a given architecture, without a GPU: from NVRTC (the compiler
CuPy uses at run time; the ``nvidia-cuda-nvrtc`` wheel, a dev dependency) or from nvcc.

The source and options are the loader's (:func:`kernels.loader.expand_source`,
:func:`kernels.loader.compile_options`), so this is the PTX that ptxas receives on a device.
Used by the carry-flag check (``kernels/carry_check.py``). Generating PTX is quick for the
small modules (1-2 s) but slow for ``msm.cu``: its fully inlined G2 arithmetic takes NVRTC
or nvcc minutes (about 220 s with nvcc 13 on a 2-core machine).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kernels import loader


class PtxUnavailable(RuntimeError):
    """Neither NVRTC nor nvcc is installed here."""


def nvrtc_library() -> Path | None:
    """libnvrtc: ``$ZKPROVER_NVRTC``, else the one in the ``nvidia-cuda-nvrtc`` wheel."""
    env = os.environ.get("ZKPROVER_NVRTC")
    if env:
        return Path(env)
    try:
        import nvidia.cu13  # the wheel's namespace package (CUDA 13)
    except ImportError:
        return None
    for base in nvidia.cu13.__path__:
        lib = Path(base) / "lib" / "libnvrtc.so.13"
        if lib.exists():
            return lib
    return None


def available() -> str | None:
    """Which compiler :func:`generate` would use ("nvrtc" or "nvcc"), None when neither."""
    if nvrtc_library() is not None:
        return "nvrtc"
    if shutil.which("nvcc"):
        return "nvcc"
    return None


def _nvrtc(source: str, name: str, options: list[str]) -> str:
    lib = ctypes.CDLL(str(nvrtc_library()))
    prog = ctypes.c_void_p()
    if lib.nvrtcCreateProgram(ctypes.byref(prog), source.encode(), f"{name}.cu".encode(), 0, None, None):
        raise RuntimeError("nvrtcCreateProgram failed")
    try:
        argv = (ctypes.c_char_p * len(options))(*(o.encode() for o in options))
        rc = lib.nvrtcCompileProgram(prog, len(options), argv)
        size = ctypes.c_size_t()
        if rc:
            lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
            log = ctypes.create_string_buffer(size.value)
            lib.nvrtcGetProgramLog(prog, log)
            raise RuntimeError(f"NVRTC failed on {name}.cu:\n{log.value.decode(errors='replace')[-4000:]}")
        lib.nvrtcGetPTXSize(prog, ctypes.byref(size))
        ptx = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetPTX(prog, ptx)
        return ptx.value.decode()
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def generate(name: str, cc: int, compiler: str | None = None, kernel_dir: Path | None = None) -> str:
    """PTX text of ``<kernel_dir>/<name>.cu`` (default: the project's) for compute capability
    ``cc``, by ``compiler`` ("nvrtc", "nvcc"; default: whichever :func:`available` finds)."""
    compiler = compiler or available()
    if compiler is None:
        raise PtxUnavailable("no NVRTC (pip install nvidia-cuda-nvrtc) and no nvcc on PATH")
    source = loader.expand_source(Path(kernel_dir or loader.KERNEL_DIR) / f"{name}.cu")
    options = [*loader.compile_options(cc), f"--gpu-architecture=compute_{cc}"]
    if compiler == "nvrtc":
        if nvrtc_library() is None:
            raise PtxUnavailable("NVRTC is not installed (pip install nvidia-cuda-nvrtc)")
        return _nvrtc(source, name, options)
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise PtxUnavailable("nvcc is not on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / f"{name}.cu", Path(tmp) / f"{name}.ptx"
        src.write_text(source)
        proc = subprocess.run([nvcc, "-ptx", *options, str(src), "-o", str(out)], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"nvcc failed on {name}.cu:\n{proc.stderr[-4000:]}")
        return out.read_text()
