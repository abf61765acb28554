"""Rollup batch circuit: constraints per transaction, constraint count, witness and proof time.

    python bench/bench_rollup.py [--sizes 4 8 32] [--depth 12] [--per-tx-depths 12 16]
                                 [--key timing|cache|none] [--json bench/results/rollup.json]

* **Constraints per transaction** at each depth in ``--per-tx-depths`` (12 = 2^24 accounts,
  16 = 2^32): the marginal cost (circuits for 4 and 8 transactions, difference / 4) — which
  includes the record's share of SHA-256 — and a breakdown by part from the constraint labels.
* For each batch size at ``--depth``: compile time (building constraints), constraint count,
  witness time (``CompiledCircuit.witness`` without the check, what a worker runs), and the
  proof time on the auto-selected backend.

The proof needs a key. ``--key cache`` uses the on-disk cache (``prover.rollup.circuit_cache``),
running the development setup if absent (hours in pure Python for big batches); ``--key timing``
(default) proves with a *timing key*: exactly the shape of the real one (same R1CS coefficients,
same query lengths, same domain) but with arbitrary points, so the prover does the same work
and the time is the real proof time; the proof itself is not valid and is not verified.
``--key none`` skips proving.
"""

from __future__ import annotations

import argparse
import collections
import json
import platform
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from circuits.builder import CompiledCircuit  # noqa: E402
from circuits.native.eddsa import PrivateKey  # noqa: E402
from circuits.rollup.batch_circuit import build_batch_circuit  # noqa: E402
from circuits.rollup.params import BatchShape  # noqa: E402
from prover.backend.interface import COEFF_DTYPE, KeyArrays  # noqa: E402
from prover.backend.select import select_backend  # noqa: E402
from prover.field.bn254 import FR_MODULUS, MONT_R  # noqa: E402
from prover.field.curve import G1, G2  # noqa: E402
from prover.groth16.keys import ProvingKey, VerifyingKey  # noqa: E402
from prover.groth16.prover import prove  # noqa: E402
from prover.groth16.setup import domain_size_for  # noqa: E402
from prover.groth16.verifier import verify  # noqa: E402
from prover.rollup.batch import apply_batch  # noqa: E402
from prover.rollup.circuit_cache import load_or_setup  # noqa: E402
from prover.rollup.public_data import Domain  # noqa: E402
from prover.rollup.state import State  # noqa: E402
from prover.rollup.transactions import Deposit, Transfer, Withdrawal  # noqa: E402

P = FR_MODULUS
DOMAIN = Domain(1, 0x5FBDB2315678AFECB367F032D93F642F64180AA3)  # the domain the sample batches are signed for
DEPOSITOR = 0xD0D0


def per_tx(depth: int) -> dict:
    """Marginal constraints per transaction at ``depth``, and where they go."""
    small, big = build_batch_circuit(BatchShape(4, depth)), build_batch_circuit(BatchShape(8, depth))
    parts: collections.Counter[str] = collections.Counter()
    for label in big.labels:
        scope = label.split(":")[0].split("/")
        if scope[0] == "tx0":
            parts[scope[1] if len(scope) > 1 else "checks"] += 1
    marginal = (big.n_constraints - small.n_constraints) / 4
    out = {
        "depth": depth,
        "capacity_log2": 2 * depth,
        "constraints_b4": small.n_constraints,
        "constraints_b8": big.n_constraints,
        "per_tx_marginal": marginal,
        "per_tx_without_sha": sum(parts.values()),
        "parts": dict(parts),
    }
    out["per_tx_sha_share"] = marginal - out["per_tx_without_sha"]
    return out


def sample_batch(size: int, depth: int) -> tuple[State, list, int]:
    """A state with accounts, and ``size`` transactions: mostly transfers, a deposit, a withdrawal."""
    rng = random.Random(size)
    keys = [PrivateKey(bytes([i % 251 + 1, i // 251 + 1]) * 16) for i in range(size + 1)]
    st = State(depth)
    capacity = st.capacity
    # accounts spread over the whole tree, so paths are full-depth like in production
    indices = rng.sample(range(capacity), len(keys))
    fund = [Deposit(k.public_key(), 10**6, DEPOSITOR, index=i) for k, i in zip(keys, indices, strict=True)]
    for k in range(0, len(fund), size):
        apply_batch(st, fund[k : k + size], batch_size=size, domain=DOMAIN, batch_number=0)
    txs: list = [Deposit(None, 5, DEPOSITOR, index=indices[0])]  # a top-up
    for j in range(1, size - 1):
        txs.append(Transfer(indices[j], indices[j + 1], 10 + j, 1, 0).signed(keys[j], DOMAIN))
    txs.append(Withdrawal(indices[-1], 0xDEADBEEF, 100, 1, 0).signed(keys[-1], DOMAIN))
    return st, txs[:size], indices[0]


def timing_key(circuit: CompiledCircuit) -> ProvingKey:
    """A key with the real key's shape and coefficients but arbitrary points (timing only)."""
    r1cs = circuit.r1cs
    n_vars, n_public = r1cs.n_wires, r1cs.n_public
    domain = domain_size_for(r1cs)
    r2 = (MONT_R % P) ** 2 % P
    rec_m, rec_c, rec_s, rec_v = [], [], [], []
    for c, (a_lc, b_lc, _) in enumerate(r1cs.constraints):
        for m, lc in ((0, a_lc), (1, b_lc)):
            for s, k in lc.items():
                rec_m.append(m)
                rec_c.append(c)
                rec_s.append(s)
                rec_v.append(k)
    for s in range(n_public + 1):
        rec_m.append(0)
        rec_c.append(r1cs.n_constraints + s)
        rec_s.append(s)
        rec_v.append(1)
    coeffs = np.zeros(len(rec_m), dtype=COEFF_DTYPE)
    coeffs["matrix"], coeffs["constraint"], coeffs["signal"] = rec_m, rec_c, rec_s
    raw = b"".join((v * r2 % P).to_bytes(32, "little") for v in rec_v)
    coeffs["value"] = np.frombuffer(raw, dtype="<u8").reshape(len(rec_v), 4)
    backend = select_backend("python")
    rng = np.random.default_rng(1)
    g1_pool = backend.batch_mul_g1(G1.generator, _fr(rng, 1024))
    g2_pool = backend.batch_mul_g2(G2.generator, _fr(rng, 1024))

    def tile(pool: np.ndarray, n: int) -> np.ndarray:
        return np.ascontiguousarray(np.resize(pool, (n, *pool.shape[1:])))

    arrays = KeyArrays(
        n_vars=n_vars,
        n_public=n_public,
        domain_size=domain,
        a_query=tile(g1_pool, n_vars),
        b1_query=tile(g1_pool, n_vars),
        b2_query=tile(g2_pool, n_vars),
        c_query=tile(g1_pool, n_vars - n_public - 1),
        h_query=tile(g1_pool, domain),
        coeffs=coeffs,
    )
    g, h = G1.generator, G2.generator
    vk = VerifyingKey(alpha1=g, beta2=h, gamma2=h, delta2=h, ic=tuple([g] * (n_public + 1)))
    return ProvingKey(vk=vk, beta1=g, delta1=g, arrays=arrays, origin="timing key (not a setup)")


def _fr(rng: np.random.Generator, n: int) -> np.ndarray:
    """n random scalars below 2^250, as an (n, 4) little-endian u64 array."""
    limbs = rng.integers(0, 2**63, size=(n, 4), dtype=np.uint64)
    limbs[:, 3] &= np.uint64((1 << 58) - 1)
    return limbs


def bench_size(size: int, depth: int, key_mode: str) -> dict:
    t = time.perf_counter()
    circuit = build_batch_circuit(BatchShape(size, depth))
    compile_s = time.perf_counter() - t
    st, txs, fee_account = sample_batch(size, depth)
    t = time.perf_counter()
    res = apply_batch(st, txs, batch_size=size, domain=DOMAIN, batch_number=1, fee_account=fee_account)
    apply_s = time.perf_counter() - t
    t = time.perf_counter()
    witness = circuit.witness(res.inputs, check=False)
    witness_s = time.perf_counter() - t
    t = time.perf_counter()
    circuit.check(witness)
    check_s = time.perf_counter() - t
    row = {
        "batch_size": size,
        "depth": depth,
        "constraints": circuit.n_constraints,
        "wires": circuit.r1cs.n_wires,
        "compile_s": compile_s,
        "apply_s": apply_s,
        "witness_s": witness_s,
        "check_s": check_s,
    }
    if key_mode != "none":
        backend = select_backend()
        t = time.perf_counter()
        if key_mode == "cache":
            pk = load_or_setup(circuit).pk
        else:
            pk = timing_key(circuit)
        row["key_s"] = time.perf_counter() - t
        row["key"] = key_mode
        result = prove(pk, witness, backend)
        row["prove_s"] = result.timings["total"]
        row["prove_timings"] = result.timings
        row["backend"] = backend.describe()
        if key_mode == "cache":
            row["verified"] = verify(pk.vk, result.public_signals, result.proof)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[4, 8, 32])
    ap.add_argument("--depth", type=int, default=12)
    ap.add_argument("--per-tx-depths", type=int, nargs="*", default=[12, 16])
    ap.add_argument("--key", choices=["timing", "cache", "none"], default="timing")
    ap.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "rollup.json")
    args = ap.parse_args()

    out: dict = {"machine": platform.platform(), "per_tx": [], "batches": []}
    for depth in args.per_tx_depths:
        row = per_tx(depth)
        out["per_tx"].append(row)
        print(
            f"2^{2 * depth} accounts: {row['per_tx_marginal']:,.0f} constraints/tx "
            f"({row['per_tx_without_sha']:,} + {row['per_tx_sha_share']:,.0f} SHA-256 share); "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(row["parts"].items())),
            flush=True,
        )
    if args.sizes:
        print(f"\n{'batch':>5} {'constraints':>12} {'compile s':>10} {'witness s':>10} {'check s':>8} {'prove s':>8}")
    for size in args.sizes:
        row = bench_size(size, args.depth, args.key)
        out["batches"].append(row)
        prove_s = f"{row['prove_s']:.1f}" if "prove_s" in row else "-"
        print(
            f"{size:>5} {row['constraints']:>12,} {row['compile_s']:>10.1f} {row['witness_s']:>10.1f} "
            f"{row['check_s']:>8.1f} {prove_s:>8}",
            flush=True,
        )
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2) + "\n")
    print(f"\nJSON: {args.json}")


if __name__ == "__main__":
    main()
