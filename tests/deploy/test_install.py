"""The images' build step, run here: deploy/scripts/install.sh into a fresh venv, then use it.

Both Dockerfiles run ``deploy/scripts/install.sh /opt/zkprover /src`` and nothing else to
install, so this test is what their build does, minus the base image: the project from the
working tree, ``ZKPROVER_PORTABLE=1`` (no -march=native), the native backend required. Then,
from that venv only (cwd outside the checkout, no PYTHONPATH):

* ``zkprover demo --circuit --rounds 10`` proves and verifies;
* ``deploy/scripts/healthcheck.py`` (the images' HEALTHCHECK) reports SERVING for a real
  ``zkprover serve --rollup example`` on a loopback port, and fails for a port nobody serves;
  its HTTP mode (workers) passes against a ``zkprover worker``'s /metrics;
* ``deploy/scripts/keycheck.py`` (the init containers' key check) accepts the cached key of the
  demo circuit with its pinned SHA-256 and refuses an empty key volume.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "deploy" / "scripts"

pytestmark = pytest.mark.slow


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["ZKPROVER_THREADS"] = "1"
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("install") / "venv"
    env = {**_env(), "ZKPROVER_PORTABLE": "1", "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "install.sh"), str(path), str(ROOT)],
        env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, f"install.sh failed:\n{proc.stdout}\n{proc.stderr}"
    assert "portable: 1" in proc.stdout
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_installed_package_is_the_venvs_own(venv, tmp_path):
    code = "import prover, prover.backend._native as n; print(prover.__file__, n.__file__)"
    out = subprocess.run(
        [venv / "bin" / "python", "-c", code],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert all(p.startswith(str(venv)) for p in out.split()), out


#: what _native_v4 is compiled for (prover/backend/__init__.py), as /proc/cpuinfo names it
_V4_FLAGS = {"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "avx512ifma", "adx", "bmi2"}

_MSM_DIGEST = """
import hashlib
import numpy as np
import prover.backend as b
from prover.backend import _native
from prover.backend.cpu import point_series
from prover.field.curve import G1
n = 5000
bases = point_series("g1", G1.affine_mul(G1.generator, 7), G1.affine_mul(G1.generator, 11), n, threads=2)
sc = np.random.default_rng(3).integers(0, 2**63, size=(n, 4), dtype=np.uint64)
sc[:, 3] &= (1 << 60) - 1
print(b.NATIVE_VARIANT, _native.__name__, hashlib.sha256(bytes(_native.msm_g1(bases, sc, 2, -1, 12))).hexdigest())
"""


def _cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def test_portable_install_takes_the_v4_build_where_the_cpu_has_it(venv, tmp_path):
    """A portable install holds the baseline native module and an x86-64-v4 + IFMA + ADX build of
    it; the package takes the second where the CPU has its features, the first when asked to, and
    both compute the same MSM (c = 12: the batched affine path, on IFMA in the v4 build)."""

    def run(**env: str) -> list[str]:
        return subprocess.run(
            [venv / "bin" / "python", "-c", _MSM_DIGEST],
            cwd=tmp_path, env={**_env(), **env}, capture_output=True, text=True, check=True, timeout=300,
        ).stdout.split()  # fmt: skip

    assert list((venv / "lib").glob("python*/site-packages/prover/backend/_native_v4*.so")), "no v4 build"
    default, baseline = run(), run(ZKPROVER_NATIVE_VARIANT="baseline")
    assert baseline[:2] == ["baseline", "prover.backend._native"], baseline
    if _cpu_flags() >= _V4_FLAGS:
        assert default[:2] == ["v4", "prover.backend._native_v4"], default
    else:
        assert default[:2] == ["baseline", "prover.backend._native"], default
    assert default[2] == baseline[2]


def test_demo_circuit_from_the_install(venv, tmp_path):
    proc = subprocess.run(
        [venv / "bin" / "zkprover", "demo", "--circuit", "--rounds", "10", "--backend", "cpu"],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "valid" in proc.stdout and "native C" in proc.stdout, proc.stdout


def test_health_probes_against_a_real_server_and_worker(venv, tmp_path):
    python, probe = venv / "bin" / "python", str(SCRIPTS / "healthcheck.py")
    store = f"sqlite:///{tmp_path}/jobs.db"
    common = ["--rollup", "example", "--batch-sizes", "1", "--depth", "2", "--store", store,
              "--cache-dir", str(tmp_path / "cache"), "--backend", "cpu"]  # fmt: skip
    server = subprocess.Popen(
        [venv / "bin" / "zkprover", "serve", "--listen", "127.0.0.1:0", "--workers", "0", *common],
        cwd=tmp_path, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    mport = _free_port()
    worker = None
    try:
        m = re.search(r"serving prover\.v1 on [\d.]+:(\d+)", server.stdout.readline())
        assert m, "server did not start"
        addr = f"127.0.0.1:{m.group(1)}"
        ok = subprocess.run([python, probe, "--grpc", addr], env=_env(), capture_output=True, text=True)
        assert ok.returncode == 0 and "SERVING" in ok.stdout, ok.stdout + ok.stderr
        named = subprocess.run([python, probe, "--grpc", addr, "--service", "prover.v1.ProverService", "-q"],
                               env=_env())  # fmt: skip
        assert named.returncode == 0
        # the image's HEALTHCHECK runs the probe with no arguments: ZKPROVER_HEALTH_ADDR decides
        by_env = subprocess.run([python, probe, "-q"], env={**_env(), "ZKPROVER_HEALTH_ADDR": addr})
        assert by_env.returncode == 0

        dead = subprocess.run([python, probe, "--grpc", f"127.0.0.1:{_free_port()}", "--timeout", "1"],
                              env=_env(), capture_output=True, text=True)  # fmt: skip
        assert dead.returncode == 1 and "unhealthy" in dead.stderr

        worker = subprocess.Popen(
            [venv / "bin" / "zkprover", "worker", "--metrics-port", str(mport), *common],
            cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        url = f"http://127.0.0.1:{mport}/metrics"
        deadline = time.monotonic() + 60
        while True:
            http = subprocess.run([python, probe, "-q", "--timeout", "1"], env={**_env(), "ZKPROVER_HEALTH_HTTP": url})
            if http.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert http.returncode == 0, "worker /metrics probe never passed"
    finally:
        for p in (worker, server):
            if p is not None:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()


def test_keycheck_from_the_install(venv, tmp_path):
    python, keycheck = venv / "bin" / "python", str(SCRIPTS / "keycheck.py")
    empty = subprocess.run(
        [python, keycheck, "--batch-sizes", "1", "--depth", "2", "--cache-dir", str(tmp_path / "empty")],
        env=_env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert empty.returncode == 1 and "no valid key" in empty.stderr, empty.stdout + empty.stderr
    bad_pin = subprocess.run([python, keycheck, "--expect", "rollup_b1_d2=xyz"], env=_env(), capture_output=True)
    assert bad_pin.returncode == 2

    # --build makes the key (the compose file's one-shot `keys` service), then the start-up check
    # passes, with the key's file hash pinned; a wrong pin and a truncated key are refused
    cache = tmp_path / "keys"

    def keycheck_run(*args: str, pin: str | None = None) -> subprocess.CompletedProcess:
        env = {**_env(), **({"ZKPROVER_KEY_SHA256": pin} if pin else {})}
        cmd = [python, keycheck, "--batch-sizes", "1", "--depth", "2", "--cache-dir", str(cache), *args]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)

    built = keycheck_run("--build")
    assert built.returncode == 0, built.stdout + built.stderr
    import json

    index = json.loads((cache / "circuits" / "rollup_b1_d2.json").read_text())
    zkey = cache / "circuits" / index["digest"] / "circuit.zkey"
    sha = hashlib.sha256(zkey.read_bytes()).hexdigest()
    ok = keycheck_run(pin=f"rollup_b1_d2={sha}")
    assert ok.returncode == 0 and "OK" in ok.stdout and "pinned" in ok.stdout, ok.stdout + ok.stderr
    wrong = keycheck_run(pin=f"rollup_b1_d2={'0' * 64}")
    assert wrong.returncode == 1, wrong.stdout + wrong.stderr
    zkey.write_bytes(zkey.read_bytes()[: zkey.stat().st_size // 2])
    truncated = keycheck_run()
    assert truncated.returncode == 1, truncated.stdout + truncated.stderr
