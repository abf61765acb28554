"""The kernel emulator (kernels/emulator) itself: that it translates every inline-PTX statement,
computes what CUDA computes, and fails a launch on each broken CUDA rule it claims to check
(tests/emulator/rules.cu holds one small kernel per rule). The project's kernels on the
emulator are tested by tests/gpu; planted kernel bugs by tests/test_kernel_mutants.py.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from kernels import emulator, loader
from kernels.emulator import devmem, runtime, translate
from kernels.emulator.runtime import LaunchError

pytestmark = pytest.mark.skipif(not emulator.probe()[0], reason=f"kernel emulation unavailable: {emulator.probe()[1]}")

RULES = Path(__file__).resolve().parent / "emulator"
INSTRUCTIONS = {
    "add.cc.u32",
    "addc.cc.u32",
    "addc.u32",
    "sub.cc.u32",
    "subc.cc.u32",
    "subc.u32",
    "mad.lo.cc.u32",
    "madc.lo.cc.u32",
    "mad.hi.cc.u32",
    "madc.hi.cc.u32",
}


@pytest.fixture(scope="module")
def rules():
    return runtime.load("rules", RULES)


def u32s(values) -> np.ndarray:
    return devmem.asarray(np.asarray(values, dtype=np.uint32))


# --- translation ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", loader.MODULES)
def test_every_inline_asm_statement_is_translated(name):
    text = loader.expand_source(loader.KERNEL_DIR / f"{name}.cu")
    out, counts = translate.rewrite_asm(text)
    assert "asm volatile" not in out and "asm(" not in out
    assert set(counts) == INSTRUCTIONS  # every module includes the field header once
    assert "cuemu::ptx::madc_lo_cc_u32(" in out


@pytest.mark.parametrize(
    ("statement", "message"),
    [
        (
            'asm volatile("add.cc.u32 %0, %1, %2;\\n\\taddc.u32 %3, %4, %5;" : "=r"(a), "=r"(b) : "r"(c), "r"(d), '
            '"r"(e), "r"(f));',
            "one-instruction",
        ),
        ('asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(a) : "r"(b), "r"(c) : "memory");', "clobbers"),
        ('asm volatile("mul.wide.u32 %0, %1, %2;" : "=l"(a) : "r"(b), "r"(c));', "not emulated"),
        ('asm volatile("add.cc.u32 %0, %1, %2;" : "=l"(a) : "l"(b), "l"(c));', "32-bit register"),
        ('asm volatile("add.cc.u32 %1, %0, %2;" : "=r"(a) : "r"(b), "r"(c));', "destination must be %0"),
    ],
)
def test_untranslatable_asm_is_refused_with_its_line(statement, message):
    with pytest.raises(translate.AsmError, match=message) as exc:
        translate.rewrite_asm("// one\n// two\n" + statement)
    assert "line 3" in str(exc.value)


def test_a_module_without_kernels_is_refused():
    with pytest.raises(translate.AsmError, match="no extern"):
        translate.translation_unit("empty", "__device__ int f() { return 1; }")


def test_the_build_is_cached_by_content(tmp_path, monkeypatch):
    """A second build of the same source reuses the library; a changed source builds anew."""
    monkeypatch.setenv("ZKPROVER_KERNEL_CACHE", str(tmp_path / "cache"))
    src = tmp_path / "k"
    src.mkdir()
    (src / "one.cu").write_text('extern "C" __global__ void f(unsigned* o) { o[threadIdx.x] = 1; }\n')
    first, _ = emulator.build.build("one", src)
    assert emulator.build.build("one", src)[0] == first
    (src / "one.cu").write_text('extern "C" __global__ void f(unsigned* o) { o[threadIdx.x] = 2; }\n')
    second, _ = emulator.build.build("one", src)
    assert second != first and first.exists() and second.parent == tmp_path / "cache" / "emulator"


def test_a_compile_error_is_reported(tmp_path, monkeypatch):
    monkeypatch.setenv("ZKPROVER_KERNEL_CACHE", str(tmp_path / "cache"))
    (tmp_path / "bad.cu").write_text('extern "C" __global__ void f(unsigned* o) { o[threadIdx.x] = nope; }\n')
    with pytest.raises(emulator.build.BuildError, match="nope"):
        emulator.build.build("bad", tmp_path)


# --- what correct kernels compute ------------------------------------------------------------------
def test_warp_collectives_compute_what_cuda_defines(rules):
    rng = np.random.default_rng(3)
    host = rng.integers(0, 1 << 20, size=64, dtype=np.uint32)
    out = devmem.zeros(4 * 64, np.uint32)
    rules.get_function("warp_ok")((2,), (32,), (u32s(host), out))
    got = out.reshape(64, 4)
    for w in range(2):
        lanes = host[32 * w : 32 * w + 32]
        assert (got[32 * w : 32 * w + 32, 0] == lanes.sum(dtype=np.uint32)).all()
        assert (got[32 * w : 32 * w + 32, 1] == sum(1 << k for k in range(32) if lanes[k] & 1)).all()
        for k in range(32):
            same = sum(1 << j for j in range(32) if lanes[j] & 3 == lanes[k] & 3)
            assert got[32 * w + k, 2] == same
            assert got[32 * w + k, 3] == lanes[k - 1 if k else 0]  # lane 0 keeps its own value


def test_shared_memory_and_barrier(rules):
    host = np.arange(256, dtype=np.uint32)
    out = devmem.empty(256, np.uint32)
    rules.get_function("reverse_ok")((4,), (64,), (u32s(host), out))
    assert (out == host.reshape(4, 64)[:, ::-1].ravel()).all()


def test_carry_chain(rules):
    rng = np.random.default_rng(5)
    a, b = (rng.integers(0, 1 << 64, size=32, dtype=np.uint64, endpoint=False) for _ in range(2))
    out = devmem.empty(64, np.uint32)
    rules.get_function("carry_ok")((1,), (32,), (u32s(a.view(np.uint32)), u32s(b.view(np.uint32)), out))
    assert (out.view(np.uint64) == a + b).all()  # wraps mod 2^64, as the chain does


# --- broken rules fail the launch ------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kernel", "block", "message"),
    [
        ("barrier_in_branch", 32, r"__syncthreads at .* reached by 16 threads while 16 had returned"),
        ("shuffle_outside_mask", 32, r"__shfl_sync .*reads lane 20, outside the mask 0000ffff"),
        ("vote_after_return", 32, r"__match_any_sync .* lane 3 never arrives \(it returned\)"),
        ("carry_without_producer", 32, r"addc.u32 reads CC.CF but no carry was produced"),
        ("carry_across_barrier", 32, r"addc.u32 reads CC.CF but the carry was produced before a sync point"),
        ("add_carry_into_subtract", 32, r"subc.u32 reads CC.CF but the carry came from an add"),
        ("shared_index_past_end", 64, r"index out of range of a fixed-size array"),
    ],
)
def test_a_broken_rule_is_a_launch_error(rules, kernel, block, message):
    out = devmem.zeros(64, np.uint32)
    with pytest.raises(LaunchError, match=message):
        rules.get_function(kernel)((1,), (block,), (out,))
    # the emulator is usable after a failed launch
    rules.get_function("reverse_ok")((1,), (64,), (u32s(np.arange(64)), out))
    assert out[0] == 63


def test_reading_past_a_device_buffer_is_a_launch_error(rules):
    n = 100
    src, out = devmem.asarray(np.arange(n, dtype=np.uint64)), devmem.zeros(n, np.uint64)
    with pytest.raises(LaunchError, match=r"thread \(100,0,0\) of block \(0,0,0\): illegal memory access"):
        rules.get_function("read_past_end")((1,), (128,), (src, out, np.uint64(n)))


@pytest.mark.parametrize(
    ("grid", "block", "args", "message"),
    [
        ((1,), (2048,), "ok", "exceeds CUDA's limits"),
        ((1,), (128,), "ok", r"exceeds the kernel's __launch_bounds__\(64\)"),
        ((0,), (64,), "ok", "empty grid"),
        ((1,), (64,), "int", "argument 1 must be a device array"),
        ((1,), (64,), "u64", "holds uint64 elements, the kernel reads 4-byte ones"),
        ((1,), (64,), "short", "1 arguments for 2 parameters"),
        ((1,), (64,), "strided", "not contiguous"),
    ],
)
def test_bad_launches_are_refused(rules, grid, block, args, message):
    buf = devmem.zeros(4096, np.uint32)
    argv = {
        "ok": (buf, buf),
        "int": (buf, 5),
        "u64": (buf, devmem.zeros(64, np.uint64)),
        "short": (buf,),
        "strided": (buf, buf[::2]),
    }[args]
    with pytest.raises(LaunchError, match=message):
        rules.get_function("reverse_ok")(grid, block, argv)


def test_scalar_arguments_must_have_the_parameters_type(rules):
    buf = devmem.zeros(8, np.uint64)
    with pytest.raises(LaunchError, match="argument 2 is int, the kernel takes uint64"):
        rules.get_function("read_past_end")((1,), (8,), (buf, buf, 8))
    with pytest.raises(LaunchError, match="argument 2 is uint32, the kernel takes uint64"):
        rules.get_function("read_past_end")((1,), (8,), (buf, buf, np.uint32(8)))


def test_unknown_kernel_and_module(rules):
    with pytest.raises(KeyError, match="no extern"):
        rules.get_function("nope")
    with pytest.raises(KeyError, match="no kernel module"):
        runtime.load("nope", RULES)


def test_device_buffers_end_at_an_unmapped_page():
    buf = devmem.empty((3, 4), np.uint64)
    assert buf.flags.c_contiguous and (buf.ctypes.data + buf.nbytes) % devmem.PAGE == 0
    assert (buf.view(np.uint8) == devmem.GARBAGE).all()  # fresh device memory is never zeros
    assert devmem.zeros(5, np.uint32).sum() == 0
    assert (devmem.full(3, 7, np.uint64) == 7).all()


# --- the sanitizer run (README: ZKPROVER_EMU_SANITIZE=undefined) ------------------------------------
def test_sanitizer_build_reports_with_file_and_line(tmp_path):
    """Under UBSan the out-of-range shared index is reported by the sanitizer (with its source
    line) and stops the process, instead of the trap's launch error."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from pathlib import Path\n"
        "from kernels.emulator import devmem, runtime\n"
        f"m = runtime.load('rules', Path({str(RULES)!r}))\n"
        "m.get_function('shared_index_past_end')((1,), (64,), (devmem.zeros(64, np.uint32),))\n"
    )
    env = dict(os.environ, ZKPROVER_EMU_SANITIZE="undefined", ZKPROVER_KERNEL_CACHE=str(tmp_path))
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    expected = r"rules\.cu.*index 32 out of bounds for type 'unsigned int \[32\]'"
    assert re.search(expected, proc.stderr), proc.stderr[-2000:]


def test_unknown_sanitizer_is_refused(monkeypatch):
    monkeypatch.setenv("ZKPROVER_EMU_SANITIZE", "thread")
    with pytest.raises(emulator.build.BuildError, match="must be one of undefined"):
        emulator.build.flags()
