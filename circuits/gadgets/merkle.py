"""Poseidon Merkle path verification and update in-circuit (twin of ``circuits.native.merkle``).

Same conventions as the native tree: node = Poseidon(children), index digits least significant
first, one tuple of ``arity - 1`` siblings per level. A binary level places the running node
left or right with 1 constraint; a 4-ary level takes its digit as two bits and places the node
among its three siblings with 5 constraints (b0·b1, then four selections; the fourth child is
free because the children always sum to node + siblings).

Constraints for a 2^24-leaf tree (index decomposition included, leaf hashing not):

====================  ===============  ===============
tree                   ``verify_path``  ``update_path``
====================  ===============  ===============
binary, depth 24           5,810           11,594
4-ary, depth 12            3,650            7,274
====================  ===============  ===============

so the 4-ary tree is the cheaper choice for the rollup state (ARCHITECTURE §4). An update shares
the index bits and the siblings between the old and the new root, which is what proves that only
that one leaf changed.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.builder import LC, CircuitError, ConstraintSystem, as_lc
from circuits.gadgets.bits import to_bits
from circuits.gadgets.poseidon import poseidon

_LOG2 = {2: 1, 4: 2}


def index_bits(cs: ConstraintSystem, index: LC | int, depth: int, arity: int = 2) -> list[LC]:
    """Little-endian bits of ``index``, proving index < arity^depth (the path selectors)."""
    if arity not in _LOG2:
        raise CircuitError("arity must be 2 or 4")
    return list(to_bits(cs, index, depth * _LOG2[arity]))


def _children(cs: ConstraintSystem, node: LC, sibs: Sequence[LC], bits: Sequence[LC]) -> list[LC]:
    if len(sibs) == 1:
        (s,) = sibs
        (b,) = bits
        left = node + cs.mul(b, s - node, name="merkle_swap")  # b = 1: the node is on the right
        return [left, node + s - left]
    s0, s1, s2 = sibs
    b0, b1 = bits
    # One-hot digit d = b0 + 2·b1 from a single product.
    e3 = cs.mul(b0, b1, name="b0b1")
    e1 = b0 - e3
    e0 = 1 - b0 - b1 + e3  # (e2 = b1 - e3 is only needed implicitly, through c2 below)
    c0 = s0 + cs.mul(e0, node - s0, name="c0")
    c1 = s1 + cs.mul(e0, s0 - s1, name="c1a") + cs.mul(e1, node - s1, name="c1b")
    c3 = s2 + cs.mul(e3, node - s2, name="c3")
    c2 = node + s0 + s1 + s2 - c0 - c1 - c3
    return [c0, c1, c2, c3]


def merkle_root(
    cs: ConstraintSystem,
    leaf: LC | int,
    bits: Sequence[LC],
    siblings: Sequence[Sequence[LC | int]],
    arity: int = 2,
) -> LC:
    """The root implied by ``leaf`` with selector ``bits`` (from ``index_bits``) and ``siblings``.

    The bits must already be constrained boolean (``index_bits`` does it).
    """
    if arity not in _LOG2:
        raise CircuitError("arity must be 2 or 4")
    k = _LOG2[arity]
    if len(bits) != k * len(siblings):
        raise CircuitError(f"{len(siblings)} levels need {k * len(siblings)} index bits, got {len(bits)}")
    node = as_lc(leaf)
    with cs.scope(f"merkle{arity}"):
        for level, sibs in enumerate(siblings):
            if len(sibs) != arity - 1:
                raise CircuitError(f"each level needs {arity - 1} siblings")
            children = _children(cs, node, [as_lc(s) for s in sibs], bits[k * level : k * (level + 1)])
            node = poseidon(cs, children)
    return node


def verify_path(
    cs: ConstraintSystem,
    root: LC | int,
    leaf: LC | int,
    index: LC | int,
    siblings: Sequence[Sequence[LC | int]],
    arity: int = 2,
) -> list[LC]:
    """Constrain ``leaf`` at ``index`` to be under ``root``; returns the index bits."""
    bits = index_bits(cs, index, len(siblings), arity)
    cs.assert_equal(merkle_root(cs, leaf, bits, siblings, arity), root, label="merkle root")
    return bits


def update_path(
    cs: ConstraintSystem,
    old_root: LC | int,
    old_leaf: LC | int,
    new_leaf: LC | int,
    index: LC | int,
    siblings: Sequence[Sequence[LC | int]],
    arity: int = 2,
) -> LC:
    """Prove ``old_leaf`` at ``index`` is under ``old_root``; return the root with ``new_leaf``."""
    bits = verify_path(cs, old_root, old_leaf, index, siblings, arity)
    return merkle_root(cs, new_leaf, bits, siblings, arity)
