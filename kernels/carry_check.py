"""Check the carry-flag chains in the PTX the kernels compile to.

The field arithmetic (``kernels/bn254_fields.cuh``) builds multi-word additions and products
from one-instruction inline-asm statements (``add.cc``, ``addc``, ``madc`` ...), so each
statement relies on the carry flag CC.CF that the one before it left. NVIDIA does not promise
that the flag survives from one ``asm`` statement to the next; what the PTX ISA defines is the
flag as state of the PTX instruction stream. So the PTX that NVRTC or nvcc emits for sm_80 and
sm_90 is checked, per function:

1. every carry consumer (``addc``, ``subc``, ``madc``) is fed by a producer (an instruction
   with ``.cc``) of the same family earlier in the same basic block: no label, branch, call,
   return or barrier between them. ``add``/``mad`` carries and ``sub`` borrows are different
   families: PTX keeps CF inverted for subtraction, so mixing them is wrong on hardware;
2. no carry instruction sits outside the inline-asm markers: the compiler emitted none of its
   own that could land inside a chain;
3. no carry instruction is predicated (``@%p``): a skipped producer leaves a stale flag.

What this cannot see: ptxas, which turns PTX into SASS after this check, and the hardware.
``python -m kernels.carry_check [--arch 80 90] [--modules ...] [FILE.ptx ...]`` runs it; exit
status 1 on a finding. CI runs it on every module (tests/test_carry_check.py); for msm.cu, whose
PTX takes minutes to generate, it reads the compute_80 PTX the compile test makes anyway.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

_FUNCTION = re.compile(r"^\s*(?:\.visible\s+|\.weak\s+|\.extern\s+)*\.(?:entry|func)\b(?:\s*\([^)]*\))?\s*([\w$]+)")
_LABEL = re.compile(r"^\s*[$\w]+:")
_INSTRUCTION = re.compile(r"^\s*(@!?%\w+\s+)?([a-z][\w.]*)")
#: instructions that end a basic block (or, for barriers and calls, may not keep CC)
_BLOCK_ENDS = ("bra", "brx", "call", "ret", "exit", "bar", "barrier", "trap")
_CONSUMERS = ("addc", "subc", "madc")
_PRODUCERS = ("add", "addc", "sub", "subc", "mad", "madc")


@dataclass
class Finding:
    line: int
    function: str
    text: str
    why: str

    def __str__(self) -> str:
        return f"line {self.line} ({self.function}): {self.text}: {self.why}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    stats: Counter = field(default_factory=Counter)


def family(opcode: str) -> str:
    return "sub" if opcode.split(".")[0] in ("sub", "subc") else "add"


def check(ptx: str) -> Report:
    """Check one PTX text (see the module docstring for the rules)."""
    report = Report()
    function = "?"
    live: tuple[str, int] | None = None  # (family, line) of the carry the block holds
    in_asm = False
    for number, line in enumerate(ptx.splitlines(), 1):
        text = line.strip()
        if text.startswith("// begin inline asm"):
            in_asm = True
            continue
        if text.startswith("// end inline asm"):
            in_asm = False
            continue
        if not text or text.startswith("//"):
            continue
        if m := _FUNCTION.match(line):
            function, live = m.group(1), None
            report.stats["functions"] += 1
            continue
        if _LABEL.match(line) or text in ("{", "}"):
            live = None
            continue
        m = _INSTRUCTION.match(line)
        if m is None:
            continue
        predicate, opcode = m.group(1), m.group(2)
        parts = opcode.split(".")
        if parts[0] in _BLOCK_ENDS:
            live = None
            continue
        reads = parts[0] in _CONSUMERS
        writes = parts[0] in _PRODUCERS and "cc" in parts[1:]
        if not (reads or writes):
            continue
        report.stats["carry instructions"] += 1

        whys = []
        if not in_asm:
            whys.append("a carry instruction the compiler generated (outside inline asm)")
        if predicate:
            whys.append("a predicated carry instruction (a skipped one leaves a stale flag)")
        if reads:
            report.stats["carry consumers"] += 1
            if live is None:
                whys.append("reads CC.CF with no producer earlier in its basic block")
            elif live[0] != family(opcode):
                whys.append(f"consumes a carry of the {live[0]} family (line {live[1]}) in a {family(opcode)} chain")
        report.findings += [Finding(number, function, text, why) for why in whys]
        live = (family(opcode), number) if writes else None
    return report


def check_modules(names: list[str], archs: list[int], compiler: str | None = None) -> dict[str, Report]:
    """Generate and check the PTX of each module for each architecture."""
    from kernels import toolchain

    return {f"{n}.cu sm_{cc}": check(toolchain.ptx(n, cc, compiler)) for n in names for cc in archs}


def main(argv: list[str] | None = None) -> int:
    from kernels import loader

    ap = argparse.ArgumentParser(description="Check the carry-flag chains in the kernels' PTX.")
    ap.add_argument("files", nargs="*", type=Path, help="PTX files to check (default: generate them)")
    ap.add_argument("--arch", type=int, nargs="+", default=[80, 90])
    ap.add_argument("--modules", nargs="+", default=list(loader.MODULES))
    ap.add_argument("--compiler", choices=["nvrtc", "nvcc"], default=None)
    args = ap.parse_args(argv)
    if args.files:
        reports = {str(f): check(f.read_text()) for f in args.files}
    else:
        reports = check_modules(args.modules, args.arch, args.compiler)
    bad = False
    for what, rep in reports.items():
        print(f"{what}: {dict(rep.stats)}; {len(rep.findings)} findings")
        for f in rep.findings[:20]:
            print(f"  {f}")
        bad = bad or bool(rep.findings)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
