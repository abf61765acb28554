"""snarkjs powers-of-tau files (``.ptau``), read for a Groth16 phase 2.

Container magic ``ptau``, version 1. Section 1 is the header (u32 n8, the base-field prime in n8
bytes, u32 power, u32 ceremony power); then, as points in the .zkey layout (affine, Montgomery,
little-endian): 2 tau^i G1 (2^(power+1) - 1 points), 3 tau^i G2, 4 alpha tau^i G1, 5 beta tau^i G1
(2^power each), 6 beta G2, 7 the phase-1 contribution records. ``snarkjs powersoftau prepare
phase2`` adds 12-15: the same four series in the Lagrange basis, for every domain size
1, 2, 4, ... up to 2^power (2^(power+1) for tau G1) one after the other, so the points for a
domain of size d start at point d - 1.

Only what ``zkey new`` and ``zkey verify`` need is exposed, as zero-copy NumPy views.
"""

from __future__ import annotations

import os
import struct

import numpy as np

from prover.binfile import BinFile
from prover.field.bn254 import FQ_MODULUS

PTAU_MAGIC = b"ptau"
TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1, BETA_G2 = 2, 3, 4, 5, 6
LAGRANGE = {TAU_G1: 12, TAU_G2: 13, ALPHA_TAU_G1: 14, BETA_TAU_G1: 15}
_SIZES = {TAU_G1: 64, TAU_G2: 128, ALPHA_TAU_G1: 64, BETA_TAU_G1: 64, BETA_G2: 128}
_NAMES = {TAU_G1: "tauG1", TAU_G2: "tauG2", ALPHA_TAU_G1: "alphaTauG1", BETA_TAU_G1: "betaTauG1", BETA_G2: "betaG2"}


class Ptau:
    """An opened .ptau file: ``power`` and point views; FormatError naming the file on problems."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.file = f = BinFile(path, PTAU_MAGIC, 1)
        h = f.reader(1, "header")
        n8 = h.u32()
        if n8 != 32:
            raise f.fail(f"field size n8={n8}, expected 32 (only bn128 files are supported)")
        if h.bigint(32) != FQ_MODULUS:
            raise f.fail("not a bn128 powers of tau (base field prime differs)")
        self.power = h.u32()
        self.ceremony_power = h.u32()
        h.expect_end()
        if not 1 <= self.power <= 28:
            raise f.fail(f"power {self.power} is out of range 1..28")
        self.path = f.path
        # where each section's body starts, for bytes_after (BinFile keeps only the views)
        self._ends: dict[int, int] = {}
        pos = 12
        while pos + 12 <= len(f.data):
            stype, size = struct.unpack_from("<IQ", f.data, pos)
            pos += 12 + size
            self._ends.setdefault(stype, pos)

    def bytes_after(self, stype: int, n: int) -> bytes:
        """The n bytes of the file after the end of section ``stype`` (snarkjs reads past it)."""
        end = self._ends[stype]
        if end + n > len(self.file.data):
            raise self.file.fail(f"{n} bytes after section {stype} are needed, the file ends first")
        return bytes(self.file.data[end : end + n])

    def _check(self, stype: int, name: str, count: int, size: int) -> memoryview:
        view = self.file.section(stype, name)
        if len(view) != count * size:
            raise self.file.fail(f"section {name} holds {len(view) / size:g} points, expected {count}")
        return view

    def points(self, series: int, start: int, count: int) -> np.ndarray:
        """``count`` points of a phase-1 series (TAU_G1, ...) from index ``start``."""
        n = (1 << (self.power + 1)) - 1 if series == TAU_G1 else (1 if series == BETA_G2 else 1 << self.power)
        size = _SIZES[series]
        view = self._check(series, _NAMES[series], n, size)
        if start + count > n:
            raise self.file.fail(f"{_NAMES[series]} has {n} points, {start + count} needed")
        return _shaped(view[start * size : (start + count) * size], size)

    def lagrange(self, series: int, domain_size: int) -> np.ndarray:
        """The Lagrange-basis points of ``series`` for a domain of ``domain_size`` (a power of two)."""
        stype, size = LAGRANGE[series], _SIZES[series]
        name = f"Lagrange {_NAMES[series]} (run snarkjs powersoftau prepare phase2)"
        if stype not in self.file.sections:
            raise self.file.fail(f"missing section {stype}, {name}")
        # tau G1 goes one domain further (2^(power+1)): zkey new takes H from the doubled domain
        top = self.power + 1 if series == TAU_G1 else self.power
        view = self._check(stype, name, (2 << top) - 1, size)
        if domain_size > 1 << top:
            need = domain_size.bit_length() - 1 - (top - self.power)
            raise self.file.fail(f"a domain of {domain_size} needs power >= {need}, this file has {self.power}")
        return _shaped(view[(domain_size - 1) * size : (2 * domain_size - 1) * size], size)


def _shaped(view: memoryview, size: int) -> np.ndarray:
    arr = np.frombuffer(view, dtype="<u8")
    return arr.reshape(-1, 2, 4) if size == 64 else arr.reshape(-1, 2, 2, 4)
