"""Shared test configuration: where the gpu-marked tests run (a CUDA device, else the kernel
emulator on the CPU); the verifier's two pairing engines as a fixture."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests run on a CUDA device, else on the kernel emulator (tests/gpu/helpers.py,
    gpu_test_mode); ``gpu_device`` tests (a real device's speed) run only on a device."""
    gpu_items = [i for i in items if "gpu" in i.keywords or "gpu_device" in i.keywords]
    if not gpu_items:
        return
    from tests.gpu.helpers import gpu_test_mode

    mode, why = gpu_test_mode()
    for item in gpu_items:
        if mode is None:
            item.add_marker(pytest.mark.skip(reason=f"gpu test: {why}"))
        elif mode == "emulated" and "gpu_device" in item.keywords:
            item.add_marker(pytest.mark.skip(reason="measures a real GPU's speed; the kernels run emulated here"))


def pytest_report_header(config):
    from tests.gpu.helpers import gpu_test_mode

    mode, why = gpu_test_mode()
    return f"gpu tests: {mode or 'skipped'} ({why})"


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
