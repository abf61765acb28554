"""Rank-1 constraint systems and the iden3 ``.r1cs`` file format.

Wire order is circom's: wire 0 is the constant 1, then public outputs, public inputs, private
inputs, then internal wires. A constraint is three linear combinations (dicts wire -> coefficient,
coefficients reduced mod r) with A.w * B.w = C.w.

``R1CS.constraints`` is any sequence of such triples: a list (``read_r1cs``, small hand-made
systems) or, from the circuit builder, a :class:`ConstraintTable`, which holds a big circuit's
linear combinations in flat arrays (a few bytes per term instead of a dict entry and an int
object), hands out dicts on access, and checks witnesses and serialises itself without them.
Writing streams the constraints section in blocks, so hashing a circuit (the proving-key cache
does it) never holds the whole section in memory.
"""

from __future__ import annotations

import os
import struct
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import mul

import numpy as np

from prover.binfile import BinFile, BinWriter, FormatError, bigint, u32, u64
from prover.field.bn254 import FR_MODULUS

LinComb = dict[int, int]
Constraint = tuple[LinComb, LinComb, LinComb]

_BLOCK = 1 << 14  # constraints per block when writing a list of dicts
_BLOCK_TERMS = 1 << 16  # terms per block from a ConstraintTable: 2.3 MB of output, ~5x that in temporaries


class ConstraintTable(Sequence[Constraint]):
    """Constraints as numbered linear combinations in flat arrays.

    Linear combination k has the terms ``ends[k]`` to ``ends[k + 1]`` (exclusive) of ``wires``
    (wire numbers) and ``cidx`` (indices into ``coefs``, the distinct coefficients, reduced), in
    the order they were built; constraint i is the combinations ``abc[3i]``, ``abc[3i + 1]``,
    ``abc[3i + 2]`` (A, B, C). A combination used twice (x * x, a hint's input reused in its
    constraint) is stored once.
    """

    __slots__ = ("abc", "cidx", "coefs", "ends", "wires")

    def __init__(self, abc: array, ends: array, wires: array, cidx: array, coefs: list[int]) -> None:
        self.abc = abc
        self.ends = ends
        self.wires = wires
        self.cidx = cidx
        self.coefs = coefs

    def lc(self, k: int) -> LinComb:
        return self._reader()(k)

    def term_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``abc``, ``ends``, ``wires`` and ``cidx`` as read-only NumPy views (no copy), for bulk
        consumers such as the development setup; ``coefs`` is the table ``cidx`` indexes."""
        views = tuple(np.frombuffer(a, dtype=a.typecode) for a in (self.abc, self.ends, self.wires, self.cidx))
        for v in views:
            v.flags.writeable = False
        return views  # type: ignore[return-value]

    def _reader(self) -> Callable[[int], LinComb]:
        """A fast ``lc`` for many lookups (a fresh dict each time: callers may keep or change it)."""
        ends, wires, cidx, coefs = self.ends, self.wires, self.cidx, self.coefs
        coef = coefs.__getitem__

        def lc(k: int) -> LinComb:
            s, e = ends[k], ends[k + 1]
            if e - s == 1:
                return {wires[s]: coefs[cidx[s]]}
            return dict(zip(wires[s:e], map(coef, cidx[s:e]), strict=False))  # same lengths by construction

        return lc

    def __len__(self) -> int:
        return len(self.abc) // 3

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("constraint index out of range")
        a, b, c = self.abc[3 * i : 3 * i + 3]
        lc = self._reader()
        return lc(a), lc(b), lc(c)

    def __iter__(self) -> Iterator[Constraint]:
        lc, abc = self._reader(), self.abc
        for a, b, c in zip(abc[0::3], abc[1::3], abc[2::3], strict=True):
            yield lc(a), lc(b), lc(c)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return len(self) == len(other) and all(x == y for x, y in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ConstraintTable({len(self)} constraints, {len(self.wires)} terms)"

    def evaluator(self, witness: Sequence[int], p: int) -> Callable[[int], int]:
        """Value of combination k under ``witness``, each computed once (mod ``p``, except that a
        single term with coefficient 1 is the witness value as given)."""
        ends, wires, cidx, coefs = self.ends, self.wires, self.cidx, self.coefs
        get = witness.__getitem__
        memo: list[int | None] = [None] * (len(ends) - 1)

        def value(k: int) -> int:
            v = memo[k]
            if v is None:
                s, e = ends[k], ends[k + 1]
                if e - s == 1:  # most are single terms (a product's output, a bit)
                    c = coefs[cidx[s]]
                    v = get(wires[s]) if c == 1 else get(wires[s]) * c % p
                else:
                    v = sum(map(mul, map(get, wires[s:e]), map(coefs.__getitem__, cidx[s:e]))) % p
                memo[k] = v
            return v

        return value

    def first_unsatisfied(
        self, witness: Sequence[int], p: int, value: Callable[[int], int] | None = None
    ) -> int | None:
        """Index of the first violated constraint (``value``: an ``evaluator`` of this witness)."""
        value = value or self.evaluator(witness, p)
        abc = self.abc
        for i, (a, b, c) in enumerate(zip(abc[0::3], abc[1::3], abc[2::3], strict=True)):
            if (value(a) * value(b) - value(c)) % p:
                return i
        return None

    def section_size(self, n8: int) -> int:
        counts = np.diff(np.frombuffer(self.ends, dtype=np.int64))
        refs = np.frombuffer(self.abc, dtype=np.int32)
        return 4 * len(refs) + (4 + n8) * int(counts[refs].sum())

    def section_blocks(self, n8: int, prime: int) -> Iterator[bytes]:
        """The .r1cs constraints section: per combination a u32 term count, then the terms by
        increasing wire, each a u32 wire and an ``n8``-byte coefficient (done with numpy: the
        same bytes as the per-term writer, in a fraction of the time)."""
        ends = np.frombuffer(self.ends, dtype=np.int64)
        counts = np.diff(ends)
        wires = np.frombuffer(self.wires, dtype=np.uint32)
        cidx = np.frombuffer(self.cidx, dtype=self.cidx.typecode)
        words = n8 // 4
        table = b"".join((c % prime).to_bytes(n8, "little") for c in self.coefs)
        coef_words = np.frombuffer(table, dtype="<u4").reshape(len(self.coefs), words)
        abc = np.frombuffer(self.abc, dtype=np.int32)
        # blocks of about _BLOCK_TERMS terms: dense constraints (Poseidon) would make a fixed
        # number of constraints a large block
        cum = np.cumsum(counts.astype(np.int32)[abc].reshape(-1, 3).sum(axis=1, dtype=np.int64))
        start = 0
        while start < len(cum):
            before = int(cum[start - 1]) if start else 0
            stop = max(start + 1, int(np.searchsorted(cum, before + _BLOCK_TERMS, side="right")))
            refs = abc[3 * start : 3 * stop]
            start = stop
            cnt = counts[refs]
            total = int(cnt.sum())
            seg = np.repeat(np.arange(len(refs)), cnt)  # which combination each output term is in
            local = np.arange(total) - (np.cumsum(cnt) - cnt)[seg]  # its place in that combination
            term = ends[refs][seg] + local
            # by wire within each combination (wires are distinct there, so the keys are unique)
            term = term[np.argsort((seg.astype(np.uint64) << np.uint64(32)) | wires[term])]
            records = np.empty((total, 1 + words), dtype="<u4")  # a term: its wire, its coefficient
            records[:, 0] = wires[term]
            records[:, 1:] = coef_words[cidx[term]]
            seg_words = 1 + (1 + words) * cnt
            offset = np.cumsum(seg_words) - seg_words  # where each combination's term count goes
            out = np.empty(int(seg_words.sum()), dtype="<u4")
            is_term = np.ones(len(out), dtype=bool)
            is_term[offset] = False
            out[offset] = cnt
            out[is_term] = records.ravel()
            yield out.tobytes()


class _Deferred:
    """A section body made while the container is written; BinWriter needs only its length first."""

    def __init__(self, size: int, blocks: Callable[[], Iterable[bytes]]) -> None:
        self.size = size
        self.blocks = blocks

    def __len__(self) -> int:
        return self.size


class _Expanding:
    """A write target that expands ``_Deferred`` bodies into their blocks."""

    def __init__(self, fh) -> None:
        self.fh = fh

    def write(self, data) -> None:
        if not isinstance(data, _Deferred):
            self.fh.write(data)
            return
        written = 0
        for block in data.blocks():
            self.fh.write(block)
            written += len(block)
        if written != data.size:
            raise ValueError(f"section body is {written} bytes, announced {data.size}")


class _StreamingWriter(BinWriter):
    def write_to(self, fh) -> None:
        super().write_to(_Expanding(fh))


R1CS_MAGIC = b"r1cs"
_HEADER, _CONSTRAINTS, _WIRE2LABEL = 1, 2, 3


@dataclass
class R1CS:
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    constraints: Sequence[Constraint]
    n_labels: int = 0
    wire_to_label: Sequence[int] = field(default_factory=list)
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
        if isinstance(self.constraints, ConstraintTable):
            return self.constraints.first_unsatisfied(witness, p)
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
    constraints = r1cs.constraints
    if isinstance(constraints, ConstraintTable):
        body = _Deferred(constraints.section_size(n8), lambda: constraints.section_blocks(n8, r1cs.prime))
    else:
        size = sum(4 * len(c) + (4 + n8) * sum(len(lc) for lc in c) for c in constraints)
        body = _Deferred(size, lambda: _section_blocks(constraints, n8, r1cs.prime))
    labels = r1cs.wire_to_label or list(range(r1cs.n_wires))
    writer = _StreamingWriter(R1CS_MAGIC, 1)
    writer.add(_HEADER, header)
    writer.add(_CONSTRAINTS, body)  # type: ignore[arg-type]
    writer.add(_WIRE2LABEL, np.asarray(labels, dtype="<u8").tobytes())
    return writer


def _section_blocks(constraints: Sequence[Constraint], n8: int, prime: int) -> Iterator[bytes]:
    parts: list[bytes] = []
    for i, constraint in enumerate(constraints, start=1):
        for lc in constraint:
            parts.append(u32(len(lc)))
            for wire in sorted(lc):
                parts.append(u32(wire) + bigint(lc[wire] % prime, n8))
        if i % _BLOCK == 0:
            yield b"".join(parts)
            parts.clear()
    yield b"".join(parts)


@dataclass(frozen=True)
class R1CSHeader:
    """The counts an .r1cs file starts with: enough to size the work before reading the rest."""

    prime: int
    n_wires: int
    n_pub_out: int
    n_pub_in: int
    n_prv_in: int
    n_labels: int
    n_constraints: int

    @property
    def n_public(self) -> int:
        return self.n_pub_out + self.n_pub_in


def _header(f: BinFile) -> R1CSHeader:
    h = f.reader(_HEADER, "header")
    prime = h.field(FR_MODULUS, "scalar field")
    n_wires, n_pub_out, n_pub_in, n_prv_in = (h.u32() for _ in range(4))
    n_labels = h.u64()
    n_constraints = h.u32()
    h.expect_end()
    if 1 + n_pub_out + n_pub_in + n_prv_in > n_wires:
        raise f.fail(f"{n_pub_out}+{n_pub_in}+{n_prv_in} inputs/outputs do not fit in {n_wires} wires")
    return R1CSHeader(prime, n_wires, n_pub_out, n_pub_in, n_prv_in, n_labels, n_constraints)


def read_r1cs_header(path: str | os.PathLike) -> R1CSHeader:
    """The header of an iden3 .r1cs file alone (the file is mapped, not read)."""
    return _header(BinFile(path, R1CS_MAGIC, 1))


def read_r1cs(path: str | os.PathLike) -> R1CS:
    """Read an iden3 .r1cs file; FormatError naming the file on any inconsistency."""
    f = BinFile(path, R1CS_MAGIC, 1)
    hd = _header(f)
    prime, n_wires, n_constraints = hd.prime, hd.n_wires, hd.n_constraints

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
    return R1CS(n_wires, hd.n_pub_out, hd.n_pub_in, hd.n_prv_in, constraints, hd.n_labels, labels, prime)


__all__ = ["R1CS", "ConstraintTable", "FormatError", "read_r1cs", "write_r1cs"]
