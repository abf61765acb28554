"""Poseidon Merkle trees (binary or 4-ary), the native twin of ``circuits.gadgets.merkle``.

Conventions shared with the gadget and the rollup state (ARCHITECTURE §4):

- a node is Poseidon(children) — Poseidon(left, right) for arity 2, Poseidon of four children
  for arity 4; an empty leaf is 0 and an empty subtree hashes to ``zero_hashes(...)[level]``;
- a leaf index is read in base ``arity``, least significant digit first: digit l says where the
  running node sits among its ``arity`` children at level l (0 = leftmost);
- a path is one tuple of ``arity - 1`` sibling hashes per level, leaf level first, in left-to-right
  order with the running node taken out.

``SparseMerkleTree`` keeps only non-empty nodes in dicts, so a 2^24-leaf tree costs memory in
proportion to the accounts it holds; an update is ``depth`` hashes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from circuits.native import fast
from circuits.native.poseidon import poseidon_hash

Path = list[tuple[int, ...]]


def index_digits(index: int, depth: int, arity: int = 2) -> list[int]:
    """The ``depth`` base-``arity`` digits of ``index``, least significant (leaf level) first."""
    if not 0 <= index < arity**depth:
        raise ValueError(f"index {index} out of range for depth {depth}, arity {arity}")
    digits = []
    for _ in range(depth):
        index, d = divmod(index, arity)
        digits.append(d)
    return digits


def _normalize(siblings: Sequence[Sequence[int] | int], arity: int) -> Path:
    path: Path = []
    for s in siblings:
        level = (s,) if isinstance(s, int) else tuple(s)
        if len(level) != arity - 1:
            raise ValueError(f"each level needs {arity - 1} siblings")
        path.append(level)
    return path


def hash_children(children: Sequence[int]) -> int:
    """A node's hash: Poseidon of its children (2 or 4 of them)."""
    return poseidon_hash(children)


def path_nodes(leaf: int, index: int, siblings: Sequence[Sequence[int]], arity: int = 2) -> list[int]:
    """Every node from ``leaf`` (level 0) up to the root (level ``len(siblings)``) on its path.

    ``circuits.native.fast.path_nodes`` is the native twin (what ``SparseMerkleTree`` uses when
    the extension is built)."""
    path = _normalize(siblings, arity)
    nodes = [leaf]
    for digit, sibs in zip(index_digits(index, len(path), arity), path, strict=True):
        nodes.append(hash_children([*sibs[:digit], nodes[-1], *sibs[digit:]]))
    return nodes


def root_from_path(leaf: int, index: int, siblings: Sequence[Sequence[int] | int], arity: int = 2) -> int:
    """The root implied by ``leaf`` at ``index`` with the given path (ints allowed for arity 2)."""
    return path_nodes(leaf, index, _normalize(siblings, arity), arity)[-1]


def verify_path(root: int, leaf: int, index: int, siblings: Sequence[Sequence[int] | int], arity: int = 2) -> bool:
    return root_from_path(leaf, index, siblings, arity) == root


@cache
def zero_hashes(depth: int, arity: int = 2) -> tuple[int, ...]:
    """Hash of an empty subtree at each level 0..depth (level 0: the empty leaf, 0)."""
    zs = [0]
    for _ in range(depth):
        zs.append(hash_children([zs[-1]] * arity))
    return tuple(zs)


class SparseMerkleTree:
    """A fixed-depth Poseidon Merkle tree that stores only non-empty nodes."""

    def __init__(self, depth: int, arity: int = 2) -> None:
        if arity not in (2, 4):
            raise ValueError("arity must be 2 or 4")
        self.depth = depth
        self.arity = arity
        self._zeros = zero_hashes(depth, arity)
        # _nodes[level][position]; level 0 holds leaves, level ``depth`` the root.
        self._nodes: list[dict[int, int]] = [{} for _ in range(depth + 1)]

    @property
    def capacity(self) -> int:
        return self.arity**self.depth

    @property
    def root(self) -> int:
        return self._nodes[self.depth].get(0, self._zeros[self.depth])

    def _node(self, level: int, pos: int) -> int:
        return self._nodes[level].get(pos, self._zeros[level])

    def leaf(self, index: int) -> int:
        return self._node(0, index)

    def path(self, index: int) -> Path:
        """Siblings of leaf ``index``, leaf level first."""
        if not 0 <= index < self.capacity:
            index_digits(index, self.depth, self.arity)  # raises, naming the range
        out: Path = []
        pos, arity = index, self.arity
        # (the operator reads two paths per transaction: plain loops, no per-node calls)
        for level in range(self.depth):
            store, zero = self._nodes[level], self._zeros[level]
            first = pos - pos % arity
            out.append(tuple([store.get(q, zero) for q in range(first, first + arity) if q != pos]))
            pos //= arity
        return out

    def update(self, index: int, leaf: int) -> Path:
        """Set leaf ``index``; return its path (unchanged by the update: siblings only)."""
        path = self.path(index)
        nodes = (fast.path_nodes if fast.enabled() else path_nodes)(leaf, index, path, self.arity)
        pos = index
        for level, node in enumerate(nodes):
            store = self._nodes[level]
            if node == self._zeros[level]:
                store.pop(pos, None)
            else:
                store[pos] = node
            pos //= self.arity
        return path
