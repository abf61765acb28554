"""A constraint-system builder: signals, linear combinations, constraints, hints, and the witness
calculator that fills every wire from the inputs.

Circuits are ordinary Python functions over a :class:`ConstraintSystem`::

    cs = ConstraintSystem("square")
    x = cs.private_input("x")
    y = cs.mul(x, x)                       # one constraint x * x = y
    cs.public_output("y", y + 1)           # outputs are public signals

    circuit = cs.compile()
    witness = circuit.witness({"x": 3})    # values in circom wire order
    circuit.check(witness)                 # raises UnsatisfiedConstraint naming the constraint

A *hint* computes values outside the constraints (an inverse, a bit decomposition); the gadget
that asks for a hint must constrain its result, since a prover may put anything there.

Linear combinations are free: only ``mul``/``enforce`` cost a constraint. Signals are numbered in
creation order while building; ``compile`` renumbers them into circom's wire order (constant,
public outputs, public inputs, private inputs, internal) so the R1CS and witness files match
what circom would write.

Storage. A rollup batch circuit has about a million constraints and over ten million terms, so
nothing is kept per constraint as Python objects. When a linear combination first appears in a
constraint or as a hint's input, its terms are appended to flat arrays (signal numbers, and
indices into a table of the distinct coefficients) and the ``LC`` remembers its number, so one
used several times (x * x, a hint's input and its constraint) is stored once. Constraints are
three such numbers, hint steps a kind and two numbers; labels and signal names are shared
strings, one per scope and name. ``compile`` renumbers the signal array into wires in place
(numpy) and hands the arrays to a :class:`~circuits.r1cs.ConstraintTable`; the witness calculator
then works on wires directly.

Two witness calculators read those arrays: the Python one in this module, the reference, and
the native one (:mod:`circuits.native_witness`, C in the prover's extension), which
``CompiledCircuit.witness`` uses when the extension is built, ``ZKPROVER_NO_NATIVE`` is unset and
every hint of the circuit is one of the tagged functions of :mod:`circuits.hints`.
"""

from __future__ import annotations

import contextlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from circuits import native_witness
from circuits.r1cs import R1CS, ConstraintTable
from prover.field.arrays import fr_vector
from prover.field.bn254 import FR_MODULUS

P = FR_MODULUS
ONE = 0  # index of the constant-1 signal while building (and wire 0 after compiling)

Operand = "LC | int"


class CircuitError(ValueError):
    """Misuse of the builder (a non-linear product, an unknown input, a bad value)."""


class UnsatisfiedConstraint(ValueError):
    """A witness violates a constraint; names it by index and by the scope that created it."""

    def __init__(self, index: int, label: str, circuit: str) -> None:
        self.index = index
        self.label = label
        super().__init__(f"circuit {circuit!r}: constraint {index} ({label}) is not satisfied")


class LC:
    """A linear combination sum(coef * signal) + constant, coefficients mod r.

    ``terms`` maps signal -> coefficient in 1..r-1 (reduced, no zeros). It is not changed once
    the LC is in use (the builder stores an LC once and reuses its number), so operations always
    return new objects.
    """

    __slots__ = ("_ref", "terms")

    def __init__(self, terms: dict[int, int] | None = None) -> None:
        self.terms: dict[int, int] = terms if terms is not None else {}
        self._ref: tuple[object, int] | None = None  # (owning system's token, LC number) once stored

    # --- algebra (linear only) ------------------------------------------------------------
    # Terms are reduced, so a sum is below 2r and a difference above -r: one conditional
    # correction replaces a % per term. A key whose coefficient cancels is removed, and comes
    # back at the end if a later term brings it back, as chained additions always did.
    def __add__(self, other: LC | int) -> LC:
        out = self.terms.copy()
        if type(other) is int:
            _add_constant(out, other)
        else:
            _accumulate(out, as_lc(other).terms, 1)
        return LC(out)

    __radd__ = __add__

    def __neg__(self) -> LC:
        return LC({k: P - v for k, v in self.terms.items()})

    def __sub__(self, other: LC | int) -> LC:
        out = self.terms.copy()
        if type(other) is int:
            _add_constant(out, -other)
            return LC(out)
        get = out.get
        for k, v in as_lc(other).terms.items():
            s = get(k, 0) - v
            if s < 0:
                s += P
            if s:
                out[k] = s
            else:
                out.pop(k, None)
        return LC(out)

    def __rsub__(self, other: LC | int) -> LC:
        return as_lc(other) - self

    def __mul__(self, k: int) -> LC:
        if isinstance(k, LC):
            raise CircuitError("the product of two signals is not linear: use cs.mul(a, b)")
        k %= P
        if k == 0:
            return LC()
        if k == 1:
            return LC(self.terms.copy())
        return LC({i: v * k % P for i, v in self.terms.items()})

    __rmul__ = __mul__

    # --- inspection -----------------------------------------------------------------------
    def constant_value(self) -> int | None:
        """The value if this LC has no signal terms, else None."""
        terms = self.terms
        if not terms:
            return 0
        if len(terms) == 1 and ONE in terms:
            return terms[ONE]
        return None

    def __repr__(self) -> str:
        return "LC(" + " + ".join(f"{v}*s{i}" for i, v in self.terms.items()) + ")"


def _add_constant(terms: dict[int, int], c: int) -> None:
    v = (terms.get(ONE, 0) + c) % P
    if v:
        terms[ONE] = v
    else:
        terms.pop(ONE, None)


class Signal(LC):
    """A single signal (wire); behaves as the linear combination 1 * signal."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.terms = {index: 1}
        self._ref = None
        self.index = index

    def __repr__(self) -> str:
        return f"Signal({self.index})"


def as_lc(x: LC | int) -> LC:
    if isinstance(x, LC):
        return x
    if isinstance(x, bool) or not isinstance(x, int):
        raise CircuitError(f"expected a signal, linear combination or int, got {type(x).__name__}")
    x %= P
    return LC({ONE: x} if x else {})


def lincomb(pairs: Iterable[tuple[LC | int, int]]) -> LC:
    """sum(k * x for x, k in pairs), built in one dict.

    Exactly the combination (terms and their order) that chaining ``total + x * k`` gives, without
    copying the growing total at every step.
    """
    out: dict[int, int] = {}
    for x, k in pairs:
        if type(x) is int:
            _add_constant(out, x * k)
            continue
        k %= P
        if k:
            _accumulate(out, as_lc(x).terms, k)
    return LC(out)


def _accumulate(out: dict[int, int], terms: dict[int, int], k: int) -> None:
    """out += k * terms in place (k in 1..r-1), dropping a key whose coefficient cancels."""
    get = out.get
    for i, v in terms.items():
        s = get(i, 0) + v * k
        if s >= P:  # reduce only when needed: with k = 1 (most calls) the sum is below 2r
            s %= P
        if s:
            out[i] = s
        else:
            out.pop(i, None)


_KIND_OUT, _KIND_PUB, _KIND_PRV, _KIND_INT = 1, 2, 3, 4
_STEP_MUL, _STEP_COPY, _STEP_HINT = 0, 1, 2


class _CoefIndex(dict):
    """Coefficient -> its index in ``table``; a new coefficient is appended on first lookup."""

    def __init__(self) -> None:
        super().__init__()
        self.table: list[int] = []

    def __missing__(self, coef: int) -> int:
        i = self[coef] = len(self.table)
        self.table.append(coef)
        return i


@dataclass
class _Steps:
    """How the witness calculator fills the signals, in creation order.

    Step i is ``kind[i]``: MUL sets signal ``out[i]`` to LC ``a[i]`` times LC ``b[i]``; COPY sets
    it to LC ``a[i]``; HINT runs ``hints[a[i]]`` = (fn, input LC numbers, first output signal,
    output count, single) and fills consecutive signals from its result.
    """

    kind: bytearray
    a: array
    b: array
    out: array
    hints: list[tuple[Callable[..., int | Sequence[int]], tuple[int, ...], int, int, bool]]


class ConstraintSystem:
    def __init__(self, name: str) -> None:
        self.name = name
        self._kinds = bytearray([0])  # index 0: the constant 1
        self._names: list[str] = ["one"]
        self._inputs: dict[str, list[int]] = {}  # input name -> signal indices
        # linear combinations: terms [ends[k], ends[k + 1]) of the two term arrays
        self._token = object()  # marks the LCs stored here (an LC may be shared between systems)
        self._term_sig = array("I")
        # 16-bit coefficient indices while there are at most 65,536 distinct coefficients (a
        # rollup circuit has about 5,000), 32-bit after that (_widen_coefs)
        self._term_coef = array("H")
        self._coef_index = _CoefIndex()
        self._ends = array("q", [0])
        self._empty_lc = self._store(LC())
        self._coef_one = self._coef_index[1]
        self._abc = array("i")  # 3 LC numbers per constraint
        self._labels: list[str] = []
        self._steps = _Steps(bytearray(), array("i"), array("i"), array("I"), [])
        self._scope: list[str] = []
        # per scope path: (signal name -> full name, label -> full label), so both are shared
        self._scope_strings: dict[str, tuple[dict[str, str], dict[str | None, str]]] = {}
        self._enter_scope()
        self._compiled: CompiledCircuit | None = None

    one = LC({ONE: 1})

    # --- storage --------------------------------------------------------------------------
    def _store(self, lc: LC) -> int:
        """The number of ``lc`` in this system's table, appending its terms the first time."""
        ref = lc._ref
        if ref is not None and ref[0] is self._token:
            return ref[1]
        terms = lc.terms
        if not terms and len(self._ends) > 1:
            return self._empty_lc
        n = len(self._term_coef)
        try:
            if len(terms) == 1:  # most are: a product's output, a bit
                self._term_coef.append(self._coef_index[next(iter(terms.values()))])
            else:
                self._term_coef.extend(map(self._coef_index.__getitem__, terms.values()))
        except OverflowError:
            self._widen_coefs(n)
            self._term_coef.extend(map(self._coef_index.__getitem__, terms.values()))
        if len(terms) == 1:
            self._term_sig.append(next(iter(terms)))
        else:
            self._term_sig.extend(terms)
        k = len(self._ends) - 1
        self._ends.append(len(self._term_sig))
        lc._ref = (self._token, k)
        return k

    def _widen_coefs(self, n: int) -> None:
        """Switch to 32-bit coefficient indices, dropping any appended past ``n`` by a failed extend."""
        del self._term_coef[n:]
        self._term_coef = array("I", self._term_coef)

    def _enter_scope(self) -> None:
        path = "/".join(self._scope)
        self._prefix = path + "/" if path else ""
        self._where = path or self.name
        strings = self._scope_strings.get(path)
        if strings is None:
            strings = self._scope_strings[path] = ({}, {})
        self._names_here, self._labels_here = strings

    def _full_name(self, name: str) -> str:
        full = self._names_here.get(name)
        if full is None:
            full = self._names_here[name] = self._prefix + name
        return full

    # --- signals --------------------------------------------------------------------------
    def _new(self, kind: int, name: str) -> Signal:
        if self._compiled is not None:
            raise CircuitError("the circuit is already compiled")
        self._kinds.append(kind)
        self._names.append(self._full_name(name))
        return Signal(len(self._kinds) - 1)

    def _input(self, kind: int, name: str, count: int | None) -> Signal | list[Signal]:
        if name in self._inputs:
            raise CircuitError(f"input {name!r} declared twice")
        if count is None:
            s = self._new(kind, name)
            self._inputs[name] = [s.index]
            return s
        sigs = [self._new(kind, f"{name}[{i}]") for i in range(count)]
        self._inputs[name] = [s.index for s in sigs]
        return sigs

    def public_input(self, name: str, count: int | None = None) -> Signal | list[Signal]:
        """A public input (or ``count`` of them, given as a list in the inputs)."""
        return self._input(_KIND_PUB, name, count)

    def private_input(self, name: str, count: int | None = None) -> Signal | list[Signal]:
        return self._input(_KIND_PRV, name, count)

    def _step(self, kind: int, a: int, b: int, out: int) -> None:
        st = self._steps
        st.kind.append(kind)
        st.a.append(a)
        st.b.append(b)
        st.out.append(out)

    def public_output(self, name: str, value: LC | int) -> Signal:
        """A public output signal equal to ``value`` (one constraint binds them)."""
        value = as_lc(value)
        out = self._new(_KIND_OUT, name)
        self._step(_STEP_COPY, self._store(value), 0, out.index)
        self.enforce(value, self.one, out, label=f"output {name}")
        return out

    def hint(
        self, fn: Callable[..., int | Sequence[int]], *deps: LC | int, count: int | None = None, name: str = "hint"
    ) -> Signal | list[Signal]:
        """New signal(s) computed by ``fn`` from the values of ``deps``; NOT constrained here.

        With ``count`` None, fn returns one int and one Signal is returned; otherwise fn returns
        ``count`` ints and a list of Signals is returned.
        """
        if count is None:
            outs = [self._new(_KIND_INT, name)]
        else:
            outs = [self._new(_KIND_INT, f"{name}[{i}]") for i in range(count)]
        refs = tuple(self._store(as_lc(d)) for d in deps)
        hints = self._steps.hints
        self._step(_STEP_HINT, len(hints), 0, 0)
        hints.append((fn, refs, outs[0].index if outs else 0, len(outs), count is None))
        return outs if count is not None else outs[0]

    # --- constraints ----------------------------------------------------------------------
    def enforce(self, a: LC | int, b: LC | int, c: LC | int, label: str | None = None) -> None:
        """Add the constraint a * b = c."""
        if self._compiled is not None:
            raise CircuitError("the circuit is already compiled")
        store = self._store
        self._constrain(store(as_lc(a)), store(as_lc(b)), store(as_lc(c)), label)

    def _constrain(self, ra: int, rb: int, rc: int, label: str | None) -> None:
        self._abc.extend((ra, rb, rc))
        self._labels.append(self._labels_here.get(label) or self._full_label(label))

    def _full_label(self, label: str | None) -> str:
        full = self._labels_here[label] = f"{self._where}: {label}" if label else self._where
        return full

    def mul(self, a: LC | int, b: LC | int, name: str = "mul") -> LC:
        """a * b as a new signal with one constraint (free when either side is a constant)."""
        if not isinstance(a, LC):
            a = as_lc(a)
        if not isinstance(b, LC):
            b = as_lc(b)
        ta, tb = a.terms, b.terms
        if len(ta) <= 1 and (not ta or ONE in ta):  # a is a constant (constant_value, inlined)
            return b * ta.get(ONE, 0)
        if len(tb) <= 1 and (not tb or ONE in tb):
            return a * tb.get(ONE, 0)
        # A circuit is mostly products, so this is _new, _store (out is one fresh term), _step and
        # enforce written out.
        if self._compiled is not None:
            raise CircuitError("the circuit is already compiled")
        i = len(self._kinds)
        self._kinds.append(_KIND_INT)
        self._names.append(self._names_here.get(name) or self._full_name(name))
        out = Signal(i)
        ra = self._store(a)
        rb = ra if b is a else self._store(b)
        rc = len(self._ends) - 1
        self._term_sig.append(i)
        self._term_coef.append(self._coef_one)
        self._ends.append(len(self._term_sig))
        out._ref = (self._token, rc)
        st = self._steps
        st.kind.append(_STEP_MUL)
        st.a.append(ra)
        st.b.append(rb)
        st.out.append(i)
        self._abc.extend((ra, rb, rc))
        self._labels.append(self._labels_here.get(name) or self._full_label(name))
        return out

    def assert_equal(self, a: LC | int, b: LC | int, label: str = "equal") -> None:
        self.enforce(as_lc(a) - as_lc(b), self.one, 0, label=label)

    def assert_zero(self, a: LC | int, label: str = "zero") -> None:
        self.enforce(a, self.one, 0, label=label)

    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Name the constraints made inside (shown when a witness fails one)."""
        self._scope.append(name)
        self._enter_scope()
        try:
            yield
        finally:
            self._scope.pop()
            self._enter_scope()

    @property
    def n_constraints(self) -> int:
        return len(self._abc) // 3

    # --- compile --------------------------------------------------------------------------
    def compile(self) -> CompiledCircuit:
        """Freeze the system: renumber signals into circom wire order and build the R1CS."""
        if self._compiled is not None:
            return self._compiled
        n = len(self._kinds)
        kinds = np.frombuffer(self._kinds, dtype=np.uint8)
        order = np.argsort(kinds[1:], kind="stable") + 1  # by kind, then creation (a stable sort)
        wire_of = np.zeros(n, dtype=np.uint32)
        wire_of[order] = np.arange(1, n, dtype=np.uint32)
        # The arrays pass to the compiled circuit as they are (the system is frozen from here on);
        # signal numbers become wires in place.
        _renumber(self._term_sig, wire_of)
        _renumber(self._steps.out, wire_of)
        hints = [(fn, deps, int(wire_of[first]), cnt, single) for fn, deps, first, cnt, single in self._steps.hints]
        table = ConstraintTable(self._abc, self._ends, self._term_sig, self._term_coef, self._coef_index.table)
        count = np.bincount(kinds, minlength=_KIND_INT + 1)
        r1cs = R1CS(
            n_wires=n,
            n_pub_out=int(count[_KIND_OUT]),
            n_pub_in=int(count[_KIND_PUB]),
            n_prv_in=int(count[_KIND_PRV]),
            constraints=table,
            n_labels=n,
            wire_to_label=array("I", np.concatenate(([0], order)).astype(np.uint32).tobytes()),
        )
        st = self._steps
        self._compiled = CompiledCircuit(
            name=self.name,
            r1cs=r1cs,
            wire_of=array("I", wire_of.tobytes()),
            names=self._names,
            inputs=dict(self._inputs),
            steps=_Steps(st.kind, st.a, st.b, st.out, hints),
            labels=self._labels,
            n_signals=n,
        )
        return self._compiled


def _renumber(numbers: array, wire_of: np.ndarray) -> None:
    """numbers[i] = wire_of[numbers[i]] in place, a chunk at a time (no full-size temporary)."""
    view = np.frombuffer(numbers, dtype=np.uint32)
    chunk = 1 << 20
    for s in range(0, len(view), chunk):
        view[s : s + chunk] = wire_of[view[s : s + chunk]]


_UNBUILT = object()  # CompiledCircuit._program before the first witness


@dataclass
class CompiledCircuit:
    name: str
    r1cs: R1CS
    wire_of: Sequence[int]  # building index -> wire
    names: list[str]  # building index -> signal name
    inputs: dict[str, list[int]]  # input name -> building indices
    steps: _Steps  # signals by wire
    labels: list[str]  # constraint index -> where it was made
    n_signals: int
    # the native witness program (circuits.native_witness), built on the first witness
    _program: object = field(default=_UNBUILT, init=False, repr=False, compare=False)

    @property
    def n_constraints(self) -> int:
        return len(self.r1cs.constraints)

    @property
    def n_public(self) -> int:
        return self.r1cs.n_public

    def witness(
        self,
        inputs: Mapping[str, int | Sequence[int]],
        check: bool = True,
        native: bool | None = None,
        vector: bool = False,
    ) -> list[int] | np.ndarray:
        """Every wire's value (circom wire order) from the named inputs; with ``vector`` as an
        (n, 4) uint64 array in standard form, the prover's input (the native calculator then
        makes no Python int per wire: at batch 32 that conversion costs more than the witness).

        Raises CircuitError for a missing, unknown or mis-sized input, and UnsatisfiedConstraint
        (when ``check``) if the inputs violate a constraint. ``native``: None runs the native
        calculator when it is available (``circuits.native_witness``) and the Python one
        otherwise; True requires the native one, False the Python one (the reference).
        """
        wires, given = self._input_values(inputs)
        if native is not False:
            program = self._native_program()
            if program is not None:
                return self._native_witness(program, wires, given, check, vector)
            if native:
                why = (
                    "the native extension is off or missing"
                    if not native_witness.available()
                    else "a hint has no native form"
                )
                raise CircuitError(f"circuit {self.name!r}: no native witness program ({why})")
        values: list[int | None] = [None] * self.n_signals
        values[ONE] = 1
        for w, v in zip(wires, given, strict=True):
            values[w] = v
        table = self.r1cs.constraints
        assert isinstance(table, ConstraintTable)
        # LC values are memoised: every one is read after all its signals are set, and the check
        # below reuses them (the A and B of a product are its step's inputs).
        value = table.evaluator(values, P)  # type: ignore[arg-type]
        self._run_steps(values, value)
        if check:
            bad = table.first_unsatisfied(values, P, value)  # type: ignore[arg-type]
            if bad is not None:
                raise UnsatisfiedConstraint(bad, self.labels[bad], self.name)
        return fr_vector(values) if vector else values  # type: ignore[arg-type, return-value]

    def _input_values(self, inputs: Mapping[str, int | Sequence[int]]) -> tuple[list[int], list[int]]:
        """The input wires and their values (reduced mod r), checked against the declared inputs."""
        unknown = set(inputs) - set(self.inputs)
        if unknown:
            raise CircuitError(f"circuit {self.name!r} has no input(s) {sorted(unknown)}")
        wire_of = self.wire_of
        wires: list[int] = []
        values: list[int] = []
        for name, idxs in self.inputs.items():
            if name not in inputs:
                raise CircuitError(f"circuit {self.name!r}: input {name!r} is missing")
            given = inputs[name]
            seq = [given] if isinstance(given, int) else list(given)
            if len(seq) != len(idxs):
                raise CircuitError(f"input {name!r}: expected {len(idxs)} value(s), got {len(seq)}")
            for i, v in zip(idxs, seq, strict=True):
                if isinstance(v, bool) or not isinstance(v, int):
                    raise CircuitError(f"input {name!r}: values must be integers, got {type(v).__name__}")
                wires.append(wire_of[i])
                values.append(v % P)
        return wires, values

    def _native_program(self) -> native_witness.WitnessProgram | None:
        """The native program, built on first use and kept; None when unavailable."""
        if not native_witness.available():
            return None
        if self._program is _UNBUILT:
            self._program = native_witness.WitnessProgram.build(self)
        return self._program  # type: ignore[return-value]

    def _native_witness(
        self, program: native_witness.WitnessProgram, wires: list[int], given: list[int], check: bool, vector: bool
    ) -> list[int] | np.ndarray:
        result = program.run(wires, given, check, vector)
        if result.code == native_witness.UNSATISFIED:
            raise UnsatisfiedConstraint(result.where, self.labels[result.where], self.name)
        if result.code == native_witness.UNSET:
            i = self.r1cs.wire_to_label[result.where]
            raise CircuitError(f"signal {i} is read before it has a value (hint order)")
        if result.code != native_witness.OK or result.values is None:
            raise CircuitError(
                f"circuit {self.name!r}: native witness failed at wire {result.where} (code {result.code})"
            )
        return result.values

    def _run_steps(self, values: list[int | None], value: Callable[[int], int]) -> None:
        st = self.steps
        hints = st.hints
        for kind, a, b, out in zip(st.kind, st.a, st.b, st.out, strict=True):
            try:
                if kind == _STEP_MUL:
                    values[out] = value(a) * value(b) % P
                elif kind == _STEP_COPY:
                    values[out] = value(a) % P
                else:
                    fn, deps, first, count, single = hints[a]
                    result = fn(*(value(d) % P for d in deps))
                    if single:
                        result = (result,)
                    if len(result) != count:
                        raise CircuitError(f"a hint returned {len(result)} values for {count} signals")
                    values[first : first + count] = [int(v) % P for v in result]
            except TypeError:
                # None * int: an input read before its hint ran (a builder misuse), or the hint's own error
                self._raise_unset(values, (a, b) if kind == _STEP_MUL else (a,) if kind == _STEP_COPY else hints[a][1])
                raise

    def _raise_unset(self, values: list[int | None], lcs: Sequence[int]) -> None:
        table = self.r1cs.constraints
        assert isinstance(table, ConstraintTable)
        for k in lcs:
            for w in table.wires[table.ends[k] : table.ends[k + 1]]:
                if values[w] is None:
                    i = self.r1cs.wire_to_label[w]
                    raise CircuitError(f"signal {i} is read before it has a value (hint order)") from None

    def check(self, witness: list[int]) -> None:
        """Raise UnsatisfiedConstraint for the first violated constraint."""
        bad = self.r1cs.first_unsatisfied(witness)
        if bad is not None:
            raise UnsatisfiedConstraint(bad, self.labels[bad], self.name)

    def public_signals(self, witness: list[int]) -> list[int]:
        """snarkjs public signals: outputs then public inputs."""
        return witness[1 : 1 + self.n_public]

    def wire(self, signal: Signal) -> int:
        return self.wire_of[signal.index]
