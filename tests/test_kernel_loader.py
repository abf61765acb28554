"""kernels/loader.py with a stand-in for CuPy (no GPU needed): what it hands NVRTC, the per-process
cache, the on-disk cache directory, the nvcc retry and the log lines an operator sees."""

from __future__ import annotations

import logging
import os
import sys
import types
from typing import ClassVar

import pytest

from kernels import loader


class FakeRawModule:
    """Records what RawModule was given; ``fail_nvrtc`` makes the NVRTC compile raise."""

    made: ClassVar[list[FakeRawModule]] = []
    fail_nvrtc = False

    def __init__(self, code: str, options: tuple, backend: str = "nvrtc") -> None:
        self.code, self.options, self.backend = code, options, backend
        self.cache_dir_seen = None
        FakeRawModule.made.append(self)

    def compile(self) -> None:
        self.cache_dir_seen = os.environ.get("CUPY_CACHE_DIR")
        if self.backend == "nvrtc" and FakeRawModule.fail_nvrtc:
            raise RuntimeError("NVRTC_ERROR_COMPILATION")


@pytest.fixture
def fake_cupy(monkeypatch, tmp_path):
    device = types.SimpleNamespace(compute_capability="90", id=0)
    cupy = types.SimpleNamespace(RawModule=FakeRawModule, cuda=types.SimpleNamespace(Device=lambda: device))
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setattr(loader, "_modules", {})
    monkeypatch.setenv("ZKPROVER_KERNEL_CACHE", str(tmp_path / "kernels"))
    monkeypatch.delenv("CUPY_CACHE_DIR", raising=False)
    FakeRawModule.made = []
    FakeRawModule.fail_nvrtc = False
    return tmp_path / "kernels"


def test_load_compiles_once_per_process_into_our_cache(fake_cupy, caplog):
    with caplog.at_level(logging.INFO, logger="zkprover.kernels"):
        first = loader.load("ntt")
        assert loader.load("ntt") is first  # the second call is the process cache
    assert len(FakeRawModule.made) == 1
    mod = first
    assert "-DZK_CC=90" in mod.options and "-std=c++17" in mod.options
    assert '#include "' not in mod.code  # headers expanded: NVRTC has no include path for them
    assert "fr_ntt_dit_pass" in mod.code
    assert mod.cache_dir_seen == str(fake_cupy)  # compiled with CuPy's cache pointed at ours
    assert "CUPY_CACHE_DIR" not in os.environ  # and the caller's setting restored
    messages = [r.getMessage() for r in caplog.records]
    assert any("loading ntt.cu for sm_90" in m for m in messages), messages
    assert any(m.startswith("kernels: ntt.cu ready in") for m in messages), messages


def test_nvrtc_failure_retries_with_nvcc_where_installed(fake_cupy, monkeypatch):
    FakeRawModule.fail_nvrtc = True
    monkeypatch.setattr(loader.shutil, "which", lambda name: "/usr/local/cuda/bin/nvcc")
    mod = loader.load("qap")
    assert [m.backend for m in FakeRawModule.made] == ["nvrtc", "nvcc"] and mod.backend == "nvcc"


def test_nvrtc_failure_without_nvcc_raises(fake_cupy, monkeypatch):
    FakeRawModule.fail_nvrtc = True
    monkeypatch.setattr(loader.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="NVRTC_ERROR_COMPILATION"):
        loader.load("qap")
    assert loader._modules == {}  # nothing half-loaded is cached


def test_unknown_module_is_refused(fake_cupy):
    with pytest.raises(KeyError, match="no kernel module"):
        loader.load("nope")
