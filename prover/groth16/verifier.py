"""Groth16 verification with a pairing check (py_ecc), the off-chain twin of the L1 contract.

    e(A, B) = e(alpha1, beta2) * e(vk_x, gamma2) * e(C, delta2),  vk_x = IC_0 + sum x_i IC_i

checked as one product of four Miller loops and a single final exponentiation. A proof whose
points are off the curve or outside the order-r subgroup, or a public input >= r, is invalid
(the EVM precompiles refuse the same), not an error.
"""

from __future__ import annotations

from py_ecc import optimized_bn128 as _o

from prover.field.bn254 import FR_MODULUS
from prover.field.curve import G1, G2, g1_to_pyecc, g2_to_pyecc
from prover.groth16.keys import Proof, VerifyingKey


def verify(vk: VerifyingKey, public_signals: list[int], proof: Proof) -> bool:
    """True iff ``proof`` is valid for ``public_signals`` under ``vk``.

    Raises ValueError only when the number of public signals does not match the key, which is
    a caller's mistake rather than a bad proof.
    """
    if len(public_signals) != vk.n_public:
        raise ValueError(f"{len(public_signals)} public signals given, the key expects {vk.n_public}")
    if any(not 0 <= x < FR_MODULUS for x in public_signals):
        return False
    for p, group in ((proof.a, G1), (proof.c, G1)):
        if p is not None and not group.is_on_curve(p):
            return False
    if proof.b is not None and not G2.in_subgroup(proof.b):
        return False

    vk_x = G1.from_affine(vk.ic[0])
    for x, point in zip(public_signals, vk.ic[1:], strict=True):
        if x and point is not None:
            vk_x = G1.add(vk_x, G1.mul(G1.from_affine(point), x))
    vk_x_aff = G1.to_affine(vk_x)

    pairs = [
        (g2_to_pyecc(proof.b), g1_to_pyecc(G1.affine_neg(proof.a))),
        (g2_to_pyecc(vk.beta2), g1_to_pyecc(vk.alpha1)),
        (g2_to_pyecc(vk.gamma2), g1_to_pyecc(vk_x_aff)),
        (g2_to_pyecc(vk.delta2), g1_to_pyecc(proof.c)),
    ]
    acc = _o.FQ12.one()
    for q, p in pairs:
        if p[2] == _o.FQ.zero() or q[2] == _o.FQ2.zero():
            continue  # e(., infinity) = 1
        acc = acc * _o.pairing(q, p, final_exponentiate=False)
    return _o.final_exponentiate(acc) == _o.FQ12.one()
