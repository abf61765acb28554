"""Development setup: a Groth16 key for an R1CS from toxic waste drawn in this process.

The random tau, alpha, beta, gamma, delta live only in this function's locals and are never
stored or returned, but whoever runs it could keep them and forge proofs: the key's metadata
says ``setup: development`` and the CLI prints a warning. Production keys come from a ceremony
(snarkjs powers of tau + phase 2) and are imported with ``read_zkey``.

The key is laid out exactly as snarkjs's ``zkey new`` lays out its own (ARCHITECTURE §3): one
extra A-row per public signal, coefficients stored as coef * R^2, and H points equal to the odd
Lagrange basis of the 2n domain at tau over delta, which is what the snarkjs-style quotient
(``prover.backend.interface``) needs.
"""

from __future__ import annotations

import secrets

import numpy as np

from circuits.r1cs import R1CS
from prover.backend.interface import COEFF_DTYPE, Backend, KeyArrays
from prover.field.arrays import fr_vector, g1_points, g2_points
from prover.field.bn254 import FR_MODULUS, MONT_R, log2_domain, root_of_unity
from prover.field.curve import G1, G2
from prover.groth16.keys import DEV_SETUP_WARNING, ProvingKey, VerifyingKey

P = FR_MODULUS
_R2 = (MONT_R % P) ** 2 % P


def domain_size_for(r1cs: R1CS) -> int:
    """snarkjs's choice: the smallest power of two >= constraints + public signals + 1."""
    return 1 << log2_domain(r1cs.n_constraints + r1cs.n_public + 1)


def _batch_inverse(values: list[int]) -> list[int]:
    prefix = []
    acc = 1
    for v in values:
        prefix.append(acc)
        acc = acc * v % P
    inv = pow(acc, -1, P)
    out = [0] * len(values)
    for i in range(len(values) - 1, -1, -1):
        out[i] = inv * prefix[i] % P
        inv = inv * values[i] % P
    return out


def lagrange_at(tau: int, log_n: int) -> list[int]:
    """L_i(tau) for the size-2^log_n domain of roots w^i: (w^i / n) (tau^n - 1) / (tau - w^i)."""
    n = 1 << log_n
    w = root_of_unity(log_n)
    points = [1] * n
    for i in range(1, n):
        points[i] = points[i - 1] * w % P
    z = (pow(tau, n, P) - 1) % P
    if z == 0:
        raise ValueError("tau is in the domain")  # probability ~ n / r; the caller redraws
    scale = z * pow(n, -1, P) % P
    invs = _batch_inverse([(tau - x) % P for x in points])
    return [x * inv % P * scale % P for x, inv in zip(points, invs, strict=True)]


def setup(r1cs: R1CS, *, name: str = "circuit", backend: Backend | None = None) -> ProvingKey:
    """Groth16 key for ``r1cs`` from fresh randomness (development only).

    The point computations (one fixed-base multiplication per query entry) run on ``backend``'s
    ``batch_mul_g1/g2``; the default is the pure-Python backend.
    """
    if backend is None:
        from prover.backend.python_backend import PythonBackend

        backend = PythonBackend()
    while True:
        tau, alpha, beta, gamma, delta = (secrets.randbelow(P - 1) + 1 for _ in range(5))
        try:
            return _setup_with(r1cs, tau, alpha, beta, gamma, delta, name, backend)
        except ValueError as exc:
            if "tau is in the domain" not in str(exc):
                raise


def _setup_with(
    r1cs: R1CS, tau: int, alpha: int, beta: int, gamma: int, delta: int, name: str, backend: Backend
) -> ProvingKey:
    n_vars, n_public = r1cs.n_wires, r1cs.n_public
    domain = domain_size_for(r1cs)
    log_n = domain.bit_length() - 1
    lag = lagrange_at(tau, log_n)

    u = [0] * n_vars  # A_i(tau)
    v = [0] * n_vars  # B_i(tau)
    w = [0] * n_vars  # C_i(tau)
    records: list[tuple[int, int, int, int]] = []
    for c, (a_lc, b_lc, c_lc) in enumerate(r1cs.constraints):
        lc_ = lag[c]
        for s, k in a_lc.items():
            u[s] = (u[s] + k * lc_) % P
            records.append((0, c, s, k))
        for s, k in b_lc.items():
            v[s] = (v[s] + k * lc_) % P
            records.append((1, c, s, k))
        for s, k in c_lc.items():
            w[s] = (w[s] + k * lc_) % P
    for s in range(n_public + 1):  # snarkjs's extra rows: A[nConstraints + s] = signal s
        c = r1cs.n_constraints + s
        u[s] = (u[s] + lag[c]) % P
        records.append((0, c, s, 1))

    coeffs = np.zeros(len(records), dtype=COEFF_DTYPE)
    if records:
        coeffs["matrix"] = [r[0] for r in records]
        coeffs["constraint"] = [r[1] for r in records]
        coeffs["signal"] = [r[2] for r in records]
        raw = b"".join((r[3] * _R2 % P).to_bytes(32, "little") for r in records)
        coeffs["value"] = np.frombuffer(raw, dtype="<u8").reshape(len(records), 4)

    gamma_inv, delta_inv = pow(gamma, -1, P), pow(delta, -1, P)
    mix = [(beta * u[i] + alpha * v[i] + w[i]) % P for i in range(n_vars)]

    # H: odd points of the 2n-domain Lagrange basis at tau, over delta.
    two_n = 2 * domain
    w2n = root_of_unity(log_n + 1)
    z2 = (pow(tau, two_n, P) - 1) % P
    odd = [pow(w2n, 2 * i + 1, P) for i in range(domain)]
    inv = _batch_inverse([(tau - x) % P for x in odd])
    scale = z2 * pow(two_n, -1, P) % P * delta_inv % P
    h = [x * i % P * scale % P for x, i in zip(odd, inv, strict=True)]

    def g1(scalars: list[int]):
        return backend.batch_mul_g1(G1.generator, fr_vector(scalars))

    def g2(scalars: list[int]):
        return backend.batch_mul_g2(G2.generator, fr_vector(scalars))

    ic = g1_points(g1([mix[i] * gamma_inv % P for i in range(n_public + 1)]))
    arrays = KeyArrays(
        n_vars=n_vars,
        n_public=n_public,
        domain_size=domain,
        a_query=g1(u),
        b1_query=g1(v),
        b2_query=g2(v),
        c_query=g1([mix[i] * delta_inv % P for i in range(n_public + 1, n_vars)]),
        h_query=g1(h),
        coeffs=coeffs,
    )
    alpha1, beta1, delta1 = g1_points(g1([alpha, beta, delta]))
    beta2, gamma2, delta2 = g2_points(g2([beta, gamma, delta]))
    vk = VerifyingKey(alpha1=alpha1, beta2=beta2, gamma2=gamma2, delta2=delta2, ic=tuple(ic))
    return ProvingKey(
        vk=vk,
        beta1=beta1,
        delta1=delta1,
        arrays=arrays,
        origin=f"development setup of {name}",
        metadata={
            "setup": "development",
            "warning": DEV_SETUP_WARNING,
            "circuit": name,
            "constraints": r1cs.n_constraints,
        },
    )
