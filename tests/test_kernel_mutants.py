"""Planted kernel bugs: each is a one-line change to a copy of kernels/, run on the emulator
through the real CupyOps -> GpuEngine path against the native (or Python) backend. Every
mutant must be caught, by a wrong result or by a launch error; a mutant that survives means
the emulated GPU tests could not see that kind of bug. Also: results do not depend on the
order in which blocks and threads are scheduled (shuffled schedules).

The mutated libraries land in the emulator's build cache like any other (keyed by content), so
a second run reuses them.
"""

from __future__ import annotations

import re
import shutil
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from kernels import emulator, loader
from kernels.emulator import build, devmem, runtime
from kernels.emulator.runtime import LaunchError
from prover.backend.gpu import CupyOps, GpuEngine
from tests.gpu.helpers import rand_fr_array, synthetic_key, synthetic_witness

pytestmark = pytest.mark.skipif(not emulator.probe()[0], reason=f"kernel emulation unavailable: {emulator.probe()[1]}")


@pytest.fixture(scope="module")
def ref():
    from prover.backend.cpu import CpuBackend
    from prover.backend.python_backend import PythonBackend

    return CpuBackend() if CpuBackend.available()[0] else PythonBackend()


def engine(kernel_dir: Path | None = None) -> GpuEngine:
    build.build_all(loader.PRODUCTION_MODULES, kernel_dir)  # a cold cache builds in parallel
    ops = CupyOps(xp=devmem.array_module(), load=partial(runtime.load, kernel_dir=kernel_dir))
    return GpuEngine(ops, poison=True)


def bases(ref, n: int, seed: int) -> np.ndarray:
    from prover.field.curve import G1

    rng = np.random.default_rng(seed)
    ks = np.zeros((n, 4), dtype=np.uint64)
    ks[:, 0] = rng.permutation(n).astype(np.uint64) + 1
    return np.ascontiguousarray(ref.batch_mul_g1(G1.affine_mul(G1.generator, 7 + seed), ks))


def scalars(n: int, seed: int) -> np.ndarray:
    """Witness-like: many repeats (shared buckets inside a warp), a few full-size values."""
    rng = np.random.default_rng(seed)
    s = rand_fr_array(n, rng)
    small = rng.random(n) < 0.7
    s[small] = 0
    s[small, 0] = rng.integers(0, 5, size=int(small.sum()), dtype=np.uint64)
    return s


def msm(eng: GpuEngine, ref, b: np.ndarray, s: np.ndarray):
    from prover.field.arrays import fr_vector, g1_array

    def combine(pts, ks):
        return ref.msm_g1(g1_array(pts), fr_vector(ks))

    return eng.msm(eng.ops.upload(b), eng.ops.upload(s), len(b), g2=False, mont=False, combine=combine)


def workload_errors(eng: GpuEngine, ref, seed: int = 1) -> list[str]:
    """Run an NTT, an H step and an MSM on ``eng``; what differs from ``ref``."""
    wrong = []
    rng = np.random.default_rng(seed)
    x = rand_fr_array(1 << 11, rng)
    if not np.array_equal(eng.ntt(x, coset=5), ref.ntt(x, coset=5)):
        wrong.append("ntt")
    key = synthetic_key(4, rng)  # n = 16: fewer threads than one block of the element-wise kernels
    w = synthetic_witness(key, rng)
    state = eng.load_key(key)
    if not np.array_equal(
        eng.quotient(state, key.n_vars, key.domain_size, w), ref.quotient_evaluations(ref.load_key(key), w)
    ):
        wrong.append("quotient")
    b, s = bases(ref, 100, seed), scalars(100, seed)  # 100: the last warp is partial
    if msm(eng, ref, b, s) != ref.msm_g1(b, s):
        wrong.append("msm")
    return wrong


#: name -> (file, original text, planted text, occurrences of the original)
MUTANTS = {
    # the NTT tile is read by other threads before every thread has loaded its part
    "missing_barrier_after_tile_load": (
        "ntt.cuh",
        "    }\n    __syncthreads();\n\n    const u32 col",
        "    }\n\n    const u32 col",
        1,
    ),
    # the stages of one fused pass race on the shared tile
    "missing_barrier_between_stages": ("ntt.cuh", "        }\n        __syncthreads();\n    }", "        }\n    }", 1),
    # the CIOS low-half chain drops the carry coming in
    "dropped_carry_in_mul": (
        "bn254_fields.cuh",
        "t[j] = madc_lo_cc(a.v[j], bi, t[j]);",
        "t[j] = mad_lo_cc(a.v[j], bi, t[j]);",
        1,
    ),
    # the final subtraction's borrow chain starts from the addition's carry
    "subtract_fed_by_add_carry": (
        "bn254_fields.cuh",
        "d[0] = sub_cc(s[0], P::mod(0));",
        "d[0] = subc_cc(s[0], P::mod(0));",
        1,
    ),
    # every lane takes lane 0's counter base instead of its group leader's: entries collide
    "wrong_shuffle_lane": (
        "msm.cuh",
        "__shfl_sync(0xffffffffu, base, leader)",
        "__shfl_sync(0xffffffffu, base, 0)",
        1,
    ),
    # threads past n leave before the warp vote that needs the whole warp
    "return_before_warp_vote": (
        "msm.cuh",
        "    const bool live = i < n;\n",
        "    const bool live = i < n;\n    if (!live) return;\n",
        1,
    ),
    # the H kernel's bound check lets thread n read c[n] and write h[n], past both buffers
    "out_of_bounds_global_index": (
        "qap.cu",
        "    if (i >= n) return;\n    const fr_t a",
        "    if (i > n) return;\n    const fr_t a",
        1,
    ),
    # the second load's offset applied twice: the index runs past the shared tile (GCC's bounds
    # check lets a struct store exactly one past the end through, so the plant skips that index)
    "out_of_bounds_shared_index": (
        "ntt.cuh",
        "tile[l] = F::load(vec + 4 * g);",
        "tile[l + r * half + 1] = F::load(vec + 4 * g);",
        1,
    ),
    # the NTT kernels promise fewer threads than the launches use
    "launch_bounds_too_small": (
        "ntt.cu",
        "__launch_bounds__(1 << (ZK_NTT_TILE_LOG - 1))",
        "__launch_bounds__(1 << (ZK_NTT_TILE_LOG - 2))",
        2,
    ),
}


#: mutant -> what catches it (a regular expression over the findings)
CAUGHT_BY = {
    "missing_barrier_after_tile_load": r"\bntt\b",
    "missing_barrier_between_stages": r"\bntt\b",
    "dropped_carry_in_mul": r"\bntt\b",
    "subtract_fed_by_add_carry": "subc.cc.u32 reads CC.CF but the carry came from an add",
    "wrong_shuffle_lane": "g1_sum_chunks_affine.*illegal memory access",
    "return_before_warp_vote": "__match_any_sync .* lane \\d+ never arrives \\(it returned\\)",
    "out_of_bounds_global_index": "fr_quotient_h.*thread \\(16,0,0\\).*illegal memory access",
    "out_of_bounds_shared_index": "fr_ntt_dit_pass.*index out of range of a fixed-size array",
    "launch_bounds_too_small": "exceeds the kernel's __launch_bounds__\\(256\\)",
}


def plant(tmp_path: Path, mutant: str) -> Path:
    fname, old, new, count = MUTANTS[mutant]
    kdir = tmp_path / "kernels"
    shutil.copytree(loader.KERNEL_DIR, kdir, ignore=shutil.ignore_patterns("*.py", "__pycache__", "emulator"))
    text = (kdir / fname).read_text()
    assert text.count(old) == count, f"{mutant}: the planting site is gone from {fname}; update MUTANTS"
    (kdir / fname).write_text(text.replace(old, new))
    return kdir


def test_unmutated_copy_passes(tmp_path, ref):
    """The harness itself: a faithful copy of the kernels gives no finding."""
    kdir = tmp_path / "kernels"
    shutil.copytree(loader.KERNEL_DIR, kdir, ignore=shutil.ignore_patterns("*.py", "__pycache__", "emulator"))
    assert workload_errors(engine(kdir), ref) == []


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_planted_bug_is_caught(tmp_path, ref, mutant):
    eng = None
    try:
        eng = engine(plant(tmp_path, mutant))
        found = workload_errors(eng, ref)
    except LaunchError as exc:
        found = [f"launch error: {exc}"]
    assert found, f"planted bug {mutant!r} survived the emulated workload"
    assert re.search(CAUGHT_BY[mutant], " ".join(found)), found


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_results_do_not_depend_on_the_schedule(ref, seed):
    """Blocks in a shuffled order, and the threads of a block resumed in a shuffled order at
    every sync point: the same results (the MSM's entry order inside buckets does change)."""
    eng = engine()
    runtime.set_seed(seed)
    try:
        assert workload_errors(eng, ref, seed) == []
    finally:
        runtime.set_seed(runtime.schedule_seed())


def test_a_race_is_caught_under_shuffled_schedules_too(tmp_path, ref):
    eng = engine(plant(tmp_path, "missing_barrier_between_stages"))
    runtime.set_seed(7)
    try:
        assert "ntt" in workload_errors(eng, ref)
    finally:
        runtime.set_seed(runtime.schedule_seed())
