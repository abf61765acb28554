"""The memory model: constraint counts predicted from a batch shape, memory from the counts, the
memory the machine has, and the early refusal of shapes that do not fit (service, key job,
measurement script). The refusals are tested with the available memory set by
``$ZKPROVER_MEMORY_AVAILABLE``, so nothing big is ever built here."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from circuits.rollup.batch_circuit import build_batch_circuit
from circuits.rollup.params import BatchShape
from circuits.rollup.size import CALIBRATION, TOLERANCE, predicted_constraints, public_data_bits, sha256_blocks
from prover.cli import main as zkprover
from prover.groth16.memory import (
    GIB,
    HOST_CALIBRATION,
    MIB,
    InsufficientMemory,
    available_host_memory,
    domain_for,
    estimate,
    host_need,
    parse_bytes,
)
from prover.rollup.memory_check import check_batch_shapes, shape_estimate

ROOT = Path(__file__).resolve().parent.parent


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "deploy" / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- constraint counts ----------------------------------------------------------------------
@pytest.mark.parametrize(("shape", "built"), sorted(CALIBRATION.items()))
def test_prediction_is_within_tolerance_of_every_built_circuit(shape, built):
    depth, size = shape
    assert abs(predicted_constraints(BatchShape(size, depth)) - built) <= TOLERANCE * built


def test_prediction_matches_a_fresh_build():
    """Guards the fit against circuit changes: the smallest shape, built now (~1 s)."""
    built = build_batch_circuit(BatchShape(1, 1)).n_constraints
    assert abs(predicted_constraints(BatchShape(1, 1)) - built) <= TOLERANCE * built


def test_sha256_padding_adds_a_block_at_the_boundary():
    # 447 message bits + 1 + 64 = 512: one block; one bit more needs a second
    assert sha256_blocks(447) == 1 and sha256_blocks(448) == 2
    assert public_data_bits(BatchShape(2, 12)) - public_data_bits(BatchShape(1, 12)) == 8 + 2 * 24 + 40 + 16


@pytest.mark.parametrize(("size", "log_domain"), [(32, 20), (64, 21), (128, 22), (256, 23)])
def test_large_batches_land_in_the_expected_domain(size, log_domain):
    assert shape_estimate(BatchShape(size, 12)).domain == 1 << log_domain


def test_domain_holds_constraints_and_public_signals():
    assert domain_for(1 << 20, 0) == 1 << 21  # plus the constant's row: one over
    assert domain_for((1 << 20) - 2, 1) == 1 << 20
    assert domain_for((1 << 20) - 1, 1) == 1 << 21


# --- memory from the counts -----------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(HOST_CALIBRATION))
def test_host_estimate_is_at_or_above_each_measurement_and_close_to_it(name):
    m = HOST_CALIBRATION[name]
    e = estimate(name, m.constraints, 1)
    for figure in ("resident", "proving_peak", "setup_peak"):
        measured, estimated = getattr(m, figure), getattr(e, figure)
        assert measured <= estimated <= 1.25 * measured, (figure, measured / MIB, estimated / MIB)


@pytest.mark.parametrize(
    ("constraints", "computed_mib"), [(291_419, 684), (955_259, 1_602), (1_898_878, 2_937), (3_710_006, 5_568)]
)
def test_gpu_estimate_is_close_to_the_backends_own_accounting(constraints, computed_mib):
    """deploy/README's GPU column is GpuEngine.key_bytes + twiddles + margin of the real keys."""
    gpu = estimate("b", constraints, 1).gpu / MIB
    assert abs(gpu - computed_mib) <= 0.1 * computed_mib


def test_need_of_several_shapes_keeps_every_key_and_the_largest_transient():
    small, big = estimate("s", 100_000, 1), estimate("b", 1_000_000, 1)
    need = host_need([small, big], setup=False)
    assert need == small.resident + big.proving_peak
    assert host_need([small, big], setup=True) >= need
    api_only = host_need([small, big], setup=False, proving=False)  # serve --workers 0: keys, no proofs
    assert api_only == small.resident + big.resident < need
    assert host_need([], setup=True) == 0


# --- what the machine has -------------------------------------------------------------------
def test_parse_bytes_units_and_bad_values():
    assert parse_bytes("20G") == 20 * GIB
    assert parse_bytes("512MiB") == 512 * MIB
    assert parse_bytes("1.5g") == int(1.5 * GIB)
    assert parse_bytes("4096") == 4096
    for bad in ("lots", "-1G", "0", ""):
        with pytest.raises(ValueError, match="memory size"):
            parse_bytes(bad)


def _fake_proc(tmp_path: Path, mem_available_kib: int, cgroup_line: str) -> Path:
    proc = tmp_path / "proc"
    (proc / "self").mkdir(parents=True)
    (proc / "meminfo").write_text(f"MemTotal: 99999999 kB\nMemAvailable: {mem_available_kib} kB\n")
    (proc / "self" / "cgroup").write_text(cgroup_line + "\n")
    return proc


def test_available_is_the_cgroup_room_when_smaller(tmp_path, monkeypatch):
    monkeypatch.delenv("ZKPROVER_MEMORY_AVAILABLE", raising=False)
    proc = _fake_proc(tmp_path, 20 * (1 << 20), "0::/job")
    cg = tmp_path / "cg"
    (cg / "job").mkdir(parents=True)
    (cg / "job" / "memory.max").write_text(str(8 * GIB))
    (cg / "job" / "memory.current").write_text(str(3 * GIB))
    assert available_host_memory(proc=proc, cgroup_root=cg) == (5 * GIB, "the cgroup's memory limit minus its usage")
    # page cache the kernel can drop (the key files just read) does not count as used
    (cg / "job" / "memory.stat").write_text(f"anon {2 * GIB}\ninactive_file {GIB}\nactive_file 0\n")
    assert available_host_memory(proc=proc, cgroup_root=cg)[0] == 6 * GIB
    (cg / "job" / "memory.max").write_text("max")  # v2 without a limit: MemAvailable decides
    assert available_host_memory(proc=proc, cgroup_root=cg) == (20 * GIB, "MemAvailable")


def test_available_reads_a_cgroup_v1_limit(tmp_path, monkeypatch):
    monkeypatch.delenv("ZKPROVER_MEMORY_AVAILABLE", raising=False)
    proc = _fake_proc(tmp_path, 20 * (1 << 20), "4:memory:/pod/x")
    mem = tmp_path / "cg" / "memory"  # the namespaced view: the process's group is the root
    mem.mkdir(parents=True)
    (mem / "memory.limit_in_bytes").write_text(str(6 * GIB))
    (mem / "memory.usage_in_bytes").write_text(str(1 * GIB))
    assert available_host_memory(proc=proc, cgroup_root=tmp_path / "cg")[0] == 5 * GIB
    (mem / "memory.limit_in_bytes").write_text("9223372036854771712")  # "unlimited"
    assert available_host_memory(proc=proc, cgroup_root=tmp_path / "cg")[0] == 20 * GIB


def test_available_from_the_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("ZKPROVER_MEMORY_AVAILABLE", "3G")
    assert available_host_memory(proc=tmp_path) == (3 * GIB, "$ZKPROVER_MEMORY_AVAILABLE")


def test_this_machine_reports_some_memory(monkeypatch):
    monkeypatch.delenv("ZKPROVER_MEMORY_AVAILABLE", raising=False)
    available, source = available_host_memory()
    assert available is not None and available > 0 and source


# --- refusals -------------------------------------------------------------------------------
def test_a_shape_that_does_not_fit_is_refused_with_the_figures():
    with pytest.raises(InsufficientMemory) as err:
        check_batch_shapes([256], 12, setup=True, available=8 * GIB, source="test")
    text = str(err.value)
    need = shape_estimate(BatchShape(256, 12)).setup_peak
    assert "batch size 256 at depth 12" in text and f"{need / GIB:.1f} GiB" in text
    assert "only 8.0 GiB available (test)" in text and "domain 2^23" in text


def test_keys_of_several_shapes_add_up():
    e64, e128 = shape_estimate(BatchShape(64, 12)), shape_estimate(BatchShape(128, 12))
    enough_for_each = max(e64.proving_peak, e128.proving_peak) + 1
    with pytest.raises(InsufficientMemory, match="one process keeps every key"):
        check_batch_shapes([64, 128], 12, setup=False, available=enough_for_each, source="test")
    assert len(check_batch_shapes([64, 128], 12, setup=False, available=64 * GIB, source="test")) == 2


def test_a_shape_that_fits_is_accepted():
    (e,) = check_batch_shapes([4], 12, setup=True, available=2 * GIB, source="test")
    assert e.setup_peak < 2 * GIB


def test_worker_refuses_at_start_before_building(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ZKPROVER_MEMORY_AVAILABLE", "4G")
    store = f"sqlite:///{tmp_path}/jobs.db"
    args = ["worker", "--store", store, "--backend", "python", "--batch-sizes", "4,128", "--allow-development-keys"]
    assert zkprover(args) == 2
    err = capsys.readouterr().err
    assert "not enough memory for batch sizes 4, 128 at depth 12: about" in err
    assert "($ZKPROVER_MEMORY_AVAILABLE)" in err
    assert not (tmp_path / "jobs.db").exists()  # stopped before the store was opened


def test_keycheck_build_refuses_a_setup_that_does_not_fit(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ZKPROVER_MEMORY_AVAILABLE", "2G")
    monkeypatch.delenv("ZKPROVER_KEYS_DIR", raising=False)
    keycheck = _script("keycheck")
    assert keycheck.main(["--batch-sizes", "1,64", "--depth", "12", "--cache-dir", str(tmp_path), "--build"]) == 1
    assert "keycheck: FAIL not enough memory for batch size 64 at depth 12" in capsys.readouterr().err
    assert not (tmp_path / "circuits").exists()


def test_measure_memory_refuses_a_shape_that_does_not_fit(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ZKPROVER_MEMORY_AVAILABLE", "1G")
    measure = _script("measure_memory")
    assert measure.main(["--batch-size", "32", "--depth", "12", "--cache-dir", str(tmp_path)]) == 2
    assert "not enough memory for batch size 32 at depth 12" in capsys.readouterr().err


def test_cli_setup_and_prove_refuse_before_reading_the_files(monkeypatch, tmp_path, capsys):
    from circuits.examples import cube_chain
    from circuits.r1cs import read_r1cs, read_r1cs_header, write_r1cs
    from prover.groth16.zkey import read_zkey, read_zkey_counts

    circuit = cube_chain(5)
    r1cs, zkey = tmp_path / "c.r1cs", tmp_path / "c.zkey"
    write_r1cs(circuit.r1cs, r1cs)
    header = read_r1cs_header(r1cs)
    assert (header.n_constraints, header.n_public, header.n_wires) == (
        circuit.n_constraints, circuit.r1cs.n_public, read_r1cs(r1cs).n_wires
    )  # fmt: skip
    monkeypatch.setenv("ZKPROVER_MEMORY_AVAILABLE", "1M")  # less than the interpreter alone
    assert zkprover(["setup", str(r1cs), str(zkey)]) == 2
    assert f"not enough memory for the setup of {r1cs}" in capsys.readouterr().err
    assert not zkey.exists()
    monkeypatch.setenv("ZKPROVER_MEMORY_AVAILABLE", "64G")
    assert zkprover(["setup", str(r1cs), str(zkey)]) == 0
    pk = read_zkey(zkey)
    assert read_zkey_counts(zkey) == (pk.n_vars, pk.n_public, pk.domain_size)
    monkeypatch.setenv("ZKPROVER_MEMORY_AVAILABLE", "1M")
    missing = tmp_path / "w.wtns"  # never reached: the refusal comes first
    assert zkprover(["prove", str(zkey), str(missing), str(tmp_path / "p.json"), str(tmp_path / "q.json")]) == 2
    assert f"not enough memory for a proof of {zkey}" in capsys.readouterr().err


def test_registry_refuses_a_shape_first_named_by_a_job(monkeypatch, tmp_path):
    """A worker proves whatever shape a job names: one it was not started with is checked when
    first loaded, against the memory left beside the keys it already holds."""
    from prover.service.rollup_adapter import RollupRegistry

    monkeypatch.setenv("ZKPROVER_MEMORY_AVAILABLE", "1G")
    registry = RollupRegistry([1], depth=2, cache_dir=str(tmp_path))
    with pytest.raises(InsufficientMemory, match="batch size 64 at depth 12"):
        registry.by_name("rollup_b64_d12")
    assert not (tmp_path / "circuits").exists()
