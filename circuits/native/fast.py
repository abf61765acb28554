"""Native (C) twins of the operator's hashing and signature checks.

The functions here share names and results with their pure-Python references, which stay the
definition (``tests/test_native_operator.py`` compares the two on random and tampered inputs):

- ``poseidon_hash`` / ``poseidon_hash_many``: ``circuits.native.poseidon.poseidon_hash``,
- ``add`` / ``mul``: ``circuits.native.babyjub.add`` / ``mul`` (also off the curve, and the same
  ZeroDivisionError where the reference divides by zero),
- ``verify_poseidon``: ``circuits.native.eddsa.verify_poseidon``; ``verify_many`` checks a list of
  signatures across cores,
- ``path_nodes``: ``circuits.native.merkle.path_nodes`` (every node from a leaf up to the root).

They run in ``prover/backend/native/operator.c`` (the ``prover.backend._native`` extension).
``enabled()`` says whether callers should use them: the extension is built and
``ZKPROVER_NO_NATIVE`` (the switch of the native witness and pairing) is not set. Calling a
function here without the extension raises RuntimeError.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from circuits.native import babyjub
from circuits.native.babyjub import SUBORDER, Point
from circuits.native.poseidon import MAX_INPUTS
from circuits.native.poseidon import poseidon_hash as py_poseidon_hash
from circuits.native.poseidon_constants import P, n_rounds_p
from circuits.native.poseidon_opt import optimized_poseidon_params
from prover.backend.cpu import default_threads

try:
    from prover.backend import _native  # type: ignore[attr-defined]
except ImportError:
    _native = None

_ready_widths: set[int] = set()
#: The Poseidon width of an EdDSA message hash: Poseidon(R8x, R8y, Ax, Ay, M).
_EDDSA_WIDTH = 6


def built() -> bool:
    """Whether the extension (with the operator's functions) is importable."""
    return _native is not None and hasattr(_native, "operator_poseidon")


def enabled() -> bool:
    """Whether the native functions should be used: built and not switched off."""
    return built() and os.environ.get("ZKPROVER_NO_NATIVE", "").strip() in ("", "0")


def _ext():
    if not built():
        raise RuntimeError("the native extension is not built (python setup.py build_ext --inplace)")
    return _native


def _width(t: int):
    """The extension, with Poseidon width ``t``'s constants handed over (once per process)."""
    ext = _ext()
    if t not in _ready_widths:
        full, partial, sparse, last, mds = _fast_form(t)
        ext.operator_poseidon_setup(t, n_rounds_p(t), *(_pack(x) for x in (full, partial, sparse, last, mds)))
        _ready_widths.add(t)
    return ext


def _fast_form(t: int) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
    """Width ``t``'s optimized form (``poseidon_opt``: one constant and a sparse matrix per
    partial round) flattened in the order ``operator.c`` reads it: 8·t full-round constants,
    R_P partial-round constants (cell 0), per partial round the sparse matrix's row 0 then its
    column 0 below the diagonal (2t − 1), the matrix of the last full round before the partial
    rounds (t·t), the MDS matrix (t·t)."""
    opt = optimized_poseidon_params(t)
    half = opt.full_rounds // 2
    partial_rounds = range(half, half + opt.partial_rounds)
    full = [x for r, row in enumerate(opt.constants) if r not in partial_rounds for x in row]
    partial = [opt.constants[r][0] for r in partial_rounds]
    sparse = [x for v, w in zip(opt.v, opt.w, strict=True) for x in (opt.mds[0][0], *v, *w)]
    return full, partial, sparse, [x for row in opt.pre_sparse for x in row], [x for row in opt.mds for x in row]


def _pack(values: Sequence[int]) -> bytes:
    """Field elements as 32-byte little-endian words, reduced below r as the references do."""
    return b"".join((v % P).to_bytes(32, "little") for v in values)


def _unpack(buf: bytes) -> list[int]:
    return [int.from_bytes(buf[i : i + 32], "little") for i in range(0, len(buf), 32)]


def _check_inputs(n: int) -> None:
    if not 1 <= n <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {n}")


def poseidon_hash(inputs: Sequence[int]) -> int:
    """Poseidon of 1..16 field elements (circomlib), in C."""
    _check_inputs(len(inputs))
    t = len(inputs) + 1
    return int.from_bytes(_width(t).operator_poseidon(t, _pack(inputs)), "little")


def poseidon_hash_many(batch: Sequence[Sequence[int]]) -> list[int]:
    """``poseidon_hash`` of each input list; lists of one length share one call."""
    out: list[int] = [0] * len(batch)
    by_width: dict[int, list[int]] = {}
    for i, inputs in enumerate(batch):
        _check_inputs(len(inputs))
        by_width.setdefault(len(inputs) + 1, []).append(i)
    for t, positions in by_width.items():
        flat = _pack([x for i in positions for x in batch[i]])
        for i, h in zip(positions, _unpack(_width(t).operator_poseidon(t, flat)), strict=True):
            out[i] = h
    return out


def hasher() -> Callable[[Sequence[int]], int]:
    """The Poseidon to use now: this native one when ``enabled()``, else the Python reference."""
    return poseidon_hash if enabled() else py_poseidon_hash


def _point(buf: bytes) -> Point:
    return int.from_bytes(buf[:32], "little"), int.from_bytes(buf[32:], "little")


def add(p1: Point, p2: Point) -> Point:
    """Baby Jubjub addition, as ``babyjub.add``."""
    return _point(_ext().operator_bjj_add(_pack(p1), _pack(p2)))


def mul(pt: Point, k: int) -> Point:
    """k·pt for k ≥ 0, as ``babyjub.mul``."""
    if k < 0:
        raise ValueError("scalar must be non-negative")
    limbs = max(1, (k.bit_length() + 63) // 64)
    return _point(_ext().operator_bjj_mul(_pack(pt), k.to_bytes(8 * limbs, "little")))


def _well_formed(msg: int, r8: Point, s: int, a: Point) -> bool:
    """The range checks the reference makes before any arithmetic (values that would not pack)."""
    return 0 <= msg < P and 0 <= s < SUBORDER and all(0 <= c < P for c in (*r8, *a))


def verify_many(items: Sequence[tuple[int, babyjub.Point, int, babyjub.Point]]) -> list[bool]:
    """``verify_poseidon`` of each (msg, R8, S, A), the checks spread over the cores
    (``ZKPROVER_THREADS`` of them when set, as for the CPU backend)."""
    ok = [_well_formed(*item) for item in items]
    todo = [i for i, good in enumerate(ok) if good]
    if todo:
        flat = b"".join(
            b"".join(v.to_bytes(32, "little") for v in (msg, *r8, s, *a)) for msg, r8, s, a in (items[i] for i in todo)
        )
        verdicts = _width(_EDDSA_WIDTH).operator_eddsa_verify(flat, default_threads())
        for i, verdict in zip(todo, verdicts, strict=True):
            ok[i] = verdict == 1
    return ok


def verify_poseidon(msg: int, sig, a: Point) -> bool:
    """EdDSA-Poseidon verification of ``sig`` (an ``eddsa.Signature``) by key ``a``, as the reference."""
    return verify_many([(msg, sig.r8, sig.s, a)])[0]


def path_nodes(leaf: int, index: int, siblings: Sequence[Sequence[int]], arity: int) -> list[int]:
    """The nodes from ``leaf`` (level 0) up to the root, as ``merkle.path_nodes``."""
    if not 0 <= index < arity ** len(siblings):
        raise ValueError(f"index {index} out of range for depth {len(siblings)}, arity {arity}")
    for level in siblings:
        if len(level) != arity - 1:
            raise ValueError(f"each level needs {arity - 1} siblings")
    flat = _pack([x for level in siblings for x in level])
    raw = _width(arity + 1).operator_merkle_path(_pack([leaf]), index, flat, arity)
    return [leaf, *_unpack(raw[32:])]
