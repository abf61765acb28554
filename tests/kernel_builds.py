"""nvcc builds of ``kernels/*.cu`` shared by the compile test and the PTX carry check.

The expensive part of compiling ``msm.cu`` is the front end (cicc: ~2 minutes of a 2-core
machine for 12 MB of fully inlined G2 arithmetic); ptxas for one architecture is the rest.
Each source therefore goes through the front end once, to PTX for the oldest architecture
the project supports (``compute_80``), and that PTX is assembled by ptxas for every target
architecture, which is how a fat binary with a ``compute_80`` PTX entry would be JIT-ed on an
H100. The kernels do not branch on the architecture (no ``__CUDA_ARCH__``, and ``ZK_CC`` is
not read by any kernel), so the PTX for ``compute_90`` differs only in its ``.target`` line;
``test_kernels_compile.py`` checks that assumption on the sources.

Results are cached per pytest process, so the front end runs once however many tests ask.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from kernels import loader

NVCC = shutil.which("nvcc")
PTXAS = shutil.which("ptxas") or (str(Path(NVCC).resolve().parent / "ptxas") if NVCC else None)
PTX_ARCH = 80
TARGET_ARCHS = (90, 80)
SOURCES = tuple(sorted(loader.KERNEL_DIR.glob("*.cu")))
_WORK = Path(tempfile.mkdtemp(prefix="zkprover-kernel-builds-"))
atexit.register(shutil.rmtree, _WORK, ignore_errors=True)


@dataclass(frozen=True)
class Step:
    """One compiler run: its exit status and everything it printed."""

    rc: int
    out: str


def _run(cmd: list[str]) -> Step:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    return Step(proc.returncode, proc.stdout + proc.stderr)


def _front_end(src: Path) -> tuple[Step, Path]:
    expanded = _WORK / f"{src.stem}.cu"
    expanded.write_text(loader.expand_source(src))
    ptx = _WORK / f"{src.stem}.compute_{PTX_ARCH}.ptx"
    options = loader.compile_options(PTX_ARCH)
    step = _run([NVCC, "-ptx", f"-arch=compute_{PTX_ARCH}", *options, str(expanded), "-o", str(ptx)])
    return step, ptx


@functools.cache
def front_ends() -> dict[str, tuple[Step, Path]]:
    """Every source through nvcc's front end, in parallel: name → (step, PTX path)."""
    with ThreadPoolExecutor(max_workers=len(SOURCES)) as pool:
        futs = {src.name: pool.submit(_front_end, src) for src in SOURCES}
        return {name: f.result() for name, f in futs.items()}


def _assemble(ptx: Path, arch: int) -> Step:
    return _run([PTXAS, f"-arch=sm_{arch}", "-v", str(ptx), "-o", str(ptx.with_suffix(f".sm_{arch}.cubin"))])


@functools.cache
def assembled(arch: int) -> dict[str, Step]:
    """ptxas of every source's PTX for ``sm_<arch>``: name → step (a front-end failure is
    passed through as the step, so the test names the source either way)."""
    fronts = front_ends()
    with ThreadPoolExecutor(max_workers=len(fronts)) as pool:
        futs = {
            name: pool.submit(_assemble, ptx, arch) if front.rc == 0 else None for name, (front, ptx) in fronts.items()
        }
        return {name: (f.result() if f is not None else fronts[name][0]) for name, f in futs.items()}


def ptx_text(name: str) -> str:
    """The ``compute_80`` PTX of ``kernels/<name>.cu`` (raises when the front end failed)."""
    step, path = front_ends()[f"{name}.cu"]
    if step.rc != 0:
        raise RuntimeError(f"nvcc failed on {name}.cu:\n{step.out[-4000:]}")
    return path.read_text()
