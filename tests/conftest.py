"""Shared test configuration: the gpu marker skips where no GPU is present; the verifier's two
pairing engines as a fixture."""

from __future__ import annotations

import pytest


def _gpu_reason() -> str | None:
    try:
        import cupy
    except ImportError:
        return "CuPy is not installed (pip install '.[gpu-cuda13]' or '.[gpu-cuda12]')"
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            return "no CUDA device found"
    except Exception as exc:  # CUDA driver missing or broken
        return f"CUDA unavailable: {exc}"
    return None


def pytest_collection_modifyitems(config, items):
    gpu_items = [i for i in items if "gpu" in i.keywords]
    if not gpu_items:
        return
    reason = _gpu_reason()
    if reason:
        skip = pytest.mark.skip(reason=f"gpu test: {reason}")
        for item in gpu_items:
            item.add_marker(skip)


@pytest.fixture(params=["native", "py_ecc"])
def verifier_engine(request, monkeypatch):
    """Run a test once with the native pairing and once with the py_ecc fallback (what a machine
    without the extension gets); the native run skips where the extension is not built."""
    from prover.groth16 import verifier

    if request.param == "native" and verifier.pairing_engine() != "native":
        pytest.skip("native extension not built")
    monkeypatch.setenv("ZKPROVER_NO_NATIVE", "1" if request.param == "py_ecc" else "0")
    assert verifier.pairing_engine() == request.param
    return request.param
