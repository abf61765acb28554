"""The service on ceremony keys: a keys directory, hashes pinned in the configuration and
checked at start, development keys refused unless allowed, provenance reported.

Fast tests use a small circuit (a cube chain) with a ceremony run by ``zkprover zkey`` on a
development powers of tau; the slow one runs the real batch circuit through the service."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from circuits.builder import ConstraintSystem
from circuits.examples import cube_chain, round_constant
from circuits.gadgets.bits import range_check
from circuits.r1cs import write_r1cs
from prover.cli import main as zkprover
from prover.groth16.phase2 import contribute, zkey_new
from prover.groth16.ptau_dev import write_development_ptau
from prover.groth16.setup import setup
from prover.groth16.zkey import write_zkey
from prover.rollup.key_source import KeyPolicy, KeyRefused, ceremony_key, check_ceremony_keys, parse_pins
from prover.service.rollup_adapter import RollupRegistry

NAME = "chain"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("ceremony")
    write_development_ptau(d / "pot.ptau", 9)
    circuit = cube_chain(60)
    write_r1cs(circuit.r1cs, d / "chain.r1cs")
    zkey_new(d / "chain.r1cs", d / "pot.ptau", d / "chain_0.zkey")
    keys = d / "keys"
    keys.mkdir()
    contribute(d / "chain_0.zkey", keys / f"{NAME}.zkey", "first", "entropy")
    return {"dir": d, "circuit": circuit, "keys": keys, "key": keys / f"{NAME}.zkey"}


def test_pinned_ceremony_key_is_loaded_with_its_provenance(ceremony):
    pk = ceremony_key(ceremony["circuit"], NAME, KeyPolicy(ceremony["keys"], {NAME: sha(ceremony["key"])}))
    assert pk.provenance == "ceremony" and not pk.is_development
    assert len(pk.contribution_hashes) == 1 and len(pk.contribution_hashes[0]) == 128


def test_missing_unpinned_or_changed_keys_are_refused(ceremony, tmp_path):
    keys, circuit, good = ceremony["keys"], ceremony["circuit"], sha(ceremony["key"])
    with pytest.raises(KeyRefused, match="not pinned"):
        ceremony_key(circuit, NAME, KeyPolicy(keys, {}))
    with pytest.raises(KeyRefused, match="the configuration pins"):
        ceremony_key(circuit, NAME, KeyPolicy(keys, {NAME: "0" * 64}))
    with pytest.raises(KeyRefused, match="missing"):
        ceremony_key(circuit, NAME, KeyPolicy(tmp_path, {NAME: good}))
    with pytest.raises(KeyRefused, match="not among the configured batch shapes"):
        check_ceremony_keys(KeyPolicy(keys, {NAME: good, "other": good}), [NAME])
    truncated = tmp_path / f"{NAME}.zkey"
    truncated.write_bytes(ceremony["key"].read_bytes()[:-100])
    with pytest.raises(KeyRefused, match="truncated"):
        ceremony_key(circuit, NAME, KeyPolicy(tmp_path, {NAME: sha(truncated)}))


def test_a_key_for_another_circuit_is_refused(ceremony):
    policy = KeyPolicy(ceremony["keys"], {NAME: sha(ceremony["key"])})
    with pytest.raises(KeyRefused, match="a key for another circuit"):
        ceremony_key(cube_chain(61), NAME, policy)
    # same shape, other coefficients: the coefficient records give it away
    cs = ConstraintSystem("chain_other")
    x, key = cs.public_input("x"), cs.private_input("key")
    range_check(cs, key, 64)
    state = x
    for i in range(60):
        t = state + key + round_constant(i + 1)
        state = cs.mul(cs.mul(t, t), t)
    cs.public_output("y", state)
    with pytest.raises(KeyRefused, match="coefficients are not this circuit's"):
        ceremony_key(cs.compile(), NAME, policy)


def test_development_and_uncontributed_keys_need_explicit_permission(ceremony, tmp_path, caplog):
    circuit = ceremony["circuit"]
    (tmp_path / "dev").mkdir()
    (tmp_path / "unc").mkdir()
    dev, unc = tmp_path / "dev" / f"{NAME}.zkey", tmp_path / "unc" / f"{NAME}.zkey"
    write_zkey(setup(circuit.r1cs, name=NAME), dev)
    unc.write_bytes((ceremony["dir"] / "chain_0.zkey").read_bytes())  # zkey new, no contribution yet
    for path, provenance in ((dev, "development"), (unc, "uncontributed")):
        with pytest.raises(KeyRefused, match=f"provenance is '{provenance}'"):
            ceremony_key(circuit, NAME, KeyPolicy(path.parent, {NAME: sha(path)}))
    # allowed explicitly: accepted, with a warning in the log
    with caplog.at_level(logging.WARNING, logger="zkprover.rollup.keys"):
        pk = ceremony_key(circuit, NAME, KeyPolicy(dev.parent, {NAME: sha(dev)}, allow_development=True))
    assert pk.is_development and "NOT for production" in caplog.text


def test_pins_parse_and_bad_ones_are_refused():
    digest = "ab" * 32
    assert parse_pins(f" a={digest.upper()}, b={digest}") == {"a": digest, "b": digest}
    for bad in ("a", f"={digest}", "a=abc", f"a={'g' * 64}"):
        with pytest.raises(ValueError, match="want NAME="):
            parse_pins(bad)


def test_the_service_refuses_development_keys_at_start_unless_allowed(tmp_path, capsys):
    with pytest.raises(KeyRefused, match="development keys are not allowed"):
        RollupRegistry([1], depth=2, keys=KeyPolicy()).check_keys()
    RollupRegistry([1], depth=2, keys=KeyPolicy(allow_development=True)).check_keys()  # allowed: starts
    store = f"sqlite:///{tmp_path}/jobs.db"
    rc = zkprover(["serve", "--store", store, "--workers", "0", "--batch-sizes", "1", "--depth", "2"])
    assert rc == 2 and "development keys are not allowed" in capsys.readouterr().err
    rc = zkprover(["serve", "--store", store, "--workers", "0", "--batch-sizes", "1", "--depth", "2",
                   "--keys-dir", str(tmp_path)])  # fmt: skip
    err = capsys.readouterr().err
    assert rc == 2 and "rollup_b1_d2" in err and "not pinned" in err
