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
from array import array
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from circuits.r1cs import R1CS, Constraint, ConstraintTable
from prover.backend.interface import COEFF_DTYPE, Backend, KeyArrays
from prover.field.arrays import fr_vector, g1_points, g2_points
from prover.field.bn254 import FR_MODULUS, MONT_R, log2_domain, root_of_unity
from prover.field.curve import G1, G2
from prover.groth16.keys import DEV_SETUP_WARNING, ProvingKey, VerifyingKey

P = FR_MODULUS
_R2 = (MONT_R % P) ** 2 % P
_BLOCK = 1 << 18  # terms per block where per-term temporaries are made


def _vector(scalars: list[int] | np.ndarray) -> np.ndarray:
    return scalars if isinstance(scalars, np.ndarray) else fr_vector(scalars)


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


class _Terms(NamedTuple):
    """The constraints' linear combinations in :class:`ConstraintTable`'s flat layout (NumPy)."""

    abc: np.ndarray  # 3 combination numbers per constraint (A, B, C)
    ends: np.ndarray  # combination k is terms ends[k] to ends[k + 1]
    wires: np.ndarray
    cidx: np.ndarray  # index into coefs per term
    coefs: list[int]


def _flat_terms(constraints: Sequence[Constraint]) -> _Terms:
    """The builder's table as it is; any other sequence of dict triples flattened into the same
    layout (one pass over its terms, each combination stored once per use, terms in dict order)."""
    if isinstance(constraints, ConstraintTable):
        return _Terms(*constraints.term_arrays(), constraints.coefs)
    index: dict[int, int] = {}
    wires, cidx, ends = array("q"), array("q"), array("q", [0])
    for triple in constraints:
        for lc in triple:
            wires.extend(lc.keys())
            cidx.extend([index.setdefault(k, len(index)) for k in lc.values()])
            ends.append(len(wires))
    abc = np.arange(len(ends) - 1, dtype=np.int64)
    return _Terms(
        abc, np.frombuffer(ends, np.int64), np.frombuffer(wires, np.int64), np.frombuffer(cidx, np.int64), list(index)
    )


def _term_rows(terms: _Terms, matrices: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The terms of the given matrices' combinations (0 A, 1 B, 2 C), constraint by constraint and
    in the order of ``matrices`` within one: per term its combination's place in that sequence
    (constraint * len(matrices) + position in ``matrices``) and the term's index in the arrays."""
    refs = terms.abc.reshape(-1, 3)[:, list(matrices)].ravel()
    starts = terms.ends[refs]
    counts = terms.ends[refs + 1] - starts
    seg = np.repeat(np.arange(len(refs), dtype=np.int64), counts)
    # term = start of its combination + its place in it = arange + (start - combination's first row)
    term = np.arange(len(seg), dtype=np.int64) + np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return seg, term


def _evaluate(terms: _Terms, matrix: int, lag: list[int], n_vars: int) -> list[int]:
    """Column sums of one matrix weighted by ``lag``: out[s] = sum over terms (c, s, k) of k * lag[c].

    The sums are left unreduced (a Python int add is cheaper than a %; the mix and ``fr_vector``
    reduce them), and the per-term
    lists are made a block at a time so that a million-constraint circuit never holds them whole.
    """
    out = [0] * n_vars
    coefs, wires, cidx = terms.coefs, terms.wires, terms.cidx
    seg, term = _term_rows(terms, (matrix,))
    for i in range(0, len(term), _BLOCK):
        rows = term[i : i + _BLOCK]
        for c, s, k in zip(seg[i : i + _BLOCK].tolist(), wires[rows].tolist(), cidx[rows].tolist(), strict=True):
            out[s] += coefs[k] * lag[c]
    return out


def _coefficients(terms: _Terms, n_constraints: int, n_public: int) -> np.ndarray:
    """The A and B records snarkjs's zkey holds: per constraint its A terms then its B terms, then
    one A record per public signal (constraint n_constraints + s, signal s, coefficient 1); values
    are coef * R^2 mod r, converted once per distinct coefficient and gathered."""
    seg, term = _term_rows(terms, (0, 1))
    n_terms = len(term)
    coeffs = np.empty(n_terms + n_public + 1, dtype=COEFF_DTYPE)
    table = fr_vector([k * _R2 % P for k in terms.coefs])
    for i in range(0, n_terms, _BLOCK):  # blocks: the gathered values alone are 32 bytes a term
        part = slice(i, min(i + _BLOCK, n_terms))
        rows = term[part]
        coeffs["matrix"][part] = seg[part] & 1
        coeffs["constraint"][part] = seg[part] >> 1
        coeffs["signal"][part] = terms.wires[rows]
        coeffs["value"][part] = table[terms.cidx[rows]]
    extra = coeffs[n_terms:]
    extra["matrix"] = 0
    extra["constraint"] = n_constraints + np.arange(n_public + 1)
    extra["signal"] = np.arange(n_public + 1)
    extra["value"] = fr_vector([_R2])
    return coeffs


def _setup_with(
    r1cs: R1CS, tau: int, alpha: int, beta: int, gamma: int, delta: int, name: str, backend: Backend
) -> ProvingKey:
    n_vars, n_public, n_constraints = r1cs.n_wires, r1cs.n_public, r1cs.n_constraints
    domain = domain_size_for(r1cs)
    log_n = domain.bit_length() - 1
    lag = lagrange_at(tau, log_n)

    terms = _flat_terms(r1cs.constraints)
    coeffs = _coefficients(terms, n_constraints, n_public)
    u = _evaluate(terms, 0, lag, n_vars)  # A_i(tau)
    for s in range(n_public + 1):  # snarkjs's extra rows: A[nConstraints + s] = signal s
        u[s] += lag[n_constraints + s]
    v = _evaluate(terms, 1, lag, n_vars)  # B_i(tau)
    w = _evaluate(terms, 2, lag, n_vars)  # C_i(tau)
    del terms, lag

    gamma_inv, delta_inv = pow(gamma, -1, P), pow(delta, -1, P)
    # mix_i = beta A_i + alpha B_i + C_i, written over w; u and v leave as vectors (v feeds both
    # B queries, converted once)
    for i in range(n_vars):
        w[i] = (beta * u[i] + alpha * v[i] + w[i]) % P
    mix = w
    u_vec, v_vec = fr_vector(u), fr_vector(v)
    del u, v

    # H: odd points of the 2n-domain Lagrange basis at tau, over delta.
    two_n = 2 * domain
    w2n = root_of_unity(log_n + 1)
    z2 = (pow(tau, two_n, P) - 1) % P
    odd = [0] * domain
    x, step = w2n, w2n * w2n % P
    for i in range(domain):
        odd[i] = x
        x = x * step % P
    inv = _batch_inverse([(tau - x) % P for x in odd])
    scale = z2 * pow(two_n, -1, P) % P * delta_inv % P
    h = [x * i % P * scale % P for x, i in zip(odd, inv, strict=True)]

    def g1(scalars: list[int] | np.ndarray):
        return backend.batch_mul_g1(G1.generator, _vector(scalars))

    def g2(scalars: list[int] | np.ndarray):
        return backend.batch_mul_g2(G2.generator, _vector(scalars))

    ic = g1_points(g1([mix[i] * gamma_inv % P for i in range(n_public + 1)]))
    arrays = KeyArrays(
        n_vars=n_vars,
        n_public=n_public,
        domain_size=domain,
        a_query=g1(u_vec),
        b1_query=g1(v_vec),
        b2_query=g2(v_vec),
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
