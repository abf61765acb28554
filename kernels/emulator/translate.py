"""Turn a kernel module's CUDA source into one host C++ translation unit.

The text is the one the loader hands NVRTC (:func:`kernels.loader.expand_source`, headers
inlined). Two things change, nothing else:

* every inline-PTX statement, ``asm volatile("addc.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a),
  "r"(b));``, becomes a call of the instruction's emulation in ``cuda_host.h``,
  ``r = cuemu::ptx::addc_cc_u32((a), (b));``. Only one-instruction statements with one
  register output are understood; anything else is an :class:`AsmError` naming the line, so a
  new kind of asm cannot slip through untranslated;
* one ``CUEMU_KERNEL(name, bound)`` line per ``extern "C" __global__`` function is appended:
  the launch entry point and signature of each kernel, with its ``__launch_bounds__``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from kernels.emulator import HEADER_NAME

_ASM_START = re.compile(r"\basm\s+(?:volatile\s*)?\(|\b__asm__\s*(?:__volatile__\s*)?\(")
_KERNEL = re.compile(
    r'extern\s+"C"\s+__global__\s+void\s+(?:__launch_bounds__\s*\(((?:[^()]|\([^()]*\))*)\)\s*)?(\w+)\s*\(', re.S
)
_OPERAND = re.compile(r'^\s*"([^"]*)"\s*\((.*)\)\s*$', re.S)
_REGISTER = re.compile(r"%(\d+)")
_IMMEDIATE = re.compile(r"-?(?:0[xX][0-9a-fA-F]+|\d+)[uU]?")
#: the PTX instructions cuda_host.h emulates (rewriting anything else would fail to compile
#: with a less helpful message, so it is refused here)
SUPPORTED = frozenset(
    {
        "add.cc.u32",
        "addc.cc.u32",
        "addc.u32",
        "sub.cc.u32",
        "subc.cc.u32",
        "subc.u32",
        "mad.lo.cc.u32",
        "madc.lo.cc.u32",
        "madc.lo.u32",
        "mad.hi.cc.u32",
        "madc.hi.cc.u32",
        "madc.hi.u32",
    }
)


class AsmError(ValueError):
    """An inline-asm statement the emulator cannot translate."""


@dataclass(frozen=True)
class Kernel:
    """An ``extern "C" __global__`` function: its name and ``__launch_bounds__`` expression."""

    name: str
    bound: str | None


def kernels_in(source: str) -> list[Kernel]:
    return [Kernel(m.group(2), m.group(1)) for m in _KERNEL.finditer(source)]


def _unquoted(text: str, start: int = 0) -> Iterator[tuple[int, str]]:
    """(index, character) of ``text`` from ``start``, skipping string literals."""
    i, quoted = start, False
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "\\":
                i += 1
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        else:
            yield i, ch
        i += 1


def _split_outside(text: str, sep: str) -> list[str]:
    """Split ``text`` at ``sep`` where it is outside brackets and string literals."""
    parts, depth, start = [], 0, 0
    for i, ch in _unquoted(text):
        if ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _closing_paren(text: str, start: int) -> int:
    """Index just past the ``)`` that closes the ``(`` before ``start``."""
    depth = 1
    for i, ch in _unquoted(text, start):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return i + 1
    raise AsmError("unterminated asm statement")


def _operands(section: str, line: int) -> list[tuple[str, str]]:
    if not section.strip():
        return []
    out = []
    for item in _split_outside(section, ","):
        m = _OPERAND.match(item)
        if m is None:
            raise AsmError(f"line {line}: cannot read the asm operand {item.strip()!r}")
        out.append((m.group(1), m.group(2).strip()))
    return out


def _rewrite_one(body: str, line: int) -> tuple[str, str]:
    """(C++ replacement, mnemonic) of one asm statement's parenthesised body."""
    sections = _split_outside(body, ":")
    template = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', sections[0]))
    outputs = _operands(sections[1], line) if len(sections) > 1 else []
    inputs = _operands(sections[2], line) if len(sections) > 2 else []
    if len(sections) > 3 and sections[3].strip():
        raise AsmError(f"line {line}: asm with clobbers is not emulated: {body.strip()!r}")
    text = template.replace("\\n", "\n").replace("\\t", " ")
    insns = [s.strip() for s in text.split(";") if s.strip()]
    if len(insns) != 1 or len(outputs) != 1:
        raise AsmError(f"line {line}: only one-instruction asm with one output is emulated: {body.strip()!r}")
    mnemonic, _, rest = insns[0].partition(" ")
    if mnemonic not in SUPPORTED:
        raise AsmError(f"line {line}: PTX instruction {mnemonic!r} is not emulated (cuda_host.h, SUPPORTED)")
    if outputs[0][0] != "=r" or any(c not in ("r", "n") for c, _ in inputs):
        raise AsmError(f"line {line}: only 32-bit register operands are emulated: {body.strip()!r}")
    values = [expr for _, expr in outputs + inputs]
    tokens = [t.strip() for t in rest.split(",")]
    if tokens[0] != "%0":
        raise AsmError(f"line {line}: the destination must be %0 in {insns[0]!r}")
    args = []
    for tok in tokens[1:]:
        reg = _REGISTER.fullmatch(tok)
        if reg is not None and 0 < int(reg.group(1)) < len(values):
            args.append(f"({values[int(reg.group(1))]})")
        elif _IMMEDIATE.fullmatch(tok):
            args.append(tok)
        else:
            raise AsmError(f"line {line}: cannot read the PTX operand {tok!r} of {insns[0]!r}")
    call = f"{outputs[0][1]} = cuemu::ptx::{mnemonic.replace('.', '_')}({', '.join(args)})"
    return call, mnemonic


def rewrite_asm(source: str) -> tuple[str, dict[str, int]]:
    """The source with every inline-asm statement replaced, and a count per instruction."""
    out, pos, counts = [], 0, {}
    while (m := _ASM_START.search(source, pos)) is not None:
        end = _closing_paren(source, m.end())
        line = source.count("\n", 0, m.start()) + 1
        call, mnemonic = _rewrite_one(source[m.end() : end - 1], line)
        out += [source[pos : m.start()], call]
        counts[mnemonic] = counts.get(mnemonic, 0) + 1
        pos = end
    out.append(source[pos:])
    return "".join(out), counts


def translation_unit(name: str, source: str) -> tuple[str, list[Kernel]]:
    """The host C++ for module ``name`` (its expanded CUDA ``source``) and its kernels."""
    body, _counts = rewrite_asm(source)
    kernels = kernels_in(source)
    if not kernels:
        raise AsmError(f'{name}.cu defines no extern "C" __global__ kernel')
    entries = "\n".join(f"CUEMU_KERNEL({k.name}, {k.bound or 0})" for k in kernels)
    head = f'#include "{HEADER_NAME}"\n#line 1 "{name}.cu (headers expanded)"\n'
    text = f"{head}{body}\n\n// emulator entry points\n{entries}\n"
    return text, kernels
