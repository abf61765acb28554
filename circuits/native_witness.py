"""The native witness calculator: a circuit's steps compiled once into a program that the C
extension (``prover/backend/native/witness.c``) runs to fill every wire.

The builder already stores everything as flat arrays (see ``circuits.builder``): linear
combinations as term ranges, steps as (kind, a, b, out), constraints as three combination
numbers. The program is those arrays as they are, plus the hints flattened into an operation
code, their inputs and their output range, and the coefficient table in Montgomery form. It is
built on a circuit's first witness and kept with the circuit.

Only hints tagged in ``circuits.hints`` have a native operation. A circuit with any other hint
has no program (``build`` returns None) and keeps the Python calculator, which stays the
reference: ``tests/test_native_witness.py`` compares the two bit for bit.

``ZKPROVER_NO_NATIVE=1`` in the environment (the switch the verifier's pairing also obeys), or a
missing extension, selects the Python path.
"""

from __future__ import annotations

import os
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from circuits import hints
from prover.field.bn254 import FR_MODULUS

if TYPE_CHECKING:
    from circuits.builder import CompiledCircuit

try:
    from prover.backend import _native  # type: ignore[attr-defined]
except ImportError:
    _native = None

P = FR_MODULUS
_R = (1 << 256) % P  # Montgomery factor

# ZKP_WITNESS_* in prover/backend/native/zkp.h
OK, UNSET, UNSATISFIED, UNFILLED = 0, 1, 2, 3

# hint operation -> (input count, output count or None for "the tag's width")
_SHAPES = {hints.OP_INVERSE: (1, 1), hints.OP_IS_ZERO: (1, 1), hints.OP_QUOTIENT: (2, 1), hints.OP_BITS: (1, None)}


def _view(x: Any) -> np.ndarray:
    """A program array as numpy, without a copy."""
    if isinstance(x, array):
        return np.frombuffer(x, dtype=x.typecode)
    if isinstance(x, bytearray | bytes):
        return np.frombuffer(x, dtype=np.uint8)
    return np.asarray(x)


class ProgramError(ValueError):
    """The circuit's arrays are not a valid program (an index out of range): a builder bug."""


def available() -> bool:
    """Whether witnesses are computed natively: the extension is built and not switched off."""
    return _native is not None and os.environ.get("ZKPROVER_NO_NATIVE", "").strip() in ("", "0")


@dataclass(frozen=True)
class RunResult:
    """What a run gave: ``code`` OK with ``values``, else the failing wire or constraint."""

    code: int
    where: int
    values: list[int] | np.ndarray | None  # a list, or with ``vector`` an (n, 4) uint64 array


@dataclass
class WitnessProgram:
    """A circuit's witness program; the arrays are read by the C kernel without copies.

    ``plan`` is the running order the kernel works out on the first run (steps grouped so that
    inversions share one field inversion); it depends on the program alone, so later runs reuse
    it. It is published only once complete, so concurrent first runs each make their own.
    """

    buffers: tuple[Any, ...]  # ends .. abc, in witness_run's order (before the inputs)
    cidx_bytes: int
    coef_one: int
    coef_minus_one: int
    n_wires: int
    plan: np.ndarray | None = None

    @classmethod
    def build(cls, circuit: CompiledCircuit) -> WitnessProgram | None:
        """The program of ``circuit``, or None when one of its hints has no native operation."""
        hop, hfirst, hcount, hdeps = array("i"), array("I"), array("I"), array("i")
        hdep_ends = array("q", [0])
        for fn, deps, first, count, single in circuit.steps.hints:
            tag = getattr(fn, "native_op", None)
            if tag is None or tag[0] not in _SHAPES:
                return None
            op, width = tag
            n_in, n_out = _SHAPES[op]
            if n_out is None:  # bits: as many outputs as the tag's width, given as a list
                n_out = width
                if single:
                    return None
            elif not single:
                return None
            if len(deps) != n_in or count != n_out:
                return None
            hop.append(op)
            hfirst.append(first)
            hcount.append(count)
            hdeps.extend(deps)
            hdep_ends.append(len(hdeps))
        table = circuit.r1cs.constraints
        coefs = list(table.coefs)
        if 1 not in coefs:
            coefs.append(1)  # only the index matters; a circuit without coefficient 1 never reads it
        coef_one = coefs.index(1)
        coef_minus_one = coefs.index(P - 1) if P - 1 in coefs else -1
        mont = np.frombuffer(b"".join((c * _R % P).to_bytes(32, "little") for c in coefs), dtype=np.uint64)
        st = circuit.steps
        program = cls(
            buffers=(
                *(table.ends, table.wires, table.cidx, mont),
                *(st.kind, st.a, st.b, st.out),
                *(hop, hfirst, hcount, hdep_ends, hdeps),
                table.abc,
            ),
            cidx_bytes=table.cidx.itemsize,
            coef_one=coef_one,
            coef_minus_one=coef_minus_one,
            n_wires=circuit.r1cs.n_wires,
        )
        program._validate(len(coefs))
        return program

    def _validate(self, n_coefs: int) -> None:
        """Every index the kernel follows is in range, so a bad array fails here and not as a
        read out of bounds."""
        ends, wires, cidx, _, kind, a, b, out, hop, hfirst, hcount, hdep_ends, hdeps, abc = map(_view, self.buffers)
        n_lcs, n_hints, nw = len(ends) - 1, len(hop), self.n_wires

        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ProgramError(f"witness program: {what}")

        need(n_lcs >= 0 and ends[0] == 0 and ends[-1] == len(wires) and bool(np.all(np.diff(ends) >= 0)), "term ranges")
        need(len(cidx) == len(wires), "coefficient indices")
        need(len(wires) == 0 or int(wires.max()) < nw, "a term's wire")
        need(len(cidx) == 0 or int(cidx.max()) < n_coefs, "a coefficient index")
        need(len(kind) == len(a) == len(b) == len(out) and (len(kind) == 0 or int(kind.max()) <= 2), "steps")
        lc_steps = kind != 2
        for refs, what in (
            (a[lc_steps], "a step's A"),
            (b[kind == 0], "a step's B"),
            (hdeps, "a hint's input"),
            (abc, "a constraint"),
        ):
            need(len(refs) == 0 or (int(refs.min()) >= 0 and int(refs.max()) < n_lcs), f"{what} combination")
        need(len(out) == 0 or int(out[lc_steps].max(initial=0)) < nw, "a step's output wire")
        hint_refs = a[~lc_steps]
        need(len(hint_refs) == 0 or (int(hint_refs.min()) >= 0 and int(hint_refs.max()) < n_hints), "a hint step")
        need(bool(np.all(hfirst.astype(np.int64) + hcount <= nw)), "a hint's outputs")
        need(hdep_ends[-1] == len(hdeps) and len(hdep_ends) == n_hints + 1, "hint inputs")
        need(len(abc) % 3 == 0, "constraints")

    def run(
        self, input_wires: Sequence[int], input_values: Sequence[int], check: bool, vector: bool = False
    ) -> RunResult:
        """Fill the witness from the (reduced) input values at ``input_wires``; ``vector``: as an
        (n, 4) uint64 array in standard form (the backend's input) instead of Python ints."""
        wires = np.asarray(input_wires, dtype=np.uint32)
        if len(wires) and int(wires.max()) >= self.n_wires:
            raise ProgramError("witness program: an input wire")
        packed = b"".join(v.to_bytes(32, "little") for v in input_values)
        plan = self.plan
        ready = plan is not None
        if plan is None:
            plan = np.empty(len(self.buffers[4]), dtype=np.uint32)
        code, where, values = _native.witness_run(
            *self.buffers,
            wires,
            packed,
            plan,
            int(ready),
            self.cidx_bytes,
            self.coef_one,
            self.coef_minus_one,
            self.n_wires,
            int(check),
            vector,
        )
        if vector and isinstance(values, bytearray):  # writable: a backend may work in place
            values = np.frombuffer(values, dtype="<u8").reshape(self.n_wires, 4)
        if not ready and code in (OK, UNSATISFIED):  # planning succeeded
            self.plan = plan
        return RunResult(code, where, values)
