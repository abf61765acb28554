"""Every kernel launch in ``prover.backend.gpu.CupyOps`` matches the kernel's C signature.

CuPy passes a raw kernel's arguments by value as the NumPy scalar types it is given and device
arrays as bare pointers: a Python ``int`` where the kernel takes ``u32`` shifts every later
argument, a ``uint32`` array where it reads ``u64*`` reads garbage, and a non-contiguous view is
read as if it were contiguous. None of that raises; the results are just wrong. This test runs
without a GPU: a whole proof (and G2 MSMs) goes through the CPU mirror of the kernels, and each
launch method of the real ``CupyOps`` is called first with the same arguments against recording
stand-ins for the compiled kernels, which check the argument count, the scalar types, the
element type and contiguity of every array, and the launch shape, against the ``extern "C"``
declarations parsed from kernels/*.cu.
"""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from kernels import loader
from prover.backend import gpu as gpu_mod
from prover.backend.gpu import CupyOps
from tests.test_gpu_msm_mirror import MsmMirrorOps, random_points, run_msm

KERNEL_DIR = Path(loader.__file__).resolve().parent
_DECL = re.compile(
    r'extern\s+"C"\s+__global__\s+void\s+'
    r"(?:__launch_bounds__\((?:[^()]|\([^()]*\))*\)\s*)?"  # the bound may hold parentheses
    r"(\w+)\s*\(([^)]*)\)",
    re.S,
)
_SCALARS = {"u32": np.uint32, "uint32_t": np.uint32, "u64": np.uint64, "uint64_t": np.uint64}
#: the launch methods CupyOps and the mirror share (the orchestration calls only these)
LAUNCHES = (
    "ntt_pass",
    "permute_scale",
    "powers",
    "convert",
    "coeffs_from_zkey",
    "sparse_abc",
    "quotient_h",
    "msm_histogram",
    "msm_scatter",
    "msm_sum_chunks",
    "msm_reduce_segments",
)


def parse_kernels() -> dict[str, list[tuple[str, bool]]]:
    """name -> [(base type, is pointer)] for every extern "C" kernel in kernels/*.cu."""
    out = {}
    for src in sorted(KERNEL_DIR.glob("*.cu")):
        for m in _DECL.finditer(src.read_text()):
            params = []
            for raw in m.group(2).split(","):
                decl = raw.replace("const", " ").strip()
                base = decl.split()[0].rstrip("*")
                params.append((base, "*" in decl))
            out[m.group(1)] = params
    return out


KERNELS = parse_kernels()


def test_the_parser_finds_every_kernel():
    assert {"fr_ntt_dit_pass", "fr_sparse_abc", "msm_scatter", "g2_reduce_segments"} <= set(KERNELS)
    assert KERNELS["msm_histogram"] == [
        ("u64", True),
        ("u64", False),
        ("u32", False),
        ("u32", False),
        ("u32", False),
        ("u32", True),
    ]


class KernelStandIn:
    """Records and checks launches of one kernel, as ``RawModule.get_function`` would return."""

    def __init__(self, name: str, seen: dict[str, int]) -> None:
        assert name in KERNELS, f"CupyOps asks for a kernel no .cu file declares: {name}"
        self.name = name
        self.seen = seen

    def __call__(self, grid, block, args) -> None:
        params = KERNELS[self.name]
        where = f"{self.name}{tuple(type(a).__name__ for a in args)}"
        assert len(args) == len(params), f"{where}: {len(args)} arguments for {len(params)} parameters"
        for i, (arg, (base, pointer)) in enumerate(zip(args, params, strict=True)):
            want = _SCALARS[base]
            if pointer:
                assert isinstance(arg, np.ndarray), f"{where}: argument {i} must be a device array"
                assert arg.dtype == want, f"{where}: argument {i} is {arg.dtype}, the kernel reads {base}*"
                assert arg.flags.c_contiguous, f"{where}: argument {i} is not contiguous"
            else:
                assert type(arg) is want, f"{where}: argument {i} is {type(arg).__name__}, the kernel takes {base}"
        grid = tuple(grid)
        block = tuple(block)
        assert 1 <= len(grid) <= 3 and 1 <= len(block) <= 3, where
        assert all(isinstance(g, int) and g >= 1 for g in grid + block), f"{where}: grid {grid}, block {block}"
        assert grid[0] < 2**31 and all(g <= 65535 for g in grid[1:]), f"{where}: grid {grid}"
        assert int(np.prod(block)) <= 1024, f"{where}: block {block}"
        if self.name.startswith("fr_ntt_"):  # __launch_bounds__(1 << (ZK_NTT_TILE_LOG - 1))
            assert block[0] <= 1 << (loader.NTT_TILE_LOG - 1), f"{where}: block {block}"
        self.seen[self.name] = self.seen.get(self.name, 0) + 1


def real_cupy_ops(monkeypatch, seen: dict[str, int]) -> CupyOps:
    """A CupyOps built by its own __init__, with the loader and CuPy replaced by stand-ins."""

    class Module:
        def get_function(self, name: str) -> KernelStandIn:
            return KernelStandIn(name, seen)

    monkeypatch.setitem(sys.modules, "cupy", types.SimpleNamespace())
    monkeypatch.setattr(loader, "load", lambda name: Module())
    return CupyOps()


class CheckedMirrorOps(MsmMirrorOps):
    """The mirror, with each launch first replayed through the real CupyOps method."""

    def __init__(self, cupy_ops: CupyOps, **kw) -> None:
        super().__init__(**kw)
        self.cupy_ops = cupy_ops


def _checked(name: str):
    def launch(self, *args, **kwargs):
        getattr(CupyOps, name)(self.cupy_ops, *args, **kwargs)
        return getattr(MsmMirrorOps, name)(self, *args, **kwargs)

    launch.__name__ = name
    return launch


for _name in LAUNCHES:
    setattr(CheckedMirrorOps, _name, _checked(_name))


def test_every_launch_matches_its_kernel(monkeypatch):
    """A proof through GpuBackend (NTTs, H step, five MSMs) plus G2 MSMs with several windows."""
    import random

    from circuits.examples import cube_chain
    from prover.groth16.prover import prove
    from prover.groth16.setup import setup
    from prover.groth16.verifier import verify

    seen: dict[str, int] = {}
    cupy_ops = real_cupy_ops(monkeypatch, seen)
    ops = CheckedMirrorOps(cupy_ops, tile_log=4)
    monkeypatch.setattr(gpu_mod.GpuBackend, "available", classmethod(lambda cls: (True, "CPU mirror")))
    monkeypatch.setattr(gpu_mod, "CupyOps", lambda: ops)
    monkeypatch.delenv("ZKPROVER_GPU_MSM", raising=False)
    backend = gpu_mod.GpuBackend(poison=True)
    circuit = cube_chain(6)
    pk = setup(circuit.r1cs, name=circuit.name)
    out = prove(pk, circuit.witness({"x": 3, "key": 77}), backend, r1cs=circuit.r1cs)
    assert verify(pk.vk, out.public_signals, out.proof)

    # the xyzz (tree) pass and G2's kernels: small windows and chunks force every kernel
    rng = random.Random(5)
    monkeypatch.setenv("ZKPROVER_GPU_MSM_WINDOW", "3")
    monkeypatch.setenv("ZKPROVER_GPU_MSM_CHUNK", "2")
    from prover.field.curve import G1, G2

    for group, n in ((G1, 40), (G2, 12)):
        pts = random_points(group, n, rng)
        run_msm(backend.engine, group, pts, [rng.randrange(1, 1 << 20) for _ in range(n)])
    backend.ntt(np.arange(64, dtype=np.uint64).reshape(16, 4) % 7)

    used = {k for k in KERNELS if k.startswith(("fr_", "msm_", "g1_", "g2_")) and not k.endswith("binop")}
    assert used - set(seen) == set(), f"kernels never launched: {sorted(used - set(seen))}"


@pytest.mark.parametrize(
    "bad_args, message",
    [
        ((np.zeros(8, dtype=np.uint64), np.uint64(2), 0), "takes u32"),
        ((np.zeros(8, dtype=np.uint32), np.uint64(2), np.uint32(0)), "reads u64*"),
        ((np.zeros((4, 4), dtype=np.uint64)[:, :2], np.uint64(2), np.uint32(0)), "not contiguous"),
        ((np.zeros(8, dtype=np.uint64), np.uint64(2)), "2 arguments for 3"),
    ],
)
def test_the_check_catches_mismatches(bad_args, message):
    with pytest.raises(AssertionError, match=message):
        KernelStandIn("fr_convert", {})((1,), (256,), bad_args)
