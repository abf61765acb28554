"""Build the kernels ahead of time, so that a worker's first start does not compile them.

Without this, the first ``GpuBackend`` in a fresh container compiles ``msm.cu`` with NVRTC for
about 100-160 s (plus ntt.cu and qap.cu, a few seconds each) before it can prove. Where a
toolkit is present at install or image-build time (nvcc in the CUDA devel image, or NVRTC from
the ``nvidia-cuda-nvrtc`` wheel), this compiles each production module to a cubin per
architecture:

    python -m kernels.prebuild [--arch 80 90] [--out DIR] [--modules ntt qap msm]

Files are ``<module>-sm<cc>-<key>.cubin``, ``key`` a hash of the exact source and options the
loader would hand NVRTC (:func:`prebuilt_key`): a kernel edit, a new tile size or another
architecture simply finds no file and compiles as before. The loader looks in
``$ZKPROVER_PREBUILT_KERNELS`` (default ``<venv>/share/zkprover/kernels``, where
``deploy/scripts/install.sh`` puts them) and in ``<kernel cache>/prebuilt`` (this command's
default output), loads a matching cubin directly and logs that it did; a cubin the driver
refuses (a driver older than the compiler) is logged and compiled from source instead.
Modules build in parallel (one compiler process per module and architecture).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kernels import loader

#: architectures built by default: A100 (sm_80) and H100 (sm_90), the GPUs the project targets
DEFAULT_ARCHS = (80, 90)


def prebuilt_key(name: str, cc: int) -> str:
    """Hash of what NVRTC would compile for ``name`` on an sm_``cc`` device."""
    digest = hashlib.sha256(loader.expand_source(loader.KERNEL_DIR / f"{name}.cu").encode())
    digest.update("\0".join(loader.compile_options(cc)).encode())
    return digest.hexdigest()[:20]


def file_name(name: str, cc: int) -> str:
    return f"{name}-sm{cc}-{prebuilt_key(name, cc)}.cubin"


def search_dirs() -> list[Path]:
    """Where the loader looks for prebuilt cubins, in order."""
    env = os.environ.get("ZKPROVER_PREBUILT_KERNELS")
    first = Path(env) if env else Path(sys.prefix) / "share" / "zkprover" / "kernels"
    return [first, loader.cache_dir() / "prebuilt"]


def find(name: str, cc: int) -> Path | None:
    """The prebuilt cubin for ``name`` on sm_``cc``, if one was built for this exact source."""
    fname = file_name(name, cc)
    for d in search_dirs():
        if (d / fname).is_file():
            return d / fname
    return None


def build(out: Path, archs: tuple[int, ...], modules: tuple[str, ...], compiler: str | None = None) -> list[Path]:
    """Compile every (module, arch) cubin into ``out`` (written under a temporary name, then
    renamed); returns the files. Prints one line per cubin with its compile time."""
    from kernels import toolchain

    out.mkdir(parents=True, exist_ok=True)

    def one(name: str, cc: int) -> Path:
        t0 = time.perf_counter()
        data = toolchain.cubin(name, cc, compiler)
        path = out / file_name(name, cc)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        print(f"prebuild: {name}.cu sm_{cc}: {time.perf_counter() - t0:.1f} s, {len(data) >> 10} KiB", flush=True)
        return path

    jobs = [(n, cc) for n in modules for cc in archs]
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        return [f.result() for f in [pool.submit(one, n, cc) for n, cc in jobs]]


def main(argv: list[str] | None = None) -> int:
    from kernels import toolchain

    ap = argparse.ArgumentParser(description="Compile the CUDA kernels to cubins ahead of time.")
    ap.add_argument("--arch", type=int, nargs="+", default=list(DEFAULT_ARCHS), help="compute capabilities")
    ap.add_argument("--modules", nargs="+", default=list(loader.PRODUCTION_MODULES))
    ap.add_argument("--out", type=Path, default=None, help="default: <kernel cache>/prebuilt")
    ap.add_argument("--compiler", choices=["nvrtc", "nvcc"], default=None)
    args = ap.parse_args(argv)
    unknown = sorted(set(args.modules) - set(loader.MODULES))
    if unknown:
        ap.error(f"unknown modules {unknown} (have {', '.join(loader.MODULES)})")
    if (args.compiler or toolchain.available()) is None:
        print("prebuild: no nvcc and no NVRTC here; the kernels will compile on first use", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    files = build(args.out or loader.cache_dir() / "prebuilt", tuple(args.arch), tuple(args.modules), args.compiler)
    print(f"prebuild: {len(files)} cubins in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
