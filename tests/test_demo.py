"""The README's main job, `zkprover demo`: service on SQLite, a rollup batch over gRPC, the proof
verified in Python and settled by the operator on the Rollup contract in an EVM (deposits made on
L1, never by the client), the withdrawal paid on L1."""

from __future__ import annotations

import pytest

from prover.cli import main as zkprover


@pytest.mark.slow
def test_demo_end_to_end(capsys):
    assert zkprover(["demo"]) == 0
    out = capsys.readouterr().out
    assert "SUCCEEDED" in out
    assert "Python verifier: valid" in out
    assert "seen by the operator" in out
    assert "batch settled by the operator" in out
    assert "holds 250 units" in out
