"""Every backend against the naive definitions, on the same fresh random inputs: NTT against an
O(n^2) DFT, MSM against a sum of scalar multiplications. Small sizes: the pure-Python backend is
in the set; the native backend's larger parity tests live in test_cpu_backend.py."""

from __future__ import annotations

import secrets

import numpy as np
import pytest

from prover.backend.interface import Backend, BackendError
from prover.backend.python_backend import PythonBackend
from prover.field.arrays import fr_ints, fr_vector, g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FR_MODULUS as P
from prover.field.bn254 import root_of_unity
from prover.field.curve import G1, G2


def _backends() -> list:
    params = [pytest.param(PythonBackend, id="python")]
    try:
        from prover.backend.cpu import CpuBackend

        ok, why = CpuBackend.available()
        params.append(pytest.param(CpuBackend, id="cpu", marks=[] if ok else pytest.mark.skip(reason=why)))
    except ImportError as exc:
        params.append(pytest.param(None, id="cpu", marks=pytest.mark.skip(reason=str(exc))))
    # resolved when the test runs: GpuBackend on a device, EmulatedGpuBackend elsewhere
    params.append(pytest.param("gpu", id="gpu", marks=pytest.mark.gpu))
    return params


@pytest.fixture(params=_backends())
def backend(request) -> Backend:
    if request.param == "gpu":
        from tests.gpu.helpers import gpu_backend_class

        return gpu_backend_class()()
    return request.param()


def naive_dft(coeffs: list[int], coset: int = 1) -> list[int]:
    n = len(coeffs)
    w = root_of_unity(n.bit_length() - 1)
    return [sum(c * pow(coset * pow(w, i, P), j, P) for j, c in enumerate(coeffs)) % P for i in range(n)]


def rand_fr(n: int) -> list[int]:
    return [secrets.randbelow(P) for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 4, 8, 64])
def test_ntt_matches_dft(backend, n):
    coeffs = rand_fr(n)
    x = fr_vector(coeffs)
    before = x.copy()
    out = backend.ntt(x)
    assert fr_ints(out) == naive_dft(coeffs)
    assert np.array_equal(x, before), "the input must not be modified"
    assert fr_ints(backend.ntt(out, inverse=True)) == coeffs


@pytest.mark.parametrize("n", [2, 16])
def test_coset_ntt_matches_dft(backend, n):
    coeffs = rand_fr(n)
    g = root_of_unity(n.bit_length())  # the prover's shift: w_2n
    out = backend.ntt(fr_vector(coeffs), coset=g)
    assert fr_ints(out) == naive_dft(coeffs, coset=g)
    assert fr_ints(backend.ntt(out, inverse=True, coset=g)) == coeffs


def test_ntt_rejects_non_power_of_two(backend):
    with pytest.raises(BackendError, match="power of two"):
        backend.ntt(fr_vector([1, 2, 3]))


def _points(group, n, with_infinity=True):
    pts = [group.affine_mul(group.generator, secrets.randbelow(P)) for _ in range(n)]
    if with_infinity and n > 1:
        pts[n // 2] = None
    return pts


def _naive_msm(group, pts, scalars):
    return group.affine_add(*(group.affine_mul(p, k) for p, k in zip(pts, scalars, strict=True) if p is not None))


@pytest.mark.parametrize("n", [1, 2, 3, 37])
def test_msm_g1_matches_naive(backend, n):
    pts = _points(G1, n)
    scalars = rand_fr(n)
    if n > 2:
        scalars[0] = 0
        scalars[1] = 1
        scalars[2] = P - 1
    assert backend.msm_g1(g1_array(pts), fr_vector(scalars)) == _naive_msm(G1, pts, scalars)


@pytest.mark.parametrize("n", [1, 3, 9])
def test_msm_g2_matches_naive(backend, n):
    pts = _points(G2, n)
    scalars = rand_fr(n)
    scalars[0] = 0 if n > 1 else scalars[0]
    assert backend.msm_g2(g2_array(pts), fr_vector(scalars)) == _naive_msm(G2, pts, scalars)


def test_msm_small_and_repeated_scalars(backend):
    pts = _points(G1, 40, with_infinity=False)
    scalars = [i % 3 for i in range(40)]  # witness-like: 0, 1, 2 repeating
    assert backend.msm_g1(g1_array(pts), fr_vector(scalars)) == _naive_msm(G1, pts, scalars)


def test_msm_all_zero_and_cancelling(backend):
    p = G1.affine_mul(G1.generator, 12345)
    assert backend.msm_g1(g1_array([p, p]), fr_vector([0, 0])) is None
    assert backend.msm_g1(g1_array([p, p]), fr_vector([1, P - 1])) is None
    assert backend.msm_g1(g1_array([p, p]), fr_vector([3, 4])) == G1.affine_mul(p, 7)


def test_msm_size_mismatch(backend):
    with pytest.raises(BackendError, match="scalars"):
        backend.msm_g1(g1_array([G1.generator]), fr_vector([1, 2]))


@pytest.mark.parametrize("n", [1, 3, 600])
def test_batch_mul_matches_scalar_multiplication(backend, n):
    scalars = rand_fr(n)
    scalars[0] = 0
    if n > 2:
        scalars[1], scalars[2] = 1, P - 1
    base1 = G1.affine_mul(G1.generator, secrets.randbelow(P))
    out1 = g1_points(backend.batch_mul_g1(base1, fr_vector(scalars)))
    assert out1[:3] == [G1.affine_mul(base1, k) for k in scalars[:3]]
    assert out1[-1] == G1.affine_mul(base1, scalars[-1])
    base2 = G2.affine_mul(G2.generator, secrets.randbelow(P))
    few = scalars[:3]
    assert g2_points(backend.batch_mul_g2(base2, fr_vector(few))) == [G2.affine_mul(base2, k) for k in few]
    # every element against the reference backend
    assert np.array_equal(
        backend.batch_mul_g1(base1, fr_vector(scalars)), PythonBackend().batch_mul_g1(base1, fr_vector(scalars))
    )


def test_emulated_gpu_only_by_name(caplog, monkeypatch):
    """gpu-emu gives the GPU backend with emulated kernels, with a warning; auto never picks it,
    even where the real GPU is unavailable and emulation works."""
    import logging

    from kernels import emulator
    from prover.backend import gpu as gpu_mod
    from prover.backend.select import select_backend

    if not emulator.probe()[0]:
        pytest.skip(f"kernel emulation unavailable: {emulator.probe()[1]}")
    monkeypatch.setattr(gpu_mod.GpuBackend, "available", classmethod(lambda cls: (False, "no CUDA device found")))
    monkeypatch.setattr(
        gpu_mod.EmulatedGpuBackend, "available", classmethod(lambda cls: (True, "emulated (test)")), raising=False
    )
    monkeypatch.delenv("ZKPROVER_BACKEND", raising=False)
    assert select_backend("auto").name in ("cpu", "python")
    with caplog.at_level(logging.WARNING, logger="zkprover.backend"):
        be = select_backend("gpu-emu")
    assert isinstance(be, gpu_mod.EmulatedGpuBackend) and be.name == "gpu-emu"
    assert any("not for production" in r.getMessage() for r in caplog.records)
    monkeypatch.setattr(gpu_mod.EmulatedGpuBackend, "available", classmethod(lambda cls: (False, "no g++")))
    with pytest.raises(BackendError, match="GPU emulation requested but unavailable: no g"):
        select_backend("gpu-emu")
