"""Import and export of snarkjs Groth16 ``.zkey`` files (ARCHITECTURE §3).

Sections: 1 protocol (1 = Groth16), 2 header (n8q, q, n8r, r, nVars, nPublic, domainSize,
alpha1, beta1, beta2, gamma2, delta1, delta2), 3 IC, 4 A/B coefficients, 5 A, 6 B1, 7 B2, 8 C
(private wires), 9 H, 10 contributions. Point coordinates are Montgomery form, infinity all zeros.

Bulk sections are read as zero-copy NumPy views of the mapped file. Exports also carry a small
section of our own (type 0x7a6b, JSON) with the key's origin; snarkjs ignores unknown sections.
A key without it (snarkjs's, or from ``zkprover zkey``) gets its provenance from section 10.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct

import numpy as np

from prover.backend.interface import COEFF_DTYPE, KeyArrays
from prover.binfile import BinFile, BinWriter, SectionReader, bigint, u32
from prover.field.arrays import g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.field.curve import G1, G2
from prover.groth16.keys import ProvingKey, VerifyingKey
from prover.groth16.mpc import BEACON, MpcParams, read_mpc_params

ZKEY_MAGIC = b"zkey"
GROTH16_PROTOCOL = 1
META_SECTION = 0x7A6B
_G1_BYTES, _G2_BYTES = 64, 128


def _counts(f: BinFile) -> tuple[SectionReader, int, int, int]:
    """The Groth16 header's reader, positioned after (n_vars, n_public, domain_size)."""
    s1 = f.reader(1, "protocol")
    protocol = s1.u32()
    if protocol != GROTH16_PROTOCOL:
        raise f.fail(f"protocol {protocol} is not Groth16 (1)")
    h = f.reader(2, "Groth16 header")
    h.field(FQ_MODULUS, "base field (only bn128 keys are supported)")
    h.field(FR_MODULUS, "scalar field")
    n_vars, n_public, domain_size = h.u32(), h.u32(), h.u32()
    if domain_size == 0 or domain_size & (domain_size - 1):
        raise f.fail(f"domain size {domain_size} is not a power of two")
    if n_public + 1 > n_vars:
        raise f.fail(f"{n_public} public signals but only {n_vars} signals")
    return h, n_vars, n_public, domain_size


def read_zkey_counts(path: str | os.PathLike) -> tuple[int, int, int]:
    """(signals, public signals, domain size) of a .zkey, from its header alone (the file is
    mapped, not read): enough to size a proof before loading the key."""
    _, n_vars, n_public, domain_size = _counts(BinFile(path, ZKEY_MAGIC, 2))
    return n_vars, n_public, domain_size


def read_zkey(path: str | os.PathLike) -> ProvingKey:
    """Read a snarkjs Groth16 .zkey; FormatError naming the file on any inconsistency."""
    f = BinFile(path, ZKEY_MAGIC, 2)
    h, n_vars, n_public, domain_size = _counts(f)
    alpha1 = _g1(f, h.take(_G1_BYTES), "alpha1")
    beta1 = _g1(f, h.take(_G1_BYTES), "beta1")
    beta2 = _g2(f, h.take(_G2_BYTES), "beta2")
    gamma2 = _g2(f, h.take(_G2_BYTES), "gamma2")
    delta1 = _g1(f, h.take(_G1_BYTES), "delta1")
    delta2 = _g2(f, h.take(_G2_BYTES), "delta2")
    h.expect_end()

    ic_arr = _points(f, 3, "IC", n_public + 1, _G1_BYTES, (2, 4))
    ic = tuple(_g1(f, bytes(row.tobytes()), f"IC[{i}]") for i, row in enumerate(ic_arr))

    cview = f.section(4, "coefficients")
    if len(cview) < 4:
        raise f.fail("coefficients section is truncated")
    (n_coeffs,) = struct.unpack_from("<I", cview, 0)
    if len(cview) != 4 + n_coeffs * COEFF_DTYPE.itemsize:
        raise f.fail(
            f"coefficients section holds {(len(cview) - 4) / COEFF_DTYPE.itemsize:g} records, header says {n_coeffs}"
        )
    coeffs = np.frombuffer(cview[4:], dtype=COEFF_DTYPE)
    if n_coeffs:
        if int(coeffs["matrix"].max()) > 1:
            raise f.fail("a coefficient names a matrix other than A (0) or B (1)")
        if int(coeffs["constraint"].max()) >= domain_size:
            raise f.fail("a coefficient's constraint lies outside the domain")
        if int(coeffs["signal"].max()) >= n_vars:
            raise f.fail("a coefficient names a signal beyond nVars")

    arrays = KeyArrays(
        n_vars=n_vars,
        n_public=n_public,
        domain_size=domain_size,
        a_query=_points(f, 5, "A", n_vars, _G1_BYTES, (2, 4)),
        b1_query=_points(f, 6, "B1", n_vars, _G1_BYTES, (2, 4)),
        b2_query=_points(f, 7, "B2", n_vars, _G2_BYTES, (2, 2, 4)),
        c_query=_points(f, 8, "C", n_vars - n_public - 1, _G1_BYTES, (2, 4)),
        h_query=_points(f, 9, "H", domain_size, _G1_BYTES, (2, 4)),
        coeffs=coeffs,
    )
    metadata: dict = {}
    if META_SECTION in f.sections:
        try:
            metadata = json.loads(bytes(f.section(META_SECTION, "zkprover metadata")))
        except ValueError:
            raise f.fail("zkprover metadata section is not JSON") from None
    elif 10 in f.sections:
        metadata = ceremony_metadata(read_mpc_params(f.reader(10, "contributions")))
    origin = metadata.get("origin", f"snarkjs zkey {os.fspath(path)}")
    vk = VerifyingKey(alpha1=alpha1, beta2=beta2, gamma2=gamma2, delta2=delta2, ic=ic)
    return ProvingKey(vk=vk, beta1=beta1, delta1=delta1, arrays=arrays, origin=origin, metadata=metadata)


def ceremony_metadata(mpc: MpcParams) -> dict:
    """A key's provenance from its contribution records (section 10): ``ceremony`` when it has at
    least one phase-2 contribution, ``uncontributed`` when it has none: its delta is still gamma
    (both the generator), which lets anyone move a proof to other public inputs."""
    return {
        "setup": "ceremony" if mpc.contributions else "uncontributed",
        "circuit_hash": mpc.cs_hash.hex(),
        "contributions": [
            {"name": c.name or "", "hash": c.contribution_hash().hex(), "beacon": c.type == BEACON}
            for c in mpc.contributions
        ],
    }


def write_zkey(pk: ProvingKey, path: str | os.PathLike) -> None:
    """Write ``pk`` as a snarkjs-readable Groth16 .zkey, atomically."""
    a = pk.arrays
    w = BinWriter(ZKEY_MAGIC, 1)
    w.add(1, u32(GROTH16_PROTOCOL))
    header = [
        u32(32),
        bigint(FQ_MODULUS),
        u32(32),
        bigint(FR_MODULUS),
        u32(a.n_vars),
        u32(a.n_public),
        u32(a.domain_size),
        g1_array([pk.vk.alpha1]).tobytes(),
        g1_array([pk.beta1]).tobytes(),
        g2_array([pk.vk.beta2]).tobytes(),
        g2_array([pk.vk.gamma2]).tobytes(),
        g1_array([pk.delta1]).tobytes(),
        g2_array([pk.vk.delta2]).tobytes(),
    ]
    w.add(2, *header)
    w.add(3, g1_array(list(pk.vk.ic)).tobytes())
    coeffs = np.ascontiguousarray(a.coeffs, dtype=COEFF_DTYPE)
    w.add(4, u32(len(coeffs)), coeffs.tobytes())
    for stype, arr in ((5, a.a_query), (6, a.b1_query), (7, a.b2_query), (8, a.c_query), (9, a.h_query)):
        w.add(stype, np.ascontiguousarray(arr, dtype="<u8").tobytes())
    # Section 10: a circuit hash and zero MPC contributions (a development key has none).
    cs_hash = hashlib.blake2b(pk.digest().encode(), digest_size=64).digest()
    w.add(10, cs_hash, u32(0))
    meta = {**pk.metadata, "origin": pk.origin}
    w.add(META_SECTION, json.dumps(meta, sort_keys=True).encode())
    w.save(path)


def _points(f: BinFile, stype: int, name: str, count: int, size: int, shape: tuple[int, ...]) -> np.ndarray:
    view = f.section(stype, name)
    if len(view) != count * size:
        raise f.fail(f"section {name} holds {len(view) / size:g} points, expected {count}")
    return np.frombuffer(view, dtype="<u8").reshape(count, *shape)


def _g1(f: BinFile, raw: bytes | memoryview, name: str):
    (p,) = g1_points(np.frombuffer(bytes(raw), dtype="<u8").reshape(1, 2, 4))
    if not G1.is_on_curve(p):
        raise f.fail(f"{name} is not a point on G1")
    return p


def _g2(f: BinFile, raw: bytes | memoryview, name: str):
    (p,) = g2_points(np.frombuffer(bytes(raw), dtype="<u8").reshape(1, 2, 2, 4))
    if not G2.is_on_curve(p):
        raise f.fail(f"{name} is not a point on G2")
    return p
