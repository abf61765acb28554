"""The native BN254 pairing (prover/backend/native/pairing.c) against py_ecc, value for value.

The extension returns Fq12 values in its tower (Fq2 = Fq[u], Fq6 = Fq2[v], Fq12 = Fq6[w] with
u^2 = -1, v^3 = 9 + u, w^2 = v); py_ecc writes Fq12 over one generator w with w^12 - 18 w^6 + 82
= 0. With the same w, u = w^6 - 9 and v = w^2, so the comparison is exact, not up to a power.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from py_ecc import optimized_bn128 as o

from prover.backend import cpu
from prover.field.arrays import g1_array, g2_array
from prover.field.bn254 import FQ_MODULUS as Q
from prover.field.bn254 import FR_MODULUS as R
from prover.field.curve import G1, G2, g1_to_pyecc, g2_to_pyecc
from prover.groth16 import verifier

native = cpu._native
needs_native = pytest.mark.skipif(native is None, reason="native extension not built")

BN_X = 4965661367192848881
XI = (9, 1)
ONE12 = (1,) + (0,) * 11


# --- Python references --------------------------------------------------------------------------
def fq2_mul(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def fq2_pow(a: tuple[int, int], e: int) -> tuple[int, int]:
    acc = (1, 0)
    for bit in bin(e)[2:]:
        acc = fq2_mul(acc, acc)
        if bit == "1":
            acc = fq2_mul(acc, a)
    return acc


def fq2_sqrt(a: tuple[int, int]) -> tuple[int, int] | None:
    """A square root in Fq2 (q = 3 mod 4) or None: x0^2 = (a0 + |a|) / 2, x1 = a1 / 2x0."""
    norm_root = pow((a[0] * a[0] + a[1] * a[1]) % Q, (Q + 1) // 4, Q)
    for s in (norm_root, Q - norm_root):
        half = (a[0] + s) * pow(2, -1, Q) % Q
        x0 = pow(half, (Q + 1) // 4, Q)
        if x0 and x0 * x0 % Q == half:
            x = (x0, a[1] * pow(2 * x0, -1, Q) % Q)
            if fq2_mul(x, x) == (a[0] % Q, a[1] % Q):
                return x
    return None


def twist_point(x0: int) -> tuple:
    """The first point on the twist with x = (x0 + k) + u, k = 0, 1, ...: not in G2, almost surely
    (the twist has r * (2q - r) points)."""
    while True:
        x = (x0, 1)
        rhs = fq2_mul(fq2_mul(x, x), x)
        y = fq2_sqrt(((rhs[0] + G2.b[0]) % Q, (rhs[1] + G2.b[1]) % Q))
        if y is not None:
            return (x, y)
        x0 += 1


def pyecc_affine(p) -> tuple:
    x, y = o.normalize(p)
    return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))


def to_pyecc(tower: tuple[int, ...]) -> o.FQ12:
    """12 tower coefficients (c0.c0.c0, c0.c0.c1, c0.c1.c0, ..., c1.c2.c1) -> py_ecc's FQ12."""
    assert len(tower) == 12
    powers = [0, 2, 4, 1, 3, 5]  # w-exponent of c0.c0, c0.c1, c0.c2, c1.c0, c1.c1, c1.c2
    out = [0] * 12
    for k, j in enumerate(powers):
        a0, a1 = tower[2 * k], tower[2 * k + 1]  # a0 + a1 u = a0 - 9 a1 + a1 w^6
        out[j] = (out[j] + a0 - 9 * a1) % Q
        out[j + 6] = (out[j + 6] + a1) % Q
    return o.FQ12(out)


def limbs(values: list[int]) -> np.ndarray:
    return np.frombuffer(b"".join(v.to_bytes(32, "little") for v in values), dtype="<u8").reshape(-1, 4).copy()


def pairing(ps: list, qs: list) -> tuple[int, ...]:
    return native.pairing_product(g1_array(ps), g2_array(qs))


def rand_g1(rng: random.Random):
    return G1.affine_mul(G1.generator, rng.randrange(1, R))


def rand_g2(rng: random.Random):
    return G2.affine_mul(G2.generator, rng.randrange(1, R))


# --- constants ----------------------------------------------------------------------------------
@needs_native
def test_constants_match_big_int_arithmetic():
    x, values = native.pairing_constants()
    assert x == BN_X
    assert 36 * x**4 + 36 * x**3 + 24 * x**2 + 6 * x + 1 == Q
    assert 36 * x**4 + 36 * x**3 + 18 * x**2 + 6 * x + 1 == R
    twist_b, frob1, frob2 = values[0:2], values[2:12], values[12:17]
    assert twist_b == G2.b == (int(o.b2.coeffs[0]), int(o.b2.coeffs[1]))
    for j in range(1, 6):
        assert tuple(frob1[2 * j - 2 : 2 * j]) == fq2_pow(XI, j * (Q - 1) // 6), j
        assert (frob2[j - 1], 0) == fq2_pow(XI, j * (Q * Q - 1) // 6), j
    assert frob2[2] == Q - 1  # the Miller loop relies on xi^((q^2 - 1) / 2) = -1
    # the hard part's base-q digits: exactly (q^4 - q^2 + 1) / r, not a multiple of it
    lam = [-36 * x**3 - 30 * x**2 - 18 * x - 2, -36 * x**3 - 18 * x**2 - 12 * x + 1, 6 * x**2 + 1, 1]
    assert sum(c * Q**i for i, c in enumerate(lam)) * R == Q**4 - Q**2 + 1


# --- the pairing value --------------------------------------------------------------------------
@needs_native
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_pairing_equals_py_ecc(seed):
    rng = random.Random(seed)
    a, b = rng.randrange(1, R), rng.randrange(1, R)
    p, q = G1.affine_mul(G1.generator, a), G2.affine_mul(G2.generator, b)
    got = to_pyecc(pairing([p], [q]))
    assert got == o.pairing(g2_to_pyecc(q), g1_to_pyecc(p))
    assert got != o.FQ12.one()


@needs_native
@pytest.mark.parametrize("seed", [4, 5])
def test_final_exponentiation_equals_py_ecc_on_any_element(seed):
    rng = random.Random(seed)
    f = [rng.randrange(Q) for _ in range(12)]
    assert to_pyecc(native.final_exponentiation(limbs(f))) == o.final_exponentiate(to_pyecc(tuple(f)))


@needs_native
def test_final_exponentiation_refuses_unreduced_input():
    with pytest.raises(ValueError, match="not below q"):
        native.final_exponentiation(limbs([Q] + [0] * 11))
    with pytest.raises(ValueError, match="12 elements"):
        native.final_exponentiation(limbs([1] * 11))


@needs_native
def test_bilinearity():
    rng = random.Random(6)
    p, q = rand_g1(rng), rand_g2(rng)
    a, b = rng.randrange(1, R), rng.randrange(1, R)
    base = pairing([p], [q])
    lhs = pairing([G1.affine_mul(p, a)], [G2.affine_mul(q, b)])
    assert lhs == pairing([G1.affine_mul(p, a * b)], [q]) == pairing([p], [G2.affine_mul(q, a * b)])
    assert to_pyecc(lhs) == to_pyecc(base) ** (a * b % R)
    assert lhs != base
    # additivity in each argument: e(P1 + P2, Q) = e(P1, Q) e(P2, Q), and as a product check
    p2 = rand_g1(rng)
    assert to_pyecc(pairing([G1.affine_add(p, p2)], [q])) == to_pyecc(pairing([p, p2], [q, q]))


@needs_native
def test_infinity_on_either_side_gives_one():
    rng = random.Random(7)
    p, q = rand_g1(rng), rand_g2(rng)
    assert pairing([None], [q]) == ONE12
    assert pairing([p], [None]) == ONE12
    assert pairing([None], [None]) == ONE12
    assert pairing([], []) == ONE12
    assert pairing([p, None], [q, q]) == pairing([p], [q])
    assert native.pairing_product_is_one(g1_array([None, p]), g2_array([q, None]))


@needs_native
def test_product_check_agrees_with_py_ecc():
    rng = random.Random(8)
    p, q = rand_g1(rng), rand_g2(rng)
    a = rng.randrange(2, R)

    def pyecc_product(pairs) -> bool:
        acc = o.FQ12.one()
        for pp, qq in pairs:
            acc = acc * o.pairing(g2_to_pyecc(qq), g1_to_pyecc(pp), final_exponentiate=False)
        return o.final_exponentiate(acc) == o.FQ12.one()

    # e(aP, Q) e(-P, aQ) = 1; with (a + 1)Q it is not
    good = [(G1.affine_mul(p, a), q), (G1.affine_neg(p), G2.affine_mul(q, a))]
    bad = [(G1.affine_mul(p, a), q), (G1.affine_neg(p), G2.affine_mul(q, a + 1))]
    for pairs, expected in ((good, True), (bad, False)):
        got = native.pairing_product_is_one(g1_array([pp for pp, _ in pairs]), g2_array([qq for _, qq in pairs]))
        assert got is expected
        assert pyecc_product(pairs) is expected
    # four pairs, the Groth16 shape: e(-ab P, Q) e(a P, b Q) e(c P, Q) e(P, -c Q) = 1
    b, c = rng.randrange(1, R), rng.randrange(1, R)
    four = [
        (G1.affine_mul(p, -a * b), q),
        (G1.affine_mul(p, a), G2.affine_mul(q, b)),
        (G1.affine_mul(p, c), q),
        (p, G2.affine_mul(q, -c)),
    ]
    assert native.pairing_product_is_one(g1_array([pp for pp, _ in four]), g2_array([qq for _, qq in four]))
    four[3] = (p, G2.affine_mul(q, -c + 1))
    assert not native.pairing_product_is_one(g1_array([pp for pp, _ in four]), g2_array([qq for _, qq in four]))


@needs_native
def test_bad_points_are_refused():
    rng = random.Random(9)
    p, q = rand_g1(rng), rand_g2(rng)
    with pytest.raises(ValueError, match="off its curve"):
        native.pairing_product_is_one(g1_array([(p[0], p[1] + 1)]), g2_array([q]))
    with pytest.raises(ValueError, match="off its curve"):
        native.pairing_product(g1_array([p]), g2_array([(q[0], (q[1][0] + 1, q[1][1]))]))
    unreduced = g1_array([p])
    unreduced[0, 0] = limbs([Q])[0]  # x = q: g1_array itself would reduce it
    with pytest.raises(ValueError, match="not below q"):
        native.pairing_product_is_one(unreduced, g2_array([q]))
    with pytest.raises(ValueError, match="bytes of G1 points"):
        native.pairing_product_is_one(g1_array([p, p]), g2_array([q]))


# --- G2 subgroup check, both engines (the verifier_engine fixture is in tests/conftest.py) -----------
def test_engine_switches(monkeypatch):
    monkeypatch.setenv("ZKPROVER_NO_NATIVE", "1")
    assert verifier.pairing_engine() == "py_ecc"
    monkeypatch.delenv("ZKPROVER_NO_NATIVE")
    assert verifier.pairing_engine() == ("py_ecc" if native is None else "native")
    monkeypatch.setattr(cpu, "_native", None)  # what a failed import leaves behind
    assert verifier.pairing_engine() == "py_ecc"


@pytest.fixture(scope="module")
def torsion_point():
    """A point of order 10069 on the twist (a prime factor of the cofactor 2q - r)."""
    cofactor = 2 * Q - R
    assert cofactor % 10069 == 0
    t = o.multiply(g2_to_pyecc(twist_point(5)), cofactor // 10069 * R)
    assert not o.is_inf(t) and o.is_inf(o.multiply(t, 10069))
    return pyecc_affine(t)


def test_g2_subgroup_check(verifier_engine, torsion_point):
    rng = random.Random(10)
    inside = [G2.generator, rand_g2(rng), G2.affine_neg(rand_g2(rng))]
    outside = [
        twist_point(5),
        twist_point(rng.randrange(Q)),
        torsion_point,
        G2.affine_add(inside[1], torsion_point),
    ]
    for p in inside + outside:
        assert G2.is_on_curve(p)
        reference = o.is_inf(o.multiply(g2_to_pyecc(p), R))  # r itself, not r mod r
        assert verifier.g2_in_subgroup(p) is reference is (p in inside), p
        assert G2.in_subgroup(p) is reference, p  # the pure-Python group's own check agrees
    assert verifier.g2_in_subgroup(None)
    off = (G2.generator[0], (G2.generator[1][0], G2.generator[1][1] + 1))
    assert not verifier.g2_in_subgroup(off)


@needs_native
def test_native_subgroup_check_takes_arrays():
    rng = random.Random(11)
    a, b = rand_g2(rng), twist_point(7)
    assert native.g2_in_subgroup(g2_array([a, None, a]))
    assert not native.g2_in_subgroup(g2_array([a, b]))
    assert native.g2_in_subgroup(g2_array([]))
    with pytest.raises(ValueError, match="multiple of 128"):
        native.g2_in_subgroup(np.zeros(17, dtype=np.uint64))


# --- the verifier on each engine -----------------------------------------------------------------
def synthetic_proof(rng: random.Random, signals: list[int], ic: list[int] | None = None):
    """A key for len(signals) public inputs and a valid proof for the signals, from known discrete
    logs (no circuit needed): pick every exponent but C's, then solve
    ab = alpha beta + vk_x gamma + c delta for c. ``ic``: the IC exponents (0 gives infinity)."""
    from prover.groth16.keys import Proof, VerifyingKey

    alpha, beta, gamma, delta, a, b = (rng.randrange(1, R) for _ in range(6))
    ic = ic or [rng.randrange(1, R) for _ in range(len(signals) + 1)]
    vk_x = (ic[0] + sum(s * i for s, i in zip(signals, ic[1:], strict=True))) % R
    c = (a * b - alpha * beta - vk_x * gamma) * pow(delta, -1, R) % R
    g1, g2 = G1.generator, G2.generator
    vk = VerifyingKey(
        alpha1=G1.affine_mul(g1, alpha),
        beta2=G2.affine_mul(g2, beta),
        gamma2=G2.affine_mul(g2, gamma),
        delta2=G2.affine_mul(g2, delta),
        ic=tuple(G1.affine_mul(g1, i) for i in ic),
    )
    return vk, Proof(G1.affine_mul(g1, a), G2.affine_mul(g2, b), G1.affine_mul(g1, c))


class Recorder:
    """Stands in for the extension module and records which of its functions are called."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str):
        target = getattr(self.inner, name)

        def call(*args):
            self.calls.append(name)
            return target(*args)

        return call


def test_verify_runs_on_the_selected_engine(verifier_engine, monkeypatch):
    rng = random.Random(12)
    signals = [rng.randrange(R) for _ in range(3)]
    vk, proof = synthetic_proof(rng, signals)
    recorder = Recorder(native)
    monkeypatch.setattr(cpu, "_native", recorder)
    assert verifier.verify(vk, signals, proof)
    if verifier_engine == "native":
        assert recorder.calls == ["g2_in_subgroup", "msm_g1", "pairing_product_is_one"]
    else:
        assert recorder.calls == []
    assert not verifier.verify(vk, [signals[0], signals[1], (signals[2] + 1) % R], proof)


@needs_native
def test_verify_with_many_public_inputs_and_infinity():
    # vk_x through the native MSM, including zero signals and an IC point at infinity
    rng = random.Random(13)
    signals = [rng.randrange(R) for _ in range(40)]
    signals[3] = 0
    ic = [rng.randrange(1, R) for _ in range(41)]
    ic[5] = 0
    vk, proof = synthetic_proof(rng, signals, ic)
    assert vk.ic[5] is None
    assert verifier.verify(vk, signals, proof)
    assert not verifier.verify(vk, [*signals[:-1], (signals[-1] + 1) % R], proof)
