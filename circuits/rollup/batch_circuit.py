"""The rollup batch circuit: constraints only (the operator, ``prover.rollup.batch``, fills inputs).

One circuit per :class:`~circuits.rollup.params.BatchShape` (batch size, tree depth). Its single
public input is ``SHA-256(chain id ‖ rollup address ‖ batch number ‖ old root ‖ new root ‖
public data) mod r`` with the byte layout of ``prover.rollup.public_data`` (the one place it is
documented); the bits are assembled here in the same order. ``domain = chain_id · 2^160 +
rollup_address`` (both range-checked, so the sum is one-to-one) is the first field of every
signed message: a proof or signature for one deployment fails on every other.

Every slot runs the same constraints, selected by the three low bits of its type (``TxType``):
bit 1 = signed (transfer, withdrawal), bit 2 = forced exit and no other bit set (so types 5..7
are refused), bit 0 or bit 2 = the slot has an L1 entry (deposit, withdrawal, forced exit).

A leaf is ``(1 - empty)·Poseidon(Ax, Ay, balance + 2^64·nonce, owner)``; ``owner`` is the L1
address that created the account.

* **Account A** (``from``):
  - *deposit*: if A is empty it is created with the deposit's key ``(l1_x, l1_y)``, owner
    ``l1_addr`` (the depositor), balance = amount, nonce 0; if A exists it is a top-up: the
    entry must carry no key (``l1_x = l1_y = 0``), key and owner stay, balance += amount;
  - *transfer / withdrawal*: A must exist, the EdDSA-Poseidon signature over ``Poseidon(domain,
    type, from, to, amount, fee, nonce)`` must verify with A's key and current nonce (``to`` is
    the receiver's index, or the withdrawal's L1 address ``l1_addr``), balance -= amount + fee,
    nonce += 1;
  - *forced exit* (not signed, no fee; ``l1_addr`` is the requester): if A's owner is the
    requester, amount = min(balance, 2^40 - 1), enforced as ``new balance = balance - amount``
    in range and ``new balance · (amount - (2^40 - 1)) = 0`` (either everything left, or the
    cap); otherwise amount = 0. Key, owner and nonce stay. An empty A pays 0 either way (its
    balance is forced to 0).
* **Account B** (``to``: the receiver of a transfer, index 0 otherwise): must exist for a
  transfer, balance += amount; unchanged otherwise. B is updated after A under the intermediate
  root, so a self-transfer is consistent (it just pays the fee).
* **No-op**: indices, amount and fee are 0; both leaves are rewritten unchanged, so the slot's
  roots are equal; the operator still supplies real paths (for index 0).
* **Well-formedness**: ``l1_x = l1_y = 0`` unless deposit, ``l1_addr = 0`` unless the slot has an
  L1 entry, and ``l1_addr < 2^160`` always (so a withdrawal cannot name an address the L1 would
  truncate); ``to = 0`` unless transfer; ``fee = 0`` unless signed.
* **L1 digest**: ``d = Poseidon(d, l1_x, l1_y, l1_addr)`` for each slot with an L1 entry, in
  order (see ``public_data``): the L1 contract recomputes it from its priority queue and the
  withdrawal addresses, so neither keys nor addresses go through SHA-256.
* **Fees** are summed and credited at the end of the batch to the fee account named in the
  public data (which must exist if the sum is not zero).

Why no wrap-around: amounts and fees are range-checked to 40 and 16 bits, and every *new*
balance to 64 bits (nonces to 32). Balances in the tree are < 2^64 by induction (the genesis
tree is empty and every transition range-checks what it writes), so a debit that goes negative
wraps to ~r and fails its range check, and a credit past 2^64 fails it too. Because a leaf packs
balance and nonce into one field, the *old* balance (64 bits) and nonce (32 bits) an account is
read with are range-checked as well: otherwise ``(balance + 2^64, nonce - 1)`` would open the
same leaf, and a forced exit could pay the cap from a small balance, or a credit could carry an
overflowing balance into the nonce. (A's old nonce is covered by its new-nonce check: a nonce
changes by 0 or 1.)

Empty leaves are 0, not a hash: a leaf's value is multiplied by ``1 - empty`` with a witness bit
``empty``. Claiming empty for a non-empty leaf makes the path check fail; claiming non-empty for
an empty one needs a Poseidon preimage of 0. An empty account's balance and nonce are forced to
0, so a deposit into it cannot start from garbage, and its key and owner are replaced when it is
created.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.builder import LC, CompiledCircuit, ConstraintSystem, Signal, as_lc
from circuits.gadgets import eddsa
from circuits.gadgets.bits import assert_bool, range_check, to_bits
from circuits.gadgets.comparators import is_equal
from circuits.gadgets.merkle import merkle_root
from circuits.gadgets.poseidon import poseidon
from circuits.gadgets.sha256 import digest_to_field, sha256
from circuits.native.babyjub import B8
from circuits.rollup.params import (
    AMOUNT_BITS,
    ARITY,
    BALANCE_BITS,
    BATCH_NUMBER_BITS,
    CHAIN_ID_BITS,
    FEE_BITS,
    FORCED_EXIT_CAP,
    L1_ADDRESS_BITS,
    NONCE_BITS,
    TYPE_BITS,
    BatchShape,
    index_bits,
    index_bytes,
)

SLOT_INPUTS = (
    "tx_type", "from_index", "to_index", "amount", "fee", "l1_x", "l1_y", "l1_addr", "sig_r8x", "sig_r8y",
    "sig_s", "a_ax", "a_ay", "a_balance", "a_nonce", "a_owner", "a_empty", "b_ax", "b_ay", "b_balance",
    "b_nonce", "b_owner", "b_empty",
)  # fmt: skip
"""Per-slot private inputs (each a list of ``batch_size`` values); plus ``a_path`` and ``b_path``
(``batch_size · 3·depth`` siblings, slot-major, leaf level first, left to right)."""

BATCH_INPUTS = (
    "chain_id", "rollup_address", "batch_number", "old_root", "fee_account", "fee_ax", "fee_ay",
    "fee_balance", "fee_nonce", "fee_owner", "fee_empty",
)  # fmt: skip
"""Per-batch private inputs; plus ``fee_path`` (3·depth siblings) and the public ``public_input``."""


def _be_bits(le_bits: Sequence[LC | int], width: int) -> list[LC]:
    """Big-endian bit stream of ``width`` bits from little-endian bits (zero-extended)."""
    if len(le_bits) > width:
        raise ValueError("value wider than its field")
    return [as_lc(0)] * (width - len(le_bits)) + [as_lc(b) for b in reversed(le_bits)]


def _field_bits(cs: ConstraintSystem, x: LC) -> list[LC]:
    """A field element as 256 big-endian bits, canonical (< r), for SHA-256."""
    return _be_bits(eddsa.to_bits_strict(cs, x), 256)


def _levels(flat: Sequence[Signal], depth: int) -> list[list[LC]]:
    k = ARITY - 1
    return [list(flat[k * i : k * (i + 1)]) for i in range(depth)]


def _leaf(cs: ConstraintSystem, empty: LC, ax: LC, ay: LC, balance: LC, nonce: LC, owner: LC) -> LC:
    """(1 - empty) · Poseidon(Ax, Ay, balance + 2^64·nonce, owner): empty leaves are 0."""
    packed = as_lc(balance) + as_lc(nonce) * (1 << BALANCE_BITS)
    return cs.mul(cs.one - empty, poseidon(cs, [ax, ay, packed, owner]), name="leaf")


def _read_account(cs: ConstraintSystem, empty: LC, balance: LC, nonce: LC | None) -> None:
    """An account as read: ``empty`` a bit, an empty account has balance and nonce 0, and the
    stored balance (and ``nonce`` unless the caller's new-nonce check covers it) is in range, so
    the packed leaf field opens one way only."""
    assert_bool(cs, empty)
    cs.enforce(empty, balance, 0, label="empty account has balance 0")
    with cs.scope("stored"):
        range_check(cs, balance, BALANCE_BITS)
        if nonce is not None:
            range_check(cs, nonce, NONCE_BITS)


def _update(cs: ConstraintSystem, root: LC, old_leaf: LC, new_leaf: LC, bits: list[Signal], path) -> LC:
    """Check ``old_leaf`` under ``root`` and return the root with ``new_leaf`` (same siblings)."""
    cs.assert_equal(merkle_root(cs, old_leaf, bits, path, ARITY), root, label="old leaf under the root")
    return merkle_root(cs, new_leaf, bits, path, ARITY)


def build_batch_circuit(shape: BatchShape) -> CompiledCircuit:
    """Constraints for one batch of ``shape.batch_size`` slots in a 4-ary tree of ``shape.depth``."""
    n, depth = shape.batch_size, shape.depth
    ib, iw = index_bits(depth), 8 * index_bytes(depth)
    cs = ConstraintSystem(f"rollup_b{n}_d{depth}")
    public_input = cs.public_input("public_input")
    bi = {name: cs.private_input(name) for name in BATCH_INPUTS}
    fee_path = cs.private_input("fee_path", shape.siblings_per_path)
    si = {name: cs.private_input(name, n) for name in SLOT_INPUTS}
    a_paths = cs.private_input("a_path", n * shape.siblings_per_path)
    b_paths = cs.private_input("b_path", n * shape.siblings_per_path)

    with cs.scope("header"):
        chain_id_bits = to_bits(cs, bi["chain_id"], CHAIN_ID_BITS)
        address_bits = to_bits(cs, bi["rollup_address"], L1_ADDRESS_BITS)
        batch_number_bits = to_bits(cs, bi["batch_number"], BATCH_NUMBER_BITS)
        # both parts range-checked: the sum is < 2^224 < r and names one (chain, contract) pair
        domain = as_lc(bi["chain_id"]) * (1 << L1_ADDRESS_BITS) + bi["rollup_address"]

    root: LC = bi["old_root"]
    digest: LC = as_lc(0)
    total_fee: LC = as_lc(0)
    records: list[LC] = []
    sp = shape.siblings_per_path
    for i in range(n):
        s = {name: si[name][i] for name in SLOT_INPUTS}
        with cs.scope(f"tx{i}"):
            root, digest, record = _slot(
                cs, s, root, digest, domain, a_paths[i * sp : (i + 1) * sp], b_paths[i * sp : (i + 1) * sp], depth
            )
            total_fee = total_fee + s["fee"]
            records += record

    with cs.scope("fees"):
        f_bits = to_bits(cs, bi["fee_account"], ib)
        f_empty = bi["fee_empty"]
        _read_account(cs, f_empty, bi["fee_balance"], bi["fee_nonce"])
        cs.enforce(f_empty, total_fee, 0, label="fee account exists if there are fees")
        new_balance = bi["fee_balance"] + total_fee
        to_bits(cs, new_balance, BALANCE_BITS)  # no overflow
        fixed = (bi["fee_ax"], bi["fee_ay"])
        old_leaf = _leaf(cs, f_empty, *fixed, bi["fee_balance"], bi["fee_nonce"], bi["fee_owner"])
        new_leaf = _leaf(cs, f_empty, *fixed, new_balance, bi["fee_nonce"], bi["fee_owner"])
        root = _update(cs, root, old_leaf, new_leaf, f_bits, _levels(fee_path, depth))

    with cs.scope("public_input"):
        message = (
            _be_bits(chain_id_bits, CHAIN_ID_BITS)
            + _be_bits(address_bits, L1_ADDRESS_BITS)
            + _be_bits(batch_number_bits, BATCH_NUMBER_BITS)
            + _field_bits(cs, bi["old_root"])
            + _field_bits(cs, root)
            + _be_bits(f_bits, iw)
            + _field_bits(cs, digest)
            + records
        )
        cs.assert_equal(digest_to_field(sha256(cs, message)), public_input, label="public input = sha256(...)")
    return cs.compile()


def _slot(
    cs: ConstraintSystem,
    s: dict[str, Signal],
    root: LC,
    digest: LC,
    domain: LC,
    a_path: Sequence[Signal],
    b_path: Sequence[Signal],
    depth: int,
) -> tuple[LC, LC, list[LC]]:
    """One transaction slot: returns (root after it, L1 digest after it, its public-data bits)."""
    ib, iw = index_bits(depth), 8 * index_bytes(depth)
    # --- type, ranges, well-formedness ------------------------------------------------------
    b0, b1, b2 = to_bits(cs, s["tx_type"], 3)  # type < 8
    cs.enforce(b2, b0 + b1, 0, label="type in 0..4")  # bit 2 alone: refuses 5, 6, 7
    both = cs.mul(b0, b1, name="withdrawal")
    is_dep = b0 - both
    is_tr = b1 - both
    is_fx = b2
    has_l1 = b0 + b2  # deposit, withdrawal, forced exit (b2 excludes b0)
    is_noop = cs.one - b0 - b1 + both - b2
    a_bits = to_bits(cs, s["from_index"], ib)
    b_bits = to_bits(cs, s["to_index"], ib)
    amount_bits = to_bits(cs, s["amount"], AMOUNT_BITS)
    fee_bits = to_bits(cs, s["fee"], FEE_BITS)
    amount, fee, l1_addr = s["amount"], s["fee"], s["l1_addr"]
    with cs.scope("l1_addr"):
        range_check(cs, l1_addr, L1_ADDRESS_BITS)  # every slot: bounds the withdrawal address
    cs.enforce(is_noop, s["from_index"], 0, label="no-op: from = 0")
    cs.enforce(cs.one - is_tr, s["to_index"], 0, label="to = 0 unless transfer")
    cs.enforce(is_noop, amount, 0, label="no-op: amount = 0")
    cs.enforce(cs.one - b1, fee, 0, label="fee = 0 unless signed")
    cs.enforce(cs.one - is_dep, s["l1_x"], 0, label="l1_x = 0 unless deposit")
    cs.enforce(cs.one - is_dep, s["l1_y"], 0, label="l1_y = 0 unless deposit")
    cs.enforce(cs.one - has_l1, l1_addr, 0, label="l1_addr = 0 unless L1 entry")

    # --- account A: the deposit's target, the signer, or the account a forced exit empties ----
    with cs.scope("account_a"):
        a_empty = s["a_empty"]
        _read_account(cs, a_empty, s["a_balance"], None)  # old nonce: bounded by the new-nonce check
        cs.enforce(a_empty, s["a_nonce"], 0, label="empty account has nonce 0")
        cs.enforce(b1, a_empty, 0, label="signer exists")
        create = cs.mul(is_dep, a_empty, name="create")
        top_up = is_dep - create
        cs.enforce(top_up, s["l1_x"], 0, label="top-up carries no key (x)")
        cs.enforce(top_up, s["l1_y"], 0, label="top-up carries no key (y)")
        new_ax = s["a_ax"] + cs.mul(create, s["l1_x"] - s["a_ax"], name="new ax")
        new_ay = s["a_ay"] + cs.mul(create, s["l1_y"] - s["a_ay"], name="new ay")
        new_owner = s["a_owner"] + cs.mul(create, l1_addr - s["a_owner"], name="new owner")
        with cs.scope("forced_exit"):
            # An empty account has balance 0, so a requester "matching" its unset owner gets 0.
            match = cs.mul(is_fx, is_equal(cs, s["a_owner"], l1_addr), name="owner requested")
            cs.enforce(is_fx - match, amount, 0, label="forced exit by a non-owner pays 0")
        new_balance = (
            s["a_balance"] + cs.mul(is_dep, amount, name="deposit") - cs.mul(b1, amount + fee, name="debit")
            - cs.mul(is_fx, amount, name="exit")
        )  # fmt: skip
        to_bits(cs, new_balance, BALANCE_BITS)  # sufficient balance: a negative result wraps to ~r
        with cs.scope("forced_exit"):
            # amount < 2^40 (its range check) and balance - amount >= 0: either nothing is left or
            # the cap is paid, i.e. amount = min(balance, 2^40 - 1).
            left = cs.mul(match, new_balance, name="left after exit")
            cs.enforce(left, amount - FORCED_EXIT_CAP, 0, label="forced exit pays min(balance, cap)")
        new_nonce = s["a_nonce"] + b1
        to_bits(cs, new_nonce, NONCE_BITS)
        new_empty = a_empty - create
        old_leaf = _leaf(cs, a_empty, s["a_ax"], s["a_ay"], s["a_balance"], s["a_nonce"], s["a_owner"])
        new_leaf = _leaf(cs, new_empty, new_ax, new_ay, new_balance, new_nonce, new_owner)
        root = _update(cs, root, old_leaf, new_leaf, a_bits, _levels(a_path, depth))

    # --- signature ---------------------------------------------------------------------------
    with cs.scope("signature"):
        to = s["to_index"] + l1_addr  # at most one is non-zero in a signed slot
        msg = poseidon(cs, [domain, s["tx_type"], s["from_index"], to, amount, fee, s["a_nonce"]])
        # Unsigned slots verify nothing but still need curve points for the witness: use B8.
        kx = B8[0] + cs.mul(b1, s["a_ax"] - B8[0], name="key x")
        ky = B8[1] + cs.mul(b1, s["a_ay"] - B8[1], name="key y")
        eddsa.verify(cs, (kx, ky), (s["sig_r8x"], s["sig_r8y"]), s["sig_s"], msg, enabled=b1)

    # --- account B: receiver of a transfer ------------------------------------------------------
    with cs.scope("account_b"):
        b_empty = s["b_empty"]
        _read_account(cs, b_empty, s["b_balance"], s["b_nonce"])
        cs.enforce(is_tr, b_empty, 0, label="receiver exists")
        new_balance_b = s["b_balance"] + cs.mul(is_tr, amount, name="credit")
        to_bits(cs, new_balance_b, BALANCE_BITS)  # no overflow
        fixed = (s["b_ax"], s["b_ay"])
        old_leaf = _leaf(cs, b_empty, *fixed, s["b_balance"], s["b_nonce"], s["b_owner"])
        new_leaf = _leaf(cs, b_empty, *fixed, new_balance_b, s["b_nonce"], s["b_owner"])
        root = _update(cs, root, old_leaf, new_leaf, b_bits, _levels(b_path, depth))

    # --- L1 digest and the public-data record ---------------------------------------------------
    with cs.scope("l1_digest"):
        step = poseidon(cs, [digest, s["l1_x"], s["l1_y"], l1_addr])
        digest = digest + cs.mul(has_l1, step - digest, name="chain")
    record = (
        _be_bits([b0, b1, b2], TYPE_BITS)
        + _be_bits(a_bits, iw)
        + _be_bits(b_bits, iw)
        + _be_bits(amount_bits, AMOUNT_BITS)
        + _be_bits(fee_bits, FEE_BITS)
    )
    return root, digest, record
