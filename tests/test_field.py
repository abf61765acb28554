"""BN254 constants, roots of unity and array encodings."""

from __future__ import annotations

import random

import numpy as np
import pytest
from py_ecc import bn128, optimized_bn128

from prover.field.arrays import check_fr_vector, fr_ints, fr_vector, g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, G1_GENERATOR, G2_GENERATOR, root_of_unity
from prover.field.curve import G1, G2, FixedBase, batch_to_affine


def test_curve_constants_match_py_ecc():
    """The constants' agreement with an independent copy of the curve (py_ecc). This used to run
    at every import of prover.field.bn254 and prover.field.curve (~0.1 s of each `zkprover
    prove`); the constants are literals, so checking them once per test run finds the same typo."""
    assert (bn128.field_modulus, bn128.curve_order) == (FQ_MODULUS, FR_MODULUS)
    assert (bn128.G1[0].n, bn128.G1[1].n) == G1_GENERATOR
    assert tuple(tuple(int(v) for v in c.coeffs) for c in bn128.G2) == G2_GENERATOR
    assert G2.b == tuple(int(v) for v in optimized_bn128.b2.coeffs)
    assert G1.b == bn128.b.n


@pytest.mark.parametrize("k", [0, 1, 2, 10, 16, 28])
def test_roots_of_unity_are_primitive(k):
    w = root_of_unity(k)
    assert pow(w, 1 << k, FR_MODULUS) == 1
    if k:
        assert pow(w, 1 << (k - 1), FR_MODULUS) == FR_MODULUS - 1


def test_root_of_unity_matches_ffjavascript_generator():
    # ffjavascript: nqr 5, w_28 = 5^((r-1)/2^28); squaring walks down the table.
    assert root_of_unity(28) == pow(5, (FR_MODULUS - 1) >> 28, FR_MODULUS)
    assert pow(root_of_unity(20), 2, FR_MODULUS) == root_of_unity(19)
    with pytest.raises(ValueError):
        root_of_unity(29)


def test_group_arithmetic_matches_py_ecc():
    rng = random.Random(1)
    for _ in range(3):
        k = rng.randrange(FR_MODULUS)
        ref = bn128.multiply(bn128.G1, k)
        assert G1.affine_mul(G1.generator, k) == (ref[0].n, ref[1].n)
        ref2 = bn128.multiply(bn128.G2, k)
        assert G2.affine_mul(G2.generator, k) == (
            (ref2[0].coeffs[0], ref2[0].coeffs[1]),
            (ref2[1].coeffs[0], ref2[1].coeffs[1]),
        )
    p = G1.affine_mul(G1.generator, 5)
    assert G1.affine_add(p, G1.affine_neg(p)) is None
    assert G1.affine_add(p, p) == G1.affine_mul(G1.generator, 10)
    assert G1.affine_add(None, p) == p


def test_fixed_base_and_batch_affine():
    fb = FixedBase(G1, G1.generator, window=4)
    ks = [0, 1, 2, FR_MODULUS - 1, 12345678901234567890]
    assert fb.batch(ks) == [G1.affine_mul(G1.generator, k) for k in ks]
    pts = [G2.mul(G2.from_affine(G2.generator), k) for k in (3, 0, 7)]
    assert batch_to_affine(G2, pts) == [G2.to_affine(p) for p in pts]


def test_array_round_trips():
    vals = [0, 1, FR_MODULUS - 1, 2**200 + 17]
    arr = fr_vector(vals)
    assert arr.shape == (4, 4) and arr.dtype == np.uint64
    assert fr_ints(arr) == vals
    pts = [None, G1.generator, G1.affine_mul(G1.generator, 99)]
    assert g1_points(g1_array(pts)) == pts
    pts2 = [G2.generator, None]
    assert g2_points(g2_array(pts2)) == pts2
    # infinity is all-zero bytes (the .zkey convention)
    assert not g1_array([None]).any()


def test_check_fr_vector_rejects_unreduced():
    arr = fr_vector([1, 2])
    arr[1] = np.array([(FR_MODULUS >> (64 * i)) & (2**64 - 1) for i in range(4)], dtype=np.uint64)
    with pytest.raises(ValueError, match="not reduced"):
        check_fr_vector(arr, "x")
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        check_fr_vector(np.zeros((3, 3), dtype=np.uint64), "x")
