"""The constraint-system builder and the basic gadgets: every gadget accepts a correct witness
and rejects a tampered one."""

from __future__ import annotations

import pytest

from circuits.builder import CircuitError, ConstraintSystem, UnsatisfiedConstraint
from circuits.gadgets.arith import inverse, select
from circuits.gadgets.bits import assert_bool, from_bits, range_check, to_bits
from circuits.gadgets.comparators import is_equal, is_zero, less_than
from prover.field.bn254 import FR_MODULUS as P


def tamper(circuit, witness, signal_or_wire, delta=1):
    wire = circuit.wire(signal_or_wire) if not isinstance(signal_or_wire, int) else signal_or_wire
    bad = list(witness)
    bad[wire] = (bad[wire] + delta) % P
    return bad


def test_wire_order_is_circoms():
    cs = ConstraintSystem("order")
    prv = cs.private_input("a")
    pub = cs.public_input("b")
    t = cs.mul(prv, pub)
    out = cs.public_output("c", t)
    c = cs.compile()
    # wire 0 = 1, then outputs, public inputs, private inputs, internals
    assert [c.wire(out), c.wire(pub), c.wire(prv), c.wire(t)] == [1, 2, 3, 4]
    w = c.witness({"a": 6, "b": 7})
    assert w == [1, 42, 7, 6, 42]
    assert c.public_signals(w) == [42, 7]
    assert (c.r1cs.n_pub_out, c.r1cs.n_pub_in, c.r1cs.n_prv_in) == (1, 1, 1)


def test_linear_combinations_are_free_and_products_need_mul():
    cs = ConstraintSystem("lc")
    a = cs.private_input("a")
    b = cs.private_input("b")
    lc = 3 * a - b + 5
    assert cs.n_constraints == 0
    with pytest.raises(CircuitError, match="not linear"):
        _ = a * b
    assert cs.mul(a, 4).terms == (a * 4).terms  # constant product: no constraint
    assert cs.n_constraints == 0
    cs.public_output("o", cs.mul(lc, b))
    c = cs.compile()
    assert c.witness({"a": 2, "b": 10})[1] == (3 * 2 - 10 + 5) * 10 % P


def test_inputs_are_validated():
    cs = ConstraintSystem("inputs")
    cs.private_input("xs", 3)
    c = cs.compile()
    with pytest.raises(CircuitError, match="missing"):
        c.witness({})
    with pytest.raises(CircuitError, match="expected 3"):
        c.witness({"xs": [1, 2]})
    with pytest.raises(CircuitError, match="no input"):
        c.witness({"xs": [1, 2, 3], "ys": 1})
    with pytest.raises(CircuitError, match="integers"):
        c.witness({"xs": [1, 2, "3"]})


def test_unsatisfied_constraint_is_named_by_scope():
    cs = ConstraintSystem("named")
    x = cs.private_input("x")
    with cs.scope("square"):
        y = cs.mul(x, x)
    cs.public_output("y", y)
    c = cs.compile()
    w = c.witness({"x": 9})
    with pytest.raises(UnsatisfiedConstraint, match=r"constraint 0 \(square: mul\)"):
        c.check(tamper(c, w, y))


def _bits_circuit(n):
    cs = ConstraintSystem("bits")
    x = cs.private_input("x")
    bits = to_bits(cs, x, n)
    cs.public_output("back", from_bits(bits))
    return cs.compile(), bits


def test_bits_decomposition_and_booleanity():
    c, bits = _bits_circuit(8)
    w = c.witness({"x": 0b10110101})
    assert [w[c.wire(b)] for b in bits] == [1, 0, 1, 0, 1, 1, 0, 1]
    with pytest.raises(UnsatisfiedConstraint):
        c.check(tamper(c, w, bits[1]))  # a bit flipped breaks the sum
    # a non-boolean "bit" that keeps the sum right still fails booleanity: 2*b0 + ... trick
    bad = list(w)
    bad[c.wire(bits[0])] = 3
    bad[c.wire(bits[1])] = (0 - 1) % P  # 3 + 2*(-1) = 1 = original b0 + 2*b1
    with pytest.raises(UnsatisfiedConstraint, match="boolean"):
        c.check(bad)


def test_range_check_rejects_out_of_range():
    cs = ConstraintSystem("range")
    x = cs.private_input("x")
    range_check(cs, x, 16)
    c = cs.compile()
    c.witness({"x": 65535})
    with pytest.raises(UnsatisfiedConstraint):
        c.witness({"x": 65536})
    with pytest.raises(UnsatisfiedConstraint):
        c.witness({"x": P - 1})  # -1 wraps to a huge value
    with pytest.raises(CircuitError):
        to_bits(ConstraintSystem("w"), 0, 254)


def test_assert_bool():
    cs = ConstraintSystem("bool")
    b = cs.private_input("b")
    assert_bool(cs, b)
    c = cs.compile()
    c.witness({"b": 0})
    c.witness({"b": 1})
    with pytest.raises(UnsatisfiedConstraint):
        c.witness({"b": 2})


@pytest.mark.parametrize(("a", "b"), [(3, 5), (5, 3), (7, 7), (0, 2**16 - 1), (2**16 - 1, 0)])
def test_less_than(a, b):
    cs = ConstraintSystem("lt")
    x, y = cs.private_input("a"), cs.private_input("b")
    out = cs.public_output("lt", less_than(cs, x, y, 16))
    c = cs.compile()
    w = c.witness({"a": a, "b": b})
    assert w[c.wire(out)] == int(a < b)
    with pytest.raises(UnsatisfiedConstraint):
        c.check(tamper(c, w, out))  # claiming the opposite answer
    with pytest.raises(UnsatisfiedConstraint):
        c.witness({"a": 2**16, "b": b})  # operand out of range


def _less_than_circuit(**kwargs):
    cs = ConstraintSystem("lt")
    x, y = cs.private_input("a"), cs.private_input("b")
    out = cs.public_output("lt", less_than(cs, x, y, 16, **kwargs))
    return cs.compile(), out


def test_less_than_refuses_r_minus_1_below_0_by_default():
    c, _ = _less_than_circuit()
    with pytest.raises(UnsatisfiedConstraint, match="less_than16/bits16"):
        c.witness({"a": P - 1, "b": 0})
    # the named opt-out really is unsafe: the same operands then "prove" r - 1 < 0
    unsafe, out = _less_than_circuit(assume_operands_in_range=True)
    assert unsafe.witness({"a": P - 1, "b": 0})[unsafe.wire(out)] == 1


@pytest.mark.parametrize("v", [0, 1, 12345, P - 1])
def test_is_zero_and_is_equal(v):
    cs = ConstraintSystem("iz")
    x = cs.private_input("x")
    z = cs.public_output("z", is_zero(cs, x))
    e = cs.public_output("e", is_equal(cs, x, 12345))
    c = cs.compile()
    w = c.witness({"x": v})
    assert w[c.wire(z)] == int(v == 0)
    assert w[c.wire(e)] == int(v == 12345)
    with pytest.raises(UnsatisfiedConstraint):
        c.check(tamper(c, w, z))
    with pytest.raises(UnsatisfiedConstraint):
        c.check(tamper(c, w, e))


def test_is_zero_rejects_forged_inverse_hint():
    cs = ConstraintSystem("iz2")
    x = cs.private_input("x")
    out = is_zero(cs, x)
    cs.public_output("z", out)
    c = cs.compile()
    w = c.witness({"x": 5})
    # claim x == 0 (out = 1) for x = 5: no inverse value can satisfy both constraints
    bad = list(w)
    bad[c.wire(out)] = 1
    for inv_wire in range(len(w)):
        if inv_wire not in (0, c.wire(out)) and w[inv_wire] == pow(5, -1, P):
            bad[inv_wire] = 0
    with pytest.raises(UnsatisfiedConstraint):
        c.check(bad)


def test_inverse_and_select():
    cs = ConstraintSystem("inv")
    x, cond = cs.private_input("x"), cs.private_input("cond")
    assert_bool(cs, cond)
    inv = inverse(cs, x)
    cs.public_output("sel", select(cs, cond, x, inv))
    c = cs.compile()
    w = c.witness({"x": 7, "cond": 0})
    assert w[c.wire(inv)] == pow(7, -1, P) and w[1] == pow(7, -1, P)
    assert c.witness({"x": 7, "cond": 1})[1] == 7
    with pytest.raises(UnsatisfiedConstraint):
        c.check(tamper(c, w, inv))
    with pytest.raises(UnsatisfiedConstraint):
        c.witness({"x": 0, "cond": 1})  # zero has no inverse
    with pytest.raises(UnsatisfiedConstraint):
        c.check(tamper(c, w, 1))  # a wrong selected output
