"""``zkprover circuit export``: the .r1cs handed to a ceremony is the circuit the service proves."""

from __future__ import annotations

import hashlib

import pytest

from circuits.r1cs import read_r1cs
from circuits.rollup.batch_circuit import build_batch_circuit
from circuits.rollup.params import BatchShape
from prover.cli import main as zkprover
from prover.rollup.circuit_cache import r1cs_digest


def test_exported_r1cs_is_the_services_circuit(tmp_path, capsys):
    assert zkprover(["circuit", "export", str(tmp_path), "--batch-sizes", "1", "--depth", "2"]) == 0
    path = tmp_path / "rollup_b1_d2.r1cs"
    # the service keys its circuits (cache directory, key check) by this digest of the builder's
    # output: a file with the same SHA-256 is byte for byte the constraint system it proves
    service = build_batch_circuit(BatchShape(1, 2))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert digest == r1cs_digest(service.r1cs)
    assert digest in capsys.readouterr().out
    back = read_r1cs(path)
    assert (back.n_constraints, back.n_wires, back.n_public) == (
        service.r1cs.n_constraints,
        service.r1cs.n_wires,
        service.r1cs.n_public,
    )
    # a different shape is a different circuit
    assert r1cs_digest(build_batch_circuit(BatchShape(1, 3)).r1cs) != digest


def test_bad_batch_sizes_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:  # argparse's usage error
        zkprover(["circuit", "export", str(tmp_path), "--batch-sizes", "0"])
    assert exc.value.code == 2
    assert "batch sizes must be positive" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
