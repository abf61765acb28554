"""Groth16 verification with a pairing check, the off-chain twin of the L1 contract.

    e(A, B) = e(alpha1, beta2) * e(vk_x, gamma2) * e(C, delta2),  vk_x = IC_0 + sum x_i IC_i

checked as one product e(-A, B) e(alpha1, beta2) e(vk_x, gamma2) e(C, delta2) = 1: four Miller
loops and a single final exponentiation. A proof whose points are off the curve or outside the
order-r subgroup, or that has a coordinate >= q, or a public input >= r, is invalid (the EVM
precompiles refuse the same), not an error.

Two engines compute the same thing: the native extension (``prover/backend/native/pairing.c``,
a few milliseconds a proof, vk_x by the native MSM) and py_ecc (about a second). The native one is
used whenever the extension is built, unless ``ZKPROVER_NO_NATIVE`` is set to something other
than ``0``; py_ecc is the fallback, so a machine without a C compiler still verifies.
"""

from __future__ import annotations

import os

from py_ecc import optimized_bn128 as _o

from prover.backend import cpu as _cpu
from prover.field.arrays import fr_vector, g1_array, g2_array
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.field.curve import G1, G2, G1Affine, G2Affine, g1_to_pyecc, g2_to_pyecc
from prover.groth16.keys import Proof, VerifyingKey


def _native():
    """The extension module, or None when it is missing or switched off (read on every call, so
    an operator or a test can switch engines without re-importing)."""
    if os.environ.get("ZKPROVER_NO_NATIVE", "").strip() not in ("", "0"):
        return None
    return _cpu._native


def pairing_engine() -> str:
    """Which engine ``verify`` uses here and now: ``"native"`` or ``"py_ecc"``."""
    return "py_ecc" if _native() is None else "native"


def g2_in_subgroup(p: G2Affine) -> bool:
    """True iff ``p`` is on the twist and r * p is the point at infinity (None passes): natively
    when the extension is there (0.3 ms), else ``G2.in_subgroup`` (~50 ms)."""
    if p is None:
        return True
    native = _native()
    if native is not None:
        return native.g2_in_subgroup(g2_array([p]))
    return G2.in_subgroup(p)


def _vk_x(vk: VerifyingKey, public_signals: list[int], native) -> G1Affine:
    """IC_0 + sum x_i IC_i (signals already checked to be < r)."""
    if native is not None:
        # one thread: the MSM is a few points, and the caller may be one of several workers
        raw = native.msm_g1(g1_array(list(vk.ic[1:])), fr_vector(public_signals), 1)
        acc = None if raw is None else (int.from_bytes(raw[:32], "little"), int.from_bytes(raw[32:], "little"))
        return G1.affine_add(vk.ic[0], acc)
    vk_x = G1.from_affine(vk.ic[0])
    for x, point in zip(public_signals, vk.ic[1:], strict=True):
        if x and point is not None:
            vk_x = G1.add(vk_x, G1.mul(G1.from_affine(point), x))
    return G1.to_affine(vk_x)


def _product_is_one_pyecc(pairs: list[tuple[G1Affine, G2Affine]]) -> bool:
    acc = _o.FQ12.one()
    for p, q in pairs:
        if p is None or q is None:
            continue  # e(., infinity) = 1
        acc = acc * _o.pairing(g2_to_pyecc(q), g1_to_pyecc(p), final_exponentiate=False)
    return _o.final_exponentiate(acc) == _o.FQ12.one()


def _coordinates(value) -> list[int]:
    """Every integer in a nest of tuples (affine G1/G2 points; None for infinity has none)."""
    if value is None:
        return []
    if isinstance(value, int):
        return [value]
    return [v for part in value for v in _coordinates(part)]


def verify(vk: VerifyingKey, public_signals: list[int], proof: Proof) -> bool:
    """True iff ``proof`` is valid for ``public_signals`` under ``vk``.

    Raises ValueError only when the number of public signals does not match the key, which is
    a caller's mistake rather than a bad proof.
    """
    if len(public_signals) != vk.n_public:
        raise ValueError(f"{len(public_signals)} public signals given, the key expects {vk.n_public}")
    if any(not 0 <= x < FR_MODULUS for x in public_signals):
        return False
    if not all(0 <= v < FQ_MODULUS for v in _coordinates((proof.a, proof.b, proof.c))):
        return False  # x + q is the same element, but the EVM precompiles refuse it
    for p in (proof.a, proof.c):
        if p is not None and not G1.is_on_curve(p):
            return False
    if not g2_in_subgroup(proof.b):
        return False

    pairs = [
        (G1.affine_neg(proof.a), proof.b),
        (vk.alpha1, vk.beta2),
        (_vk_x(vk, public_signals, _native()), vk.gamma2),
        (proof.c, vk.delta2),
    ]
    return pairing_product_is_one(pairs)


def pairing_product_is_one(pairs: list[tuple[G1Affine, G2Affine]]) -> bool:
    """prod e(P_i, Q_i) == 1, on the engine ``pairing_engine`` names (each Q_i must be in G2:
    callers check points that come from outside, see ``g2_in_subgroup``)."""
    native = _native()
    if native is None:
        return _product_is_one_pyecc(pairs)
    return native.pairing_product_is_one(g1_array([p for p, _ in pairs]), g2_array([q for _, q in pairs]))
