"""Proofs and verifying keys as the EVM wants them, and the Python twin of the verifier contract.

The one rule that trips everybody: a G2 point in the EVM (EIP-197 ecPairing input, Solidity
constants, calldata) is ``[[x.c1, x.c0], [y.c1, y.c0]]``, imaginary part first, while snarkjs
JSON and :mod:`prover.groth16` keep ``((x.c0, x.c1), (y.c0, y.c1))``. Every conversion between
the two lives here. The point at infinity is (0, 0) in G1 and all zeros in G2, as the
precompiles read it.

``verify_words`` answers exactly as ``Groth16Verifier.verifyProof`` does for the same words
(false for coordinates >= q, points off the curve or outside the subgroup, inputs >= r), by
decoding and handing over to :func:`prover.groth16.verifier.verify`.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_abi import encode
from eth_utils import keccak, to_checksum_address

from prover.field.bn254 import FQ_MODULUS
from prover.field.curve import G1, G2, G1Affine, G2Affine
from prover.groth16.keys import Proof, VerifyingKey
from prover.groth16.verifier import verify

G1Words = list[int]  # [x, y]
G2Words = list[list[int]]  # [[x.c1, x.c0], [y.c1, y.c0]]


def g1_words(p: G1Affine) -> G1Words:
    return [0, 0] if p is None else [p[0], p[1]]


def g2_words(p: G2Affine) -> G2Words:
    """JSON-order G2 point -> EVM order (c1, c0)."""
    if p is None:
        return [[0, 0], [0, 0]]
    (x0, x1), (y0, y1) = p
    return [[x1, x0], [y1, y0]]


def proof_args(proof: Proof) -> tuple[G1Words, G2Words, G1Words]:
    """(a, b, c) as ``verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c, ...)`` takes them."""
    return g1_words(proof.a), g2_words(proof.b), g1_words(proof.c)


def proof_words(proof: Proof) -> list[int]:
    """The proof as 8 words: a.x, a.y, b.x.c1, b.x.c0, b.y.c1, b.y.c0, c.x, c.y (256 bytes).

    This is ``uint256[8] proof`` of ``Rollup.submitBatch`` and the order of snarkjs's calldata.
    """
    a, b, c = proof_args(proof)
    return [*a, *b[0], *b[1], *c]


def proof_bytes(proof: Proof) -> bytes:
    return b"".join(w.to_bytes(32, "big") for w in proof_words(proof))


def vk_constructor_args(vk: VerifyingKey) -> tuple:
    """Constructor arguments of ``Groth16Verifier``: (alpha1, beta2, gamma2, delta2, ic)."""
    return (
        g1_words(vk.alpha1),
        g2_words(vk.beta2),
        g2_words(vk.gamma2),
        g2_words(vk.delta2),
        [g1_words(p) for p in vk.ic],
    )


#: Groth16Verifier's general form (any number of public inputs) ...
VERIFY_PROOF_SIGNATURE = "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[])"
#: ... and snarkjs's one-input form, which Rollup calls (so a snarkjs-exported verifier plugs in).
VERIFY_PROOF_ONE_INPUT_SIGNATURE = "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[1])"


def encode_verify_proof(proof: Proof, public_signals: Sequence[int]) -> bytes:
    """Full calldata (selector and arguments) of ``Groth16Verifier.verifyProof``."""
    a, b, c = proof_args(proof)
    args = encode(["uint256[2]", "uint256[2][2]", "uint256[2]", "uint256[]"], [a, b, c, list(public_signals)])
    return keccak(text=VERIFY_PROOF_SIGNATURE)[:4] + args


def soliditycalldata_text(proof: Proof, public_signals: Sequence[int]) -> str:
    """The text ``snarkjs zkey export soliditycalldata`` prints: arguments for a fixed-size
    verifier (``uint[N]``), pasteable into Remix or a script."""

    def h(x: int) -> str:
        return f'"0x{x:064x}"'

    a, b, c = proof_args(proof)
    a_s = f"[{h(a[0])}, {h(a[1])}]"
    b_s = f"[[{h(b[0][0])}, {h(b[0][1])}],[{h(b[1][0])}, {h(b[1][1])}]]"
    c_s = f"[{h(c[0])}, {h(c[1])}]"
    pub = ",".join(h(x) for x in public_signals)
    return f"{a_s},{b_s},{c_s},[{pub}]"


# --- decoding: the contract's view of words -------------------------------------------------
def g1_from_words(w: Sequence[int]) -> G1Affine:
    """Words -> point; raises ValueError for a coordinate >= q (the contract answers false)."""
    x, y = w
    if not (0 <= x < FQ_MODULUS and 0 <= y < FQ_MODULUS):
        raise ValueError("G1 coordinate out of range")
    return None if (x, y) == (0, 0) else (x, y)


def g2_from_words(w: Sequence[Sequence[int]]) -> G2Affine:
    """EVM-order words -> JSON-order point; raises ValueError for a coordinate >= q."""
    (x1, x0), (y1, y0) = w
    if any(not 0 <= v < FQ_MODULUS for v in (x0, x1, y0, y1)):
        raise ValueError("G2 coordinate out of range")
    return None if (x0, x1, y0, y1) == (0, 0, 0, 0) else ((x0, x1), (y0, y1))


def proof_from_words(words: Sequence[int]) -> Proof:
    """Inverse of :func:`proof_words`; raises ValueError on a coordinate >= q."""
    if len(words) != 8:
        raise ValueError(f"a proof is 8 words, got {len(words)}")
    w = list(words)
    return Proof(a=g1_from_words(w[0:2]), b=g2_from_words([w[2:4], w[4:6]]), c=g1_from_words(w[6:8]))


def verify_words(vk: VerifyingKey, words: Sequence[int], public_signals: Sequence[int]) -> bool:
    """The Python twin of ``verifyProof``: the same words give the same answer.

    Raises ValueError only for a wrong number of public signals (the contract reverts with
    ``WrongInputCount``).
    """
    if len(public_signals) != vk.n_public:
        raise ValueError(f"{len(public_signals)} public signals given, the key expects {vk.n_public}")
    try:
        proof = proof_from_words(words)
    except ValueError:
        return False
    # ecPairing refuses points off the curve (G1) and off the twist or outside the subgroup
    # (G2); verify() checks the same, but say it here too so the twin does not depend on it.
    if not (G1.is_on_curve(proof.a) and G1.is_on_curve(proof.c)):
        return False
    if proof.b is not None and not G2.in_subgroup(proof.b):
        return False
    return verify(vk, list(public_signals), proof)


def _checksum(a: int | bytes | str) -> str:
    if isinstance(a, str):
        a = bytes.fromhex(a.removeprefix("0x"))
    if isinstance(a, bytes):
        a = int.from_bytes(a, "big")
    if not 0 <= a < 1 << 160:
        raise ValueError(f"not an L1 address: {a:#x}")
    return to_checksum_address(a.to_bytes(20, "big"))


VkWords = tuple  # (alpha1, beta2, gamma2, delta2, ic) as vk_constructor_args gives them


def rollup_constructor_args(
    vk: VerifyingKey | VkWords,
    *,
    verifier: int | bytes | str,
    poseidon: int | bytes | str,
    depth: int,
    amount_unit: int,
    admin: int | bytes | str,
    operator: int | bytes | str,
    forced_request_window: int,
    settlement_window: int,
    change_delay: int,
) -> tuple[tuple, tuple]:
    """``Rollup``'s constructor arguments ``(Config config, VerifyingKey vk)``.

    ``vk`` is a key, or its words as :func:`vk_constructor_args` gives them (tests pass
    degenerate words this way to see the constructor refuse them).
    """
    words = vk_constructor_args(vk) if isinstance(vk, VerifyingKey) else tuple(vk)
    config = (
        _checksum(verifier),
        _checksum(poseidon),
        depth,
        amount_unit,
        _checksum(admin),
        _checksum(operator),
        forced_request_window,
        settlement_window,
        change_delay,
    )
    return config, words


def verifying_key_hash(vk: VerifyingKey | VkWords) -> bytes:
    """``Rollup.verifyingKeyHash``: keccak256(abi.encode(alpha1, beta2, gamma2, delta2, ic)),
    G2 in EVM order; what an auditor compares against the verifier's key."""
    words = vk_constructor_args(vk) if isinstance(vk, VerifyingKey) else tuple(vk)
    types = ["uint256[2]", "uint256[2][2]", "uint256[2][2]", "uint256[2][2]", "uint256[2][]"]
    return keccak(encode(types, list(words)))


def exodus_withdraw_args(
    index: int,
    ax: int,
    ay: int,
    balance: int,
    nonce: int,
    owner: int | bytes | str,
    path: Sequence[Sequence[int]],
) -> tuple[int, int, int, int, int, str, list[int]]:
    """Arguments of ``Rollup.exodusWithdraw`` for an account and its Merkle path.

    ``path`` is one tuple of 3 sibling hashes per level, leaf level first, as
    ``circuits.native.merkle.SparseMerkleTree.path`` returns it (4-ary tree).
    """
    siblings = []
    for level in path:
        if len(level) != 3:
            raise ValueError(f"a 4-ary path has 3 siblings per level, got {len(level)}")
        siblings.extend(level)
    return index, ax, ay, balance, nonce, _checksum(owner), siblings


def submit_batch_args(
    new_root: int, public_data: bytes, proof: Proof, withdrawal_addresses: Sequence[int | bytes | str] = ()
) -> tuple[int, bytes, list[int], list[str]]:
    """Arguments of ``Rollup.submitBatch(newRoot, publicData, proof, withdrawalAddresses)``.

    ``withdrawal_addresses`` are the L1 addresses of the batch's withdrawals in order (as the
    operator's ``BatchResult.withdrawals`` lists them), as integers, 20 bytes or hex strings.
    """
    return new_root, bytes(public_data), proof_words(proof), [_checksum(a) for a in withdrawal_addresses]
