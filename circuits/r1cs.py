"""Rank-1 constraint systems and the iden3 ``.r1cs`` file format.

Wire order is circom's: wire 0 is the constant 1, then public outputs, public inputs, private
inputs, then internal wires. A constraint is three linear combinations (dicts wire -> coefficient,
coefficients reduced mod r) with A.w * B.w = C.w.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field

from prover.binfile import BinFile, BinWriter, FormatError, bigint, u32, u64
from prover.field.bn254 import FR_MODULUS

LinComb = dict[int, int]
Constraint = tuple[LinComb, LinComb, LinComb]

R1CS_MAGIC = b"r1cs"
_HEADER, _CONSTRAINTS, _WIRE2LABEL = 1, 2, 3


@dataclass
class R1CS:
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    constraints: list[Constraint]
    n_labels: int = 0
    wire_to_label: list[int] = field(default_factory=list)
    prime: int = FR_MODULUS

    @property
    def n_public(self) -> int:
        """Public signals as snarkjs counts them: outputs then public inputs (wire 0 excluded)."""
        return self.n_pub_out + self.n_pub_in

    @property
    def n_constraints(self) -> int:
        return len(self.constraints)

    def first_unsatisfied(self, witness: list[int]) -> int | None:
        """Index of the first constraint the witness violates, or None if all hold."""
        if len(witness) != self.n_wires:
            raise ValueError(f"witness has {len(witness)} values, the circuit has {self.n_wires} wires")
        if witness[0] != 1:
            raise ValueError(f"witness[0] must be 1 (the constant wire), got {witness[0]}")
        p = self.prime
        for i, (a, b, c) in enumerate(self.constraints):
            av = sum(witness[w] * k for w, k in a.items())
            bv = sum(witness[w] * k for w, k in b.items())
            cv = sum(witness[w] * k for w, k in c.items())
            if (av * bv - cv) % p:
                return i
        return None


def write_r1cs(r1cs: R1CS, path: str | os.PathLike) -> None:
    """Write ``r1cs`` as an iden3 .r1cs (version 1) file, atomically."""
    r1cs_writer(r1cs).save(path)


def r1cs_writer(r1cs: R1CS) -> BinWriter:
    """``r1cs`` as an iden3 .r1cs container, ready to save or to stream into a hash."""
    n8 = 32
    header = b"".join(
        [
            u32(n8),
            bigint(r1cs.prime, n8),
            u32(r1cs.n_wires),
            u32(r1cs.n_pub_out),
            u32(r1cs.n_pub_in),
            u32(r1cs.n_prv_in),
            u64(r1cs.n_labels or r1cs.n_wires),
            u32(len(r1cs.constraints)),
        ]
    )
    parts: list[bytes] = []
    for constraint in r1cs.constraints:
        for lc in constraint:
            parts.append(u32(len(lc)))
            for wire in sorted(lc):
                parts.append(u32(wire) + bigint(lc[wire] % r1cs.prime, n8))
    labels = r1cs.wire_to_label or list(range(r1cs.n_wires))
    writer = BinWriter(R1CS_MAGIC, 1)
    writer.add(_HEADER, header)
    writer.add(_CONSTRAINTS, b"".join(parts))
    writer.add(_WIRE2LABEL, struct.pack(f"<{len(labels)}Q", *labels))
    return writer


def read_r1cs(path: str | os.PathLike) -> R1CS:
    """Read an iden3 .r1cs file; FormatError naming the file on any inconsistency."""
    f = BinFile(path, R1CS_MAGIC, 1)
    h = f.reader(_HEADER, "header")
    prime = h.field(FR_MODULUS, "scalar field")
    n_wires, n_pub_out, n_pub_in, n_prv_in = (h.u32() for _ in range(4))
    n_labels = h.u64()
    n_constraints = h.u32()
    h.expect_end()
    if 1 + n_pub_out + n_pub_in + n_prv_in > n_wires:
        raise f.fail(f"{n_pub_out}+{n_pub_in}+{n_prv_in} inputs/outputs do not fit in {n_wires} wires")

    view = f.section(_CONSTRAINTS, "constraints")
    data = bytes(view)
    pos = 0
    constraints: list[Constraint] = []
    try:
        for _ in range(n_constraints):
            lcs = []
            for _ in range(3):
                (n_terms,) = struct.unpack_from("<I", data, pos)
                pos += 4
                lc: LinComb = {}
                for _ in range(n_terms):
                    (wire,) = struct.unpack_from("<I", data, pos)
                    coef = int.from_bytes(data[pos + 4 : pos + 36], "little")
                    if pos + 36 > len(data):
                        raise struct.error("short")
                    pos += 36
                    if wire >= n_wires:
                        raise f.fail(f"constraint {len(constraints)} names wire {wire} of {n_wires}")
                    if coef >= prime:
                        raise f.fail(f"constraint {len(constraints)} has a coefficient >= the prime")
                    lc[wire] = coef
                lcs.append(lc)
            constraints.append((lcs[0], lcs[1], lcs[2]))
    except struct.error:
        raise f.fail(
            f"constraints section is truncated: ended inside constraint {len(constraints)} of {n_constraints}"
        ) from None
    if pos != len(data):
        raise f.fail(f"constraints section has {len(data) - pos} bytes beyond {n_constraints} constraints")

    labels: list[int] = []
    if _WIRE2LABEL in f.sections:
        w2l = f.section(_WIRE2LABEL, "wire-to-label map")
        if len(w2l) != 8 * n_wires:
            raise f.fail(f"wire-to-label map holds {len(w2l) // 8} entries for {n_wires} wires")
        labels = list(struct.unpack(f"<{n_wires}Q", w2l))
    return R1CS(n_wires, n_pub_out, n_pub_in, n_prv_in, constraints, n_labels, labels, prime)


__all__ = ["R1CS", "FormatError", "read_r1cs", "write_r1cs"]
