"""Crypto gadgets agree with their native twins on random inputs, and tampered witnesses fail."""

from __future__ import annotations

import hashlib
import random

import pytest

from circuits.builder import CompiledCircuit, ConstraintSystem, UnsatisfiedConstraint
from circuits.gadgets import babyjub as gbj
from circuits.gadgets import eddsa as geddsa
from circuits.gadgets import merkle as gm
from circuits.gadgets import sha256 as gsha
from circuits.gadgets.bits import assert_bool, from_bits, to_bits
from circuits.gadgets.poseidon import poseidon, poseidon_permutation
from circuits.native import babyjub as nbj
from circuits.native import eddsa as neddsa
from circuits.native import merkle as nm
from circuits.native import sha256 as nsha
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


# ---------------------------------------------------------------- Baby Jubjub


def test_babyjub_gadgets_match_native() -> None:
    rng = random.Random(11)
    cs = ConstraintSystem("babyjub")
    k = cs.private_input("k")
    p = cs.private_input("p", 2)
    q = cs.private_input("q", 2)
    bits = to_bits(cs, k, 253)
    gbj.on_curve(cs, p)
    outs = {
        "add": gbj.add(cs, p, q),
        "add_const": gbj.add(cs, p, nbj.B8),
        "double": gbj.double(cs, p),
        "fixed": gbj.mul_fixed(cs, bits),
        "var": gbj.mul_var(cs, bits, p),
    }
    for name, (x, y) in outs.items():
        cs.public_output(f"{name}_x", x)
        cs.public_output(f"{name}_y", y)
    c = cs.compile()
    for _ in range(3):
        kk = rng.randrange(1 << 253)
        pp = nbj.mul(nbj.GENERATOR, rng.randrange(nbj.ORDER))  # not only the subgroup
        qq = nbj.mul(nbj.B8, rng.randrange(nbj.SUBORDER))
        w = c.witness({"k": kk, "p": list(pp), "q": list(qq)})
        expected = [
            nbj.add(pp, qq),
            nbj.add(pp, nbj.B8),
            nbj.double(pp),
            nbj.mul(nbj.B8, kk),
            nbj.mul(pp, kk),
        ]
        assert c.public_signals(w) == [v for pt in expected for v in pt]
    # Edge scalars: 0 and all ones; the identity as the variable point.
    for kk, pp in ((0, nbj.B8), ((1 << 253) - 1, nbj.B8), (12345, nbj.IDENTITY)):
        w = c.witness({"k": kk, "p": list(pp), "q": list(nbj.B8)})
        assert c.public_signals(w)[6:10] == [*nbj.mul(nbj.B8, kk), *nbj.mul(pp, kk)]
    assert_tampering_fails(c, w, rng)
    with pytest.raises(UnsatisfiedConstraint):  # p off the curve
        c.witness({"k": 5, "p": [1, 2], "q": list(nbj.B8)})


# ---------------------------------------------------------------- EdDSA


def _eddsa_circuit(gated: bool) -> CompiledCircuit:
    cs = ConstraintSystem(f"eddsa_gated_{gated}")
    a = cs.private_input("A", 2)
    r8 = cs.private_input("R8", 2)
    s = cs.private_input("S")
    m = cs.private_input("M")
    enabled = cs.private_input("enabled") if gated else None
    if enabled is not None:
        assert_bool(cs, enabled)
    geddsa.verify(cs, a, r8, s, m, enabled)
    return cs.compile()


@pytest.fixture(scope="module")
def eddsa_circuit() -> CompiledCircuit:
    return _eddsa_circuit(gated=False)


def _sig_inputs(a: tuple[int, int], r8: tuple[int, int], s: int, m: int) -> dict:
    return {"A": list(a), "R8": list(r8), "S": s, "M": m}


def test_eddsa_gadget(eddsa_circuit: CompiledCircuit) -> None:
    c = eddsa_circuit
    assert c.n_constraints == 5531
    rng = random.Random(5)
    # The circomlibjs fixed vector, then random keys and messages signed natively.
    cases = [
        (bytes.fromhex("0001020304050607080900010203040506070809000102030405060708090001"), 42649378395939397566720)
    ]
    cases += [(rng.randbytes(32), rng.randrange(R)) for _ in range(2)]
    for prv, msg in cases:
        a = neddsa.prv2pub(prv)
        sig = neddsa.sign_poseidon(prv, msg)
        good = _sig_inputs(a, sig.r8, sig.s, msg)
        w = c.witness(good)
    assert_tampering_fails(c, w, rng)
    other = neddsa.prv2pub(b"\x07" * 32)
    bad_inputs = [
        {**good, "M": (msg + 1) % R},
        {**good, "A": list(other)},
        {**good, "R8": list(nbj.negate(sig.r8))},
        {**good, "S": sig.s + 1},
        {**good, "S": sig.s + nbj.SUBORDER},  # same group equation, but S >= l
        {**good, "A": [a[0], a[1] + 1]},  # off the curve
        {**good, "A": [0, 1], "R8": list(nbj.mul(nbj.B8, sig.s))},  # identity key (low order)
    ]
    for bad in bad_inputs:
        with pytest.raises(UnsatisfiedConstraint):
            c.witness(bad)
    # The native verifier agrees on all of them.
    for bad in bad_inputs:
        assert not neddsa.verify_poseidon(bad["M"], neddsa.Signature(tuple(bad["R8"]), bad["S"]), tuple(bad["A"]))


def test_eddsa_gadget_enabled_flag() -> None:
    c = _eddsa_circuit(gated=True)
    assert c.n_constraints == 5534 + 1  # + booleanity of enabled
    prv = b"\x01" * 32
    a = neddsa.prv2pub(prv)
    sig = neddsa.sign_poseidon(prv, 9)
    good = {**_sig_inputs(a, sig.r8, sig.s, 9), "enabled": 1}
    c.witness(good)
    with pytest.raises(UnsatisfiedConstraint):
        c.witness({**good, "M": 10})
    # Disabled: a wrong signature, a low-order key, or S >= l all pass (padding transactions).
    c.witness({**good, "M": 10, "enabled": 0})
    c.witness({**good, "S": sig.s + nbj.SUBORDER, "enabled": 0})
    c.witness({**good, "A": list(nbj.B8), "R8": list(nbj.B8), "S": 0, "enabled": 0})


def test_to_bits_strict_rejects_the_alias() -> None:
    cs = ConstraintSystem("strict")
    x = cs.private_input("x")
    bits = geddsa.to_bits_strict(cs, x)
    c = cs.compile()
    assert c.n_constraints == 510
    for v in (0, 1, R - 1, (1 << 253) - 1, 1 << 253, R - (1 << 253) - 1):
        w = c.witness({"x": v})
        assert sum(w[c.wire(b)] << i for i, b in enumerate(bits)) == v
    # Forge the other decomposition x + r (possible while x + r < 2^254) and patch the slack.
    v = 5
    w = c.witness({"x": v})
    alias = v + R
    for i, b in enumerate(bits):
        w[c.wire(b)] = (alias >> i) & 1
    slack = (R - (1 << 253) - 1 - (alias & ((1 << 253) - 1))) % R
    assert slack >= 1 << 253  # so no 253-bit decomposition of it exists
    with pytest.raises(UnsatisfiedConstraint):
        c.check(w)


@pytest.mark.interop
def test_eddsa_gadget_verifies_circomlibjs_signatures(eddsa_circuit: CompiledCircuit) -> None:
    from tests.interop.circomlibjs_vectors import circomlibjs_vectors

    vectors = circomlibjs_vectors()["eddsa"]
    assert len(vectors) >= 10
    for i, (_, msg, a, r8, s, _, _) in enumerate(vectors):
        eddsa_circuit.witness(_sig_inputs(a, r8, s, msg))
        if i < 2:  # a few tampered ones (each witness is ~0.25 s)
            with pytest.raises(UnsatisfiedConstraint):
                eddsa_circuit.witness(_sig_inputs(a, r8, s, (msg + 1) % R))


@pytest.mark.interop
def test_poseidon_gadget_matches_circomlibjs() -> None:
    from tests.interop.circomlibjs_vectors import circomlibjs_vectors

    vectors = circomlibjs_vectors()["poseidon"]
    circuits: dict[int, CompiledCircuit] = {}
    for inputs, expected in vectors:
        n = len(inputs)
        if n not in (1, 2, 3, 4, 5, 16):  # the native twin covers every width; building is slow-ish
            continue
        if n not in circuits:
            cs = ConstraintSystem(f"poseidon{n}")
            cs.public_output("h", poseidon(cs, cs.private_input("x", n)))
            circuits[n] = cs.compile()
        assert circuits[n].public_signals(circuits[n].witness({"x": inputs})) == [expected]


# ---------------------------------------------------------------- SHA-256


def _sha_circuit(n_bytes: int) -> CompiledCircuit:
    cs = ConstraintSystem(f"sha256_{n_bytes}")
    bits = cs.private_input("m", 8 * n_bytes)
    for b in bits:
        assert_bool(cs, b)
    digest = gsha.sha256(cs, bits)
    for i, b in enumerate(digest):
        cs.public_output(f"d{i}", b)
    cs.public_output("field", gsha.digest_to_field(digest))
    return cs.compile()


@pytest.mark.parametrize("n_bytes", [0, 3, 56])
def test_sha256_gadget_matches_hashlib(n_bytes: int) -> None:
    rng = random.Random(n_bytes)
    c = _sha_circuit(n_bytes)
    for _ in range(2):
        data = rng.randbytes(n_bytes)
        w = c.witness({"m": nsha.bytes_to_bits(data)})
        out = c.public_signals(w)
        assert nsha.bits_to_bytes(out[:256]) == hashlib.sha256(data).digest()
        assert out[256] == nsha.sha256_to_field(data)
    if n_bytes:
        assert_tampering_fails(c, w, rng)
        # A non-boolean message "bit" is rejected.
        bad = nsha.bytes_to_bits(data)
        bad[0] = 2
        with pytest.raises(UnsatisfiedConstraint):
            c.witness({"m": bad})


def test_sha256_compress_block_cost() -> None:
    rng = random.Random(9)
    cs = ConstraintSystem("sha256_block")
    state = cs.private_input("state", 256)
    block = cs.private_input("block", 512)
    words = [[state[32 * j + i] for i in range(32)] for j in range(8)]  # LSB-first words
    for j, word in enumerate(gsha.compress(cs, words, block)):
        cs.public_output(f"h{j}", from_bits(word))
    c = cs.compile()
    assert c.n_constraints == 26416 + 8
    st = [rng.getrandbits(32) for _ in range(8)]
    blk = rng.randbytes(64)
    w = c.witness({"state": [(v >> i) & 1 for v in st for i in range(32)], "block": nsha.bytes_to_bits(blk)})
    assert c.public_signals(w) == nsha.compress(st, blk)
