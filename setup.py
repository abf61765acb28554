"""Build of the optional native CPU backend, ``prover.backend._native``.

Project metadata lives in pyproject.toml; this file only declares the C extension, because
setuptools has no declarative form for per-compiler flag probing.

The extension is ``optional=True``: if the C compiler is missing or the compile fails,
``pip install`` still succeeds and the prover runs on the pure-Python backend (with a log line
from the backend selection). Flags are probed, not assumed:

* ``-O3`` always.
* ``-fopenmp`` when the compiler accepts it (GCC ships libgomp); without it the kernels build
  single-threaded rather than not at all.
* ``-march=native`` when accepted, because the package is built from source on the machine that
  runs it (``pip install`` of an sdist or a checkout). It lets GCC use MULX/ADX for the 64x64-bit
  products that dominate every field multiplication. Set ``ZKPROVER_PORTABLE=1`` when building a
  wheel or image for other machines (a CI artifact, a Docker image built on one host and run on
  another): a binary built with -march=native may die with SIGILL on an older CPU.

The contribution's rescaling kernel (``scale_ifma.c``) is compiled for AVX-512 IFMA either way
(a GCC target pragma) and only taken after a run-time check of the CPU; ``ZKPROVER_NO_IFMA=1``
makes ``zkp_scale_g1_glv`` keep the scalar path.
"""

from __future__ import annotations

import os
import sys
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

NATIVE = "prover/backend/native"


class ProbingBuildExt(build_ext):
    """build_ext that adds each optional flag only if the compiler accepts it."""

    def _accepts(self, flags: list[str], link: bool = False) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            with open(src, "w") as f:
                f.write("#include <stdint.h>\nint main(void){unsigned __int128 x=(uint64_t)3;return (int)(x>>64);}\n")
            try:
                objs = self.compiler.compile([src], output_dir=tmp, extra_postargs=flags)
                if link:
                    self.compiler.link_executable(objs, os.path.join(tmp, "probe"), extra_postargs=flags)
            except Exception:
                return False
        return True

    def build_extensions(self) -> None:
        compile_flags = ["-O3", "-std=c11", "-fno-strict-aliasing"]
        link_flags: list[str] = []
        if self.compiler.compiler_type == "unix":
            if self._accepts(["-fopenmp"], link=True):
                compile_flags.append("-fopenmp")
                link_flags.append("-fopenmp")
            else:
                print("zkprover: compiler lacks OpenMP; native backend will be single-threaded", file=sys.stderr)
            portable = os.environ.get("ZKPROVER_PORTABLE", "") not in ("", "0")
            if not portable and self._accepts(["-march=native"]):
                compile_flags.append("-march=native")
        for ext in self.extensions:
            ext.extra_compile_args = compile_flags + list(ext.extra_compile_args or [])
            ext.extra_link_args = link_flags + list(ext.extra_link_args or [])
        super().build_extensions()


setup(
    ext_modules=[
        Extension(
            "prover.backend._native",
            sources=[
                f"{NATIVE}/{name}.c"
                for name in ("module", "msm", "ntt", "pairing", "witness", "operator", "blake2b", "scale_ifma")
            ],
            depends=[
                f"{NATIVE}/{name}.h"
                for name in ("field", "field_ifma", "msm_ifma", "glv", "curve_impl", "ptau_impl", "zkp", "pairing")
            ],
            include_dirs=[NATIVE],
            optional=True,
        )
    ],
    cmdclass={"build_ext": ProbingBuildExt},
)
