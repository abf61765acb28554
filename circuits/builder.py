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
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from circuits.r1cs import R1CS, Constraint
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
    """A linear combination sum(coef * signal) + constant, coefficients mod r."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[int, int] | None = None) -> None:
        self.terms: dict[int, int] = terms if terms is not None else {}

    # --- algebra (linear only) ------------------------------------------------------------
    def __add__(self, other: LC | int) -> LC:
        o = as_lc(other).terms
        out = dict(self.terms)
        for k, v in o.items():
            s = (out.get(k, 0) + v) % P
            if s:
                out[k] = s
            else:
                out.pop(k, None)
        return LC(out)

    __radd__ = __add__

    def __neg__(self) -> LC:
        return LC({k: (-v) % P for k, v in self.terms.items()})

    def __sub__(self, other: LC | int) -> LC:
        return self + (-as_lc(other))

    def __rsub__(self, other: LC | int) -> LC:
        return as_lc(other) - self

    def __mul__(self, k: int) -> LC:
        if isinstance(k, LC):
            raise CircuitError("the product of two signals is not linear: use cs.mul(a, b)")
        k %= P
        if k == 0:
            return LC()
        return LC({i: v * k % P for i, v in self.terms.items()})

    __rmul__ = __mul__

    # --- inspection -----------------------------------------------------------------------
    def constant_value(self) -> int | None:
        """The value if this LC has no signal terms, else None."""
        if all(i == ONE for i in self.terms):
            return self.terms.get(ONE, 0)
        return None

    def __repr__(self) -> str:
        return "LC(" + " + ".join(f"{v}*s{i}" for i, v in self.terms.items()) + ")"


class Signal(LC):
    """A single signal (wire); behaves as the linear combination 1 * signal."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        super().__init__({index: 1})
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


def _eval(lc: LC, values: list[int | None]) -> int:
    total = 0
    for i, k in lc.terms.items():
        v = values[i]
        if v is None:
            raise CircuitError(f"signal {i} is read before it has a value (hint order)")
        total += v * k
    return total % P


_KIND_OUT, _KIND_PUB, _KIND_PRV, _KIND_INT = 1, 2, 3, 4


@dataclass
class _Step:
    """Fill ``outputs`` from ``fn(*values of deps)``; fn returns an int or a sequence of ints."""

    fn: Callable[..., int | Sequence[int]]
    deps: tuple[LC, ...]
    outputs: tuple[int, ...]


class ConstraintSystem:
    def __init__(self, name: str) -> None:
        self.name = name
        self._kinds: list[int] = [0]  # index 0: the constant 1
        self._names: list[str] = ["one"]
        self._inputs: dict[str, list[int]] = {}  # input name -> signal indices
        self._steps: list[_Step] = []
        self._constraints: list[tuple[LC, LC, LC, str]] = []
        self._scope: list[str] = []
        self._compiled: CompiledCircuit | None = None

    one = LC({ONE: 1})

    # --- signals --------------------------------------------------------------------------
    def _new(self, kind: int, name: str) -> Signal:
        if self._compiled is not None:
            raise CircuitError("the circuit is already compiled")
        self._kinds.append(kind)
        self._names.append("/".join([*self._scope, name]))
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

    def public_output(self, name: str, value: LC | int) -> Signal:
        """A public output signal equal to ``value`` (one constraint binds them)."""
        value = as_lc(value)
        out = self._new(_KIND_OUT, name)
        self._steps.append(_Step(lambda v: (v,), (value,), (out.index,)))
        self.enforce(value, self.one, out, label=f"output {name}")
        return out

    def hint(
        self, fn: Callable[..., int | Sequence[int]], *deps: LC | int, count: int | None = None, name: str = "hint"
    ) -> Signal | list[Signal]:
        """New signal(s) computed by ``fn`` from the values of ``deps``; NOT constrained here.

        With ``count`` None, fn returns one int and one Signal is returned; otherwise fn returns
        ``count`` ints and a list of Signals is returned.
        """
        n = 1 if count is None else count
        outs = [self._new(_KIND_INT, f"{name}[{i}]" if count is not None else name) for i in range(n)]
        call = fn if count is not None else (lambda *a: (fn(*a),))
        self._steps.append(_Step(call, tuple(as_lc(d) for d in deps), tuple(s.index for s in outs)))
        return outs if count is not None else outs[0]

    # --- constraints ----------------------------------------------------------------------
    def enforce(self, a: LC | int, b: LC | int, c: LC | int, label: str | None = None) -> None:
        """Add the constraint a * b = c."""
        if self._compiled is not None:
            raise CircuitError("the circuit is already compiled")
        where = "/".join(self._scope) or self.name
        self._constraints.append((as_lc(a), as_lc(b), as_lc(c), f"{where}: {label}" if label else where))

    def mul(self, a: LC | int, b: LC | int, name: str = "mul") -> LC:
        """a * b as a new signal with one constraint (free when either side is a constant)."""
        a, b = as_lc(a), as_lc(b)
        ka, kb = a.constant_value(), b.constant_value()
        if ka is not None:
            return b * ka
        if kb is not None:
            return a * kb
        out = self.hint(lambda x, y: x * y % P, a, b, name=name)
        self.enforce(a, b, out, label=name)
        return out

    def assert_equal(self, a: LC | int, b: LC | int, label: str = "equal") -> None:
        self.enforce(as_lc(a) - as_lc(b), self.one, 0, label=label)

    def assert_zero(self, a: LC | int, label: str = "zero") -> None:
        self.enforce(a, self.one, 0, label=label)

    @contextlib.contextmanager
    def scope(self, name: str) -> Iterator[None]:
        """Name the constraints made inside (shown when a witness fails one)."""
        self._scope.append(name)
        try:
            yield
        finally:
            self._scope.pop()

    @property
    def n_constraints(self) -> int:
        return len(self._constraints)

    # --- compile --------------------------------------------------------------------------
    def compile(self) -> CompiledCircuit:
        """Freeze the system: renumber signals into circom wire order and build the R1CS."""
        if self._compiled is not None:
            return self._compiled
        order = sorted(range(1, len(self._kinds)), key=lambda i: (self._kinds[i], i))
        wire_of = [0] * len(self._kinds)
        for w, i in enumerate(order, start=1):
            wire_of[i] = w

        def remap(lc: LC) -> dict[int, int]:
            return {wire_of[i]: v for i, v in lc.terms.items()}

        constraints: list[Constraint] = [(remap(a), remap(b), remap(c)) for a, b, c, _ in self._constraints]
        count = {k: self._kinds.count(k) for k in (_KIND_OUT, _KIND_PUB, _KIND_PRV)}
        r1cs = R1CS(
            n_wires=len(self._kinds),
            n_pub_out=count[_KIND_OUT],
            n_pub_in=count[_KIND_PUB],
            n_prv_in=count[_KIND_PRV],
            constraints=constraints,
            n_labels=len(self._kinds),
            wire_to_label=[0, *order],
        )
        self._compiled = CompiledCircuit(
            name=self.name,
            r1cs=r1cs,
            wire_of=wire_of,
            names=list(self._names),
            inputs=dict(self._inputs),
            steps=list(self._steps),
            labels=[lbl for *_, lbl in self._constraints],
            n_signals=len(self._kinds),
        )
        return self._compiled


@dataclass
class CompiledCircuit:
    name: str
    r1cs: R1CS
    wire_of: list[int]  # building index -> wire
    names: list[str]  # building index -> signal name
    inputs: dict[str, list[int]]
    steps: list[_Step]
    labels: list[str]  # constraint index -> where it was made
    n_signals: int

    @property
    def n_constraints(self) -> int:
        return len(self.r1cs.constraints)

    @property
    def n_public(self) -> int:
        return self.r1cs.n_public

    def witness(self, inputs: Mapping[str, int | Sequence[int]], check: bool = True) -> list[int]:
        """Every wire's value (circom wire order) from the named inputs.

        Raises CircuitError for a missing, unknown or mis-sized input, and UnsatisfiedConstraint
        (when ``check``) if the inputs violate a constraint.
        """
        values: list[int | None] = [None] * self.n_signals
        values[ONE] = 1
        unknown = set(inputs) - set(self.inputs)
        if unknown:
            raise CircuitError(f"circuit {self.name!r} has no input(s) {sorted(unknown)}")
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
                values[i] = v % P
        for step in self.steps:
            result = step.fn(*(_eval(d, values) for d in step.deps))
            if len(result) != len(step.outputs):
                raise CircuitError(f"a hint returned {len(result)} values for {len(step.outputs)} signals")
            for i, v in zip(step.outputs, result, strict=True):
                values[i] = int(v) % P
        wires = [0] * self.n_signals
        for i, v in enumerate(values):
            wires[self.wire_of[i]] = v  # type: ignore[assignment]
        if check:
            self.check(wires)
        return wires

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
