"""Crypto gadgets agree with their native twins on random inputs, and tampered witnesses fail."""

from __future__ import annotations

import random

import pytest

from circuits.builder import CompiledCircuit, ConstraintSystem, UnsatisfiedConstraint
from circuits.gadgets import merkle as gm
from circuits.gadgets.poseidon import poseidon, poseidon_permutation
from circuits.native import merkle as nm
from circuits.native.poseidon import poseidon as native_poseidon
from circuits.native.poseidon import poseidon_permutation as native_permutation
from circuits.native.poseidon_constants import P

R = P


def assert_tampering_fails(c: CompiledCircuit, witness: list[int], rng: random.Random, extra: int = 6) -> None:
    """Changing the first output or random internal wires must break some constraint."""
    r1cs = c.r1cs
    first_internal = 1 + r1cs.n_pub_out + r1cs.n_pub_in + r1cs.n_prv_in
    wires = rng.sample(range(first_internal, r1cs.n_wires), min(extra, r1cs.n_wires - first_internal))
    if r1cs.n_pub_out:
        wires.append(1)
    c.check(witness)
    for wire in wires:
        bad = list(witness)
        bad[wire] = (bad[wire] + 1) % R
        with pytest.raises(UnsatisfiedConstraint):
            c.check(bad)


# ---------------------------------------------------------------- Poseidon


@pytest.mark.parametrize("n", [1, 2, 4, 5, 16])
def test_poseidon_gadget_matches_native(n: int) -> None:
    rng = random.Random(n)
    cs = ConstraintSystem(f"poseidon{n}")
    xs = cs.private_input("x", n)
    cs.public_output("h", poseidon(cs, xs))
    c = cs.compile()
    expected = {1: 213, 2: 240, 4: 297, 5: 321, 16: 609}[n]
    assert c.n_constraints == expected + 1  # + the output binding
    for _ in range(3):
        inputs = [rng.randrange(R) for _ in range(n)]
        w = c.witness({"x": inputs})
        assert c.public_signals(w) == [native_poseidon(inputs)]
    assert_tampering_fails(c, w, rng)


def test_poseidon_vectors_in_circuit() -> None:
    cs = ConstraintSystem("poseidon_vectors")
    a = cs.private_input("a", 2)
    b = cs.private_input("b", 4)
    cs.public_output("h2", poseidon(cs, a))
    cs.public_output("h4", poseidon(cs, b))
    c = cs.compile()
    w = c.witness({"a": [1, 2], "b": [1, 2, 3, 4]})
    assert c.public_signals(w) == [
        7853200120776062878684798364095072458815029376092732009249414926327459813530,
        18821383157269793795438455681495246036402687001665670618754263018637548127333,
    ]


def test_poseidon_permutation_full_state() -> None:
    rng = random.Random(7)
    cs = ConstraintSystem("perm")
    xs = cs.private_input("x", 3)
    for i, cell in enumerate(poseidon_permutation(cs, xs)):
        cs.public_output(f"o{i}", cell)
    c = cs.compile()
    state = [rng.randrange(R) for _ in range(3)]
    w = c.witness({"x": state})
    assert c.public_signals(w) == native_permutation(state)
    with pytest.raises(ValueError):
        poseidon(cs, [])


# ---------------------------------------------------------------- Merkle


def _merkle_circuit(arity: int, depth: int, update: bool) -> CompiledCircuit:
    cs = ConstraintSystem(f"merkle{arity}_{depth}_{update}")
    root = cs.public_input("root")
    leaf = cs.private_input("leaf")
    index = cs.private_input("index")
    sibs = [cs.private_input(f"s{lvl}", arity - 1) for lvl in range(depth)]
    if update:
        new_leaf = cs.private_input("new_leaf")
        cs.public_output("new_root", gm.update_path(cs, root, leaf, new_leaf, index, sibs, arity))
    else:
        gm.verify_path(cs, root, leaf, index, sibs, arity)
    return cs.compile()


def _inputs(tree: nm.SparseMerkleTree, index: int, leaf: int) -> dict:
    path = tree.path(index)
    return {"root": tree.root, "leaf": leaf, "index": index, **{f"s{i}": list(p) for i, p in enumerate(path)}}


@pytest.mark.parametrize(("arity", "depth"), [(2, 5), (4, 3)])
def test_merkle_update_matches_native(arity: int, depth: int) -> None:
    rng = random.Random(arity * 100 + depth)
    c = _merkle_circuit(arity, depth, update=True)
    tree = nm.SparseMerkleTree(depth, arity)
    for _ in range(6):
        tree.update(rng.randrange(tree.capacity), rng.randrange(R))
    # Every position (so every digit pattern) at least once for these small trees.
    for index in rng.sample(range(tree.capacity), min(tree.capacity, 24)):
        old = tree.leaf(index)
        new = rng.randrange(R)
        inputs = {**_inputs(tree, index, old), "new_leaf": new}
        w = c.witness(inputs)
        tree.update(index, new)
        assert c.public_signals(w)[0] == tree.root
    assert_tampering_fails(c, w, rng)
    # A wrong old leaf, wrong index, or a wrong sibling is rejected by the witness check.
    index = 3
    good = {**_inputs(tree, index, tree.leaf(index)), "new_leaf": 1}
    c.witness(good)
    for key, value in (("leaf", tree.leaf(index) + 1), ("index", index + 1), ("s0", [1] * (arity - 1))):
        with pytest.raises(UnsatisfiedConstraint):
            c.witness({**good, key: value})
    with pytest.raises(UnsatisfiedConstraint):  # index out of range
        c.witness({**good, "index": tree.capacity + index})


@pytest.mark.parametrize(("arity", "depth", "constraints"), [(2, 24, 5810), (4, 12, 3650)])
def test_merkle_verify_depth_24(arity: int, depth: int, constraints: int) -> None:
    """The rollup's default capacity (2^24 leaves), binary vs 4-ary."""
    rng = random.Random(depth)
    c = _merkle_circuit(arity, depth, update=False)
    assert c.n_constraints == constraints
    tree = nm.SparseMerkleTree(depth, arity)
    index = rng.randrange(tree.capacity)
    tree.update(index, 99)
    tree.update(index ^ 1, 98)
    w = c.witness(_inputs(tree, index, 99))
    assert_tampering_fails(c, w, rng, extra=3)
    with pytest.raises(UnsatisfiedConstraint):
        c.witness(_inputs(tree, index, 98))
