"""The native witness calculator (``circuits.native_witness``) against the Python one, which
stays the reference: the same wires bit for bit on the batch circuit, the sample circuits and
every hint kind, the same errors for bad inputs, unsatisfied constraints and misordered steps,
and the Python path whenever the native one cannot be trusted with a circuit."""

from __future__ import annotations

import random

import pytest

from circuits import hints, native_witness
from circuits.builder import CircuitError, CompiledCircuit, ConstraintSystem, UnsatisfiedConstraint
from circuits.examples import cube_chain
from circuits.gadgets import babyjub as gbj
from circuits.gadgets.arith import inverse
from circuits.gadgets.bits import to_bits
from circuits.gadgets.comparators import is_zero, less_than
from circuits.gadgets.eddsa import to_bits_strict
from circuits.gadgets.poseidon import poseidon
from circuits.rollup.batch_circuit import build_batch_circuit
from circuits.rollup.params import BatchShape
from prover.field.bn254 import FR_MODULUS as P
from tests.test_circuit_golden import batch_inputs

pytestmark = pytest.mark.skipif(not native_witness.available(), reason="native extension not built")


def same(c: CompiledCircuit, inputs: dict, check: bool = True) -> list[int]:
    """Both calculators' witnesses, required equal; returns it."""
    python = c.witness(inputs, check=check, native=False)
    native = c.witness(inputs, check=check, native=True)
    assert native == python
    assert all(type(v) is int for v in native)
    return native


def same_error(c: CompiledCircuit, inputs: dict, error: type[Exception], check: bool = True) -> str:
    """Both calculators raise ``error`` with the same message; returns it."""
    with pytest.raises(error) as python:
        c.witness(inputs, check=check, native=False)
    with pytest.raises(error) as native:
        c.witness(inputs, check=check, native=True)
    assert str(native.value) == str(python.value)
    return str(native.value)


@pytest.fixture(scope="module")
def batch4() -> CompiledCircuit:
    return build_batch_circuit(BatchShape(4, 2))


def test_batch_circuit_witness_is_the_pythons(batch4: CompiledCircuit) -> None:
    inputs = batch_inputs(4)
    w = same(batch4, inputs)
    assert batch4.witness(inputs) == w  # the default path too, and it is the native one:
    assert isinstance(batch4._program, native_witness.WitnessProgram)
    assert batch4._program.plan is not None  # planned once, kept for the next batch


def test_batch_circuit_tampered_inputs_fail_the_same_constraint(batch4: CompiledCircuit) -> None:
    rng = random.Random(18)
    inputs = batch_inputs(4)
    names = sorted(batch4.inputs)
    for _ in range(4):
        bad = {k: (list(v) if not isinstance(v, int) else v) for k, v in inputs.items()}
        name = rng.choice(names)
        if isinstance(bad[name], int):
            bad[name] = (bad[name] + rng.randrange(1, P)) % P
        else:
            i = rng.randrange(len(bad[name]))
            bad[name][i] = (bad[name][i] + rng.randrange(1, P)) % P
        same(batch4, bad, check=False)  # every wire, including hints fed wrong values
        message = same_error(batch4, bad, UnsatisfiedConstraint)
        assert "is not satisfied" in message


def test_sample_circuits() -> None:
    c = cube_chain(20)
    same(c, {"x": 5, "key": 2**64 - 1})
    same_error(c, {"x": 5, "key": 2**64}, UnsatisfiedConstraint)  # the key's range check


def _hint_circuit() -> CompiledCircuit:
    """One of each hint kind: inverse, is_zero, bits (short and 254-bit), quotient (the babyjub
    division and a bare one whose divisor may be zero)."""
    cs = ConstraintSystem("hints")
    x, y, n, d = (cs.private_input(k) for k in ("x", "y", "n", "d"))
    cs.public_output("inv", inverse(cs, x + 1))
    cs.public_output("zero", is_zero(cs, y))
    cs.public_output("less", less_than(cs, x, 1 << 40, 41))
    bits = to_bits(cs, y, 16)
    cs.public_output("bits16", bits[15] + bits[0])
    strict = to_bits_strict(cs, x)
    cs.public_output("top", strict[253])
    q = cs.hint(hints.quotient, n, d, name="q")
    cs.enforce(d, q, n, label="q")  # with d = 0 only n = 0 holds (the cases below keep to it)
    cs.public_output("q", q)
    sx, sy = gbj.add(cs, (x, y), (n, d))
    cs.public_output("sum", poseidon(cs, [sx, sy]))
    return cs.compile()


@pytest.mark.parametrize(
    "values",
    [
        {"x": 7, "y": 0, "n": 3, "d": 5},
        {"x": 1 << 39, "y": 40000, "n": 1, "d": 1},
        {"x": P - 1, "y": 0xBEEF, "n": 0, "d": 0},  # x + 1 = 0: no inverse (hint gives 0)
        {"x": P - 2, "y": 1, "n": 9, "d": P - 1},
        {"x": (1 << 253) + 12345, "y": 65535, "n": P - 5, "d": 2},
    ],
)
def test_every_hint_kind(values: dict) -> None:
    c = _hint_circuit()
    w = same(c, values, check=False)
    q = c.wire_of[c.inputs["n"][0]]  # sanity: the inputs are where both put them
    assert w[q] == values["n"] % P
    try:
        c.witness(values, native=False)
    except UnsatisfiedConstraint:  # x + 1 = 0 has no inverse; a huge x fails less_than's range
        same_error(c, values, UnsatisfiedConstraint)
    else:
        same(c, values)


def test_inputs_at_or_above_r_are_reduced_alike() -> None:
    c = _hint_circuit()
    small = {"x": 7, "y": 3, "n": 3, "d": 5}
    big = {k: v + P for k, v in small.items()}
    assert same(c, big) == same(c, small)


@pytest.mark.parametrize(
    "inputs, fragment",
    [
        ({"x": 1, "y": 2, "n": 3}, "input 'd' is missing"),
        ({"x": 1, "y": 2, "n": 3, "d": 4, "e": 5}, "no input(s) ['e']"),
        ({"x": 1, "y": 2, "n": 3, "d": [4, 5]}, "expected 1 value(s), got 2"),
        ({"x": 1, "y": 2, "n": 3, "d": "4"}, "values must be integers"),
        ({"x": 1, "y": True, "n": 3, "d": 4}, "values must be integers"),
    ],
)
def test_bad_inputs_get_the_same_errors(inputs: dict, fragment: str) -> None:
    assert fragment in same_error(_hint_circuit(), inputs, CircuitError)


def test_a_wrong_hint_still_fails_the_check() -> None:
    cs = ConstraintSystem("wrong")
    x = cs.private_input("x")
    inv = cs.hint(hints.inverse, x, name="inv")
    cs.enforce(x, inv, 2, label="x * inv = 2")  # the hint computes 1/x, not 2/x
    c = cs.compile()
    message = same_error(c, {"x": 5}, UnsatisfiedConstraint)
    assert "x * inv = 2" in message


def test_untagged_hint_keeps_the_python_path() -> None:
    cs = ConstraintSystem("untagged")
    x = cs.private_input("x")
    double = cs.hint(lambda v: 2 * v, x, name="double")
    cs.enforce(x, 2, double)
    c = cs.compile()
    assert c.witness({"x": 4})[c.wire(double)] == 8  # the default falls back
    with pytest.raises(CircuitError, match="a hint has no native form"):
        c.witness({"x": 4}, native=True)


def test_a_tag_that_does_not_fit_keeps_the_python_path() -> None:
    cs = ConstraintSystem("misfit")
    x = cs.private_input("x")
    cs.hint(hints.low_bits(8), x, count=4, name="bits")  # four outputs for an 8-bit tag
    c = cs.compile()
    assert native_witness.WitnessProgram.build(c) is None
    with pytest.raises(CircuitError, match="a hint returned 8 values for 4 signals"):
        c.witness({"x": 5}, check=False)  # the Python path, which says what is wrong


def test_no_native_env_forces_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZKPROVER_NO_NATIVE", "1")
    assert not native_witness.available()
    c = cube_chain(3)
    with pytest.raises(CircuitError, match="off or missing"):
        c.witness({"x": 1, "key": 2}, native=True)
    assert c.witness({"x": 1, "key": 2})[0] == 1


def _chain() -> CompiledCircuit:
    cs = ConstraintSystem("chain")
    x = cs.private_input("x")
    y = cs.mul(x, x)
    z = cs.mul(y, y)
    cs.public_output("z", z)
    return cs.compile()


def test_a_step_that_reads_an_unset_signal_is_named_alike() -> None:
    c = _chain()
    st = c.steps
    # swap the two products: z = y * y now runs before y = x * x
    for arr in (st.a, st.b, st.out):
        arr[0], arr[1] = arr[1], arr[0]
    message = same_error(c, {"x": 3}, CircuitError)
    assert "is read before it has a value" in message


def test_a_program_with_an_index_out_of_range_is_refused() -> None:
    c = _chain()
    c.steps.out[0] = c.r1cs.n_wires  # one past the last wire
    with pytest.raises(native_witness.ProgramError, match="output wire"):
        native_witness.WitnessProgram.build(c)


def test_wide_coefficient_indices() -> None:
    """Past 65,536 distinct coefficients the indices are 32-bit; the program reads either."""
    cs = ConstraintSystem("coefficients")
    x = cs.private_input("x")
    total = x * 0
    for i in range(70_000):
        total = total + x * (i + 2) if i % 1000 == 0 else total
        cs.enforce(x * (i + 2) + i, 1, x * (i + 2) + i)
    cs.public_output("t", cs.mul(total, x))
    c = cs.compile()
    assert c.r1cs.constraints.cidx.typecode == "I"  # type: ignore[attr-defined]
    same(c, {"x": 3})


def test_witness_as_the_backends_vector(batch4: CompiledCircuit) -> None:
    """``vector=True``: the prover's (n, 4) array, equal to the list's encoding on both paths,
    and a proof made from it (CPU backend, read-only buffer) verifies."""
    import numpy as np

    from prover.backend.select import select_backend
    from prover.field.arrays import fr_vector
    from prover.groth16.prover import prove
    from prover.groth16.setup import setup
    from prover.groth16.verifier import verify

    inputs = batch_inputs(4)  # the native list equals the Python one (tests above)
    w = batch4.witness(inputs, vector=True)
    assert isinstance(w, np.ndarray) and w.shape == (batch4.r1cs.n_wires, 4) and w.flags.writeable
    assert np.array_equal(w, fr_vector(batch4.witness(inputs)))
    c = cube_chain(20)
    for native in (True, False):
        assert np.array_equal(
            c.witness({"x": 5, "key": 7}, native=native, vector=True), fr_vector(same(c, {"x": 5, "key": 7}))
        )
        with pytest.raises(UnsatisfiedConstraint):  # the check still runs on the vector path
            c.witness({"x": 5, "key": 2**64}, native=native, vector=True)
    cpu = select_backend("cpu")
    pk = setup(c.r1cs, name=c.name, backend=cpu)
    result = prove(pk, c.witness({"x": 5, "key": 7}, vector=True), cpu)
    assert verify(pk.vk, result.public_signals, result.proof)
