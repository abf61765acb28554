"""Compile every kernel module with NVRTC, as CuPy does at run time, on a machine without a GPU.

    pip download --no-deps nvidia-cuda-nvrtc -d /tmp/nvrtc && unzip -q -o /tmp/nvrtc/*.whl -d /tmp/nvrtc
    python bench/nvrtc_compile.py /tmp/nvrtc/nvidia/cu13/lib/libnvrtc.so.13 [--arch 90 80]

CI compiles the same header-expanded sources with nvcc (tests/test_kernels_compile.py); NVRTC
is the compiler CuPy actually uses, without the system include paths and with the loader's
options, so this is the check that the text it will get compiles. Prints the time, cubin size
and ptxas's register spills per module and architecture; exit status 1 when one fails.
"""

from __future__ import annotations

import argparse
import ctypes
import re
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kernels import loader


def compile_module(lib: ctypes.CDLL, name: str, arch: int) -> tuple[int, float, int, str]:
    src = loader.expand_source(loader.KERNEL_DIR / f"{name}.cu").encode()
    prog = ctypes.c_void_p()
    if lib.nvrtcCreateProgram(ctypes.byref(prog), src, f"{name}.cu".encode(), 0, None, None):
        raise RuntimeError("nvrtcCreateProgram failed")
    try:
        opts = [*loader.compile_options(arch), f"--gpu-architecture=sm_{arch}", "-Xptxas=-v"]
        argv = (ctypes.c_char_p * len(opts))(*(o.encode() for o in opts))
        t = time.perf_counter()
        rc = lib.nvrtcCompileProgram(prog, len(opts), argv)
        seconds = time.perf_counter() - t
        size = ctypes.c_size_t()
        lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
        log = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetProgramLog(prog, log)
        cubin = ctypes.c_size_t()
        if rc == 0:
            lib.nvrtcGetCUBINSize(prog, ctypes.byref(cubin))
        return rc, seconds, cubin.value, log.value.decode(errors="replace")
    finally:
        lib.nvrtcDestroyProgram(ctypes.byref(prog))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("libnvrtc", help="path of libnvrtc.so (e.g. from the nvidia-cuda-nvrtc wheel)")
    ap.add_argument("--arch", type=int, nargs="+", default=[90, 80])
    ap.add_argument("--modules", nargs="+", default=list(loader.MODULES))
    args = ap.parse_args()
    lib = ctypes.CDLL(args.libnvrtc)
    major, minor = ctypes.c_int(), ctypes.c_int()
    lib.nvrtcVersion(ctypes.byref(major), ctypes.byref(minor))
    print(f"NVRTC {major.value}.{minor.value}\n")
    print("| module | arch | ok | compile (s) | cubin (KiB) | spill stores (bytes, per function with any) |")
    print("|---|---|---|---:|---:|---|")
    failed = False
    for name in args.modules:
        for arch in args.arch:
            rc, seconds, cubin, log = compile_module(lib, name, arch)
            spills = [int(s) for s in re.findall(r"(\d+) bytes spill stores", log) if int(s)]
            print(f"| {name} | sm_{arch} | {rc == 0} | {seconds:.1f} | {cubin / 1024:.0f} | {spills or '-'} |")
            if rc:
                failed = True
                print(log[-4000:])
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
