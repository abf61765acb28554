"""The GPU harness's own behaviour, on the CPU mirror of the kernels (no GPU needed): the one
device call of a GPU session depends on it writing what it finished even when a section fails."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
gpu_harness = pytest.importorskip("gpu_harness")


@pytest.fixture(autouse=True)
def _restore_gpu_backend(monkeypatch):
    """``--mirror`` makes the harness's process believe the mirror is a GPU (it patches
    GpuBackend.available and CupyOps for good, fine in its own process); undo that here, or
    every later test's ``select_backend()`` would prove on the slow mirror."""
    from prover.backend import gpu as gpu_mod

    monkeypatch.setattr(gpu_mod.GpuBackend, "available", gpu_mod.GpuBackend.__dict__["available"])
    monkeypatch.setattr(gpu_mod, "CupyOps", gpu_mod.CupyOps)


def test_a_failing_section_is_recorded_and_the_others_still_run(tmp_path, monkeypatch):
    def planted(*args):
        raise RuntimeError("planted kernel fault")

    monkeypatch.setattr(gpu_harness, "bench_ntt", planted)
    out = tmp_path / "gpu_bench.json"
    monkeypatch.setattr(sys, "argv", ["gpu_harness", "--mirror", "--only", "quotient,ntt", "--json", str(out)])
    assert gpu_harness.main() == 1  # a failed section fails the run
    report = json.loads(out.read_text())
    assert "planted kernel fault" in report["ntt"]["error"]
    assert report["quotient"]["parity"] is True  # the next section still ran, and checked parity
    assert report["quotient"]["gpu"]["median_ms"] > 0
    assert "section ntt FAILED" in out.with_suffix(".md").read_text()


def test_unknown_section_is_refused(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["gpu_harness", "--mirror", "--only", "ntt,msmm"])
    with pytest.raises(SystemExit):
        gpu_harness.main()
    assert "msmm" in capsys.readouterr().err
