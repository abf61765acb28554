"""CPU mirror of the MSM kernels (kernels/curve.cuh, msm.cuh, msm.cu): validates the GPU
Pippenger in CI, where nothing can run on a GPU.

:class:`MsmMirrorOps` adds the four MSM launches of ``prover.backend.gpu.CupyOps`` to the NumPy
mirror of tests/test_gpu_mirror.py, each following its kernel step for step:

* ``msm_histogram`` / ``msm_scatter``: the scalar load (Montgomery conversion of the resident
  witness, reduction of values >= r), ``window_bits`` on 32-bit limbs, ``signed_digit`` with its
  carry, bucket keys, and the warp-aggregated counter claims (``__match_any_sync`` groups, one
  atomic per group, lanes ranked by lane id), warp by warp in 32-lane groups.
* ``msm_sum_chunks``: the binary search from chunk to segment, the chunk bounds, and the XYZZ
  formulas of curve.cuh (:class:`XyzzMirror`, statement for statement, over Python integers
  for Fq and Fq2; the Montgomery form is a ring isomorphism, so coordinates are converted at
  load and store and every special case -- infinity, doubling, P + (-P) -- is the kernel's).
* ``msm_reduce_segments``: running sums over each segment from the top bucket down, the
  partial result parked in the output slot, ``lo * run`` by double-and-add, then the sum.

The real host orchestration (``GpuEngine.msm``: plan, prefix sums, chunk lengths, tree passes,
window combination) runs unchanged on top and is compared with
``prover.backend.python_backend.msm_points``. Sizes are small (n <= 300, small windows, tiny
chunk lengths) so that every path -- heavy buckets cut into many chunks, several tree levels,
empty buckets and windows -- is exercised in seconds.

What this cannot catch: a CUDA statement that differs from its mirror, compiler or hardware
behaviour, races. ``tests/gpu/test_gpu_msm.py`` covers those on a GPU.
"""

from __future__ import annotations

import random
import secrets

import numpy as np
import pytest

from prover.backend.gpu import GpuEngine, MsmPlan, msm_window, msm_windows, xyzz_to_affine
from prover.backend.python_backend import msm_points
from prover.field.arrays import fr_vector, g1_array, g2_array
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.field.curve import FQ, FQ2, G1, G2, CoordField, Group, batch_to_affine
from tests.test_gpu_mirror import MirrorOps

Q = FQ_MODULUS
R = FR_MODULUS
R256 = 1 << 256
RINV_Q = pow(R256, -1, Q)
RINV_R = pow(R256, -1, R)
M32 = 0xFFFFFFFF
SIGN_BIT = 0x80000000
NO_BUCKET = 0xFFFFFFFF
WARP = 32
BLOCK = 256  # ELEMENTWISE_BLOCK: the digit kernels' block (a multiple of the warp)


# ==============================================================================================
# curve.cuh
# ==============================================================================================
class XyzzMirror:
    """xyzz_t<F> of curve.cuh over a CoordField; points are [X, Y, ZZ, ZZZ] lists."""

    def __init__(self, F: CoordField) -> None:
        self.F = F
        self.doublings = 0  # how often the rare doubling paths ran (tests check they are hit)
        self.cancellations = 0

    def inf(self) -> list:
        F = self.F
        return [F.one, F.one, F.zero, F.zero]

    def is_inf(self, p: list) -> bool:
        return p[2] == self.F.zero

    def dbl_affine_of(self, qx, qy) -> list:
        F = self.F
        self.doublings += 1
        U = F.add(qy, qy)
        V = F.sqr(U)
        Wt = F.mul(U, V)
        S = F.mul(qx, V)
        xx = F.sqr(qx)
        M = F.add(F.add(xx, xx), xx)
        X = F.sub(F.sub(F.sqr(M), S), S)
        Y = F.sub(F.mul(M, F.sub(S, X)), F.mul(Wt, qy))
        return [X, Y, V, Wt]

    def dbl_of(self, p: list) -> list:
        F = self.F
        if self.is_inf(p):
            return p
        self.doublings += 1
        X1, Y1, ZZ1, ZZZ1 = p
        U = F.add(Y1, Y1)
        V = F.sqr(U)
        Wt = F.mul(U, V)
        S = F.mul(X1, V)
        xx = F.sqr(X1)
        M = F.add(F.add(xx, xx), xx)
        X = F.sub(F.sub(F.sqr(M), S), S)
        Y = F.sub(F.mul(M, F.sub(S, X)), F.mul(Wt, Y1))
        return [X, Y, F.mul(V, ZZ1), F.mul(Wt, ZZZ1)]

    def add_affine(self, p: list, qx, qy) -> list:
        F = self.F
        if self.is_inf(p):
            return [qx, qy, F.one, F.one]
        X1, Y1, ZZ1, ZZZ1 = p
        U2 = F.mul(qx, ZZ1)
        S2 = F.mul(qy, ZZZ1)
        P = F.sub(U2, X1)
        Rr = F.sub(S2, Y1)
        if F.zero == P:
            if Rr == F.zero:
                return self.dbl_affine_of(qx, qy)
            self.cancellations += 1
            return self.inf()
        PP = F.sqr(P)
        PPP = F.mul(P, PP)
        Qq = F.mul(X1, PP)
        X3 = F.sub(F.sub(F.sub(F.sqr(Rr), PPP), Qq), Qq)
        Y3 = F.sub(F.mul(Rr, F.sub(Qq, X3)), F.mul(Y1, PPP))
        return [X3, Y3, F.mul(ZZ1, PP), F.mul(ZZZ1, PPP)]

    def add(self, p: list, q: list) -> list:
        F = self.F
        if self.is_inf(q):
            return p
        if self.is_inf(p):
            return list(q)
        X1, Y1, ZZ1, ZZZ1 = p
        X2, Y2, ZZ2, ZZZ2 = q
        U1 = F.mul(X1, ZZ2)
        U2 = F.mul(X2, ZZ1)
        S1 = F.mul(Y1, ZZZ2)
        S2 = F.mul(Y2, ZZZ1)
        P = F.sub(U2, U1)
        Rr = F.sub(S2, S1)
        if F.zero == P:
            if Rr == F.zero:
                return self.dbl_of(p)
            self.cancellations += 1
            return self.inf()
        PP = F.sqr(P)
        PPP = F.mul(P, PP)
        Qq = F.mul(U1, PP)
        X3 = F.sub(F.sub(F.sub(F.sqr(Rr), PPP), Qq), Qq)
        Y3 = F.sub(F.mul(Rr, F.sub(Qq, X3)), F.mul(S1, PPP))
        return [X3, Y3, F.mul(F.mul(ZZ1, ZZ2), PP), F.mul(F.mul(ZZZ1, ZZZ2), PPP)]


# --- buffer layout: coordinates are Montgomery limbs, 4 (Fq) or 8 (Fq2) u64 words ---------------
def _fq_load(words: np.ndarray) -> int:
    return int.from_bytes(np.ascontiguousarray(words, dtype="<u8").tobytes(), "little") * RINV_Q % Q


def _fq_store(v: int) -> np.ndarray:
    return np.frombuffer((v * R256 % Q).to_bytes(32, "little"), dtype="<u8")


def load_coords(flat: np.ndarray, count: int, g2: bool) -> list:
    w = 8 if g2 else 4
    out = []
    for k in range(count):
        c = flat[k * w : (k + 1) * w]
        out.append((_fq_load(c[:4]), _fq_load(c[4:])) if g2 else _fq_load(c))
    return out


def store_coords(coords: list, g2: bool) -> np.ndarray:
    parts = []
    for c in coords:
        parts += [_fq_store(c[0]), _fq_store(c[1])] if g2 else [_fq_store(c)]
    return np.concatenate(parts)


# ==============================================================================================
# msm.cuh
# ==============================================================================================
def load_scalar(limbs64: np.ndarray, mont: bool) -> int:
    """load_scalar: standard form below r."""
    s = int.from_bytes(np.ascontiguousarray(limbs64, dtype="<u8").tobytes(), "little")
    if mont:
        return s * RINV_R % R  # from_mont: a Montgomery product by 1 (input < r on the device)
    for _ in range(5):
        if s < R:
            break
        s -= R
    return s


def u32_limbs(s: int) -> list[int]:
    return [(s >> (32 * i)) & M32 for i in range(8)]


def window_bits(v: list[int], off: int, c: int) -> int:
    limb, shift = off >> 5, off & 31
    two = v[limb]
    if limb + 1 < 8:
        two |= v[limb + 1] << 32
    return (two >> shift) & ((1 << c) - 1)


def signed_digit(v: list[int], w: int, c: int, carry: int) -> tuple[int, int]:
    """(code, carry) exactly as signed_digit in msm.cuh."""
    raw = window_bits(v, w * c, c) + carry
    half = 1 << (c - 1)
    if raw > half:
        mag = (1 << c) - raw
        return (mag | SIGN_BIT if mag else 0), 1
    return raw, 0


def bucket_key(code: int, w: int, n_buckets: int) -> int:
    return w * n_buckets + (code & ~SIGN_BIT) - 1 if code else NO_BUCKET


def find_segment(off: np.ndarray, n_seg: int, t: int) -> int:
    lo, hi = 0, n_seg
    while hi - lo > 1:
        mid = (lo + hi) >> 1
        if int(off[mid]) <= t:
            lo = mid
        else:
            hi = mid
    return lo


class MsmMirrorOps(MirrorOps):
    """MirrorOps plus the MSM launches (see the module docstring). Records, per sum_chunks
    launch, the largest number of items one thread handled."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.xyzz = {False: XyzzMirror(FQ), True: XyzzMirror(FQ2)}
        self.chunk_work: list[tuple[bool, int, int]] = []  # (affine?, threads, max items per thread)

    # --- digits_body ------------------------------------------------------------------------
    def _digits(self, scalars, n, mont, c, n_windows, counters, sorted_) -> None:
        assert 2 <= c <= 24 and n_windows * c >= 255
        n_buckets = 1 << (c - 1)
        threads = -(-n // BLOCK) * BLOCK  # whole blocks, so whole warps
        for w0 in range(0, threads, WARP):
            lanes = range(w0, w0 + WARP)
            digits = []
            for i in lanes:
                live = i < n
                v = u32_limbs(load_scalar(scalars[i], bool(mont)) if live else 0)
                digits.append((live, v))
            carries = [0] * WARP
            for w in range(n_windows):
                keys, codes = [], []
                for lane, (live, v) in enumerate(digits):
                    code, carries[lane] = signed_digit(v, w, c, carries[lane])
                    codes.append(code)
                    keys.append(bucket_key(code, w, n_buckets) if live else NO_BUCKET)
                # __match_any_sync groups; the leader (lowest lane) claims popc slots at once
                bases: dict[int, int] = {}
                for key in keys:
                    if key != NO_BUCKET and key not in bases:
                        bases[key] = int(counters[key])
                        counters[key] = np.uint32(int(counters[key]) + keys.count(key))
                for lane, key in enumerate(keys):
                    if key == NO_BUCKET or sorted_ is None:
                        continue
                    slot = bases[key] + keys[:lane].count(key)
                    sorted_[slot] = np.uint32((w0 + lane) | (codes[lane] & SIGN_BIT))

    def msm_histogram(self, scalars, n, mont, c, n_windows, counts) -> None:
        self.launches.append("msm_histogram")
        self._digits(scalars, n, mont, c, n_windows, counts, None)

    def msm_scatter(self, scalars, n, mont, c, n_windows, cursor, sorted_) -> None:
        self.launches.append("msm_scatter")
        self._digits(scalars, n, mont, c, n_windows, cursor, sorted_)

    # --- sum_chunks_body ----------------------------------------------------------------------
    def msm_sum_chunks(self, g2, src, items, item_off, chunk_off, n_seg, L, total, out) -> None:
        self.launches.append(f"{'g2' if g2 else 'g1'}_sum_chunks_{'affine' if items is not None else 'xyzz'}")
        X = self.xyzz[g2]
        cw = 8 if g2 else 4  # u64 words per coordinate
        pts = np.ascontiguousarray(src).reshape(-1)
        outf = out.reshape(-1)
        most = 0
        for t in range(total):
            g = find_segment(chunk_off, n_seg, t)
            start = int(item_off[g]) + (t - int(chunk_off[g])) * L
            end = min(start + L, int(item_off[g + 1]))
            assert start < end, "a chunk with no items"
            most = max(most, end - start)
            acc = X.inf()
            for e in range(start, end):
                if items is not None:
                    code = int(items[e])
                    idx = code & ~SIGN_BIT
                    raw = pts[2 * cw * idx : 2 * cw * (idx + 1)]
                    if not raw.any():  # affine_t::is_inf: all-zero coordinates
                        continue
                    x, y = load_coords(raw, 2, g2)
                    if code & SIGN_BIT:
                        y = X.F.sub(X.F.zero, y)
                    acc = X.add_affine(acc, x, y)
                else:
                    acc = X.add(acc, load_coords(pts[4 * cw * e : 4 * cw * (e + 1)], 4, g2))
            outf[4 * cw * t : 4 * cw * (t + 1)] = store_coords(acc, g2)
        self.chunk_work.append((items is not None, total, most))

    # --- reduce_segments_body -------------------------------------------------------------------
    def msm_reduce_segments(self, g2, sums, off, n_buckets, seg_len, n_windows, out) -> None:
        self.launches.append(f"{'g2' if g2 else 'g1'}_reduce_segments")
        assert n_buckets % seg_len == 0
        X = self.xyzz[g2]
        cw = 8 if g2 else 4
        flat = np.ascontiguousarray(sums).reshape(-1)
        outf = out.reshape(-1)
        per_window = n_buckets // seg_len
        for t in range(n_windows * per_window):
            w, s = divmod(t, per_window)
            lo = s * seg_len
            run, tot = X.inf(), X.inf()
            for k in range(seg_len - 1, -1, -1):
                g = w * n_buckets + lo + k
                if int(off[g + 1]) > int(off[g]):
                    e = int(off[g])
                    run = X.add(run, load_coords(flat[4 * cw * e : 4 * cw * (e + 1)], 4, g2))
                tot = X.add(tot, run)
            outf[4 * cw * t : 4 * cw * (t + 1)] = store_coords(tot, g2)  # parked in the output
            m = X.inf()
            for bit in range(31, -1, -1):
                m = X.dbl_of(m)
                if (lo >> bit) & 1:
                    m = X.add(m, run)
            m = X.add(m, load_coords(outf[4 * cw * t : 4 * cw * (t + 1)], 4, g2))
            outf[4 * cw * t : 4 * cw * (t + 1)] = store_coords(m, g2)


# ==============================================================================================
# inputs and the reference
# ==============================================================================================
def random_points(group: Group, n: int, rng: random.Random) -> list:
    """n distinct affine points: k0 G + i * k1 G (one scalar multiplication each for the two
    generators of the progression, then additions), batch-normalised."""
    g = group.from_affine(group.generator)
    start = group.mul(g, rng.randrange(1, R))
    step = group.mul(g, rng.randrange(1, R))
    jac, acc = [], start
    for _ in range(n):
        jac.append(acc)
        acc = group.add(acc, step)
    return batch_to_affine(group, jac)


def scalar_array(ints: list[int]) -> np.ndarray:
    """(n, 4) uint64 of arbitrary 256-bit values (not only < r: the kernels reduce)."""
    raw = b"".join(v.to_bytes(32, "little") for v in ints)
    return np.frombuffer(raw, dtype="<u8").reshape(len(ints), 4).copy()


def witness_like(n: int, rng: random.Random) -> list[int]:
    """What real witnesses look like: mostly 0, 1 and short values, repeated, some r - 1
    (negative small values), a few full-size field elements."""
    out = []
    for _ in range(n):
        u = rng.random()
        if u < 0.3:
            out.append(0)
        elif u < 0.6:
            out.append(1)
        elif u < 0.75:
            out.append(rng.randrange(2, 256))
        elif u < 0.85:
            out.append(R - rng.randrange(1, 4))
        else:
            out.append(rng.randrange(R))
    return out


def run_msm(eng: GpuEngine, group: Group, pts: list, ks: list[int], *, mont: bool = False):
    g2 = group is G2
    bases = g2_array(pts) if g2 else g1_array(pts)
    scal = [k * R256 % R for k in ks] if mont else ks
    return eng.msm(
        eng.ops.upload(bases),
        eng.ops.upload(scalar_array(scal)),
        len(pts),
        g2=g2,
        mont=mont,
        combine=lambda p, k: msm_points(group, p, k),
    )


@pytest.fixture
def engine(monkeypatch) -> GpuEngine:
    return GpuEngine(MsmMirrorOps(tile_log=4), poison=True)


@pytest.fixture
def rng() -> random.Random:
    return random.Random(secrets.randbits(64))


# ==============================================================================================
# tests
# ==============================================================================================
def test_xyzz_formulas_match_the_group_law(rng):
    for group, F in ((G1, FQ), (G2, FQ2)):
        X = XyzzMirror(F)
        a, b = random_points(group, 2, rng)
        pa = X.add_affine(X.inf(), *a)
        s = X.add_affine(pa, *b)
        assert xyzz_to_affine_ints(s, F) == group.affine_add(a, b)
        assert xyzz_to_affine_ints(X.add_affine(pa, *a), F) == group.affine_add(a, a)  # doubling path
        assert X.is_inf(X.add_affine(pa, a[0], F.sub(F.zero, a[1])))  # P + (-P)
        assert xyzz_to_affine_ints(X.dbl_of(s), F) == group.affine_add(a, b, a, b)
        assert xyzz_to_affine_ints(X.add(s, s), F) == group.affine_add(a, b, a, b)
        assert X.add(s, X.inf()) == s and X.add(X.inf(), s) == s


def xyzz_to_affine_ints(p: list, F: CoordField):
    if p[2] == F.zero:
        return None
    return (F.mul(p[0], F.inv(p[2])), F.mul(p[1], F.inv(p[3])))


def test_signed_digits_recompose(rng):
    """The digits of every window put back together give the scalar (mod r), for every c."""
    for c in range(2, 21):
        nw = msm_windows(c)
        for s in [0, 1, R - 1, R, (1 << 256) - 1, (1 << c) - 1, 1 << (c - 1), (1 << (c - 1)) + 1] + [
            rng.randrange(1 << 256) for _ in range(20)
        ]:
            v = u32_limbs(load_scalar(scalar_array([s])[0], False))
            carry, total = 0, 0
            for w in range(nw):
                code, carry = signed_digit(v, w, c, carry)
                mag = code & ~SIGN_BIT
                assert mag <= 1 << (c - 1) and code != SIGN_BIT
                total += (-mag if code & SIGN_BIT else mag) << (w * c)
            assert carry == 0, "a carry out of the top window"
            assert total % R == s % R


def test_digit_code_matches_the_header():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "kernels" / "msm.cuh").read_text()
    assert "constexpr u32 NO_BUCKET = 0xffffffffu;" in text
    assert "constexpr u32 SIGN_BIT = 0x80000000u;" in text


@pytest.mark.parametrize("n", [1, 2, 3, 37, 300])
def test_mirror_msm_g1_random(engine, rng, n):
    pts = random_points(G1, n, rng)
    ks = [rng.randrange(R) for _ in range(n)]
    assert run_msm(engine, G1, pts, ks) == msm_points(G1, pts, ks)


@pytest.mark.parametrize("window", [2, 3, 5, 8])
def test_mirror_msm_g1_windows_and_edge_scalars(engine, rng, monkeypatch, window):
    """Zero scalars, infinity bases, r - 1, r and 2^256 - 1 (reduced on the device), a point
    with its negation (cancellation), repeated points in one bucket (doubling)."""
    monkeypatch.setenv("ZKPROVER_GPU_MSM_WINDOW", str(window))
    monkeypatch.setenv("ZKPROVER_GPU_MSM_CHUNK", "3")
    n = 60
    pts = random_points(G1, n, rng)
    pts[5] = None
    pts[17] = None
    pts[9] = pts[8]  # same point, same digits: doubling inside a bucket
    pts[11] = G1.affine_neg(pts[10])  # -P with the same scalar: cancels
    ks = [rng.randrange(R) for _ in range(n)]
    ks[0] = ks[1] = 0
    ks[2], ks[3], ks[4] = R - 1, R, (1 << 256) - 1
    ks[5] = 12345  # on an infinity base
    ks[9] = ks[8]
    ks[11] = ks[10]
    assert run_msm(engine, G1, pts, ks) == msm_points(G1, pts, [k % R for k in ks])
    X = engine.ops.xyzz[False]
    assert X.doublings > 0 and X.cancellations > 0


@pytest.mark.parametrize("kind", ["all_zero", "all_one", "all_equal", "r_minus_1", "witness_like", "powers_of_two"])
def test_mirror_msm_g1_skewed_scalars(engine, rng, monkeypatch, kind):
    """Inputs that overload a few buckets: the heavy bucket is cut into chunks of L (every
    thread's work stays <= L) and recombined by tree passes."""
    monkeypatch.setenv("ZKPROVER_GPU_MSM_CHUNK", "4")
    n = 150
    pts = random_points(G1, n, rng)
    ks = {
        "all_zero": [0] * n,
        "all_one": [1] * n,
        "all_equal": [rng.randrange(R)] * n,
        "r_minus_1": [R - 1] * n,
        "witness_like": witness_like(n, rng),
        "powers_of_two": [1 << (i % 254) for i in range(n)],
    }[kind]
    assert run_msm(engine, G1, pts, ks) == msm_points(G1, pts, ks)
    work = engine.ops.chunk_work
    if kind != "all_zero":
        assert all(most <= 4 for affine, _, most in work if affine)
        if kind == "all_one":
            # n entries in one bucket: n / 4 chunks, then tree passes of fan-in 16
            assert work[0][1] == -(-n // 4)
        if kind in ("all_one", "r_minus_1"):  # r - 1: one full bucket in most windows
            assert len([w for w in work if not w[0]]) >= 2


def test_mirror_msm_montgomery_scalars(engine, rng):
    """The resident witness is Montgomery form: the kernels convert it (mont = 1)."""
    pts = random_points(G1, 40, rng)
    ks = witness_like(40, rng)
    assert run_msm(engine, G1, pts, ks, mont=True) == msm_points(G1, pts, ks)


@pytest.mark.parametrize("n", [1, 3, 50])
def test_mirror_msm_g2(engine, rng, monkeypatch, n):
    monkeypatch.setenv("ZKPROVER_GPU_MSM_CHUNK", "2")
    pts = random_points(G2, n, rng)
    ks = witness_like(n, rng) if n > 3 else [rng.randrange(R) for _ in range(n)]
    if n == 50:
        pts[7] = None
        pts[3] = pts[2]
        ks[3] = ks[2] = rng.randrange(R)
    assert run_msm(engine, G2, pts, ks) == msm_points(G2, pts, ks)


def test_msm_plan_shapes():
    for n in (1, 2, 3, 1000, 1 << 16, 1 << 20, 1 << 22, 1_000_003):
        p = MsmPlan.for_size(n)
        assert 2 <= p.c <= 16 and p.n_windows * p.c >= 255 and (p.n_windows - 1) * p.c < 255
        assert p.total_buckets * 4 < 1 << 31 and p.n_buckets % p.seg_len() == 0
    assert msm_window(1 << 20) == 16 and msm_window(1 << 16) == 12


def test_window_combination_uses_the_cpu_for_w_points(engine, rng):
    """The host gets W window points and finishes with one W-point MSM."""
    seen = {}

    def combine(p, k):
        seen["n"] = len(p)
        return msm_points(G1, p, k)

    pts = random_points(G1, 20, rng)
    ks = [rng.randrange(R) for _ in range(20)]
    out = engine.msm(
        engine.ops.upload(g1_array(pts)), engine.ops.upload(fr_vector(ks)), 20, g2=False, mont=False, combine=combine
    )
    assert out == msm_points(G1, pts, ks)
    assert seen["n"] <= MsmPlan.for_size(20).n_windows
    assert xyzz_to_affine(None, False) is None


def test_mirror_backend_full_proof_verifies(monkeypatch):
    """GpuBackend on the mirror: a whole Groth16 proof with all five MSMs through the MSM
    kernels' mirror (the witness MSMs reading the resident Montgomery witness, msm_c a row
    slice of it, msm_h the resident H) verifies."""
    from circuits.examples import cube_chain
    from prover.backend import gpu as gpu_mod
    from prover.groth16.prover import prove
    from prover.groth16.setup import setup
    from prover.groth16.verifier import verify

    monkeypatch.setattr(gpu_mod.GpuBackend, "available", classmethod(lambda cls: (True, "CPU mirror")))
    monkeypatch.setattr(gpu_mod, "CupyOps", lambda: MsmMirrorOps(tile_log=4))
    monkeypatch.delenv("ZKPROVER_GPU_MSM", raising=False)
    backend = gpu_mod.GpuBackend(poison=True)
    calls = []
    orig = backend.engine.msm

    def spy(bases, scalars, n, *, g2, mont, combine):
        calls.append((n, g2, mont))
        return orig(bases, scalars, n, g2=g2, mont=mont, combine=combine)

    monkeypatch.setattr(backend.engine, "msm", spy)
    circuit = cube_chain(6)
    pk = setup(circuit.r1cs, name=circuit.name)
    w = circuit.witness({"x": 3, "key": 77})
    out = prove(pk, w, backend, r1cs=circuit.r1cs)
    assert verify(pk.vk, out.public_signals, out.proof)
    assert sorted(g2 for _, g2, _ in calls) == [False, False, False, False, True]
    assert [m for _, _, m in calls].count(True) == 4  # A, B1, B2, C read the device witness
