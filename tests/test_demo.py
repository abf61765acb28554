"""The README's main job, `zkprover demo`: service on SQLite, a rollup batch over gRPC, the proof
verified in Python and settled by the Rollup contract in an EVM, the withdrawal paid on L1."""

from __future__ import annotations

import pytest

from prover.cli import main as zkprover


@pytest.mark.slow
def test_demo_end_to_end(capsys):
    assert zkprover(["demo"]) == 0
    out = capsys.readouterr().out
    assert "SUCCEEDED" in out
    assert "Python verifier: valid" in out
    assert "submitBatch accepted" in out
    assert "holds 250 units" in out
    assert "the same batch again: rejected" in out
