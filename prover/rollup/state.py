"""The rollup state: accounts in a sparse 4-ary Poseidon Merkle tree (default 2^24 accounts).

Only the accounts that exist are stored (``circuits.native.merkle.SparseMerkleTree`` keeps only
non-empty nodes), so a 2^24 or 2^32 tree costs memory per account, not per slot. Accounts are
never deleted (only a rolled-back creation clears its slot again). Indices are assigned by the
L1 contract, sequentially; ``next_free_index`` is the lowest index that holds no account, which
is the L1's next index as long as every account came from it, and still a free index when a test
or an explicit index left a gap.

Changes can be journaled (``begin``/``rollback``/``commit``) so a batch is applied atomically
without copying the tree: a rejected batch undoes its writes in reverse order.
"""

from __future__ import annotations

from circuits.native.merkle import Path, SparseMerkleTree
from circuits.rollup.params import ARITY, DEFAULT_DEPTH
from prover.rollup.accounts import Account


class State:
    """Accounts by index, with the Merkle tree over their leaves."""

    def __init__(self, depth: int = DEFAULT_DEPTH) -> None:
        self.depth = depth
        self._tree = SparseMerkleTree(depth, ARITY)
        self._accounts: dict[int, Account] = {}
        self._journal: list[tuple[int, Account | None]] | None = None
        self._low_free = 0  # every index below it holds an account

    @property
    def capacity(self) -> int:
        return self._tree.capacity

    @property
    def root(self) -> int:
        return self._tree.root

    def __len__(self) -> int:
        return len(self._accounts)

    def get(self, index: int) -> Account | None:
        return self._accounts.get(index)

    def path(self, index: int) -> Path:
        return self._tree.path(index)

    def next_free_index(self) -> int:
        """The lowest index holding no account (may be ``capacity``: the tree is full)."""
        return self._low_free

    def set(self, index: int, account: Account | None) -> Path:
        """Write (or clear, with None) the account at ``index``; its path (the siblings, which the
        write does not change), so that a caller that needs it reads it once."""
        if not 0 <= index < self.capacity:
            raise IndexError(f"account index {index} outside the tree (capacity {self.capacity})")
        if self._journal is not None:
            self._journal.append((index, self._accounts.get(index)))
        if account is None:
            self._accounts.pop(index, None)
            self._low_free = min(self._low_free, index)
            return self._tree.update(index, 0)
        self._accounts[index] = account
        while self._low_free in self._accounts:
            self._low_free += 1
        return self._tree.update(index, account.leaf())

    # --- atomic batches ----------------------------------------------------------------------
    def begin(self) -> None:
        if self._journal is not None:
            raise RuntimeError("a change set is already open")
        self._journal = []

    def commit(self) -> None:
        self._journal = None

    def rollback(self) -> None:
        journal, self._journal = self._journal, None
        for index, account in reversed(journal or []):
            self.set(index, account)
