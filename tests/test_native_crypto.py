"""Native crypto twins (circuits.native): fixed circomlibjs vectors, properties, and random
vectors computed by circomlibjs itself (interop, one batched node process)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import pytest

from circuits.native import babyjub, merkle, sha256
from circuits.native.blake512 import blake512
from circuits.native.eddsa import PrivateKey, PublicKey, Signature, prv2pub, sign_poseidon, verify_poseidon
from circuits.native.poseidon import poseidon, poseidon_hash
from circuits.native.poseidon_constants import P, poseidon_params
from tests.interop.peers import ensure_peers

R = P
CIRCOMLIBJS = Path(__file__).parent / "interop" / "node_modules" / "circomlibjs"

# circomlibjs test/eddsa.js, "Sign (using Poseidon) a single 10 bytes from 0 to 9".
EDDSA_PRV = bytes.fromhex("0001020304050607080900010203040506070809000102030405060708090001")
EDDSA_MSG = 42649378395939397566720  # bytes 00 01 .. 09 00 00 read little-endian
EDDSA_A = (
    13277427435165878497778222415993513565335242147425444199013288855685581939618,
    13622229784656158136036771217484571176836296686641868549125388198837476602820,
)
EDDSA_R8 = (
    11384336176656855268977457483345535180380036354188103142384839473266348197733,
    15383486972088797283337779941324724402501462225528836549661220478783371668959,
)
EDDSA_S = 1672775540645840396591609181675628451599263765380031905495115170613215233181


# ---------------------------------------------------------------- Poseidon


def test_poseidon_vectors() -> None:
    assert poseidon([1, 2]) == 7853200120776062878684798364095072458815029376092732009249414926327459813530
    assert poseidon([1, 2, 3, 4]) == (18821383157269793795438455681495246036402687001665670618754263018637548127333)
    assert poseidon_hash([1, 2]) == poseidon([1, 2])


def test_poseidon_input_count() -> None:
    with pytest.raises(ValueError):
        poseidon([])
    with pytest.raises(ValueError):
        poseidon(list(range(17)))
    with pytest.raises(ValueError):
        poseidon_hash([])
    assert poseidon(list(range(16))) != poseidon(list(range(15)))


@pytest.mark.interop
def test_grain_constants_match_circomlibjs_tables() -> None:
    """Every t's constants and MDS, derived from the LFSR here, equal circomlibjs's tables."""
    ensure_peers()  # installs the pinned npm peers on a fresh clone, skips only without npm
    tables = json.loads((CIRCOMLIBJS / "src" / "poseidon_constants.json").read_text())
    for t in range(2, 18):
        c, m = poseidon_params(t)
        assert list(c) == [int(x, 16) for x in tables["C"][t - 2]], t
        assert [list(r) for r in m] == [[int(x, 16) for x in r] for r in tables["M"][t - 2]], t


# ---------------------------------------------------------------- BLAKE-512


def test_blake512_spec_vectors() -> None:
    # BLAKE-512 of the empty string and of one zero byte (BLAKE specification, appendix).
    assert blake512(b"").hex().startswith("a8cfbbd73726062df0c6864dda65defe58ef0cc52a5625090fa17601e1eecd1b")
    assert blake512(b"\x00").hex() == (
        "97961587f6d970faba6d2478045de6d1fabd09b61ae50932054d52bc29d31be4"
        "ff9102b9f69e2bbdb83be13d4b9c06091e5fa0b48bd081b634058be0ec49beb3"
    )
    # Two blocks (144 bytes = 1152 bits), the other example of the specification.
    assert blake512(bytes(144)).hex() == (
        "313717d608e9cf758dcb1eb0f0c3cf9fc150b2d500fb33f51c52afc99d358a2f"
        "1374b8a38bba7974e7f6ef79cab16f22ce1e649d6e01ad9589c213045d545dde"
    )


# ---------------------------------------------------------------- Baby Jubjub


def test_babyjub_basics() -> None:
    assert babyjub.on_curve(babyjub.B8) and babyjub.on_curve(babyjub.GENERATOR)
    assert babyjub.mul(babyjub.GENERATOR, 8) == babyjub.B8
    assert babyjub.mul(babyjub.B8, babyjub.SUBORDER) == babyjub.IDENTITY
    assert babyjub.in_subgroup(babyjub.B8) and not babyjub.in_subgroup(babyjub.GENERATOR)
    rng = random.Random(1)
    for _ in range(5):
        a, b = rng.randrange(babyjub.SUBORDER), rng.randrange(babyjub.SUBORDER)
        pa, pb = babyjub.mul(babyjub.B8, a), babyjub.mul(babyjub.B8, b)
        assert babyjub.add(pa, pb) == babyjub.mul(babyjub.B8, a + b)
        assert babyjub.add(pa, babyjub.negate(pa)) == babyjub.IDENTITY
        assert babyjub.unpack_point(babyjub.pack_point(pa)) == pa
        neg = babyjub.negate(pa)
        assert babyjub.unpack_point(babyjub.pack_point(neg)) == neg
    assert not babyjub.on_curve((1, 1))
    assert not babyjub.on_curve((0, P + 1))
    assert babyjub.unpack_point(b"\xff" * 32) is None


# ---------------------------------------------------------------- EdDSA


def test_eddsa_circomlibjs_vector() -> None:
    assert prv2pub(EDDSA_PRV) == EDDSA_A
    sig = sign_poseidon(EDDSA_PRV, EDDSA_MSG)
    assert sig.r8 == EDDSA_R8
    assert sig.s == EDDSA_S
    assert verify_poseidon(EDDSA_MSG, sig, EDDSA_A)


def test_eddsa_rejects_tampering() -> None:
    sig = Signature(EDDSA_R8, EDDSA_S)
    assert not verify_poseidon(EDDSA_MSG + 1, sig, EDDSA_A)
    assert not verify_poseidon(EDDSA_MSG, Signature(EDDSA_R8, EDDSA_S + 1), EDDSA_A)
    # S + ℓ satisfies the group equation but is rejected (malleability check S < ℓ).
    assert not verify_poseidon(EDDSA_MSG, Signature(EDDSA_R8, EDDSA_S + babyjub.SUBORDER), EDDSA_A)
    assert not verify_poseidon(EDDSA_MSG, Signature(babyjub.negate(EDDSA_R8), EDDSA_S), EDDSA_A)
    other = prv2pub(bytes(32))
    assert not verify_poseidon(EDDSA_MSG, sig, other)
    assert not verify_poseidon(EDDSA_MSG, Signature((1, 1), EDDSA_S), EDDSA_A)
    # The identity key "signs" anything with R8 = S·B8; rejected as in the circomlib circuit.
    assert not verify_poseidon(EDDSA_MSG, Signature(babyjub.mul(babyjub.B8, 5), 5), babyjub.IDENTITY)


def test_key_serialization_round_trip() -> None:
    key = PrivateKey.generate()
    assert PrivateKey.from_hex(key.hex()) == key
    assert "hidden" in repr(key)
    pub = key.public_key()
    assert PublicKey.from_hex(pub.hex()) == pub
    assert PublicKey.unpack(pub.pack()) == pub
    sig = key.sign(12345)
    assert pub.verify(12345, sig) and not pub.verify(12346, sig)
    assert Signature.unpack(sig.pack()) == sig
    with pytest.raises(ValueError):
        PrivateKey.from_hex("00" * 31)
    with pytest.raises(ValueError):
        Signature.unpack(b"\x00" * 63)


# ---------------------------------------------------------------- SHA-256


def test_sha256_helpers() -> None:
    rng = random.Random(3)
    for n in (0, 1, 55, 56, 64, 119, 200):
        data = rng.randbytes(n)
        bits = sha256.bytes_to_bits(data)
        assert sha256.bits_to_bytes(bits) == data
        assert sha256.bits_to_bytes(sha256.sha256_bits(bits)) == hashlib.sha256(data).digest()
        padded = sha256.pad(data)
        state = list(sha256.IV)
        for i in range(0, len(padded), 64):
            state = sha256.compress(state, padded[i : i + 64])
        assert b"".join(x.to_bytes(4, "big") for x in state) == hashlib.sha256(data).digest()
    assert sha256.bytes_to_bits(b"\x80")[0] == 1  # MSB first
    assert sha256.sha256_to_field(b"abc") == int(hashlib.sha256(b"abc").hexdigest(), 16) % R


# ---------------------------------------------------------------- Merkle


@pytest.mark.parametrize(("arity", "depth"), [(2, 6), (4, 3)])
def test_sparse_merkle_tree(arity: int, depth: int) -> None:
    rng = random.Random(arity)
    tree = merkle.SparseMerkleTree(depth, arity)
    assert tree.root == merkle.zero_hashes(depth, arity)[depth]
    shadow = [0] * tree.capacity
    for _ in range(20):
        idx = rng.randrange(tree.capacity)
        old_root, old_leaf = tree.root, tree.leaf(idx)
        new_leaf = rng.choice([0, rng.randrange(R)])
        path = tree.update(idx, new_leaf)
        shadow[idx] = new_leaf
        assert merkle.verify_path(old_root, old_leaf, idx, path, arity)
        assert merkle.verify_path(tree.root, new_leaf, idx, path, arity)
    # Rebuild the full tree level by level and compare roots.
    level = shadow
    while len(level) > 1:
        level = [poseidon_hash(level[i : i + arity]) for i in range(0, len(level), arity)]
    assert level[0] == tree.root
    # Clearing every leaf brings back the empty root (empty nodes are not stored).
    for idx in range(tree.capacity):
        tree.update(idx, 0)
    assert tree.root == merkle.zero_hashes(depth, arity)[depth]
    assert all(not layer for layer in tree._nodes)


def test_merkle_path_binary_ints_and_bad_input() -> None:
    tree = merkle.SparseMerkleTree(4)
    tree.update(5, 77)
    path = tree.path(5)
    assert merkle.root_from_path(77, 5, [s[0] for s in path]) == tree.root
    assert not merkle.verify_path(tree.root, 78, 5, path)
    assert not merkle.verify_path(tree.root, 77, 4, path)
    with pytest.raises(ValueError):
        merkle.root_from_path(77, 16, path)
    with pytest.raises(ValueError):
        merkle.root_from_path(77, 5, [(1, 2)] * 4)


# ---------------------------------------------------------------- interop with circomlibjs


@pytest.fixture(scope="module")
def vectors() -> dict:
    from tests.interop.circomlibjs_vectors import circomlibjs_vectors

    return circomlibjs_vectors()


@pytest.mark.interop
def test_poseidon_matches_circomlibjs(vectors: dict) -> None:
    assert len(vectors["poseidon"]) > 40
    for inputs, expected in vectors["poseidon"]:
        assert poseidon(inputs) == expected, len(inputs)


@pytest.mark.interop
def test_eddsa_matches_circomlibjs(vectors: dict) -> None:
    for prv_hex, msg, a, r8, s, a_packed, sig_packed in vectors["eddsa"]:
        prv = bytes.fromhex(prv_hex)
        assert prv2pub(prv) == a
        sig = sign_poseidon(prv, msg)
        assert (sig.r8, sig.s) == (r8, s)
        # And a circomlibjs signature verifies here.
        assert verify_poseidon(msg, Signature(r8, s), a)
        assert not verify_poseidon((msg + 1) % R, Signature(r8, s), a)
        assert PublicKey(a).hex() == a_packed
        assert sig.pack().hex() == sig_packed
        assert Signature.unpack(bytes.fromhex(sig_packed)) == sig


@pytest.mark.interop
def test_circomlibjs_verifies_python_signatures(vectors: dict) -> None:
    for i, (_, accepted) in enumerate(vectors["verify"]):
        assert accepted == (i % 2 == 0)  # odd ones had their message tampered with


@pytest.mark.interop
def test_blake512_matches_blake_hash(vectors: dict) -> None:
    for data, digest in vectors["blake"]:
        assert blake512(data) == digest, len(data)


@pytest.mark.interop
def test_unpack_point_matches_circomlibjs(vectors: dict) -> None:
    found = 0
    for buf, expected in vectors["unpack"]:
        y = int.from_bytes(buf, "little") & ((1 << 255) - 1)
        if y >= R:
            # circomlibjs reduces a non-canonical y mod p and accepts it; we reject such
            # encodings so that every point has exactly one packed form.
            assert babyjub.unpack_point(buf) is None
            continue
        assert babyjub.unpack_point(buf) == expected, buf.hex()
        if expected is not None:
            found += 1
            assert babyjub.pack_point(expected) == buf
    assert found > 0
