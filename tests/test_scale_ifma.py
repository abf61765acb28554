"""The AVX-512 IFMA path of scale_g1_glv (scale_ifma.c, field_ifma.h): its field operations
against Python integers, its products byte for byte against the scalar path's, and the
ZKPROVER_NO_IFMA switch. Skipped where the extension was built without IFMA or the CPU lacks it
(the scalar path is then the only one, tested by tests/test_phase2.py)."""

from __future__ import annotations

import os
import random
import subprocess
import sys

import numpy as np
import pytest

from prover.backend import cpu
from prover.field.arrays import g1_array
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.field.curve import G1
from prover.groth16 import phase2

P = FQ_MODULUS
R = FR_MODULUS
MUL, ADD, SUB, CANON, IS_ZERO, ROUNDTRIP, SQR = range(7)


def _ifma_usable() -> bool:
    if cpu._native is None or not cpu._native.IFMA_COMPILED:
        return False
    with cpu.ifma_allowed(True):
        return cpu._native.scale_g1_glv_path() == "ifma"


ifma = pytest.mark.skipif(not _ifma_usable(), reason="IFMA not compiled in or not supported by this CPU")


def _arr(values: list[int]) -> np.ndarray:
    return np.array([[(v >> (64 * i)) & (2**64 - 1) for i in range(4)] for v in values], dtype="<u8")


def _ints(a: np.ndarray) -> list[int]:
    return [sum(int(row[i]) << (64 * i) for i in range(4)) for row in a]


def _field(op: int, a: list[int], b: list[int]) -> list[int]:
    out = np.empty((len(a), 4), dtype="<u8")
    assert cpu._native.ifma_field(op, _arr(a), _arr(b), out)
    return _ints(out)


def _operands() -> tuple[list[int], list[int]]:
    """Edge values (0, 1, p - 1, p, near 2p) against each other and random values below 2p; 64
    pairs, a multiple of any lane count."""
    rng = random.Random(7)
    edges = [0, 1, 2, P - 1, P, P + 1, 2 * P - 2, 2 * P - 1]
    a = [x for x in edges for _ in edges] + [rng.randrange(2 * P) for _ in range(64)]
    b = [y for _ in edges for y in edges] + [rng.randrange(2 * P) for _ in range(64)]
    return a, b


@ifma
def test_field_operations_match_python_integers():
    a, b = _operands()
    r_inv = pow(2**260, -1, P)
    for x, y, got in zip(a, b, _field(MUL, a, b), strict=True):
        assert got % P == x * y * r_inv % P and got < 2 * P  # lazy: below 2p, no final subtraction
    for x, got in zip(a, _field(SQR, a, b), strict=True):
        assert got % P == x * x * r_inv % P and got < 2 * P
    assert _field(ADD, a, b) == [x + y for x, y in zip(a, b, strict=True)]
    assert _field(SUB, a, b) == [x - y + 2 * P for x, y in zip(a, b, strict=True)]
    assert _field(CANON, a, b) == [x % P for x in a]
    assert _field(IS_ZERO, a, b) == [int(x % P == 0) for x in a]
    # the lazy inputs the kernel feeds to products (up to 6p by 2p there; 5p is the most that
    # fits this entry point's 256-bit integers) still give products below 2p
    big = [5 * P - 1, 4 * P - 1, 3 * P - 1]
    for x, y, got in zip(big * 8, big[::-1] * 8, _field(MUL, big * 8, big[::-1] * 8), strict=True):
        assert got % P == x * y * r_inv % P and got < 2 * P
    for x, got in zip(big * 8, _field(SQR, big * 8, big * 8), strict=True):
        assert got % P == x * x * r_inv % P and got < 2 * P


@ifma
def test_conversion_round_trip_and_bad_arguments():
    vals = [0, 1, P - 1, 2, 12345] + [random.Random(3).randrange(P) for _ in range(59)]
    assert _field(ROUNDTRIP, vals, vals) == vals
    out = np.empty((6, 4), dtype="<u8")
    # 6 values are not a whole number of vectors; op 99 does not exist
    assert not cpu._native.ifma_field(MUL, _arr([1] * 6), _arr([1] * 6), out)
    out = np.empty((8, 4), dtype="<u8")
    assert not cpu._native.ifma_field(99, _arr([1] * 8), _arr([1] * 8), out)


def _scale(pts: np.ndarray, k: int, no_ifma: bool, nthreads: int = 2) -> np.ndarray:
    k1, k2 = phase2.glv_split(k)
    m1, m2 = (_arr([abs(v)])[0] for v in (k1, k2))
    out = np.empty_like(pts)
    with cpu.ifma_allowed(not no_ifma):
        assert cpu._native.scale_g1_glv_path() == ("scalar" if no_ifma else "ifma")
        cpu._native.scale_g1_glv(pts, m1, k1 < 0, m2, k2 < 0, out, nthreads)
    return out


@ifma
def test_ifma_and_scalar_paths_give_the_same_bytes():
    """More points than one IFMA batch (4096, or n / threads) and not a whole number of vectors, points at
    infinity at several lanes of several vectors and batches, and points off the curve with
    y = 0 (a zero denominator in the first doubling: flagged and redone, as in the scalar path)."""
    start, step = g1_array([G1.affine_mul(G1.generator, 3)]), g1_array([G1.affine_mul(G1.generator, 13)])
    pts = np.empty((4096 + 1021, 2, 4), dtype="<u8")
    cpu._native.series(False, start, step, pts, 2)
    pts[[0, 7, 9, 100, 2047, 2048, 2560, 3000, 4095, 4096, 5116]] = 0
    pts[[5, 2050, 4100], 1] = 0
    rng = random.Random(11)
    for k in (R - 1, 1, 2, 5, phase2.GLV_LAMBDA + 1, phase2.GLV_LAMBDA, 0, rng.randrange(R), rng.randrange(R)):
        want = _scale(pts, k, no_ifma=True)
        got = _scale(pts, k, no_ifma=False)
        assert np.array_equal(got, want), k
    assert not np.any(got[[0, 7, 5116]])  # infinity stays infinity
    assert np.array_equal(_scale(pts, R // 5, no_ifma=False, nthreads=1), _scale(pts, R // 5, no_ifma=True))


@ifma
def test_ifma_path_matches_the_python_curve():
    pts = [G1.affine_mul(G1.generator, 5 + 3 * i) for i in range(11)] + [None]
    arr = g1_array(pts)
    k = R // 3 + 17
    got = _scale(arr, k, no_ifma=False)
    assert np.array_equal(got, g1_array([None if p is None else G1.affine_mul(p, k) for p in pts]))


@pytest.mark.skipif(cpu._native is None, reason="native extension not built")
@pytest.mark.parametrize("value", ["1", "yes"])
def test_no_ifma_environment_variable_selects_the_scalar_path(value):
    code = "from prover.backend import cpu; print(cpu._native.scale_g1_glv_path())"
    env = {**os.environ, "ZKPROVER_NO_IFMA": value}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "scalar"


@ifma
@pytest.mark.parametrize("value", [None, "", "0"])
def test_ifma_path_is_the_default_where_supported(value):
    code = "from prover.backend import cpu; print(cpu._native.scale_g1_glv_path())"
    env = {k: v for k, v in os.environ.items() if k != "ZKPROVER_NO_IFMA"}
    if value is not None:
        env["ZKPROVER_NO_IFMA"] = value
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ifma"


@ifma
@pytest.mark.parametrize("n", [0, 1, 7, 9])
def test_ifma_path_on_fewer_points_than_a_vector_and_k_zero(n):
    """A partial last vector (its padding lanes must not reach the output), more threads than
    points, and k = 0 (no NAF digit: every output is infinity)."""
    pts = g1_array([G1.affine_mul(G1.generator, 3 + i) for i in range(n)])
    for k in (0, 1, R - 1):
        for threads in (1, 5):
            want = _scale(pts, k, no_ifma=True, nthreads=threads)
            assert np.array_equal(_scale(pts, k, no_ifma=False, nthreads=threads), want)
    assert not np.any(_scale(pts, 0, no_ifma=False))
