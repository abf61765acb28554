"""kernels/loader.py with a stand-in for CuPy (no GPU needed): what it hands NVRTC, the per-process
cache, the on-disk cache directory, the nvcc retry, prebuilt cubins (kernels/prebuild.py) and the
log lines an operator sees."""

from __future__ import annotations

import logging
import os
import sys
import types
from typing import ClassVar

import pytest

from kernels import loader


class FakeRawModule:
    """Records what RawModule was given; ``fail_nvrtc`` makes the NVRTC compile raise,
    ``fail_cubin`` the loading of a cubin (``path=``)."""

    made: ClassVar[list[FakeRawModule]] = []
    fail_nvrtc = False
    fail_cubin = False

    def __init__(self, code: str | None = None, options: tuple = (), backend: str = "nvrtc", path: str | None = None):
        self.code, self.options, self.backend, self.path = code, options, backend, path
        self.cache_dir_seen = None
        FakeRawModule.made.append(self)

    def get_function(self, name: str) -> str:
        if self.path is not None and FakeRawModule.fail_cubin:
            raise RuntimeError("CUDA_ERROR_UNSUPPORTED_PTX_VERSION")
        return name

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
    monkeypatch.setenv("ZKPROVER_PREBUILT_KERNELS", str(tmp_path / "prebuilt-image"))
    FakeRawModule.made = []
    FakeRawModule.fail_nvrtc = False
    FakeRawModule.fail_cubin = False
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


# --- prebuilt cubins (kernels/prebuild.py) ---------------------------------------------------------
def test_a_matching_prebuilt_cubin_is_loaded_instead_of_compiling(fake_cupy, tmp_path, caplog):
    from kernels import prebuild

    image = tmp_path / "prebuilt-image"  # $ZKPROVER_PREBUILT_KERNELS, as install.sh fills it
    image.mkdir()
    (image / prebuild.file_name("msm", 90)).write_bytes(b"\x7fELF")
    with caplog.at_level(logging.INFO, logger="zkprover.kernels"):
        mod = loader.load("msm")
    assert [m.path for m in FakeRawModule.made] == [str(image / prebuild.file_name("msm", 90))]
    assert mod.code is None  # nothing compiled
    assert any("msm.cu for sm_90 from prebuilt" in r.getMessage() for r in caplog.records)


def test_a_prebuilt_cubin_of_other_source_or_arch_is_ignored(fake_cupy, caplog):
    from kernels import prebuild

    out = fake_cupy / "prebuilt"  # the command's default output, inside the kernel cache
    out.mkdir(parents=True)
    (out / prebuild.file_name("ntt", 80)).write_bytes(b"x")  # another architecture
    (out / "ntt-sm90-0123456789abcdef0123.cubin").write_bytes(b"x")  # an older source
    with caplog.at_level(logging.INFO, logger="zkprover.kernels"):
        mod = loader.load("ntt")
    assert mod.path is None and mod.code is not None
    assert any("no prebuilt cubin, compiling with NVRTC" in r.getMessage() for r in caplog.records)


def test_a_refused_prebuilt_cubin_falls_back_to_compiling(fake_cupy, caplog):
    from kernels import prebuild

    (fake_cupy / "prebuilt").mkdir(parents=True)
    (fake_cupy / "prebuilt" / prebuild.file_name("qap", 90)).write_bytes(b"x")
    FakeRawModule.fail_cubin = True
    with caplog.at_level(logging.INFO, logger="zkprover.kernels"):
        mod = loader.load("qap")
    assert [m.path is not None for m in FakeRawModule.made] == [True, False] and mod.code is not None
    assert any("not loadable" in r.getMessage() for r in caplog.records)


def test_the_key_follows_source_options_and_arch(monkeypatch):
    from kernels import prebuild

    base = prebuild.prebuilt_key("ntt", 90)
    assert prebuild.prebuilt_key("ntt", 80) != base
    monkeypatch.setattr(loader, "NTT_TILE_LOG", 9)
    assert prebuild.prebuilt_key("ntt", 90) != base


def test_prebuild_writes_cubins_the_loader_finds(tmp_path, monkeypatch):
    from kernels import prebuild, toolchain

    if toolchain.available() is None:
        pytest.skip("no NVRTC and no nvcc here")
    monkeypatch.setenv("ZKPROVER_PREBUILT_KERNELS", str(tmp_path))
    assert prebuild.main(["--modules", "field_ops", "--arch", "90", "--out", str(tmp_path)]) == 0
    found = prebuild.find("field_ops", 90)
    assert found is not None and found.read_bytes()[:4] == b"\x7fELF"


def test_prebuild_without_a_compiler_says_so(monkeypatch, capsys):
    from kernels import prebuild, toolchain

    monkeypatch.setattr(toolchain, "available", lambda: None)
    assert prebuild.main([]) == 2
    assert "compile on first use" in capsys.readouterr().err
