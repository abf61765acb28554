"""The CUDA compilers outside CuPy, without a GPU: NVRTC (the compiler CuPy uses at run time;
the ``nvidia-cuda-nvrtc`` wheel, a dev dependency, or ``$ZKPROVER_NVRTC``) or nvcc.

:func:`ptx` gives a module's PTX (for the carry-flag check, ``kernels/carry_check.py``)
:func:`cubin` its cubin for one architecture (for the prebuilt kernels, ``kernels/prebuild.py``). The
source and options are the loader's (:func:`kernels.loader.expand_source`,
:func:`kernels.loader.compile_options`), so this is what a device would get. PTX is quick
for the small modules (1-2 s) but slow for ``msm.cu``: its fully inlined G2 arithmetic takes
NVRTC or nvcc minutes (about 220 s of nvcc 13 for its PTX on a 2-core machine; a cubin adds
ptxas).
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from kernels import loader


class ToolchainUnavailable(RuntimeError):
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
    """Which compiler :func:`ptx` and :func:`cubin` would use ("nvrtc" or "nvcc"), None when neither."""
    if nvrtc_library() is not None:
        return "nvrtc"
    if shutil.which("nvcc"):
        return "nvcc"
    return None


def _nvrtc(source: str, name: str, options: list[str], cubin: bool) -> bytes:
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
        get_size, get = (lib.nvrtcGetCUBINSize, lib.nvrtcGetCUBIN) if cubin else (lib.nvrtcGetPTXSize, lib.nvrtcGetPTX)
        get_size(prog, ctypes.byref(size))
        out = ctypes.create_string_buffer(size.value)
        get(prog, out)
        return out.raw if cubin else out.value
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def ptx(name: str, cc: int, compiler: str | None = None, kernel_dir: Path | None = None) -> str:
    """PTX text of ``<kernel_dir>/<name>.cu`` (default: the project's) for compute capability
    ``cc``, by ``compiler`` ("nvrtc", "nvcc"; default: whichever :func:`available` finds)."""
    out = _compile(name, cc, compiler, kernel_dir, cubin=False)
    assert isinstance(out, str)
    return out


def cubin(name: str, cc: int, compiler: str | None = None, kernel_dir: Path | None = None) -> bytes:
    """The sm_``cc`` cubin of ``<kernel_dir>/<name>.cu``, as :func:`ptx` (ptxas included)."""
    out = _compile(name, cc, compiler, kernel_dir, cubin=True)
    assert isinstance(out, bytes)
    return out


def _compile(name: str, cc: int, compiler: str | None, kernel_dir: Path | None, *, cubin: bool) -> str | bytes:
    compiler = compiler or available()
    if compiler is None:
        raise ToolchainUnavailable("no NVRTC (pip install nvidia-cuda-nvrtc) and no nvcc on PATH")
    source = loader.expand_source(Path(kernel_dir or loader.KERNEL_DIR) / f"{name}.cu")
    target = f"sm_{cc}" if cubin else f"compute_{cc}"
    options = [*loader.compile_options(cc), f"--gpu-architecture={target}"]
    if compiler == "nvrtc":
        if nvrtc_library() is None:
            raise ToolchainUnavailable("NVRTC is not installed (pip install nvidia-cuda-nvrtc)")
        out = _nvrtc(source, name, options, cubin)
        return out if cubin else out.decode()
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        raise ToolchainUnavailable("nvcc is not on PATH")
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / f"{name}.cu", Path(tmp) / f"{name}.out"
        src.write_text(source)
        mode = "-cubin" if cubin else "-ptx"
        proc = subprocess.run([nvcc, mode, *options, str(src), "-o", str(dst)], capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(f"nvcc failed on {name}.cu:\n{proc.stderr[-4000:]}")
        return dst.read_bytes() if cubin else dst.read_text()
