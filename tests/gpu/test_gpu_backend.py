"""GPU backend parity tests: on a CUDA device with CuPy, else with the same kernels emulated on
the CPU (``kernels.emulator``, sizes capped at 2^12; see tests/gpu/helpers.py, gpu_test_mode).

Every test draws fresh random inputs and runs the backend with poisoned outputs (fresh device
buffers filled with 0xff bytes, which is no field element), so an element a kernel never writes
fails parity instead of passing as a lucky zero. References: the native CPU backend when built,
else the pure-Python backend, and for small sizes a naive DFT / Python integers.

Run them all (with the benchmarks) through ``python bench/gpu_harness.py``; alone:
``python -m pytest -m gpu tests/gpu``. The 2^16..2^24 NTTs are also marked ``slow``.
"""

from __future__ import annotations

import secrets

import numpy as np
import pytest

from prover.backend.interface import BackendError
from prover.backend.python_backend import PythonBackend, ntt_ints
from prover.field.arrays import fr_ints, fr_vector, g1_points
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, root_of_unity
from tests.gpu.helpers import (
    EMULATED_MAX_LOG,
    gpu_backend_class,
    rand_fr_array,
    sizes,
    synthetic_key,
    synthetic_witness,
)

pytestmark = pytest.mark.gpu
P = FR_MODULUS
POISON = np.uint64(0xFFFFFFFFFFFFFFFF)


@pytest.fixture(scope="module")
def gpu():
    return gpu_backend_class()(poison=True)


@pytest.fixture(scope="module")
def ref():
    from prover.backend.cpu import CpuBackend

    return CpuBackend() if CpuBackend.available()[0] else PythonBackend()


@pytest.fixture
def rng():
    return np.random.default_rng(secrets.randbits(64))


def naive_dft(coeffs: list[int], coset: int = 1) -> list[int]:
    n = len(coeffs)
    w = root_of_unity(n.bit_length() - 1)
    return [sum(c * pow(coset * pow(w, i, P), j, P) for j, c in enumerate(coeffs)) % P for i in range(n)]


def assert_no_poison(out: np.ndarray) -> None:
    bad = np.nonzero((out == POISON).all(axis=-1))[0]
    assert len(bad) == 0, f"{len(bad)} elements never written, first at {bad[:8].tolist()}"


# --- field arithmetic (kernels/field_ops.cu) ---------------------------------------------------
@pytest.mark.parametrize("field", ["fr", "fq", "fq2"])
def test_field_ops_match_python(gpu, field, rng):
    cupy = gpu.engine.ops.xp  # CuPy, or the emulator's stand-in
    fn = gpu.engine.ops.load("field_ops").get_function(f"{field}_binop")
    p = FQ_MODULUS if field != "fr" else P
    words = 8 if field == "fq2" else 4
    count = 4099  # not a multiple of the block size
    edge = [0, 1, p - 1, p - 2, (1 << 256) % p, (p - 1) // 2]
    ints = [[secrets.randbelow(p) for _ in range(count * words // 4)] for _ in range(2)]
    for i, e in enumerate(edge):
        ints[0][i], ints[1][-1 - i] = e, e
    mont = [[v * (1 << 256) % p for v in x] for x in ints]
    host = [
        np.frombuffer(b"".join(v.to_bytes(32, "little") for v in x), dtype="<u8").reshape(count, words) for x in mont
    ]
    a, b = (cupy.asarray(h) for h in host)
    rinv = pow(1 << 256, -1, p)
    for op in range(4):
        out = cupy.full((count, words), POISON, dtype=cupy.uint64)
        fn(((count + 127) // 128,), (128,), (a, b, out, np.uint64(count), np.uint32(op)))
        got = [v * rinv % p for v in fr_ints(cupy.asnumpy(out).reshape(-1, 4))]
        x, y = ints
        if field == "fq2":
            exp = []
            for i in range(0, len(x), 2):
                a0, a1, b0, b1 = x[i], x[i + 1], y[i], y[i + 1]
                if op == 0:
                    exp += [(a0 + b0) % p, (a1 + b1) % p]
                elif op == 1:
                    exp += [(a0 - b0) % p, (a1 - b1) % p]
                elif op == 2:
                    exp += [(a0 * b0 - a1 * b1) % p, (a0 * b1 + a1 * b0) % p]
                else:
                    exp += [(a0 * a0 - a1 * a1) % p, 2 * a0 * a1 % p]
        else:
            f = [lambda u, v: u + v, lambda u, v: u - v, lambda u, v: u * v, lambda u, v: u * u][op]
            exp = [f(u, v) % p for u, v in zip(x, y, strict=True)]
        assert got == exp, f"{field} op {op}"


# --- NTT ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("log_n", range(0, 13))
@pytest.mark.parametrize("mode", ["forward", "inverse", "coset", "coset_inverse"])
def test_ntt_small(gpu, ref, rng, log_n, mode):
    n = 1 << log_n
    x = rand_fr_array(n, rng)
    before = x.copy()
    g = root_of_unity(log_n + 1) if mode.startswith("coset") else None
    inverse = mode.endswith("inverse")
    out = gpu.ntt(x, inverse=inverse, coset=g)
    assert np.array_equal(x, before), "input modified"
    assert_no_poison(out)
    assert np.array_equal(out, ref.ntt(x, inverse=inverse, coset=g))
    if log_n <= 5:
        ints = fr_ints(x)
        exp = naive_dft(ints, g or 1) if not inverse else ntt_ints(ints, inverse=True, coset=g)
        assert fr_ints(out) == exp


def horner(coeffs: list[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % P
    return acc


@pytest.mark.slow
@pytest.mark.parametrize("log_n", sizes([16, 20, 24], [EMULATED_MAX_LOG]))
def test_ntt_large(gpu, ref, rng, log_n):
    n = 1 << log_n
    x = rand_fr_array(n, rng)
    g = root_of_unity(log_n + 1)
    fwd = gpu.ntt(x)
    assert_no_poison(fwd)
    coset = gpu.ntt(x, coset=g)
    assert_no_poison(coset)
    if not isinstance(ref, PythonBackend):
        assert np.array_equal(fwd, ref.ntt(x))
        assert np.array_equal(coset, ref.ntt(x, coset=g))
    else:
        # without the native backend a Python NTT of 2^24 takes too long: evaluate the
        # polynomial at a few points instead (Horner), the round trips below do the rest
        coeffs = fr_ints(x)
        w = root_of_unity(log_n)
        for i in (1, n - 1):
            assert fr_ints(fwd[i : i + 1]) == [horner(coeffs, pow(w, i, P))]
            assert fr_ints(coset[i : i + 1]) == [horner(coeffs, g * pow(w, i, P) % P)]
    assert np.array_equal(gpu.ntt(coset, inverse=True, coset=g), x)
    assert np.array_equal(gpu.ntt(fwd, inverse=True), x)


def test_ntt_rejects_sizes_that_are_not_powers_of_two(gpu):
    for n in (3, 5, 6, 1000, 1025):
        with pytest.raises(BackendError, match="not a power of two"):
            gpu.ntt(np.zeros((n, 4), dtype=np.uint64))


# --- H step and proofs ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chain():
    from circuits.examples import cube_chain
    from prover.groth16.setup import setup

    circuit = cube_chain(150)  # 365 constraints: domain 512, rows past the constraints padded
    pk = setup(circuit.r1cs, name=circuit.name)
    return circuit, pk


def test_quotient_matches_cpu_on_a_real_key(gpu, ref, chain):
    circuit, pk = chain
    for x in (3, secrets.randbelow(P)):
        w = fr_vector(circuit.witness({"x": x, "key": secrets.randbits(64)}))
        res = gpu.load_key(pk.arrays)
        try:
            h = gpu.quotient_evaluations(res, w)
        finally:
            gpu.release_key(res)
        assert_no_poison(h)
        assert np.array_equal(h, ref.quotient_evaluations(ref.load_key(pk.arrays), w))


@pytest.mark.parametrize("log_n", sizes([1, 4, 10, 16], [1, 4, 10, EMULATED_MAX_LOG]))
def test_quotient_matches_cpu_on_synthetic_keys(gpu, ref, rng, log_n):
    key = synthetic_key(log_n, rng)
    res = gpu.load_key(key)
    try:
        for _ in range(2):  # the resident buffers are reused by the second witness
            w = synthetic_witness(key, rng)
            h = gpu.quotient_evaluations(res, w)
            assert_no_poison(h)
            assert np.array_equal(h, ref.quotient_evaluations(ref.load_key(key), w))
    finally:
        gpu.release_key(res)


def test_full_proof_verifies(gpu, chain):
    from prover.groth16.prover import prove
    from prover.groth16.verifier import verify

    circuit, pk = chain
    res = gpu.load_key(pk.arrays)
    try:
        for x in (5, 6):  # two proofs on one resident key
            w = circuit.witness({"x": x, "key": 99})
            out = prove(pk, w, gpu, resident=res, r1cs=circuit.r1cs)
            assert verify(pk.vk, out.public_signals, out.proof)
    finally:
        gpu.release_key(res)


def test_resident_key_is_shared_and_freed(gpu, chain):
    _, pk = chain
    r1 = gpu.load_key(pk.arrays)
    r2 = gpu.load_key(pk.arrays)
    assert r1 is r2 and gpu.resident_keys()[r1.digest] == 2
    gpu.release_key(r1)
    assert gpu.resident_keys()[r1.digest] == 1
    gpu.release_key(r2)
    assert r1.digest not in gpu.resident_keys()
    assert r1.a_query.device is None and not r1.private
    with pytest.raises(BackendError, match="released"):
        gpu.quotient_evaluations(r1, fr_vector([1] * pk.n_vars))


def test_msm_through_resident_handles(gpu, ref, chain, rng):
    """MSMs (on the CPU until part 2) take the resident handles; odd lengths included."""
    _, pk = chain
    res = gpu.load_key(pk.arrays)
    try:
        n = pk.n_vars
        s = rand_fr_array(n, rng)
        assert gpu.msm_g1(res.a_query, s) == ref.msm_g1(pk.arrays.a_query, s)
        assert gpu.msm_g2(res.b2_query, s) == ref.msm_g2(pk.arrays.b2_query, s)
        k = len(res.c_query) - 1  # any length, no power-of-two requirement
        pts = g1_points(pk.arrays.c_query[:k])
        assert gpu.msm_g1(pk.arrays.c_query[:k], s[:k]) == PythonBackend().msm_g1(pts, s[:k])
    finally:
        gpu.release_key(res)


def test_key_too_large_is_a_clear_error(rng):
    small = gpu_backend_class()(poison=True, memory_limit=512 << 20)
    key = synthetic_key(20, rng, terms_per_row=1)  # ~100 MiB of points + 300 MiB of scratch
    with pytest.raises(BackendError, match=r"needs .* GiB|needs .* MiB"):
        small.load_key(key)
    assert small.resident_keys() == {}
