"""A known-answer check of a backend against the pure-Python reference on small fresh inputs.

The GPU backend runs it once per process before ``auto`` selects it: kernels that compile but
compute wrongly on an unfamiliar device or driver then cost a log line and a CPU fallback, not
a queue of proofs that fail verification.
"""

from __future__ import annotations

import secrets

import numpy as np

from prover.backend.interface import Backend
from prover.field.arrays import fr_vector, g1_array, g2_array
from prover.field.bn254 import FR_MODULUS as P
from prover.field.bn254 import root_of_unity
from prover.field.curve import G1, G2


def self_test(backend: Backend, reference: Backend | None = None) -> str | None:
    """None when ``backend`` agrees with ``reference`` (default: pure Python) on NTT, coset NTT,
    MSM G1 and MSM G2; otherwise the name of the first operation that disagreed."""
    if reference is None:
        from prover.backend.python_backend import PythonBackend

        reference = PythonBackend()
    values = fr_vector([secrets.randbelow(P) for _ in range(16)])
    if not np.array_equal(np.asarray(backend.ntt(values)), np.asarray(reference.ntt(values))):
        return "ntt (2^4)"
    shift = root_of_unity(5)
    if not np.array_equal(
        np.asarray(backend.ntt(values, inverse=True, coset=shift)),
        np.asarray(reference.ntt(values, inverse=True, coset=shift)),
    ):
        return "inverse coset ntt (2^4)"
    scalars = [0, 1, P - 1, *(secrets.randbelow(P) for _ in range(6))]
    g1 = [G1.affine_mul(G1.generator, secrets.randbelow(P)) for _ in scalars]
    g1[3] = None  # the point at infinity
    s = fr_vector(scalars)
    if backend.msm_g1(g1_array(g1), s) != reference.msm_g1(g1_array(g1), s):
        return "msm_g1 (9 points)"
    g2 = [G2.affine_mul(G2.generator, secrets.randbelow(P)) for _ in range(4)]
    s2 = fr_vector(scalars[:4])
    if backend.msm_g2(g2_array(g2), s2) != reference.msm_g2(g2_array(g2), s2):
        return "msm_g2 (4 points)"
    return None
