"""The PTX carry-flag check (kernels/carry_check.py): its rules on hand-written PTX, the real
PTX of the kernels for sm_80 and sm_90 (from NVRTC, the dev dependency ``nvidia-cuda-nvrtc``,
or nvcc), and planted cross-statement carries (tests/emulator/carry_planted.cu) that must fail.

msm.cu's PTX takes nvcc minutes to generate (about 2 minutes on the 2-core CI machine), so its
check reads the compute_80 PTX that the compile test (tests/test_kernels_compile.py) makes
anyway, through tests/kernel_builds.py, instead of compiling it again per architecture.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kernels import carry_check, toolchain
from tests import kernel_builds

PLANTED = Path(__file__).resolve().parent / "emulator"
needs_compiler = pytest.mark.skipif(
    toolchain.available() is None, reason="no NVRTC (pip install -e '.[dev]' installs nvidia-cuda-nvrtc) and no nvcc"
)


def asm(line: str) -> str:
    return f"\t// begin inline asm\n\t{line}\n\t// end inline asm\n"


HEAD = ".visible .entry k(\n)\n{\n"
GOOD = (
    asm("add.cc.u32 %r1, %r2, %r3;")
    + "\tmov.u32 %r9, %r4;\n"  # other instructions between the statements are fine
    + asm("addc.cc.u32 %r5, %r6, %r7;")
    + asm("addc.u32 %r8, %r6, %r7;")
    + asm("sub.cc.u32 %r1, %r2, %r3;")
    + asm("subc.u32 %r1, %r2, %r3;")
    + asm("mad.lo.cc.u32 %r1, %r2, %r3, %r4;")
    + asm("madc.hi.u32 %r1, %r2, %r3, %r4;")
)


def findings(body: str) -> list[str]:
    return [f.why for f in carry_check.check(HEAD + body + "}\n").findings]


def test_a_well_formed_chain_passes():
    rep = carry_check.check(HEAD + GOOD + "}\n")
    assert rep.findings == [] and rep.stats["carry consumers"] == 4


@pytest.mark.parametrize(
    ("between", "why"),
    [
        ("$L__BB0_1:\n", "no producer earlier in its basic block"),
        ("\t@%p1 bra \t$L__BB0_2;\n", "no producer earlier in its basic block"),
        ("\tbar.sync \t0;\n", "no producer earlier in its basic block"),
        ("\tcall.uni f, ();\n", "no producer earlier in its basic block"),
        (asm("addc.u32 %r9, %r9, %r9;"), "no producer earlier in its basic block"),  # the chain had ended
        (asm("sub.cc.u32 %r9, %r9, %r9;"), "consumes a carry of the sub family"),
    ],
)
def test_a_broken_chain_is_found(between, why):
    got = findings(asm("add.cc.u32 %r1, %r2, %r3;") + between + asm("addc.u32 %r5, %r6, %r7;"))
    assert any(why in w for w in got), got


def test_a_consumer_at_the_start_of_a_function_is_found():
    assert any("no producer" in w for w in findings(asm("madc.lo.cc.u32 %r1, %r2, %r3, %r4;")))


def test_compiler_generated_and_predicated_carries_are_found():
    got = findings("\tadd.cc.u32 %r1, %r2, %r3;\n" + asm("@%p1 addc.u32 %r1, %r2, %r3;"))
    assert any("compiler generated" in w for w in got) and any("predicated" in w for w in got), got


def test_command_line_exit_status(tmp_path, capsys):
    good, bad = tmp_path / "good.ptx", tmp_path / "bad.ptx"
    good.write_text(HEAD + GOOD + "}\n")
    bad.write_text(HEAD + asm("subc.u32 %r1, %r2, %r3;") + "}\n")
    assert carry_check.main([str(good)]) == 0
    assert carry_check.main([str(good), str(bad)]) == 1
    assert "no producer" in capsys.readouterr().out


@needs_compiler
@pytest.mark.parametrize("arch", [80, 90])
@pytest.mark.parametrize("module", ["field_ops", "ntt", "qap"])
def test_kernel_ptx_carry_chains(module, arch):
    rep = carry_check.check(toolchain.ptx(module, arch))
    assert rep.stats["carry consumers"] > 1000  # the field arithmetic was there to check
    assert rep.findings == [], "\n".join(map(str, rep.findings[:10]))


@needs_compiler
@pytest.mark.parametrize(
    ("kernel", "why"),
    [
        ("carry_across_loop", "no producer earlier in its basic block"),
        ("carry_across_barrier", "no producer earlier in its basic block"),
        ("add_carry_into_subtract", "consumes a carry of the add family"),
    ],
)
def test_planted_cross_statement_carries_fail(kernel, why):
    rep = carry_check.check(toolchain.ptx("carry_planted", 90, kernel_dir=PLANTED))
    mine = [f for f in rep.findings if f.function == kernel]
    assert any(why in f.why for f in mine), [str(f) for f in rep.findings]


@pytest.mark.skipif(kernel_builds.NVCC is None, reason="nvcc not found on PATH (CUDA toolkit not installed)")
def test_msm_ptx_carry_chains():
    rep = carry_check.check(kernel_builds.ptx_text("msm"))
    assert rep.stats["carry consumers"] > 10000
    assert rep.findings == [], "\n".join(map(str, rep.findings[:10]))
