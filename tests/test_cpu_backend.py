"""Parity tests of the native CPU backend on fresh random inputs.

References are independent of the native code: py_ecc scalar multiplication for small MSMs; for
large ones the bases are a native arithmetic progression start + i*step (itself spot-checked
against the Python curve code), whose MSM has the closed form
(sum s_i) * start + (sum i * s_i) * step, two Python scalar multiplications at any size. NTT:
an O(n^2) DFT at small sizes, point evaluations of the polynomial at 2^15 and 2^16 (large enough
for the cache-blocked and full-pass stages), inverse and coset round trips.
"""

from __future__ import annotations

import secrets

import numpy as np
import pytest
from py_ecc import optimized_bn128 as ref

from prover.backend.interface import COEFF_DTYPE, BackendError, KeyArrays
from prover.backend.python_backend import PythonBackend
from prover.field.arrays import fr_ints, fr_vector, g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FR_MODULUS as P
from prover.field.bn254 import MONT_R, root_of_unity
from prover.field.curve import G1, G2

cpu = pytest.importorskip("prover.backend.cpu")
_OK, _WHY = cpu.CpuBackend.available()
pytestmark = pytest.mark.skipif(not _OK, reason=f"native CPU backend not built: {_WHY}")


@pytest.fixture(scope="module", params=[1, 2], ids=["1thread", "2threads"])
def be(request):
    return cpu.CpuBackend(threads=request.param)


def rand_fr(n: int) -> list[int]:
    return [secrets.randbelow(P) for _ in range(n)]


# --- NTT ------------------------------------------------------------------------------------
def naive_dft(coeffs: list[int], coset: int = 1) -> list[int]:
    n = len(coeffs)
    w = root_of_unity(n.bit_length() - 1)
    return [sum(c * pow(coset * pow(w, i, P), j, P) for j, c in enumerate(coeffs)) % P for i in range(n)]


@pytest.mark.parametrize("n", [1, 2, 4, 8, 32, 128])
@pytest.mark.parametrize("coset", [None, 5, "w2n"])
def test_ntt_matches_dft(be, n, coset):
    g = root_of_unity(n.bit_length()) if coset == "w2n" else coset
    coeffs = rand_fr(n)
    x = fr_vector(coeffs)
    before = x.copy()
    out = be.ntt(x, coset=g)
    assert fr_ints(out) == naive_dft(coeffs, 1 if g is None else g)
    assert np.array_equal(x, before), "input modified"
    assert out is not x and not np.shares_memory(out, x)
    back = be.ntt(out, inverse=True, coset=g)
    assert fr_ints(back) == coeffs


@pytest.mark.parametrize("log_n", [12, 15, 16])
@pytest.mark.parametrize("coset", [None, 7])
def test_ntt_large_points_and_round_trip(be, log_n, coset):
    n = 1 << log_n
    coeffs = rand_fr(n)
    x = fr_vector(coeffs)
    out = be.ntt(x, coset=coset)
    w = root_of_unity(log_n)
    g = 1 if coset is None else coset
    got = fr_ints(out[[0, 1, 2, n // 2 + 3, n - 1]])
    for k, v in zip([0, 1, 2, n // 2 + 3, n - 1], got, strict=True):
        z = g * pow(w, k, P) % P
        acc = 0
        for c in reversed(coeffs):  # Horner
            acc = (acc * z + c) % P
        assert v == acc, f"evaluation {k} of a 2^{log_n} NTT"
    assert np.array_equal(be.ntt(out, inverse=True, coset=coset), x)


def test_ntt_rejects_bad_sizes(be):
    with pytest.raises(BackendError):
        be.ntt(fr_vector([1, 2, 3]))
    with pytest.raises(BackendError):
        be.ntt(np.zeros((0, 4), dtype=np.uint64))


# --- MSM: small sizes against py_ecc --------------------------------------------------------
def _pyecc_g1(p):
    return ref.Z1 if p is None else (ref.FQ(p[0]), ref.FQ(p[1]), ref.FQ.one())


def _pyecc_g2(p):
    return ref.Z2 if p is None else (ref.FQ2(list(p[0])), ref.FQ2(list(p[1])), ref.FQ2.one())


def _from_pyecc_g1(p):
    if ref.is_inf(p):
        return None
    x, y = ref.normalize(p)
    return (int(x), int(y))


def _from_pyecc_g2(p):
    if ref.is_inf(p):
        return None
    x, y = ref.normalize(p)
    return ((int(x.coeffs[0]), int(x.coeffs[1])), (int(y.coeffs[0]), int(y.coeffs[1])))


SMALL_CASES = {
    "random": lambda n: rand_fr(n),
    "zeros": lambda n: [0] * n,
    "r-1": lambda n: [P - 1] * n,
    "small": lambda n: [secrets.randbelow(4) for _ in range(n)],
}


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("case", list(SMALL_CASES))
@pytest.mark.parametrize("group", ["g1", "g2"])
def test_msm_small_against_pyecc(be, n, case, group):
    gen = ref.G1 if group == "g1" else ref.G2
    to_py, from_py = (_pyecc_g1, _from_pyecc_g1) if group == "g1" else (_pyecc_g2, _from_pyecc_g2)
    points = [from_py(ref.multiply(gen, secrets.randbelow(P - 1) + 1)) for _ in range(n)]
    if n == 3:
        points[1] = None  # the point at infinity among real points
    scalars = SMALL_CASES[case](n)
    expected = ref.Z1 if group == "g1" else ref.Z2
    for p, s in zip(points, scalars, strict=True):
        expected = ref.add(expected, ref.multiply(to_py(p), s))
    if group == "g1":
        got = be.msm_g1(g1_array(points), fr_vector(scalars))
    else:
        got = be.msm_g2(g2_array(points), fr_vector(scalars))
    assert got == from_py(expected)


def test_msm_same_point_twice_doubles_in_bucket(be):
    p = G1.affine_mul(G1.generator, secrets.randbelow(P))
    q = G2.affine_mul(G2.generator, secrets.randbelow(P))
    for k in (1, 5, P - 1, secrets.randbelow(P)):
        assert be.msm_g1(g1_array([p, p]), fr_vector([k, k])) == G1.affine_mul(p, 2 * k)
        assert be.msm_g2(g2_array([q, q]), fr_vector([k, k])) == G2.affine_mul(q, 2 * k)
    # P + (-P) lands in one bucket and cancels
    assert be.msm_g1(g1_array([p, G1.affine_neg(p)]), fr_vector([3, 3])) is None


def test_msm_empty_and_size_mismatch(be):
    assert be.msm_g1(np.zeros((0, 2, 4), dtype=np.uint64), np.zeros((0, 4), dtype=np.uint64)) is None
    with pytest.raises(BackendError):
        be.msm_g1(g1_array([G1.generator]), fr_vector([1, 2]))
    with pytest.raises(BackendError):
        be.msm_g2(g1_array([G1.generator]), fr_vector([1]))


# --- MSM: large sizes against the closed form over an arithmetic progression ----------------
def _scalars(n: int, kind: str) -> list[int]:
    if kind == "random":
        return rand_fr(n)
    if kind == "witness-like":  # real witnesses: mostly 0, 1 and short values, some full-size
        pick = [0, 1, 1, 2, P - 1]
        return [
            secrets.choice(pick) if i % 3 == 0 else secrets.randbelow(1 << 20) if i % 3 == 1 else secrets.randbelow(P)
            for i in range(n)
        ]
    if kind == "repeated":
        return [secrets.choice([7, P - 2, 123456789]) for _ in range(n)]
    raise ValueError(kind)


@pytest.mark.parametrize("n", [1000, 3001, 4096])
@pytest.mark.parametrize("kind", ["random", "witness-like", "repeated"])
@pytest.mark.parametrize("group", ["g1", "g2"])
def test_msm_large_closed_form(be, n, kind, group):
    Gp = G1 if group == "g1" else G2
    start = Gp.affine_mul(Gp.generator, secrets.randbelow(P))
    step = Gp.affine_mul(Gp.generator, secrets.randbelow(P))
    bases = cpu.point_series(group, start, step, n, threads=be.threads)
    decode = g1_points if group == "g1" else g2_points
    for i in (0, 1, n // 2, n - 1):  # the series itself, against the Python curve code
        assert decode(bases[i : i + 1])[0] == Gp.affine_add(start, Gp.affine_mul(step, i))
    scalars = _scalars(n, kind)
    holes = set() if n % 2 == 0 else {3, n // 3, n - 1}  # odd sizes also get infinity bases
    for i in holes:
        bases[i] = 0
    s0 = sum(s for i, s in enumerate(scalars) if i not in holes) % P
    s1 = sum(i * s for i, s in enumerate(scalars) if i not in holes) % P
    expected = Gp.affine_add(Gp.affine_mul(start, s0), Gp.affine_mul(step, s1))
    msm = be.msm_g1 if group == "g1" else be.msm_g2
    assert msm(bases, fr_vector(scalars)) == expected


def test_msm_unreduced_scalars_are_reduced(be):
    p = G1.affine_mul(G1.generator, 12345)
    big = (1 << 256) - 1
    s = np.frombuffer(big.to_bytes(32, "little"), dtype="<u8").reshape(1, 4).copy()
    assert be.msm_g1(g1_array([p]), s) == G1.affine_mul(p, big % P)


# --- H step against the pure-Python backend -----------------------------------------------
def quotient_key(log_n: int, n_vars: int = 12, *, shuffle: bool = False, repeat_row: bool = False) -> KeyArrays:
    """A key with random A/B coefficient records (zkey form: coef * R^2), zero points. ``shuffle``
    puts the records in random order (a .zkey need not group them by row); ``repeat_row`` adds
    records that repeat a (matrix, row, signal) already present (they must add up)."""
    n = 1 << log_n
    rng = np.random.default_rng(secrets.randbits(32))
    n_rows = max(1, n - 1)  # leave an all-zero row when there is room
    recs = []
    for m in (0, 1):
        for row in range(n_rows):
            for sig in rng.choice(n_vars, size=int(rng.integers(0, 4)), replace=False):
                recs.append((m, row, int(sig)))
    if repeat_row:
        recs += [recs[int(i)] for i in rng.integers(0, len(recs), size=len(recs) // 3)]
    if shuffle:
        recs = [recs[int(i)] for i in rng.permutation(len(recs))]
    coeffs = np.zeros(len(recs), dtype=COEFF_DTYPE)
    for i, (m, row, sig) in enumerate(recs):
        v = secrets.randbelow(P) * MONT_R * MONT_R % P  # zkey stores coef * R^2
        coeffs[i] = (m, row, sig, np.frombuffer(v.to_bytes(32, "little"), dtype="<u8"))
    z1 = np.zeros((n_vars, 2, 4), dtype=np.uint64)
    return KeyArrays(
        n_vars=n_vars,
        n_public=1,
        domain_size=n,
        a_query=z1,
        b1_query=z1,
        b2_query=np.zeros((n_vars, 2, 2, 4), dtype=np.uint64),
        c_query=z1[: n_vars - 2],
        h_query=np.zeros((n, 2, 4), dtype=np.uint64),
        coeffs=coeffs,
    )


@pytest.mark.parametrize(
    ("log_n", "shuffle", "repeat_row"),
    [(0, False, False), (1, False, False), (3, False, False), (6, False, False), (13, False, False),
     (6, True, False), (8, True, True)],
)  # fmt: skip
def test_quotient_matches_python_backend(be, log_n, shuffle, repeat_row):
    key = quotient_key(log_n, shuffle=shuffle, repeat_row=repeat_row)
    witness = fr_vector([1, *rand_fr(key.n_vars - 1)])
    resident = be.load_key(key)
    got = be.quotient_evaluations(resident, witness)
    py = PythonBackend()
    expected = py.quotient_evaluations(py.load_key(key), witness)
    assert np.array_equal(got, expected)
    with pytest.raises(BackendError):
        be.quotient_evaluations(resident, witness[:-1])


def test_load_key_reads_records_in_place(be):
    """The resident key holds the coefficient records themselves, not a copy of them."""
    key = quotient_key(4)
    resident = be.load_key(key)
    assert np.shares_memory(resident.private["records"], key.coeffs)


def test_resident_digest_is_hashed_on_first_read(be):
    """Loading a key does not hash it (a one-shot proof never needs the digest); reading it does."""
    key = quotient_key(4)
    resident = be.load_key(key)
    assert resident.known_digest is None
    assert resident.digest == key.digest() and resident.known_digest == key.digest()


@pytest.mark.parametrize(("field", "value"), [("matrix", 2), ("constraint", 16), ("signal", 12)])
def test_load_key_rejects_out_of_range_records(be, field, value):
    key = quotient_key(4)
    key.coeffs[len(key.coeffs) // 2][field] = value
    with pytest.raises(BackendError, match=f"record {len(key.coeffs) // 2} "):
        be.load_key(key)


def test_missing_extension_reports_why(monkeypatch):
    """Without the compiled module the backend says so (the selection then falls back)."""
    monkeypatch.setattr(cpu, "_native", None)
    monkeypatch.setattr(cpu, "_IMPORT_ERROR", "No module named 'prover.backend._native'")
    ok, why = cpu.CpuBackend.available()
    assert not ok and "_native" in why
    with pytest.raises(BackendError):
        cpu.CpuBackend()


def test_available_and_threads_env(monkeypatch):
    ok, why = cpu.CpuBackend.available()
    assert ok and "native" in why
    monkeypatch.setenv("ZKPROVER_THREADS", "3")
    assert cpu.CpuBackend().threads == 3
    monkeypatch.setenv("ZKPROVER_THREADS", "zero")
    with pytest.raises(BackendError):
        cpu.CpuBackend()
