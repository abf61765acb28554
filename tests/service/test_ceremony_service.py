"""The whole operator path on the real batch circuit (slow, ~3-5 minutes on 2 cores): export the
circuit, a (development) powers of tau, a phase 2 with a contribution and a beacon, verify it
(one module fixture), then the service proves a batch on that key, pinned by hash, and reports
its provenance; and the operator, linked to the Rollup on an in-process EVM whose verifier holds
the ceremony key's vk, proves an L1 deposit's batch and settles it on L1."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from prover.cli import main as zkprover

# the module's ceremony (export, a 2^17 phase 1, zkey new/contribute/beacon/verify) runs in the
# first test's setup, so that test gets the time of both
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

NAME = "rollup_b1_d2"


@pytest.fixture(scope="module")
def ceremony(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("ceremony")
    r1cs, ptau, keys = d / f"{NAME}.r1cs", d / "pot17.ptau", d / "keys"
    keys.mkdir()
    assert zkprover(["circuit", "export", str(d), "--batch-sizes", "1", "--depth", "2"]) == 0
    assert zkprover(["powersoftau", "development", "17", str(ptau)]) == 0  # 92,178 constraints: 2^17
    assert zkprover(["zkey", "new", str(r1cs), str(ptau), str(d / "k0.zkey")]) == 0
    assert zkprover(["zkey", "contribute", str(d / "k0.zkey"), str(d / "k1.zkey"), "-e=op"]) == 0
    final = keys / f"{NAME}.zkey"
    assert zkprover(["zkey", "beacon", str(d / "k1.zkey"), str(final), "0badc0de", "10"]) == 0
    assert zkprover(["zkey", "verify", str(r1cs), str(ptau), str(final)]) == 0
    return {"dir": d, "keys": keys, "sha256": hashlib.sha256(final.read_bytes()).hexdigest()}


def test_service_proves_a_batch_on_a_ceremony_key(ceremony):
    pin = f"{NAME}={ceremony['sha256']}"
    cmd = [sys.executable, "-m", "prover.cli", "service-demo", "--keys-dir", str(ceremony["keys"]), "--key-sha256",
           pin, "--backend", "cpu"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ceremony key (2 contributions)" in out.stdout and "proof     valid" in out.stdout
    # the same service refuses a key that is not the pinned one
    wrong = f"{NAME}={'0' * 64}"
    bad = subprocess.run([*cmd[:-3], wrong, "--backend", "cpu"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "the configuration pins" in bad.stderr


def test_the_operator_settles_on_l1_with_the_ceremony_key(ceremony, tmp_path: Path):
    from l1.evm import DEFAULT_AMOUNT_UNIT as UNIT
    from l1.evm import EvmChain, RollupConfig, deploy_rollup
    from prover.backend.select import select_backend
    from prover.jobs import open_store
    from prover.rollup.accounts import generate_key
    from prover.rollup.key_source import KeyPolicy
    from prover.service.core import ProverCore
    from prover.service.l1_link import L1Loop, LinkConfig, RollupLink
    from prover.service.rollup_adapter import RollupAdapter, RollupRegistry
    from prover.service.server import ProverServer

    policy = KeyPolicy(ceremony["keys"], {NAME: ceremony["sha256"]})  # development keys not allowed
    registry = RollupRegistry([1], depth=2, keys=policy)  # the circuit from the shared cache
    registry.check_keys()
    entry = registry.get(1)
    assert entry.pk.provenance == "ceremony" and not entry.pk.is_development
    chain = EvmChain()
    rollup = deploy_rollup(chain, entry.pk.vk, RollupConfig(depth=2, amount_unit=UNIT))
    operator = RollupAdapter(depth=2, chain_id=chain.chain_id, rollup_address=int.from_bytes(rollup.address, "big"))
    store = open_store(f"sqlite:///{tmp_path}/jobs.db")
    backend = select_backend("cpu")
    core = ProverCore(store, operator, registry, backend_description=backend.describe(), requests_from_l1=True)
    # one deposit waiting longer than l1_batch_after_s: the operator makes an L1-only batch of it
    link = RollupLink(chain, rollup, store, LinkConfig(confirmations=0, l1_batch_after_s=0.5, poll_s=0.2))
    server = ProverServer(
        core, address="127.0.0.1:0", backend=backend, workers=1, lease_s=120.0, l1_loop=L1Loop(link, core)
    )
    server.start()
    try:
        genesis = rollup.call("stateRoot")
        pub = generate_key().public_key()
        assert rollup.transact("deposit", pub.x, pub.y, value=1000 * UNIT, sender=chain.accounts[1]).ok
        deadline = time.monotonic() + 600
        while not core.ledger.settlements():
            assert time.monotonic() < deadline, f"not settled: {server.l1_loop.last_error}"  # type: ignore[union-attr]
            time.sleep(0.2)
        (settled,) = core.ledger.settlements()
        assert settled.gas_used > 0
        assert rollup.call("stateRoot") == operator.state_root() != genesis
        assert core.account(0).balance == 1000
    finally:
        server.stop(5)
