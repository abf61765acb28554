"""Groth16 phase 2 (the circuit-specific ceremony), compatible with snarkjs's ``zkey`` verbs.

``zkey_new`` lays out the initial key exactly as ``snarkjs zkey new`` does, byte for byte and in
the same section order (1, 2, 4, 3, 9, 8, 5, 6, 7, 10), from an ``.r1cs`` and a prepared
``.ptau``: with the Lagrange points L_c of the phase-1 series at the circuit's domain (size d,
the smallest power of two above constraints + public signals), and the r1cs terms (c, s, k) of
constraint c, signal s, coefficient k,

* A[s] = sum_A k tauG1 L_c, B1[s] = sum_B k tauG1 L_c, B2[s] = sum_B k tauG2 L_c,
* IC[s] (s <= nPublic) / C[s] (the rest) = sum_A k betaTau L_c + sum_B k alphaTau L_c + sum_C k tau L_c,
* plus, per public signal s, one extra A row at constraint nConstraints + s with coefficient 1,
* H[i] = the odd Lagrange points of tauG1 on the doubled domain; delta = gamma = 1.

The sums run natively (``lincomb``: one variable-base product per r1cs term, multi-core).
The circuit hash, which every later contribution's transcript starts from, is BLAKE2b-512 over
alpha1, beta1, beta2, gamma2, delta1, delta2, then (each group preceded by its count as a
big-endian u32) IC, the points tau^(i+d) - tau^i G1 (snarkjs hashes these in chunks of 2^14 and
rounds the count up to whole chunks once d - 1 exceeds one chunk: we copy that), C, A, B1, B2.

``contribute``/``beacon`` multiply delta by a secret and L (section 8) and H (9) by its
inverse (natively, ``scale``), appending a snarkjs contribution record (``prover.groth16.mpc``).
``verify`` recomputes the initial key and checks what ``snarkjs zkey verify`` checks.
"""

from __future__ import annotations

import os
import secrets
import struct
from dataclasses import dataclass

import numpy as np

from prover.backend.interface import COEFF_DTYPE
from prover.binfile import BinFile, BinWriter, FormatError, bigint
from prover.binfile import u32 as u32le
from prover.field.arrays import g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, MONT_R
from prover.field.curve import G1, G2
from prover.groth16 import ptau as pt
from prover.groth16.mpc import (
    BEACON,
    CONTRIBUTION,
    Contribution,
    MpcParams,
    blake512,
    g1_uncompressed,
    g2_uncompressed,
    read_mpc_params,
    uncompressed,
)
from prover.groth16.snarkjs_rng import ChaCha, beacon_rng, hash_to_g2, keypair_from_rng

R = FR_MODULUS
ZKEY_MAGIC, R1CS_MAGIC = b"zkey", b"r1cs"
_R2_MOD_R = MONT_R * MONT_R % R
_RINV_Q = pow(MONT_R, -1, FQ_MODULUS)
_QINV_NEG = (-pow(FQ_MODULUS, -1, MONT_R)) % MONT_R
_H_CHUNK = 1 << 14
_HEADER_POINT_BYTES = 3 * 64 + 3 * 128  # alpha1, beta1, beta2, gamma2, delta1, delta2 end the header


class CeremonyError(ValueError):
    """A ceremony input is unusable or a key does not verify; the message says what and where."""


def _native():
    from prover.backend import cpu

    if cpu._native is None:
        raise CeremonyError("the phase-2 ceremony needs the native extension (prover.backend._native); build it")
    return cpu._native, cpu.default_threads()


def _from_mont(arr: np.ndarray) -> np.ndarray:
    native, threads = _native()
    out = np.array(arr, dtype="<u8", copy=True)
    native.fq_from_mont(out, threads)
    return out


# --- the r1cs, flat -----------------------------------------------------------------------
@dataclass
class _Terms:
    n_vars: int
    n_public: int
    n_constraints: int
    matrix: np.ndarray  # per term: 0 A, 1 B, 2 C
    constraint: np.ndarray
    signal: np.ndarray
    coef: np.ndarray  # (T, 4) u64, standard form
    coef_id: np.ndarray  # per term: the index of its coefficient among the distinct ones


def _read_r1cs_terms(path: str | os.PathLike) -> _Terms:
    """Every term of the .r1cs in file order (duplicates kept, as snarkjs reads them)."""
    f = BinFile(path, R1CS_MAGIC, 1)
    h = f.reader(1, "header")
    h.field(R, "scalar field (the circuit is not over BN254)")
    n_wires, n_out, n_pub_in, _n_prv = (h.u32() for _ in range(4))
    h.u64()
    n_constraints = h.u32()
    h.expect_end()
    data = f.section(2, "constraints")
    raw = bytes(data)
    counts = np.empty(3 * n_constraints, dtype=np.int64)
    starts = np.empty(3 * n_constraints, dtype=np.int64)
    pos, unpack = 0, struct.unpack_from
    try:
        for k in range(3 * n_constraints):
            (n,) = unpack("<I", raw, pos)
            counts[k], starts[k] = n, pos + 4
            pos += 4 + 36 * n
    except struct.error:
        raise f.fail(f"constraints section is truncated (in constraint {k // 3})") from None
    if pos != len(raw):
        raise f.fail(f"constraints section: {len(raw) - pos} bytes do not match {n_constraints} constraints")
    total = int(counts.sum())
    first = np.cumsum(counts) - counts
    offs = np.repeat(starts, counts) + 36 * (np.arange(total, dtype=np.int64) - np.repeat(first, counts))
    buf = np.frombuffer(raw, dtype=np.uint8)
    signal = buf[offs[:, None] + np.arange(4)].copy().view("<u4").ravel()
    coef = buf[offs[:, None] + 4 + np.arange(32)].copy().view("<u8")
    lc = np.repeat(np.arange(3 * n_constraints, dtype=np.int64), counts)
    if total and int(signal.max()) >= n_wires:
        raise f.fail(f"a constraint names wire {int(signal.max())} of {n_wires}")
    if total and _any_geq(coef, R):
        raise f.fail("a coefficient is not reduced below the scalar field prime")
    _, coef_id = np.unique(np.ascontiguousarray(coef).view("V32").ravel(), return_inverse=True)
    return _Terms(
        n_wires, n_out + n_pub_in, n_constraints, lc % 3, lc // 3, signal.astype(np.int64), coef, coef_id.ravel()
    )


def _any_geq(limbs: np.ndarray, modulus: int) -> bool:
    """Whether any row of (n, 4) little-endian limbs is >= modulus (lexicographic from the top)."""
    m = [(modulus >> (64 * i)) & (2**64 - 1) for i in range(4)]
    geq = np.ones(len(limbs), dtype=bool)  # equal so far -> still >=
    for i in range(4):
        col = limbs[:, i]
        geq = np.where(col != m[i], col > m[i], geq)
    return bool(geq.any())


def domain_size(n_constraints: int, n_public: int) -> int:
    """snarkjs's cirPower: the smallest power of two above nConstraints + nPublic."""
    return 1 << (n_constraints + n_public).bit_length()


# --- zkey new -----------------------------------------------------------------------------
@dataclass
class InitialKey:
    """The sections of a freshly made key, ready to write (bytes) and its circuit hash."""

    n_vars: int
    n_public: int
    domain_size: int
    header: bytes
    sections: dict[int, bytes]
    cs_hash: bytes
    alpha1: tuple
    beta1: tuple
    beta2: tuple


def _lincomb_rows(g2: bool, bases: np.ndarray, out_idx: np.ndarray, base_idx: np.ndarray, scalars, n_out: int):
    native, threads = _native()
    order = np.argsort(out_idx, kind="stable")
    ptr = np.zeros(n_out + 1, dtype=np.uint64)
    ptr[1:] = np.cumsum(np.bincount(out_idx, minlength=n_out))
    idx = np.ascontiguousarray(base_idx[order], dtype=np.uint32)
    if len(idx) and int(idx.max()) >= len(bases):
        raise CeremonyError("internal: a term names a point beyond the phase-1 series")
    out = np.zeros((n_out, 2, 2, 4) if g2 else (n_out, 2, 4), dtype="<u8")
    native.lincomb(g2, np.ascontiguousarray(bases), ptr, idx, np.ascontiguousarray(scalars[order]), out, threads)
    return out


def _lincomb(
    g2: bool,
    bases: np.ndarray,
    out_idx: np.ndarray,
    base_idx: np.ndarray,
    scalars: np.ndarray,
    n_out: int,
    coef_id: np.ndarray | None = None,
):
    """out[j] = sum of scalars[t] bases[base_idx[t]] over the terms t with out_idx[t] = j.

    With ``coef_id`` (equal ids: equal scalars), the terms of one output that share a
    coefficient other than 1 have their bases summed first (additions only) and are multiplied
    once: the rollup's Poseidon rounds reuse a few thousand full-size constants, so about half
    of the B terms fold away. Products are what the time goes on; the sums are cheap."""
    if coef_id is None or len(out_idx) == 0:
        return _lincomb_rows(g2, bases, out_idx, base_idx, scalars, n_out)
    key = out_idx.astype(np.int64) * (int(coef_id.max()) + 2) + coef_id
    order = np.argsort(key, kind="stable")
    ks = key[order]
    starts = np.flatnonzero(np.concatenate([[True], ks[1:] != ks[:-1]]))
    sizes = np.diff(np.append(starts, len(ks)))
    lead = scalars[order[starts]]
    is_one = (lead[:, 0] == 1) & ~lead[:, 1:].any(axis=1)
    folded = (sizes > 1) & ~is_one
    n_fold = int(folded.sum())
    if n_fold == 0:
        return _lincomb_rows(g2, bases, out_idx, base_idx, scalars, n_out)
    group_of_term = np.repeat(np.arange(len(starts)), sizes)
    in_fold = np.repeat(folded, sizes)
    fold_no = np.cumsum(folded) - 1  # per group: its row among the folded ones
    ones = np.zeros((int(in_fold.sum()), 4), dtype="<u8")
    ones[:, 0] = 1
    sums = _lincomb_rows(g2, bases, fold_no[group_of_term[in_fold]], base_idx[order][in_fold], ones, n_fold)
    # the second pass: one term per folded group (its sum, its coefficient), the rest as they are
    first = order[starts[folded]]
    keep = order[~in_fold]
    return _lincomb_rows(
        g2,
        np.concatenate([bases, sums]),
        np.concatenate([out_idx[keep], out_idx[first]]),
        np.concatenate([base_idx[keep], len(bases) + np.arange(n_fold)]),
        np.concatenate([scalars[keep], scalars[first]]),
        n_out,
    )


def build_initial(r1cs_path: str | os.PathLike, ptau_path: str | os.PathLike) -> InitialKey:
    """Everything ``snarkjs zkey new`` would write for this circuit and phase 1."""
    t = _read_r1cs_terms(r1cs_path)
    p = pt.Ptau(ptau_path)
    d = domain_size(t.n_constraints, t.n_public)
    if 2 * d > 1 << (p.power + 1):
        need = d.bit_length() - 1
        raise CeremonyError(
            f"{os.fspath(ptau_path)}: circuit needs a domain of 2^{need} ({t.n_constraints} constraints, "
            f"{t.n_public} public signals): powers of tau of power >= {need}, this one is {p.power}"
        )
    n_pub, n_c = t.n_public, t.n_constraints
    lag_tau = p.lagrange(pt.TAU_G1, d)
    lag_tau2 = p.lagrange(pt.TAU_G2, d)
    lag_alpha = p.lagrange(pt.ALPHA_TAU_G1, d)
    lag_beta = p.lagrange(pt.BETA_TAU_G1, d)

    # the extra A rows: constraint n_c + s, signal s, coefficient 1
    extra_s = np.arange(n_pub + 1, dtype=np.int64)
    one = np.zeros((n_pub + 1, 4), dtype="<u8")
    one[:, 0] = 1
    is_a, is_b = t.matrix == 0, t.matrix == 1
    a_sig = np.concatenate([t.signal[is_a], extra_s])
    a_con = np.concatenate([t.constraint[is_a], n_c + extra_s])
    a_coef = np.concatenate([t.coef[is_a], one])
    extra_id = np.full(n_pub + 1, -1)  # coefficient 1: never folded, any id will do
    a_id = np.concatenate([t.coef_id[is_a], extra_id])
    b_sig, b_con, b_coef, b_id = t.signal[is_b], t.constraint[is_b], t.coef[is_b], t.coef_id[is_b]

    A = _lincomb(False, lag_tau, a_sig, a_con, a_coef, t.n_vars, a_id)
    B1 = _lincomb(False, lag_tau, b_sig, b_con, b_coef, t.n_vars, b_id)
    B2 = _lincomb(True, lag_tau2, b_sig, b_con, b_coef, t.n_vars, b_id)
    # IC and C: beta tau for A terms, alpha tau for B, tau for C (one base array, offsets d, 2d)
    g1_bases = np.concatenate([lag_tau, lag_alpha, lag_beta])
    which = np.concatenate([np.choose(t.matrix, [2, 1, 0]), np.full(n_pub + 1, 2)])
    mix = _lincomb(
        False,
        g1_bases,
        np.concatenate([t.signal, extra_s]),
        np.concatenate([t.constraint, n_c + extra_s]) + d * which,
        np.concatenate([t.coef, one]),
        t.n_vars,
        # ids per (coefficient, series): only terms on the same series' points fold together
        np.concatenate([t.coef_id, extra_id]) * 3 + which,
    )
    IC, C = mix[: n_pub + 1], mix[n_pub + 1 :]
    H = np.ascontiguousarray(p.lagrange(pt.TAU_G1, 2 * d)[1::2])

    # coefficients: per constraint its A then B terms (file order), then the extra rows
    ab = t.matrix < 2
    n_ab = int(ab.sum())
    coeffs = np.empty(n_ab + n_pub + 1, dtype=COEFF_DTYPE)
    coeffs["matrix"][:n_ab] = t.matrix[ab]
    coeffs["constraint"][:n_ab] = t.constraint[ab]
    coeffs["signal"][:n_ab] = t.signal[ab]
    coeffs["value"][:n_ab] = _times_r2(t.coef[ab])
    coeffs["matrix"][n_ab:] = 0
    coeffs["constraint"][n_ab:] = n_c + extra_s
    coeffs["signal"][n_ab:] = extra_s
    coeffs["value"][n_ab:] = _limbs(_R2_MOD_R)

    alpha1_m = p.points(pt.ALPHA_TAU_G1, 0, 1)
    beta1_m = p.points(pt.BETA_TAU_G1, 0, 1)
    beta2_m = p.points(pt.BETA_G2, 0, 1)
    (alpha1,), (beta1,), (beta2,) = g1_points(alpha1_m), g1_points(beta1_m), g2_points(beta2_m)
    g1m, g2m = g1_array([G1.generator]).tobytes(), g2_array([G2.generator]).tobytes()
    sizes = [u32le(32), bigint(FQ_MODULUS), u32le(32), bigint(R), u32le(t.n_vars), u32le(n_pub), u32le(d)]
    # gamma2, delta1, delta2 start as the generators (gamma stays; contributions move delta)
    header = b"".join([*sizes, alpha1_m.tobytes(), beta1_m.tobytes(), beta2_m.tobytes(), g2m, g1m, g2m])

    h = blake512()
    for enc in (g1_uncompressed(alpha1), g1_uncompressed(beta1), g2_uncompressed(beta2)):
        h.update(enc)
    h.update(g2_uncompressed(G2.generator) + g1_uncompressed(G1.generator) + g2_uncompressed(G2.generator))
    h.update(struct.pack(">I", n_pub + 1) + uncompressed(_from_mont(IC)))
    h.update(struct.pack(">I", d - 1) + uncompressed(_from_mont(_h_differences(p, d))))
    for arr in (C, A, B1, B2):
        h.update(struct.pack(">I", len(arr)) + uncompressed(_from_mont(arr)))
    cs_hash = h.digest()

    sections = {
        3: IC.tobytes(),
        4: u32le(len(coeffs)) + coeffs.tobytes(),
        5: A.tobytes(),
        6: B1.tobytes(),
        7: B2.tobytes(),
        8: C.tobytes(),
        9: H.tobytes(),
    }
    return InitialKey(t.n_vars, n_pub, d, header, sections, cs_hash, alpha1, beta1, beta2)


def _h_differences(p: pt.Ptau, d: int) -> np.ndarray:
    """tau^(i+d) - tau^i in G1 for the i snarkjs hashes (see the module docstring).

    When d is 2^power the last of them, i = d - 1, reads point 2d - 1, one past the end of the
    tau G1 section: snarkjs then reads whatever 64 bytes follow in the file (the next section's
    header and the start of its points) as a point in Montgomery form and subtracts with the
    chord formula. We do the same (coordinates taken mod q), so such keys still hash alike."""
    count = d - 1 if d - 1 <= _H_CHUNK else -(-(d - 1) // _H_CHUNK) * _H_CHUNK
    available = (2 << p.power) - 1
    past_end = count + d > available
    n = count - 1 if past_end else count
    tau = p.points(pt.TAU_G1, 0, n + d)
    i = np.arange(n, dtype=np.int64)
    minus_one = np.array(_limbs(R - 1), dtype="<u8")
    scalars = np.empty((2 * n, 4), dtype="<u8")
    scalars[0::2] = _limbs(1)
    scalars[1::2] = minus_one
    out_idx = np.repeat(i, 2)
    base_idx = np.empty(2 * n, dtype=np.int64)
    base_idx[0::2], base_idx[1::2] = i + d, i
    out = _lincomb(False, tau, out_idx, base_idx, scalars, n)
    if not past_end:
        return out
    if count + d > available + 1:
        raise CeremonyError(f"{p.path}: circuit domain {d} is too large for power {p.power}")
    raw = p.bytes_after(pt.TAU_G1, 64)
    tail = p.points(pt.TAU_G1, d - 1, 1).tobytes()
    point = _wasm_sub_affine(*(int.from_bytes(b[k : k + 32], "little") for b in (raw, tail) for k in (0, 32)))
    return np.concatenate([out, g1_array([point])])


def _wasm_sub_affine(x1: int, y1: int, x2: int, y2: int) -> tuple[int, int]:
    """ffjavascript's ``g1m_subAffine`` then ``batchToAffine`` on raw Montgomery words, for the
    one point that is not a field element pair (``_h_differences``): its words may exceed q, and
    wasmcurves' add and sub wrap mod 2^256 when they overflow (then they are no longer
    congruent mod q), so the arithmetic is replayed word for word. Multiplication is exact
    Montgomery reduction with one conditional subtraction."""
    q, top = FQ_MODULUS, 1 << 256

    def add(a: int, b: int) -> int:
        t = a + b
        return (t - top - q) % top if t >= top else (t - q if t >= q else t)

    def sub(a: int, b: int) -> int:
        return a - b if a >= b else (a - b + top + q) % top

    def mul(a: int, b: int) -> int:
        t = a * b
        m = (t * _QINV_NEG) % top
        t = (t + m * q) >> 256
        return t - q if t >= q else t

    y2 = sub(0, y2)  # negAffine
    h = sub(x2, x1)
    rr = add(sub(y2, y1), sub(y2, y1))
    i4 = add(add(mul(h, h), mul(h, h)), add(mul(h, h), mul(h, h)))
    j = mul(h, i4)
    v = mul(x1, i4)
    x3 = sub(sub(mul(rr, rr), j), add(v, v))
    y1j = mul(y1, j)
    y3 = sub(mul(sub(v, x3), rr), add(y1j, y1j))
    z3 = add(h, h)
    # batchToAffine and fromMontgomery only multiply (congruent): finish in value space
    x, y, z = (w * _RINV_Q % q for w in (x3, y3, z3))
    zi = pow(z, -1, q)
    return (x * zi * zi % q, y * zi * zi * zi % q)


# GLV on G1 (scale_g1_glv): lambda^3 = 1 in Fr, lambda P = (beta x, y) for the beta the native
# kernel uses, and a short basis of the lattice {(a, b): a + b lambda = 0 mod r}.
GLV_LAMBDA = 0x30644E72E131A029048B6E193FD84104CC37A73FEC2BC5E9B8CA0B2D36636F23
_GLV_V1 = (147946756881789319000765030803803410728, -9931322734385697763)
_GLV_V2 = (9931322734385697763, 147946756881789319010696353538189108491)


def glv_split(k: int) -> tuple[int, int]:
    """k = k1 + k2 lambda (mod r) with |k1|, |k2| < 2^127 (Babai rounding in the short basis)."""
    (a1, b1), (a2, b2) = _GLV_V1, _GLV_V2
    det = a1 * b2 - a2 * b1
    c1 = (2 * b2 * k + det) // (2 * det)
    c2 = (-2 * b1 * k + det) // (2 * det)
    return k - c1 * a1 - c2 * a2, -c1 * b1 - c2 * b2


def _limbs(v: int) -> list[int]:
    return [(v >> (64 * i)) & (2**64 - 1) for i in range(4)]


def _times_r2(coef: np.ndarray) -> np.ndarray:
    """k * R^2 mod r per row (what snarkjs stores), converted once per distinct coefficient."""
    if len(coef) == 0:
        return coef
    uniq, inverse = np.unique(np.ascontiguousarray(coef).view("V32").ravel(), return_inverse=True)
    table = np.array([_limbs(int.from_bytes(bytes(u), "little") * _R2_MOD_R % R) for u in uniq], dtype="<u8").reshape(
        -1, 4
    )
    return table[inverse.ravel()]


def write_initial(key: InitialKey, path: str | os.PathLike) -> None:
    w = BinWriter(ZKEY_MAGIC, 1)
    w.add(1, u32le(1))
    w.add(2, key.header)
    for stype in (4, 3, 9, 8, 5, 6, 7):
        w.add(stype, key.sections[stype])
    w.add(10, MpcParams(key.cs_hash, []).encode())
    w.save(path)


def zkey_new(r1cs_path: str | os.PathLike, ptau_path: str | os.PathLike, out_path: str | os.PathLike) -> bytes:
    """``snarkjs zkey new``: write the initial key, return the circuit hash."""
    key = build_initial(r1cs_path, ptau_path)
    write_initial(key, out_path)
    return key.cs_hash


# --- reading a key for contribute / verify ------------------------------------------------
@dataclass
class _Key:
    file: BinFile
    n_vars: int
    n_public: int
    domain_size: int
    alpha1: tuple
    beta1: tuple
    beta2: tuple
    gamma2: tuple
    delta1: tuple
    delta2: tuple
    mpc: MpcParams


def _open_key(path: str | os.PathLike) -> _Key:
    f = BinFile(path, ZKEY_MAGIC, 2)
    if f.reader(1, "protocol").u32() != 1:
        raise f.fail("not a Groth16 key (protocol is not 1)")
    h = f.reader(2, "Groth16 header")
    h.field(FQ_MODULUS, "base field (only bn128 keys are supported)")
    h.field(R, "scalar field")
    n_vars, n_pub, d = h.u32(), h.u32(), h.u32()

    def g1():
        return g1_points(np.frombuffer(bytes(h.take(64)), dtype="<u8").reshape(1, 2, 4))[0]

    def g2():
        return g2_points(np.frombuffer(bytes(h.take(128)), dtype="<u8").reshape(1, 2, 2, 4))[0]

    alpha1, beta1, beta2, gamma2, delta1, delta2 = g1(), g1(), g2(), g2(), g1(), g2()
    h.expect_end()
    for name, p, group in (
        ("alpha1", alpha1, G1),
        ("beta1", beta1, G1),
        ("delta1", delta1, G1),
        ("beta2", beta2, G2),
        ("gamma2", gamma2, G2),
        ("delta2", delta2, G2),
    ):
        if p is None or not group.is_on_curve(p):
            raise f.fail(f"{name} is not a point of the curve")
    mpc = read_mpc_params(f.reader(10, "contributions"))
    return _Key(f, n_vars, n_pub, d, alpha1, beta1, beta2, gamma2, delta1, delta2, mpc)


# --- contribute / beacon ------------------------------------------------------------------
def _apply(old_path, new_path, rng: ChaCha, kind: int, name: str | None, beacon: tuple[bytes, int] | None) -> bytes:
    key = _open_key(old_path)
    f = key.file
    native, threads = _native()
    hasher = key.mpc.transcript_hasher()
    delta, g1_s = keypair_from_rng(rng)
    g1_sx = G1.affine_mul(g1_s, delta)
    hasher.update(g1_uncompressed(g1_s) + g1_uncompressed(g1_sx))
    transcript = hasher.digest()
    g2_spx = G2.affine_mul(hash_to_g2(transcript), delta)
    delta1, delta2 = G1.affine_mul(key.delta1, delta), G2.affine_mul(key.delta2, delta)
    c = Contribution(delta1, g1_s, g1_sx, g2_spx, transcript, kind, name)
    if beacon is not None:
        c.beacon_hash, c.num_iterations_exp = beacon
    mpc = MpcParams(key.mpc.cs_hash, [*key.mpc.contributions, c])

    header = bytes(f.section(2, "Groth16 header"))
    header = header[: len(header) - _HEADER_POINT_BYTES] + b"".join(
        [
            g1_array([key.alpha1]).tobytes(),
            g1_array([key.beta1]).tobytes(),
            g2_array([key.beta2]).tobytes(),
            g2_array([key.gamma2]).tobytes(),
            g1_array([delta1]).tobytes(),
            g2_array([delta2]).tobytes(),
        ]
    )
    k1, k2 = glv_split(pow(delta, -1, R))
    w = BinWriter(ZKEY_MAGIC, 1)
    w.add(1, bytes(f.section(1, "protocol")))
    w.add(2, header)
    for stype, name_ in ((3, "IC"), (4, "coefficients"), (5, "A"), (6, "B1"), (7, "B2")):
        w.add(stype, f.section(stype, name_))
    for stype, name_ in ((8, "L"), (9, "H")):
        src = f.section(stype, name_)
        if len(src) % 64:
            raise f.fail(f"section {name_} is not a whole number of G1 points")
        pts = np.frombuffer(src, dtype="<u8").reshape(-1, 2, 4)
        out = np.empty_like(pts)
        m1, m2 = (np.array(_limbs(abs(v)), dtype="<u8") for v in (k1, k2))
        native.scale_g1_glv(pts, m1, k1 < 0, m2, k2 < 0, out, threads)
        w.add(stype, out.tobytes())
    w.add(10, mpc.encode())
    w.save(new_path)
    return c.contribution_hash()


def entropy_rng(entropy: str) -> ChaCha:
    """snarkjs's ``getRandomRng``: BLAKE2b-512 of 64 fresh random bytes and the entropy text."""
    if not entropy:
        raise CeremonyError("contribution entropy is empty (give -e or type some text)")
    h = blake512()
    h.update(secrets.token_bytes(64))
    h.update(entropy.encode())
    return ChaCha.from_hash(h.digest())


def contribute(old_path, new_path, name: str | None, entropy: str) -> bytes:
    """``snarkjs zkey contribute``: returns the contribution hash."""
    return _apply(old_path, new_path, entropy_rng(entropy), CONTRIBUTION, name, None)


def parse_beacon(beacon_hex: str, num_iterations_exp: int | str) -> tuple[bytes, int]:
    """The beacon hash and exponent, validated as snarkjs does."""
    s = beacon_hex[2:] if beacon_hex.startswith("0x") else beacon_hex
    try:
        raw = bytes.fromhex(s)
    except ValueError:
        raw = b""
    if not raw or len(raw) * 2 != len(s):
        raise CeremonyError(f"invalid beacon hash {beacon_hex!r}: it must be a non-empty hexadecimal string")
    if len(raw) >= 256:
        raise CeremonyError("the beacon hash is at most 255 bytes")
    try:
        exp = int(num_iterations_exp)
    except ValueError:
        raise CeremonyError(f"numIterationsExp {num_iterations_exp!r} is not a number") from None
    if not 10 <= exp <= 63:
        raise CeremonyError(f"numIterationsExp {exp} must be between 10 and 63")
    return raw, exp


def beacon(old_path, new_path, beacon_hex: str, num_iterations_exp: int | str, name: str | None = None) -> bytes:
    """``snarkjs zkey beacon``: a contribution anyone can recompute from public randomness."""
    raw, exp = parse_beacon(beacon_hex, num_iterations_exp)
    return _apply(old_path, new_path, beacon_rng(raw, exp), BEACON, name, (raw, exp))


# --- verify -------------------------------------------------------------------------------
def _same_ratio(g1s, g1sx, g2s, g2sx) -> bool:
    """e(g1s, g2sx) == e(g1sx, g2s); false on any point at infinity (as snarkjs)."""
    from prover.groth16.verifier import g2_in_subgroup, pairing_product_is_one

    if g1s is None or g1sx is None or g2s is None or g2sx is None:
        return False
    if not (g2_in_subgroup(g2s) and g2_in_subgroup(g2sx)):
        return False
    return pairing_product_is_one([(g1s, g2sx), (G1.affine_neg(g1sx), g2s)])


@dataclass
class VerifyReport:
    ok: bool
    problem: str
    cs_hash: bytes
    contributions: list[Contribution]


def _random_combination(points: np.ndarray, scalars: np.ndarray):
    native, threads = _native()
    raw = native.msm_g1(np.ascontiguousarray(points), scalars, threads)
    if raw is None:
        return None
    return (int.from_bytes(raw[:32], "little"), int.from_bytes(raw[32:], "little"))


def verify(r1cs_path, ptau_path, zkey_path) -> VerifyReport:
    """``snarkjs zkey verify``: the key descends from this circuit and phase 1 through its
    recorded contributions. Returns a report; FormatError/CeremonyError on unreadable input."""
    key = _open_key(zkey_path)
    f = key.file

    def bad(problem: str) -> VerifyReport:
        return VerifyReport(False, problem, key.mpc.cs_hash, key.mpc.contributions)

    acc = blake512()
    acc.update(key.mpc.cs_hash)
    cur = G1.generator
    for i, c in enumerate(key.mpc.contributions):
        h = acc.copy()
        h.update(g1_uncompressed(c.g1_s) + g1_uncompressed(c.g1_sx))
        if h.digest() != c.transcript:
            return bad(f"contribution {i + 1}: inconsistent transcript")
        g2_sp = hash_to_g2(c.transcript)
        if not _same_ratio(c.g1_s, c.g1_sx, g2_sp, c.g2_spx):
            return bad(f"contribution {i + 1}: public key G1 and G2 do not have the same ratio")
        if not _same_ratio(cur, c.delta_after, g2_sp, c.g2_spx):
            return bad(f"contribution {i + 1}: deltaAfter does not follow the public key")
        if c.type == BEACON:
            rng = beacon_rng(c.beacon_hash or b"", c.num_iterations_exp or 0)
            secret, g1_s = keypair_from_rng(rng)
            if g1_s != c.g1_s or G1.affine_mul(g1_s, secret) != c.g1_sx:
                return bad(f"contribution {i + 1}: the beacon's key does not match its beacon hash")
        acc.update(c.public_key_bytes())
        cur = c.delta_after

    init = build_initial(r1cs_path, ptau_path)
    if (key.n_vars, key.n_public, key.domain_size) != (init.n_vars, init.n_public, init.domain_size):
        return bad("different circuit parameters (signals, public signals or domain size)")
    if key.alpha1 != init.alpha1 or key.beta1 != init.beta1 or key.beta2 != init.beta2:
        return bad("alpha or beta differ from the powers of tau")
    if key.gamma2 != G2.generator:
        return bad("gamma2 is not the generator")
    if key.delta1 != cur:
        return bad("delta1 is not the last contribution's deltaAfter")
    if not _same_ratio(G1.generator, cur, G2.generator, key.delta2):
        return bad("delta2 does not match delta1")
    if key.mpc.cs_hash != init.cs_hash:
        return bad("circuit hash does not match (a different circuit or powers of tau)")
    n_l = key.n_vars - key.n_public - 1
    for stype, name, count in ((8, "L", n_l), (9, "H", key.domain_size)):
        if len(f.section(stype, name)) != 64 * count:
            return bad(f"section {name} has the wrong size")
    for stype, name in ((3, "IC"), (4, "coefficients"), (5, "A"), (6, "B1"), (7, "B2")):
        if bytes(f.section(stype, name)) != init.sections[stype]:
            return bad(f"section {name} is not the one this circuit and powers of tau give")
    # L and H: one random combination each, same ratio as delta (the initial delta is 1)
    for stype, name in ((8, "L"), (9, "H")):
        new = np.frombuffer(f.section(stype, name), dtype="<u8").reshape(-1, 2, 4)
        if len(new) == 0:
            continue
        old = np.frombuffer(init.sections[stype], dtype="<u8").reshape(-1, 2, 4)
        scalars = np.zeros((len(new), 4), dtype="<u8")
        scalars[:, :2] = np.frombuffer(secrets.token_bytes(16 * len(new)), dtype="<u8").reshape(-1, 2)
        if not _same_ratio(
            _random_combination(old, scalars), _random_combination(new, scalars), key.delta2, G2.generator
        ):
            return bad(f"section {name} does not match delta")
    return VerifyReport(True, "", key.mpc.cs_hash, key.mpc.contributions)


__all__ = [
    "CeremonyError",
    "FormatError",
    "VerifyReport",
    "beacon",
    "build_initial",
    "contribute",
    "domain_size",
    "glv_split",
    "verify",
    "zkey_new",
]
