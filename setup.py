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

A portable build on x86-64 also builds the same sources as ``prover.backend._native_v4`` with
``-march=x86-64-v4 -mavx512ifma -madx`` (objects in their own build folder): the MULX/ADX field
multiplication and the IFMA MSM, which a portable baseline lacks. ``prover/backend/__init__.py``
imports it in place of ``_native`` when the CPU has those features (and
``ZKPROVER_NATIVE_VARIANT`` is not ``baseline``).

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
            if portable and self._accepts(V4_FLAGS):
                self._add_extension(_native_extension(V4_NAME, V4_FLAGS, [("ZKP_MODULE_V4", "1")]))
        for ext in self.extensions:
            ext.extra_compile_args = compile_flags + list(ext.extra_compile_args or [])
            ext.extra_link_args = link_flags + list(ext.extra_link_args or [])
        super().build_extensions()

    def _add_extension(self, ext: Extension) -> None:
        """An extension added after finalize_options: the attributes it would have set."""
        ext._full_name = self.get_ext_fullname(ext.name)
        ext._links_to_dynamic = False
        ext._needs_stub = False
        self.ext_map[ext._full_name] = ext
        self.extensions.append(ext)

    def build_extension(self, ext: Extension) -> None:
        if ext.name != V4_NAME:
            super().build_extension(ext)
            return
        # the same sources as _native: their objects must not be taken for this build's
        base = self.build_temp
        self.build_temp = os.path.join(base, "v4")
        try:
            super().build_extension(ext)
        finally:
            self.build_temp = base


SOURCES = ("module", "msm", "ntt", "pairing", "witness", "operator", "blake2b", "scale_ifma")
HEADERS = ("field", "field_ifma", "msm_ifma", "glv", "curve_impl", "ptau_impl", "zkp", "pairing")
V4_NAME = "prover.backend._native_v4"
V4_FLAGS = ["-march=x86-64-v4", "-mavx512ifma", "-madx"]


def _native_extension(name: str, flags: list[str], macros: list[tuple[str, str]]) -> Extension:
    return Extension(
        name,
        sources=[f"{NATIVE}/{n}.c" for n in SOURCES],
        depends=[f"{NATIVE}/{n}.h" for n in HEADERS],
        include_dirs=[NATIVE],
        extra_compile_args=list(flags),
        define_macros=macros,
        optional=True,
    )


setup(
    ext_modules=[_native_extension("prover.backend._native", [], [])],
    cmdclass={"build_ext": ProbingBuildExt},
)
