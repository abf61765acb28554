"""Compile a kernel module for the CPU: its host C++ translation unit (translate.py) with
``cuda_host.h``, by g++, into a shared library cached on disk.

The cache is ``<kernel cache>/emulator`` (``$ZKPROVER_KERNEL_CACHE``, default
``~/.cache/zkprover/kernels``), one ``<module>-<hash>.so`` per build, the hash covering the
translation unit, ``cuda_host.h``, the compiler and every flag: a kernel, header or flag change
builds anew, and an unchanged tree reuses the library across test runs. A build writes to a
temporary name and renames, so concurrent runs never load a half-written library.

Flags: ``-O1`` (``msm.cu``'s fully inlined G2 arithmetic takes about a minute at -O1; -O0
runs several times slower, -O2 builds longer for little), the loader's defines
(``ZK_CC``, ``ZK_NTT_TILE_LOG``), and ``-fsanitize=bounds`` in trap mode so that an index past
a fixed-size array (a ``__shared__`` tile) stops the launch. ``$ZKPROVER_EMU_SANITIZE=undefined``
builds with UndefinedBehaviorSanitizer instead (the sanitizer run in README: shifts, overflow,
misaligned loads, bounds, reported with file and line, stopping the process at the first);
``$ZKPROVER_EMU_CFLAGS`` adds flags; ``$ZKPROVER_EMU_CXX`` picks the compiler (default ``$CXX``
or ``g++``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shlex
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from kernels import loader
from kernels.emulator import HEADER_NAME
from kernels.emulator.translate import Kernel, translation_unit

log = logging.getLogger("zkprover.kernels.emulator")

HERE = Path(__file__).resolve().parent
#: compute capability the emulated build claims (ZK_CC): the H100's
EMULATED_CC = 90
BASE_FLAGS = (
    "-std=c++17",
    "-O1",
    "-g0",
    "-fPIC",
    "-shared",
    "-fno-strict-aliasing",
    # every library keeps its own emulator state and __shared__ arrays: with default visibility
    # GCC makes them process-wide GNU_UNIQUE symbols, shared by every module (and every planted
    # mutant) loaded in the process
    "-fvisibility=hidden",
    "-fno-gnu-unique",
    "-fsanitize=bounds",
    "-fsanitize-undefined-trap-on-error",
    "-Wall",
    "-Wno-unused-function",
    "-Wno-unknown-pragmas",
    "-Wno-unused-variable",
)


class BuildError(RuntimeError):
    """The host compiler rejected a kernel module."""


def compiler() -> str:
    return os.environ.get("ZKPROVER_EMU_CXX") or os.environ.get("CXX") or "g++"


#: ``$ZKPROVER_EMU_SANITIZE=undefined``: build with UBSan reporting instead of the bounds trap
SANITIZERS = ("undefined",)


def sanitizer() -> str | None:
    name = os.environ.get("ZKPROVER_EMU_SANITIZE", "").strip()
    if name and name not in SANITIZERS:
        raise BuildError(f"ZKPROVER_EMU_SANITIZE must be one of {', '.join(SANITIZERS)}, got {name!r}")
    return name or None


def extra_flags() -> list[str]:
    return shlex.split(os.environ.get("ZKPROVER_EMU_CFLAGS", ""))


def cache_dir() -> Path:
    return loader.cache_dir() / "emulator"


def flags() -> list[str]:
    """Compiler flags (the translation unit has its headers inlined: no kernel include path,
    so an unchanged module of a copied kernel tree hits the cache)."""
    defines = [o for o in loader.compile_options(EMULATED_CC) if o.startswith("-D")]
    base = list(BASE_FLAGS)
    san = sanitizer()
    if san:
        # the UBSan runtime reports (file, line, what) and halts on the first error, in place of
        # the silent trap; libubsan is linked into the module, no preload needed
        base.remove("-fsanitize-undefined-trap-on-error")
        base += [f"-fsanitize={san}", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
    return [*base, *extra_flags(), *defines, f"-I{HERE}"]


def build(name: str, kernel_dir: Path | None = None) -> tuple[Path, list[Kernel]]:
    """The shared library of ``<kernel_dir>/<name>.cu`` (default: the project's kernels),
    compiled now unless the cache has it, and the module's kernels."""
    kdir = Path(kernel_dir or loader.KERNEL_DIR)
    src = kdir / f"{name}.cu"
    if not src.is_file():
        raise KeyError(f"no kernel module {name!r} in {kdir}")
    unit, kernels = translation_unit(name, loader.expand_source(src))
    cmd_flags = flags()
    digest = hashlib.sha256()
    for part in (unit, (HERE / HEADER_NAME).read_text(), compiler(), " ".join(cmd_flags)):
        digest.update(part.encode())
        digest.update(b"\0")
    out_dir = cache_dir()
    so = out_dir / f"{name}-{digest.hexdigest()[:20]}.so"
    if so.exists():
        return so, kernels
    if shutil.which(compiler()) is None:
        raise BuildError(f"the C++ compiler {compiler()!r} is not installed (set ZKPROVER_EMU_CXX)")
    out_dir.mkdir(parents=True, exist_ok=True)
    cpp = so.with_suffix(".cpp")
    cpp.write_text(unit)
    tmp = so.with_name(f"{so.name}.{os.getpid()}.tmp")
    log.info("emulator: compiling %s.cu for the CPU (cached as %s)", name, so.name)
    t0 = time.perf_counter()
    proc = subprocess.run([compiler(), *cmd_flags, str(cpp), "-o", str(tmp)], capture_output=True, text=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise BuildError(f"emulator: {compiler()} failed on {name}.cu:\n{proc.stderr[-5000:]}")
    if proc.stderr.strip():
        log.warning("emulator: %s.cu compiled with warnings:\n%s", name, proc.stderr[-3000:])
    os.replace(tmp, so)
    log.info("emulator: %s.cu built in %.1f s", name, time.perf_counter() - t0)
    return so, kernels


def build_all(names: tuple[str, ...] = loader.MODULES, kernel_dir: Path | None = None) -> None:
    """Build several modules at once (one compiler process each): a cold cache then costs
    about as long as msm.cu alone instead of the sum."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(names), os.cpu_count() or 1))) as pool:
        for fut in [pool.submit(build, n, kernel_dir) for n in names]:
            fut.result()
