"""Each technique of the native MSM (issue #19) against independent references.

``_native.msm_g1/g2`` take the techniques as flags (signed digits, batch-affine buckets, the
endomorphism: GLV on G1, psi on G2) and an optional forced window, so every combination is
checked here, not just the default the backend picks. References: the Python curve code for the
closed form of an MSM over bases with known discrete logs in (start, step) (start + i*step from
the native series, with some replaced by infinity, repeats and negations), and the endomorphism
constants derived afresh from the curve's parameters.
"""

from __future__ import annotations

import secrets

import numpy as np
import pytest

from prover.field.arrays import fr_vector, g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FQ_MODULUS as Q
from prover.field.bn254 import FR_MODULUS as R
from prover.field.curve import G1, G2
from prover.groth16.phase2 import _GLV_V1, _GLV_V2, GLV_LAMBDA

cpu = pytest.importorskip("prover.backend.cpu")
_OK, _WHY = cpu.CpuBackend.available()
pytestmark = pytest.mark.skipif(not _OK, reason=f"native CPU backend not built: {_WHY}")
if _OK:
    from prover.backend import _native


@pytest.fixture(params=["ifma", "scalar"])
def flush_path(request, monkeypatch):
    """The batched affine flush on AVX-512 IFMA (msm_ifma.h, G1 and G2) where this build and CPU
    have it, and the scalar one (ZKPROVER_NO_IFMA=1, read when an MSM starts)."""
    if request.param == "ifma":
        monkeypatch.delenv("ZKPROVER_NO_IFMA", raising=False)
        if not (_native.IFMA_COMPILED and _native.scale_g1_glv_path() == "ifma"):
            pytest.skip("IFMA not compiled in or not supported by this CPU")
    else:
        monkeypatch.setenv("ZKPROVER_NO_IFMA", "1")
    return request.param


BN_X = 4965661367192848881  # the BN254 seed: q = 36x^4 + 36x^3 + 24x^2 + 6x + 1
PSI_EIGEN = 6 * BN_X * BN_X  # q mod r, the eigenvalue of psi on G2
ALL_FLAGS = list(range(8))  # every subset of MSM_SIGNED | MSM_AFFINE | MSM_ENDO


def test_endomorphism_constants():
    assert Q == 36 * BN_X**4 + 36 * BN_X**3 + 24 * BN_X**2 + 6 * BN_X + 1
    assert Q % R == PSI_EIGEN and PSI_EIGEN < 2**127
    assert pow(GLV_LAMBDA, 3, R) == 1 and GLV_LAMBDA != 1
    (a1, b1), (a2, b2) = _GLV_V1, _GLV_V2
    assert (a1 + b1 * GLV_LAMBDA) % R == 0 and (a2 + b2 * GLV_LAMBDA) % R == 0
    assert a1 * b2 - a2 * b1 == R  # a basis of the whole lattice, not a sublattice
    assert max(abs(v) for v in (a1, b1, a2, b2)) < 2**128
    # psi = untwist-Frobenius-twist acts as q mod r on G2 (checked with the Python curve code)
    xi = (9, 1)

    def f2pow(a, e):
        out = (1, 0)
        while e:
            if e & 1:
                out = _fq2_mul(out, a)
            a, e = _fq2_mul(a, a), e >> 1
        return out

    gx, gy = f2pow(xi, (Q - 1) // 3), f2pow(xi, (Q - 1) // 2)
    g = G2.affine_mul(G2.generator, secrets.randbelow(R))
    psi = (_fq2_mul((g[0][0], -g[0][1] % Q), gx), _fq2_mul((g[1][0], -g[1][1] % Q), gy))
    assert psi == G2.affine_mul(g, PSI_EIGEN)


def _fq2_mul(a, b):
    return ((a[0] * b[0] - a[1] * b[1]) % Q, (a[0] * b[1] + a[1] * b[0]) % Q)


def _split(g2: bool, ks: list[int]) -> list[tuple[int, int]]:
    halves = np.zeros((len(ks), 2, 4), dtype=np.uint64)
    signs = np.zeros((len(ks), 2), dtype=np.uint8)
    assert _native.glv_split(g2, fr_vector(ks), halves, signs)
    out = []
    for h, s in zip(halves, signs, strict=True):
        v = [int.from_bytes(h[j].tobytes(), "little") * (-1 if s[j] else 1) for j in (0, 1)]
        out.append((v[0], v[1]))
    return out


@pytest.mark.parametrize("g2", [False, True], ids=["glv_g1", "psi_g2"])
def test_split_recombines_below_2_128(g2):
    m = PSI_EIGEN if g2 else GLV_LAMBDA
    edge = [0, 1, 2, R - 1, R - 2, (R - 1) // 2, m, m - 1, m + 1, R - m, 2**127, 2**128, 2**253, R - 2**128]
    ks = edge + [secrets.randbelow(R) for _ in range(3000)]
    for k, (k1, k2) in zip(ks, _split(g2, ks), strict=True):
        assert (k1 + k2 * m - k) % R == 0, k
        assert abs(k1) < 2**128 and abs(k2) < 2**128, k


def test_split_rejects_mismatched_buffers():
    with pytest.raises(ValueError, match="glv_split"):
        _native.glv_split(False, fr_vector([1, 2]), np.zeros((1, 2, 4), dtype=np.uint64), np.zeros((2, 2), np.uint8))


# --- MSM paths against closed forms ---------------------------------------------------------
class Bases:
    """n bases a_i * start + b_i * step with (a_i, b_i) known: the native series, then
    infinity, repeats and negations planted; an MSM's value is (sum s a) start + (sum s b) step."""

    def __init__(self, group: str, n: int, plant: bool) -> None:
        self.group, self.Gp = group, (G1 if group == "g1" else G2)
        self.start = self.Gp.affine_mul(self.Gp.generator, secrets.randbelow(R))
        self.step = self.Gp.affine_mul(self.Gp.generator, secrets.randbelow(R))
        self.arr = cpu.point_series(group, self.start, self.step, n, threads=2)
        self.coef = [(1, i) for i in range(n)]
        if plant:
            decode, encode = (g1_points, g1_array) if group == "g1" else (g2_points, g2_array)
            for i in range(0, n, 97):  # points at infinity
                self.arr[i] = 0
                self.coef[i] = (0, 0)
            for i in range(5, n - 1, 89):  # P and -P
                if self.coef[i] == (0, 0):
                    continue
                self.arr[i + 1] = encode([self.Gp.affine_neg(decode(self.arr[i : i + 1])[0])])[0]
                self.coef[i + 1] = (-self.coef[i][0], -self.coef[i][1])
            for i in range(7, n, 13):  # repeated points (also in the same window bucket)
                self.arr[i] = self.arr[1]
                self.coef[i] = self.coef[1]

    def expected(self, scalars: list[int]):
        s0 = sum(s * a for s, (a, _) in zip(scalars, self.coef, strict=True)) % R
        s1 = sum(s * b for s, (_, b) in zip(scalars, self.coef, strict=True)) % R
        return self.Gp.affine_add(self.Gp.affine_mul(self.start, s0), self.Gp.affine_mul(self.step, s1))

    def msm(self, scalars: np.ndarray, flags: int, c: int):
        fn = _native.msm_g1 if self.group == "g1" else _native.msm_g2
        raw = fn(self.arr, scalars, 2, flags, c)
        if raw is None:
            return None
        v = [int.from_bytes(raw[i : i + 32], "little") for i in range(0, len(raw), 32)]
        return (v[0], v[1]) if self.group == "g1" else ((v[0], v[1]), (v[2], v[3]))


def _mixed_scalars(n: int) -> list[int]:
    """Every adversarial kind in one vector: random, 0, 1, r-1, small, one repeated value, the
    endomorphism eigenvalues and their neighbours."""
    pool = [0, 1, R - 1, 2, GLV_LAMBDA, GLV_LAMBDA + 1, PSI_EIGEN, R - PSI_EIGEN, 2**128 - 1]
    rep = secrets.randbelow(R)
    out = []
    for i in range(n):
        k = i % 4
        out.append(secrets.randbelow(R) if k == 0 else secrets.choice(pool) if k == 1 else rep if k == 2 else i)
    return out


@pytest.fixture(scope="module", params=["g1", "g2"])
def planted(request):
    return Bases(request.param, 3001 if request.param == "g1" else 1201, plant=True)


@pytest.mark.parametrize("c", [0, 12], ids=["auto", "c12-affine"])
@pytest.mark.parametrize("flags", ALL_FLAGS)
def test_every_technique_on_adversarial_bases(planted, flags, c, flush_path):
    """Infinity, repeats and P/-P among the bases; c = 12 forces 2048+ buckets, the affine path
    with in-batch collisions and doublings in a bucket."""
    scalars = _mixed_scalars(len(planted.coef))
    assert planted.msm(fr_vector(scalars), flags, c) == planted.expected(scalars)


def _unreduced(n: int) -> tuple[np.ndarray, list[int]]:
    vals = [R, R + 1, 2**256 - 1, 2 * R - 1] * (n // 4) + [R + 5] * (n % 4)
    arr = np.array([[(v >> (64 * j)) & (2**64 - 1) for j in range(4)] for v in vals], dtype=np.uint64)
    return arr, [v % R for v in vals]


KINDS = {
    "all-equal": lambda n: [secrets.randbelow(R)] * n,
    "all-zero": lambda n: [0] * n,
    "one-nonzero": lambda n: [0] * (n // 2) + [secrets.randbelow(R)] + [0] * (n - n // 2 - 1),
    "all-r-1": lambda n: [R - 1] * n,
    "witness-like": lambda n: [secrets.choice([0, 1, 1, 2, R - 1, secrets.randbelow(1 << 20)]) for _ in range(n)],
}


@pytest.mark.parametrize("kind", [*KINDS, "unreduced"])
@pytest.mark.parametrize("flags", [0, 7, -1], ids=["plain", "all", "default"])
@pytest.mark.parametrize("group", ["g1", "g2"])
def test_scalar_kinds(group, kind, flags, flush_path):
    b = Bases(group, 1503 if group == "g1" else 601, plant=False)  # odd sizes, not powers of two
    n = len(b.coef)
    if kind == "unreduced":  # scalars >= r are reduced first
        arr, scalars = _unreduced(n)
    else:
        scalars = KINDS[kind](n)
        arr = fr_vector(scalars)
    for c in (0, 12):
        assert b.msm(arr, flags, c) == b.expected(scalars), c


def test_default_takes_the_endomorphism_at_size():
    """n >= 4096 takes GLV by default: still equal to the plain path on random scalars."""
    b = Bases("g1", 4099, plant=False)
    s = fr_vector([secrets.randbelow(R) for _ in range(4099)])
    assert b.msm(s, -1, 0) == b.msm(s, 0, 0) == b.msm(s, _native.MSM_ENDO | _native.MSM_SIGNED, 0)


def test_window_out_of_range_is_refused():
    b = g1_array([G1.generator])
    with pytest.raises(ValueError, match="window bits 21"):
        _native.msm_g1(b, fr_vector([1]), 1, -1, 21)
    with pytest.raises(ValueError, match="window bits -1"):
        _native.msm_g1(b, fr_vector([1]), 1, -1, -1)


# --- precomputed multiples of fixed bases ---------------------------------------------------
def _table_msm(b: Bases, scalars: np.ndarray, flags: int, c: int, tw: int):
    g2 = b.group == "g2"
    m = len(b.coef) * (2 if flags & _native.MSM_ENDO else 1)
    table = np.empty((tw * m, *b.arr.shape[1:]), dtype=np.uint64)
    _native.msm_table_build(g2, b.arr, flags, c, tw, 2, table)
    raw = _native.msm_with_table(g2, table, scalars, 2, flags, c, tw)
    if raw is None:
        return None
    v = [int.from_bytes(raw[i : i + 32], "little") for i in range(0, len(raw), 32)]
    return (v[0], v[1]) if not g2 else ((v[0], v[1]), (v[2], v[3]))


@pytest.mark.parametrize(
    ("flags", "c", "tw"),
    [(0, 5, 2), (3, 12, 3), (7, 12, 11), (7, 7, 64), (_native.MSM_ENDO if _OK else 4, 9, 4)],
    ids=["plain-2rows", "signed-affine-3rows", "all-11rows", "all-every-window", "endo-xyzz-4rows"],
)
def test_precomputed_table_matches(planted, flags, c, tw):
    """Rows of 2^(k c j) multiples (endomorphism images too): one pass covers tw windows; tw above
    the window count leaves a single pass."""
    scalars = _mixed_scalars(len(planted.coef))
    assert _table_msm(planted, fr_vector(scalars), flags, c, tw) == planted.expected(scalars)


def test_precomputed_table_refuses_mismatches():
    b = g1_array([G1.generator, G1.generator])
    table = np.empty((4, 2, 4), dtype=np.uint64)
    with pytest.raises(ValueError, match="exactly the table's points"):
        _native.msm_table_build(False, b, 0, 8, 3, 1, table)
    with pytest.raises(ValueError, match="c 0"):
        _native.msm_table_build(False, b, 0, 0, 2, 1, table)
    _native.msm_table_build(False, b, 0, 8, 2, 1, table)
    with pytest.raises(ValueError, match="do not match"):
        _native.msm_with_table(False, table, fr_vector([1, 2, 3]), 1, 0, 8, 2)
    with pytest.raises(ValueError, match="flags -1"):
        _native.msm_with_table(False, table, fr_vector([1, 2]), 1, -1, 8, 2)
