"""Compile the CUDA kernels with CuPy, once per process, cached on disk.

``load(name)`` returns a compiled module for ``kernels/<name>.cu`` (``ntt``, ``qap``, ``msm``,
``field_ops``: every ``*.cu`` next to this file is loadable by its stem, see :data:`MODULES`).
Modules are CuPy ``RawModule`` objects whose ``get_function(name)`` returns the ``extern "C"``
kernels.

Compilation:

* The source handed to NVRTC is the ``.cu`` file with its ``#include "x.cuh"`` lines expanded
  in place (recursively, once each). CuPy keys its on-disk cache on the source text and the
  options, not on included files, so expanding the headers makes a header edit invalidate the
  cache as it must.
* Options are chosen for the device found: ``-std=c++17``, a ``ZK_CC`` define (compute
  capability, for per-architecture tuning in the headers), and the NTT tile size
  ``ZK_NTT_TILE_LOG`` (2^10 elements, 32 KiB of shared memory, fits every GPU since sm_50).
  CuPy itself selects the target architecture (``sm_XX`` of the current device, or the newest
  that its NVRTC supports, as PTX).
* Prebuilt cubins (``python -m kernels.prebuild``, run by ``deploy/scripts/install.sh`` where a
  toolkit is present) are used first when one matches the exact source, options and
  architecture; see ``kernels/prebuild.py``.
* The disk cache is ``$ZKPROVER_KERNEL_CACHE`` (default ``~/.cache/zkprover/kernels``): CuPy's
  ``CUPY_CACHE_DIR`` is pointed there while our modules compile, so the cubins of this project
  live apart from other CuPy users' and can be wiped or pre-built (a Docker layer) alone.

Nothing here imports CuPy at module import time: ``import kernels.loader`` works on a machine
without CUDA, and :func:`probe` reports why the GPU path is unusable instead of raising.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger("zkprover.kernels")

KERNEL_DIR = Path(__file__).resolve().parent
#: loadable modules: the stems of the .cu files next to this file
MODULES = tuple(sorted(p.stem for p in KERNEL_DIR.glob("*.cu")))
#: modules the prover needs; ``probe`` compiles these (``field_ops`` is for tests and benchmarks)
PRODUCTION_MODULES = ("ntt", "qap", "msm")
#: log2 of the NTT tile (elements per shared-memory tile); kernels/ntt_plan.py plans with it
NTT_TILE_LOG = 10

_INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$', re.MULTILINE)
_PRAGMA_ONCE = re.compile(r"^\s*#\s*pragma\s+once\s*$", re.MULTILINE)
_lock = threading.Lock()
_modules: dict[tuple[str, int], Any] = {}


def cache_dir() -> Path:
    return Path(os.environ.get("ZKPROVER_KERNEL_CACHE") or Path.home() / ".cache" / "zkprover" / "kernels")


def expand_source(path: Path, seen: set[Path] | None = None) -> str:
    """The file's text with every ``#include "local.cuh"`` replaced by that file's (expanded)
    text, each header at most once (the headers also carry ``#pragma once``)."""
    seen = set() if seen is None else seen
    path = path.resolve()
    seen.add(path)
    text = path.read_text()

    def repl(m: re.Match) -> str:
        inc = (path.parent / m.group(1)).resolve()
        if not inc.is_file():
            return m.group(0)  # a system header: leave it to the compiler
        if inc in seen:
            return f"// (already included: {m.group(1)})"
        # the expansion includes each header once itself; a #pragma once left in the single
        # expanded file would only draw a compiler warning
        body = _PRAGMA_ONCE.sub("", expand_source(inc, seen))
        return f"// ---- begin {m.group(1)} ----\n{body}\n// ---- end {m.group(1)} ----"

    return _INCLUDE.sub(repl, text)


def compile_options(compute_capability: int) -> tuple[str, ...]:
    """NVRTC options for a device of the given compute capability (e.g. 90 for an H100)."""
    return (
        "-std=c++17",
        f"-DZK_CC={compute_capability}",
        f"-DZK_NTT_TILE_LOG={NTT_TILE_LOG}",
    )


@contextmanager
def _cupy_cache_dir(path: Path):
    """Point CuPy's kernel cache at ``path`` for the duration (CuPy reads the variable at
    compile time), restoring the caller's setting afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    old = os.environ.get("CUPY_CACHE_DIR")
    os.environ["CUPY_CACHE_DIR"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CUPY_CACHE_DIR", None)
        else:
            os.environ["CUPY_CACHE_DIR"] = old


def load(name: str) -> Any:
    """The compiled module ``kernels/<name>.cu`` for the current CuPy device (compiled on first
    use in this process, from the disk cache when it is there)."""
    import cupy  # deferred: importing this module must not need CuPy

    if name not in MODULES:
        raise KeyError(f"no kernel module {name!r} (have {', '.join(MODULES)})")
    dev = cupy.cuda.Device()
    cc = int(dev.compute_capability)
    key = (name, dev.id)
    with _lock:
        mod = _modules.get(key)
        if mod is None:
            mod = _load_prebuilt(cupy, name, cc)
        if mod is None:
            source = expand_source(KERNEL_DIR / f"{name}.cu")
            # a cold cache costs minutes for msm.cu (NVRTC, ~100-160 s): say so, or a worker's
            # first start looks hung
            log.info(
                "kernels: loading %s.cu for sm_%d: no prebuilt cubin, compiling with NVRTC unless cached in %s "
                "(a cold start compiles msm.cu for ~100-160 s; python -m kernels.prebuild avoids it)",
                name,
                cc,
                cache_dir(),
            )
            t0 = time.perf_counter()
            with _cupy_cache_dir(cache_dir()):
                try:
                    mod = cupy.RawModule(code=source, options=compile_options(cc))
                    mod.compile()  # RawModule compiles lazily; do it now, inside the cache dir
                except Exception as exc:
                    # NVRTC is the default (no toolkit needed at run time); where it is broken
                    # or too old for the device and nvcc is installed, nvcc still gives cubins
                    if not shutil.which("nvcc"):
                        raise
                    log.warning("kernels: NVRTC failed on %s.cu (%s); retrying with nvcc", name, exc)
                    mod = cupy.RawModule(code=source, options=compile_options(cc), backend="nvcc")
                    mod.compile()
            log.info("kernels: %s.cu ready in %.1f s", name, time.perf_counter() - t0)
        _modules[key] = mod
    return mod


_FIRST_KERNEL = re.compile(
    r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\((?:[^()]|\([^()]*\))*\)\s*)?(\w+)'
)


def _load_prebuilt(cupy: Any, name: str, cc: int) -> Any | None:
    """The module from a cubin ``kernels.prebuild`` made for this exact source and sm_``cc``,
    or None (none there, or the driver refused it: then the caller compiles as usual)."""
    from kernels import prebuild

    path = prebuild.find(name, cc)
    if path is None:
        return None
    t0 = time.perf_counter()
    try:
        mod = cupy.RawModule(path=str(path))
        # CuPy loads a cubin lazily: fetch one kernel now, so a refusal falls back here
        first = _FIRST_KERNEL.search(expand_source(KERNEL_DIR / f"{name}.cu"))
        if first is not None:
            mod.get_function(first.group(1))
    except Exception as exc:
        log.warning("kernels: prebuilt %s not loadable (%s); compiling %s.cu instead", path, exc, name)
        return None
    log.info("kernels: %s.cu for sm_%d from prebuilt %s in %.2f s", name, cc, path, time.perf_counter() - t0)
    return mod


def probe() -> tuple[bool, str]:
    """(True, device description) when CuPy finds a device and the prover's modules compile,
    else (False, why). Cheap after the first call (modules are cached per process)."""
    try:
        import cupy
    except ImportError as exc:
        return False, f"CuPy is not installed ({exc}); pip install '.[gpu-cuda13]' or '.[gpu-cuda12]'"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # no driver, driver/runtime mismatch
        return False, f"CUDA unavailable: {exc}"
    if count < 1:
        return False, "no CUDA device found"
    try:
        for name in PRODUCTION_MODULES:
            load(name)
    except Exception as exc:
        return False, f"kernels failed to compile: {type(exc).__name__}: {str(exc)[:2000]}"
    return True, device_description()


def device_description() -> str:
    import cupy

    dev = cupy.cuda.Device()
    props = cupy.cuda.runtime.getDeviceProperties(dev.id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    free, total = cupy.cuda.runtime.memGetInfo()
    return f"{name} (sm_{dev.compute_capability}, {total / 2**30:.1f} GiB, {free / 2**30:.1f} GiB free)"
