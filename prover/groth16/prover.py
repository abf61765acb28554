"""The Groth16 prover: the H step and five MSMs on a backend, then blinding.

    A  = alpha1 + sum w_i A_i + r delta1
    B  = beta2  + sum w_i B2_i + s delta2          (and B1 in G1 for C)
    C  = sum_{private} w_i C_i + sum h_j H_j + s A + r B1 - r s delta1

Scalars are the witness (an (n, 4) standard-form array, as read from a .wtns) and the H
evaluations from ``backend.quotient_evaluations``. The same function proves with snarkjs keys
and with keys from our development setup, because both use snarkjs's layout.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from prover.backend.interface import Backend, ResidentKey
from prover.field.arrays import FrVector, check_fr_vector, fr_ints, fr_vector
from prover.field.bn254 import FR_MODULUS
from prover.field.curve import G1, G2
from prover.groth16.keys import Proof, ProvingKey

if TYPE_CHECKING:  # the R1CS reader is only needed with --r1cs: not imported on the plain prove path
    from circuits.r1cs import R1CS


class WitnessError(ValueError):
    """The witness does not fit the key or does not satisfy the circuit."""


@dataclass
class ProveResult:
    proof: Proof
    public_signals: list[int]
    timings: dict[str, float] = field(default_factory=dict)


def prove(
    pk: ProvingKey,
    witness: FrVector | list[int],
    backend: Backend,
    *,
    resident: ResidentKey | None = None,
    r1cs: R1CS | None = None,
) -> ProveResult:
    """Prove with ``pk`` for ``witness``; ``resident`` reuses a key already loaded on ``backend``.

    With ``r1cs`` the witness is checked first and an unsatisfied constraint is named
    (WitnessError); without it (a bare .zkey holds no C matrix) a bad witness yields a proof that
    fails verification.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    w = fr_vector(witness) if isinstance(witness, list) else np.ascontiguousarray(witness, dtype=np.uint64)
    try:
        check_fr_vector(w, "witness")
    except ValueError as exc:
        raise WitnessError(str(exc)) from None
    if len(w) != pk.n_vars:
        raise WitnessError(f"witness has {len(w)} values, the proving key expects {pk.n_vars}")
    if tuple(w[0]) != (1, 0, 0, 0):
        raise WitnessError("witness[0] must be 1 (the constant wire)")
    if r1cs is not None:
        if r1cs.n_wires != pk.n_vars:
            raise WitnessError(f"the R1CS has {r1cs.n_wires} wires, the key {pk.n_vars}")
        bad = r1cs.first_unsatisfied(fr_ints(w))
        if bad is not None:
            raise WitnessError(f"witness does not satisfy constraint {bad} of the circuit")
        timings["check"] = time.perf_counter() - t0

    own = resident is None
    if own:
        t = time.perf_counter()
        resident = backend.load_key(pk.arrays)
        timings["load_key"] = time.perf_counter() - t
    try:
        t = time.perf_counter()
        h = backend.quotient_evaluations(resident, w)
        timings["quotient"] = time.perf_counter() - t

        def timed(stage, fn, *args):
            start = time.perf_counter()
            out = fn(*args)
            timings[stage] = time.perf_counter() - start
            return out

        n_pub = pk.n_public
        msm_a = timed("msm_a", backend.msm_g1, resident.a_query, w)
        msm_b1 = timed("msm_b1", backend.msm_g1, resident.b1_query, w)
        msm_b2 = timed("msm_b2", backend.msm_g2, resident.b2_query, w)
        msm_c = timed("msm_c", backend.msm_g1, resident.c_query, w[n_pub + 1 :])
        msm_h = timed("msm_h", backend.msm_g1, resident.h_query, h)
    finally:
        if own:
            backend.release_key(resident)

    t = time.perf_counter()
    r = secrets.randbelow(FR_MODULUS)
    s = secrets.randbelow(FR_MODULUS)
    a = G1.affine_add(pk.vk.alpha1, msm_a, G1.affine_mul(pk.delta1, r))
    b = G2.affine_add(pk.vk.beta2, msm_b2, G2.affine_mul(pk.vk.delta2, s))
    b1 = G1.affine_add(pk.beta1, msm_b1, G1.affine_mul(pk.delta1, s))
    c = G1.affine_add(
        msm_c,
        msm_h,
        G1.affine_mul(a, s),
        G1.affine_mul(b1, r),
        G1.affine_mul(pk.delta1, -r * s),
    )
    timings["blind"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    public = fr_ints(w[1 : n_pub + 1])
    return ProveResult(Proof(a=a, b=b, c=c), public, timings)
