"""snarkjs's powers-of-tau ceremony (phase 1), natively: ``new``, ``contribute``, ``beacon``,
``prepare phase2`` and ``verify``, on snarkjs's own ``.ptau`` files (layout: ``ptau.py``).

A contribution draws secrets tau, alpha, beta and multiplies the i-th point of each series by
(first * tau^i), first being 1, alpha or beta: one variable-base product per point (native
``mul_each``, all cores). Its record in section 7 (``PtauContribution``) holds the new tau G1,
tau G2, alpha G1, beta G1, beta G2, the public key (per secret x: g1_s, g1_sx = x g1_s and
g2_spx = x g2_sp, g2_sp hashed from the challenge and g1_s, g1_sx), the *partial hash* and the
next challenge. Hashes are BLAKE2b-512:

* challenge_0 = H(H("") | every point of a fresh file, uncompressed); later challenges are the
  previous record's ``next_challenge``;
* response = H(challenge | the new points compressed | public key uncompressed); the record
  keeps the hasher's state before the public key (snarkjs's 216-byte partial hash, native
  ``blake2b_*``) so a verifier can recompute the response without the points;
* next_challenge = H(response | the new points uncompressed).

``prepare phase2`` appends sections 12-15: every series in the Lagrange basis for each domain
2^0 .. 2^power (2^(power+1) for tau G1, whose missing last power is taken as zero, as snarkjs
does), an inverse FFT over group elements (native ``group_ifft``). ``verify`` checks what
``snarkjs powersoftau verify`` checks: the chain of records, the powers in every section by a
random linear combination and a pairing, the next challenge, and the Lagrange sections against
the powers by random combinations (MSMs on both sides of an FFT of the randomness).
"""

from __future__ import annotations

import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from prover.binfile import BinWriter, atomic_output, bigint, u32
from prover.field.arrays import fr_vector, g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, root_of_unity
from prover.field.curve import G1, G2
from prover.groth16 import ptau as pt
from prover.groth16.mpc import (
    BEACON,
    CONTRIBUTION,
    blake512,
    encode_params,
    g1_uncompressed,
    g2_uncompressed,
    parse_params,
    uncompressed,
)
from prover.groth16.phase2 import (
    CeremonyError,
    _from_mont,
    _native,
    _same_ratio,
    entropy_rng,
    parse_beacon,
)
from prover.groth16.snarkjs_rng import ChaCha, beacon_rng, fr_from_rng, g1_from_rng, hash_to_g2

R = FR_MODULUS
MAX_POWER = 28  # snarkjs's limit (the 2-adicity of Fr)
_BLOCK = 1 << 16  # points per native call: bounds the temporaries (scalars, conversions)
_RECORD_POINTS = 3 * 64 + 2 * 128 + 6 * 64 + 3 * 128  # five points and the public key, LEM
SERIES = (pt.TAU_G1, pt.TAU_G2, pt.ALPHA_TAU_G1, pt.BETA_TAU_G1, pt.BETA_G2)


def series_length(series: int, power: int) -> int:
    if series == pt.TAU_G1:
        return (2 << power) - 1
    return 1 if series == pt.BETA_G2 else 1 << power


def _is_g2(series: int) -> bool:
    return series in (pt.TAU_G2, pt.BETA_G2)


# --- hashing --------------------------------------------------------------------------------
class PartialBlake2b:
    """BLAKE2b-512 whose state is snarkjs's serialised partial hash (216 bytes)."""

    def __init__(self, partial: bytes | None = None) -> None:
        native, _ = _native()
        self._native = native
        if partial is None:
            self.state = bytearray(216)
            native.blake2b_init(self.state)
        else:
            if len(partial) != 216:
                raise ValueError(f"a partial hash is 216 bytes, got {len(partial)}")
            self.state = bytearray(partial)

    def update(self, data: bytes | memoryview | np.ndarray) -> None:
        self._native.blake2b_update(self.state, data)

    def partial(self) -> bytes:
        return bytes(self.state)

    def digest(self) -> bytes:
        return self._native.blake2b_final(self.state)


def _geq(limbs: np.ndarray, c: int) -> np.ndarray:
    """limbs (n, 4) little-endian u64 >= c, elementwise."""
    out = np.zeros(len(limbs), dtype=bool)
    eq = np.ones(len(limbs), dtype=bool)
    for k in (3, 2, 1, 0):
        ck = np.uint64((c >> (64 * k)) & 0xFFFFFFFFFFFFFFFF)
        out |= eq & (limbs[:, k] > ck)
        eq &= limbs[:, k] == ck
    return out | eq


_NEG_FROM = (FQ_MODULUS - 1) // 2 + 1  # ffjavascript's sign: y is "negative" from here on


def compressed(points: np.ndarray) -> bytes:
    """ffjavascript's compressed encoding of Montgomery points: x big-endian (an Fq2 as c1, c0),
    0x80 on the first byte when y is negative (Fq2: by c1, or c0 when c1 is 0), 0x40 alone for
    infinity."""
    std = _from_mont(points)
    n = std.shape[0]
    g2 = std.ndim == 4
    xs = std[:, 0].reshape(n, -1)
    out = np.ascontiguousarray(xs).view(np.uint8).reshape(n, -1)[:, ::-1].copy()
    if g2:
        y0, y1 = std[:, 1, 0], std[:, 1, 1]
        y1_zero = ~y1.any(axis=1)
        neg = np.where(y1_zero, _geq(y0, _NEG_FROM), _geq(y1, _NEG_FROM))
    else:
        neg = _geq(std[:, 1], _NEG_FROM)
    inf = ~std.reshape(n, -1).any(axis=1)
    out[neg & ~inf, 0] |= 0x80
    out[inf, 0] = 0x40
    return out.tobytes()


def _uncompressed(points: np.ndarray) -> bytes:
    return uncompressed(_from_mont(points))


def first_challenge_hash(power: int) -> bytes:
    """The challenge of a fresh file: every point a generator."""
    h = blake512()
    h.update(blake512().digest())
    g1 = g1_uncompressed(G1.generator)
    g2 = g2_uncompressed(G2.generator)
    for unit, count in ((g1, (2 << power) - 1), (g2, 1 << power), (g1, 1 << power), (g1, 1 << power)):
        block = unit * 4096
        for _ in range(count // 4096):
            h.update(block)
        h.update(unit * (count % 4096))
    h.update(g2)
    return h.digest()


# --- the contribution record ----------------------------------------------------------------
@dataclass
class SecretPair:
    """One secret's public key: g1_s, g1_sx = x g1_s, g2_spx = x g2_sp (and x itself when known)."""

    g1_s: tuple
    g1_sx: tuple
    g2_spx: tuple
    prv: int | None = None


@dataclass
class PtauContribution:
    tau_g1: tuple
    tau_g2: tuple
    alpha_g1: tuple
    beta_g1: tuple
    beta_g2: tuple
    tau: SecretPair
    alpha: SecretPair
    beta: SecretPair
    partial_hash: bytes
    next_challenge: bytes
    type: int = CONTRIBUTION
    name: str | None = None
    num_iterations_exp: int | None = None
    beacon_hash: bytes | None = None

    def pubkey_uncompressed(self) -> bytes:
        k = (self.tau, self.alpha, self.beta)
        return b"".join(g1_uncompressed(p.g1_s) + g1_uncompressed(p.g1_sx) for p in k) + b"".join(
            g2_uncompressed(p.g2_spx) for p in k
        )

    def response_hash(self) -> bytes:
        h = PartialBlake2b(self.partial_hash)
        h.update(self.pubkey_uncompressed())
        return h.digest()

    def encode(self) -> bytes:
        k = (self.tau, self.alpha, self.beta)
        g1s = [p for s in k for p in (s.g1_s, s.g1_sx)]
        return b"".join(
            [
                g1_array([self.tau_g1]).tobytes(),
                g2_array([self.tau_g2]).tobytes(),
                g1_array([self.alpha_g1, self.beta_g1]).tobytes(),
                g2_array([self.beta_g2]).tobytes(),
                g1_array(g1s).tobytes(),
                g2_array([s.g2_spx for s in k]).tobytes(),
                self.partial_hash,
                self.next_challenge,
                encode_params(self),
            ]
        )


def read_contributions(p: pt.Ptau) -> list[PtauContribution]:
    """Section 7; FormatError (naming the file) when malformed or a point is off its curve."""
    r = p.file.reader(7, "contributions")
    fail = p.file.fail
    out = []
    for i in range(r.u32()):
        raw = bytes(r.take(_RECORD_POINTS))
        g1a = np.frombuffer(raw[:64], "<u8").reshape(1, 2, 4)
        g2a = np.frombuffer(raw[64:192], "<u8").reshape(1, 2, 2, 4)
        g1b = np.frombuffer(raw[192:320], "<u8").reshape(2, 2, 4)
        g2b = np.frombuffer(raw[320:448], "<u8").reshape(1, 2, 2, 4)
        g1k = np.frombuffer(raw[448:832], "<u8").reshape(6, 2, 4)
        g2k = np.frombuffer(raw[832:], "<u8").reshape(3, 2, 2, 4)
        one = [*g1_points(g1a), *g1_points(g1b), *g1_points(g1k)]
        two = [*g2_points(g2a), *g2_points(g2b), *g2_points(g2k)]
        if any(q is not None and not G1.is_on_curve(q) for q in one) or any(
            q is not None and not G2.is_on_curve(q) for q in two
        ):
            raise fail(f"contribution {i + 1}: a point is not on its curve")
        (tau_g1, alpha_g1, beta_g1, *k1), (tau_g2, beta_g2, *k2) = one, two
        pairs = [SecretPair(k1[2 * j], k1[2 * j + 1], k2[j]) for j in range(3)]
        c = PtauContribution(
            tau_g1, tau_g2, alpha_g1, beta_g1, beta_g2, *pairs, bytes(r.take(216)), bytes(r.take(64)), r.u32()
        )
        parse_params(c, bytes(r.take(r.u32())), i, fail)
        out.append(c)
    r.expect_end()
    return out


def _g2_sp(personalization: int, challenge: bytes, g1_s: tuple, g1_sx: tuple):
    h = blake512()
    h.update(bytes([personalization]) + challenge + g1_uncompressed(g1_s) + g1_uncompressed(g1_sx))
    return hash_to_g2(h.digest())


def key_from_rng(rng: ChaCha, challenge: bytes) -> tuple[SecretPair, SecretPair, SecretPair]:
    """snarkjs's ``createPTauKey``: the three secrets, then each one's g1_s and products."""
    prvs = [fr_from_rng(rng) for _ in range(3)]
    pairs = []
    for personalization, x in enumerate(prvs):
        g1_s = g1_from_rng(rng)
        g1_sx = G1.affine_mul(g1_s, x)
        g2_spx = G2.affine_mul(_g2_sp(personalization, challenge, g1_s, g1_sx), x)
        pairs.append(SecretPair(g1_s, g1_sx, g2_spx, x))
    return pairs[0], pairs[1], pairs[2]


# --- reading and writing --------------------------------------------------------------------
@dataclass
class _Opened:
    ptau: pt.Ptau
    contributions: list[PtauContribution]

    @property
    def power(self) -> int:
        return self.ptau.power

    def series(self, s: int) -> np.ndarray:
        return self.ptau.points(s, 0, series_length(s, self.power))

    def last_challenge(self) -> bytes:
        if self.contributions:
            return self.contributions[-1].next_challenge
        return first_challenge_hash(self.power)


def _open(path: str | os.PathLike) -> _Opened:
    p = pt.Ptau(path)
    if p.power > MAX_POWER:
        raise p.file.fail(f"power {p.power} is above {MAX_POWER}")
    return _Opened(p, read_contributions(p))


def _header(power: int, ceremony_power: int | None = None) -> bytes:
    return u32(32) + bigint(FQ_MODULUS) + u32(power) + u32(power if ceremony_power is None else ceremony_power)


def _contributions_section(contributions: list[PtauContribution]) -> bytes:
    return u32(len(contributions)) + b"".join(c.encode() for c in contributions)


def new(path: str | os.PathLike, power: int) -> bytes:
    """``snarkjs powersoftau new bn128 POWER``: every point a generator; the first challenge."""
    if not 1 <= power <= MAX_POWER:
        raise CeremonyError(f"power {power} is out of range 1..{MAX_POWER}")
    g1 = g1_array([G1.generator]).tobytes()
    g2 = g2_array([G2.generator]).tobytes()
    w = BinWriter(pt.PTAU_MAGIC, 1)
    w.add(1, _header(power))
    for s in SERIES:
        unit = g2 if _is_g2(s) else g1
        n = series_length(s, power)
        w.add(s, *([unit * 4096] * (n // 4096)), unit * (n % 4096))
    w.add(7, u32(0))
    w.save(path)
    return first_challenge_hash(power)


def _scalar_blocks(first: int, inc: int, n: int, g2: bool) -> Iterator[tuple[int, np.ndarray]]:
    """first * inc^i for i < n, a block at a time, in the native layout."""
    t = first % R
    for lo in range(0, n, _BLOCK):
        vals = [0] * min(_BLOCK, n - lo)
        for i in range(len(vals)):
            vals[i] = t
            t = t * inc % R
        yield lo, native_scalars(vals, g2)


def _apply_key(old_path, new_path, rng: ChaCha, kind: int, name: str | None, beacon: tuple[bytes, int] | None) -> bytes:
    old = _open(old_path)
    p = old.ptau
    if p.power != p.ceremony_power:
        raise CeremonyError(f"{p.path}: this file has been reduced; a contribution needs the full ceremony power")
    native, threads = _native()
    challenge = old.last_challenge()
    tau, alpha, beta = key_from_rng(rng, challenge)
    response = PartialBlake2b()
    response.update(challenge)
    firsts = {pt.TAU_G1: 1, pt.TAU_G2: 1, pt.ALPHA_TAU_G1: alpha.prv, pt.BETA_TAU_G1: beta.prv, pt.BETA_G2: beta.prv}
    new_series: dict[int, np.ndarray] = {}
    for s in SERIES:
        src = old.series(s)
        out = np.empty_like(src)
        g2 = _is_g2(s)
        for lo, scalars in _scalar_blocks(firsts[s], tau.prv, len(src), g2):
            hi = lo + len(scalars)
            native.mul_each(g2, np.ascontiguousarray(src[lo:hi]), scalars, out[lo:hi], threads)
            response.update(compressed(out[lo:hi]))
        new_series[s] = out
    c = PtauContribution(
        g1_points(new_series[pt.TAU_G1][1:2])[0],
        g2_points(new_series[pt.TAU_G2][1:2])[0],
        g1_points(new_series[pt.ALPHA_TAU_G1][:1])[0],
        g1_points(new_series[pt.BETA_TAU_G1][:1])[0],
        g2_points(new_series[pt.BETA_G2][:1])[0],
        SecretPair(tau.g1_s, tau.g1_sx, tau.g2_spx),
        SecretPair(alpha.g1_s, alpha.g1_sx, alpha.g2_spx),
        SecretPair(beta.g1_s, beta.g1_sx, beta.g2_spx),
        response.partial(),
        b"",
        kind,
        name,
    )
    if beacon is not None:
        c.beacon_hash, c.num_iterations_exp = beacon
    response.update(c.pubkey_uncompressed())
    response_hash = response.digest()
    nxt = blake512()
    nxt.update(response_hash)
    for s in SERIES:
        arr = new_series[s]
        for lo in range(0, len(arr), _BLOCK):
            nxt.update(_uncompressed(arr[lo : lo + _BLOCK]))
    c.next_challenge = nxt.digest()

    w = BinWriter(pt.PTAU_MAGIC, 1)
    w.add(1, _header(p.power))
    for s in SERIES:
        w.add(s, memoryview(new_series[s]).cast("B"))
    w.add(7, _contributions_section([*old.contributions, c]))
    w.save(new_path)
    return response_hash


def contribute(old_path, new_path, name: str | None, entropy: str) -> bytes:
    """``snarkjs powersoftau contribute``: returns the response hash (what snarkjs prints)."""
    return _apply_key(old_path, new_path, entropy_rng(entropy), CONTRIBUTION, name, None)


def beacon(old_path, new_path, beacon_hex: str, num_iterations_exp: int | str, name: str | None = None) -> bytes:
    """``snarkjs powersoftau beacon``: a contribution anyone can recompute from public randomness."""
    raw, exp = parse_beacon(beacon_hex, num_iterations_exp)
    return _apply_key(old_path, new_path, beacon_rng(raw, exp), BEACON, name, (raw, exp))


# --- prepare phase2 -------------------------------------------------------------------------
def native_scalars(vals: list[int], g2: bool) -> np.ndarray:
    """Scalars (below r) as the native ``mul_each`` and ``group_ifft`` take them: G2 in
    standard form (4 words each); G1 as the GLV split k = k1 + k2 lambda, |k1|, |k2| and a word
    of sign bits (9 words each: 130 doublings per product instead of 255)."""
    if g2:
        return fr_vector(vals).reshape(-1, 4)
    out = np.zeros((len(vals), 9), dtype="<u8")
    if vals:
        # The MSM's split (glv.h, same lambda as the beta ptau_impl.h uses), in C: a power-20
        # phase-2 preparation splits a million twiddles.
        native, _ = _native()
        halves = np.zeros((len(vals), 2, 4), dtype="<u8")
        signs = np.zeros((len(vals), 2), dtype=np.uint8)
        if not native.glv_split(False, fr_vector(vals).reshape(-1, 4), halves, signs):
            raise CeremonyError("a twiddle's GLV halves exceed 2^128 (scalars must be below r)")
        out[:, 0:8] = halves.reshape(-1, 8)
        out[:, 8] = signs[:, 0] | (signs[:, 1].astype("<u8") << 1)
    return out


def _twiddles(log_n: int, g2: bool) -> tuple[np.ndarray, np.ndarray]:
    """w^-j for j < n/2 in the native layout, and 1/n (standard form)."""
    n = 1 << log_n
    w_inv = pow(root_of_unity(log_n), -1, R)
    vals, t = [0] * (n // 2), 1
    for j in range(len(vals)):
        vals[j] = t
        t = t * w_inv % R
    return native_scalars(vals, g2), fr_vector([pow(n, -1, R)])


def lagrange_points(points: np.ndarray, log_n: int, g2: bool) -> np.ndarray:
    """The inverse FFT of 2^log_n points (fewer are padded with infinity, as snarkjs pads)."""
    native, threads = _native()
    n = 1 << log_n
    buf = np.zeros((n, *points.shape[1:]), dtype="<u8")
    buf[: len(points)] = points[:n]
    tw, n_inv = _twiddles(log_n, g2)
    native.group_ifft(g2, buf, np.ascontiguousarray(tw), n_inv, threads)
    return buf


def prepare_phase2(old_path, new_path) -> None:
    """``snarkjs powersoftau prepare phase2``: sections 1-7 as they are, then 12-15, streamed
    domain by domain (memory: the largest domain's points and its XYZZ temporaries)."""
    old = _open(old_path)
    p = old.ptau
    with atomic_output(new_path) as fh:
        fh.write(pt.PTAU_MAGIC + struct.pack("<II", 1, 11))
        for s in (1, *SERIES, 7):
            body = p.file.section(s, str(s))
            fh.write(struct.pack("<IQ", s, len(body)))
            fh.write(body)
        for s, lag in pt.LAGRANGE.items():
            src, g2 = old.series(s), _is_g2(s)
            top = p.power + 1 if s == pt.TAU_G1 else p.power
            fh.write(struct.pack("<IQ", lag, ((2 << top) - 1) * src[0].nbytes))
            for k in range(top + 1):
                fh.write(memoryview(lagrange_points(src[: 1 << k], k, g2)).cast("B"))


# --- verify ---------------------------------------------------------------------------------
@dataclass
class PtauReport:
    ok: bool
    problem: str
    power: int
    contributions: list[PtauContribution]
    next_challenge: bytes = b""
    prepared: bool = False


def _msm(points: np.ndarray, scalars: np.ndarray, g2: bool):
    native, threads = _native()
    if len(points) == 0:
        return None
    raw = (native.msm_g2 if g2 else native.msm_g1)(np.ascontiguousarray(points), scalars, threads)
    if raw is None:
        return None
    v = [int.from_bytes(raw[i : i + 32], "little") for i in range(0, len(raw), 32)]
    return (v[0], v[1]) if not g2 else ((v[0], v[1]), (v[2], v[3]))


def _random_scalars(n: int, bits: int = 64) -> np.ndarray:
    out = np.zeros((n, 4), dtype="<u8")
    out[:, 0] = np.frombuffer(secrets.token_bytes(8 * n), dtype="<u8")
    if bits < 64:
        out[:, 0] >>= np.uint64(64 - bits)
    return out


def _powers_relation(points: np.ndarray, g2: bool):
    """(R1, R2) = (sum r_i P_i, sum r_i P_(i+1)): R2 = x R1 iff every P_(i+1) = x P_i (whp)."""
    r = _random_scalars(len(points) - 1)
    return _msm(points[:-1], r, g2), _msm(points[1:], r, g2)


def _verify_record(cur: PtauContribution, prev_challenge: bytes, prev: dict, i: int) -> str:
    """'' when record i (1-based) follows ``prev`` (tau_g1 ... beta_g2 of the one before)."""
    if cur.type == BEACON:
        if cur.beacon_hash is None or cur.num_iterations_exp is None:
            return f"contribution #{i}: a beacon without its parameters"
        want = key_from_rng(beacon_rng(cur.beacon_hash, cur.num_iterations_exp), prev_challenge)
        for label, got, exp in zip(("tau", "alpha", "beta"), (cur.tau, cur.alpha, cur.beta), want, strict=True):
            if (got.g1_s, got.g1_sx, got.g2_spx) != (exp.g1_s, exp.g1_sx, exp.g2_spx):
                return f"contribution #{i}: the beacon key ({label}) is not the one its hash and iterations give"
    sp = {}
    for pers, (label, k) in enumerate((("tau", cur.tau), ("alpha", cur.alpha), ("beta", cur.beta))):
        sp[label] = _g2_sp(pers, prev_challenge, k.g1_s, k.g1_sx)
        if not _same_ratio(k.g1_s, k.g1_sx, sp[label], k.g2_spx):
            return f"contribution #{i}: invalid proof of knowledge of {label}"
    checks = (
        (prev["tau_g1"], cur.tau_g1, sp["tau"], cur.tau.g2_spx, "tau*G1"),
        (cur.tau.g1_s, cur.tau.g1_sx, prev["tau_g2"], cur.tau_g2, "tau*G2"),
        (prev["alpha_g1"], cur.alpha_g1, sp["alpha"], cur.alpha.g2_spx, "alpha*G1"),
        (prev["beta_g1"], cur.beta_g1, sp["beta"], cur.beta.g2_spx, "beta*G1"),
        (cur.beta.g1_s, cur.beta.g1_sx, prev["beta_g2"], cur.beta_g2, "beta*G2"),
    )
    for a, b, c, d, what in checks:
        if not _same_ratio(a, b, c, d):
            return f"contribution #{i}: {what} does not follow the previous contribution"
    return ""


def _record_points(c: PtauContribution) -> dict:
    return {"tau_g1": c.tau_g1, "tau_g2": c.tau_g2, "alpha_g1": c.alpha_g1, "beta_g1": c.beta_g1, "beta_g2": c.beta_g2}


def _verify_lagrange(p: pt.Ptau, series: int) -> str:
    from prover.backend import cpu

    g2 = _is_g2(series)
    top = p.power + 1 if series == pt.TAU_G1 else p.power
    powers = p.points(series, 0, series_length(series, p.power))
    for k in range(top + 1):
        n = 1 << k
        r = _random_scalars(n)
        if k == p.power + 1:
            r[-1] = 0  # the power past the file is taken as zero
        lhs = _msm(powers[: min(n, len(powers))], r[: min(n, len(powers))], g2)
        rhat = cpu.CpuBackend().ntt(r) if n > 1 else r
        rhs = _msm(p.lagrange(series, n), np.ascontiguousarray(rhat), g2)
        if lhs != rhs:
            return f"section {pt.LAGRANGE[series]} (Lagrange {series_name(series)}) is wrong for the domain of {n}"
    return ""


def series_name(series: int) -> str:
    return pt._NAMES[series]


def _verify_points(old: _Opened, cur: PtauContribution) -> tuple[str, bytes]:
    """The file's sections 2-6 against the last record: consecutive powers (a random linear
    combination and a pairing per series), the first points, the next challenge hash."""
    g1, g2 = G1.generator, G2.generator
    nxt = blake512()
    nxt.update(cur.response_hash())
    for s in SERIES:
        arr = old.series(s)
        for lo in range(0, len(arr), _BLOCK):
            nxt.update(_uncompressed(arr[lo : lo + _BLOCK]))
    heads = {s: (g2_points if _is_g2(s) else g1_points)(old.series(s)[:2]) for s in SERIES}
    r1, r2 = _powers_relation(old.series(pt.TAU_G1), False)
    if not _same_ratio(r1, r2, g2, cur.tau_g2):
        return "tauG1 section: the powers do not match", b""
    if heads[pt.TAU_G1] != [g1, cur.tau_g1]:
        return "tauG1 section: it must start with the generator and the contribution's tau*G1", b""
    r1, r2 = _powers_relation(old.series(pt.TAU_G2), True)
    if not _same_ratio(g1, cur.tau_g1, r1, r2):
        return "tauG2 section: the powers do not match", b""
    if heads[pt.TAU_G2] != [g2, cur.tau_g2]:
        return "tauG2 section: it must start with the generator and the contribution's tau*G2", b""
    for s, want in ((pt.ALPHA_TAU_G1, cur.alpha_g1), (pt.BETA_TAU_G1, cur.beta_g1)):
        r1, r2 = _powers_relation(old.series(s), False)
        if not _same_ratio(r1, r2, g2, cur.tau_g2):
            return f"{series_name(s)} section: the powers do not match", b""
        if heads[s][0] != want:
            return f"{series_name(s)} section: its first point is not the contribution's", b""
    if heads[pt.BETA_G2][0] != cur.beta_g2:
        return "betaG2 section: it is not the contribution's beta*G2", b""
    next_challenge = nxt.digest()
    if old.ptau.power == old.ptau.ceremony_power and next_challenge != cur.next_challenge:
        return "the points do not hash to the next challenge of the last contribution", b""
    return "", next_challenge


def verify(path: str | os.PathLike) -> PtauReport:
    """``snarkjs powersoftau verify``; FormatError on unreadable input, a report otherwise.
    The last record is checked first, then the points against it, then the earlier records
    (newest first, as snarkjs), then the Lagrange sections if present."""
    old = _open(path)
    p, contrs = old.ptau, old.contributions
    prepared = all(s in p.file.sections for s in pt.LAGRANGE.values())

    def bad(problem: str) -> PtauReport:
        return PtauReport(False, problem, p.power, contrs, prepared=prepared)

    if not contrs:
        return bad("this file has no contribution: it cannot be used in production")
    initial = {"tau_g1": G1.generator, "tau_g2": G2.generator, "alpha_g1": G1.generator}
    initial.update(beta_g1=G1.generator, beta_g2=G2.generator)
    first = first_challenge_hash(p.ceremony_power)
    next_challenge = b""
    for i in range(len(contrs) - 1, -1, -1):
        prev = _record_points(contrs[i - 1]) if i else initial
        problem = _verify_record(contrs[i], contrs[i - 1].next_challenge if i else first, prev, i + 1)
        if not problem and i == len(contrs) - 1:
            problem, next_challenge = _verify_points(old, contrs[i])
        if problem:
            return bad(problem)
    if prepared:
        for s in pt.LAGRANGE:
            problem = _verify_lagrange(p, s)
            if problem:
                return bad(problem)
    return PtauReport(True, "", p.power, contrs, next_challenge, prepared)


__all__ = [
    "PartialBlake2b",
    "PtauContribution",
    "PtauReport",
    "beacon",
    "compressed",
    "contribute",
    "first_challenge_hash",
    "new",
    "prepare_phase2",
    "read_contributions",
    "verify",
]
