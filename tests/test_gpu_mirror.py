"""CPU mirror of the CUDA kernels: validates the GPU algorithms in CI, where nothing can run on a GPU.

Two mirrors, each following the CUDA code step for step:

* **Field arithmetic** (``kernels/bn254_fields.cuh``): a simulator of the PTX carry-chain
  instructions (add.cc, addc, sub.cc, subc, mad.lo/hi.cc, madc.lo/hi.cc with one carry flag) and
  the exact instruction sequences of ``mont_t::add``, ``sub``, ``mul`` (CIOS, 8 x 32-bit limbs)
  and ``fp2_t::mul``/``sqr``, checked against Python integers on random and edge-case operands,
  with the CIOS bounds the header relies on asserted every round. The modulus constants are
  parsed out of the header and recomputed here.
* **NTT and H step** (``kernels/ntt.cuh``, ``ntt.cu``, ``qap.cu``): :class:`MirrorOps`
  re-implements every kernel launch on NumPy buffers with the kernels' own index arithmetic
  (tiles, columns, stage bits, twiddle indices, bit reversal, scale modes), asserting that each
  pass touches every element exactly once and that no two butterflies of a stage collide. The
  *real* orchestration, ``prover.backend.gpu.GpuEngine`` with the real pass plans and tables of
  ``kernels.ntt_plan``, runs on top of it and is compared with ``python_backend.ntt_ints``, a
  naive DFT and ``PythonBackend.quotient_evaluations`` on a real key. Field products in this
  mirror are Montgomery products on the raw representations (a * b / 2^256 mod r), so a missing
  or doubled Montgomery conversion is caught.

What this cannot catch: a CUDA statement that differs from its mirror (they are kept side by
side by hand), compiler or hardware behaviour, races between threads beyond the collision
checks. ``tests/gpu`` covers those on a GPU.
"""

from __future__ import annotations

import random
import re
import secrets
from pathlib import Path

import numpy as np
import pytest

from kernels.ntt_plan import plan_passes, two_level_powers
from prover.backend.gpu import SCALE_DST, SCALE_DST_BITREV, SCALE_NONE, SCALE_SRC, GpuEngine
from prover.backend.interface import BackendError, KeyArrays
from prover.backend.python_backend import PythonBackend, ntt_ints
from prover.field.arrays import fr_ints, fr_vector
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS, root_of_unity

KERNELS = Path(__file__).resolve().parent.parent / "kernels"
M32 = 0xFFFFFFFF
R256 = 1 << 256
P = FR_MODULUS
RINV = pow(R256, -1, P)


# ==============================================================================================
# field arithmetic: PTX simulator and the mont_t instruction sequences
# ==============================================================================================
def header_params(struct: str) -> dict[str, object]:
    """mod/one/rr tables and m0 of a parameter struct, parsed from bn254_fields.cuh."""
    text = (KERNELS / "bn254_fields.cuh").read_text()
    body = re.search(rf"struct {struct} \{{(.*?)\n\}};", text, re.S).group(1)
    out: dict[str, object] = {}
    for name in ("mod", "one", "rr"):
        tbl = re.search(rf"static u32 {name}\(int i\) \{{\s*constexpr u32 t\[8\] = \{{([^}}]*)\}}", body).group(1)
        limbs = [int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", tbl)]
        assert len(limbs) == 8
        out[name] = limbs
    out["m0"] = int(re.search(r"m0 = (0x[0-9a-fA-F]+)", body).group(1), 16)
    return out


def limbs(x: int) -> list[int]:
    return [(x >> (32 * i)) & M32 for i in range(8)]


def value(ls: list[int]) -> int:
    return sum(v << (32 * i) for i, v in enumerate(ls))


class Ptx:
    """The PTX integer instructions used by bn254_fields.cuh, with one carry flag (CC.CF).
    Instructions without .cc leave the flag alone; sub.cc/subc store the borrow."""

    def __init__(self) -> None:
        self.cf = 0

    def add_cc(self, a: int, b: int) -> int:
        s = a + b
        self.cf = s >> 32
        return s & M32

    def addc_cc(self, a: int, b: int) -> int:
        s = a + b + self.cf
        self.cf = s >> 32
        return s & M32

    def addc(self, a: int, b: int) -> int:
        return (a + b + self.cf) & M32

    def sub_cc(self, a: int, b: int) -> int:
        d = a - b
        self.cf = int(d < 0)
        return d & M32

    def subc_cc(self, a: int, b: int) -> int:
        d = a - b - self.cf
        self.cf = int(d < 0)
        return d & M32

    def subc(self, a: int, b: int) -> int:
        return (a - b - self.cf) & M32

    def mad_lo_cc(self, a: int, b: int, c: int) -> int:
        return self.add_cc((a * b) & M32, c)

    def madc_lo_cc(self, a: int, b: int, c: int) -> int:
        return self.addc_cc((a * b) & M32, c)

    def mad_hi_cc(self, a: int, b: int, c: int) -> int:
        return self.add_cc((a * b) >> 32, c)

    def madc_hi_cc(self, a: int, b: int, c: int) -> int:
        return self.addc_cc((a * b) >> 32, c)


class MontMirror:
    """mont_t<P> of bn254_fields.cuh, statement for statement (N = 8)."""

    N = 8

    def __init__(self, struct: str) -> None:
        prm = header_params(struct)
        self.mod: list[int] = prm["mod"]  # type: ignore[assignment]
        self.m0: int = prm["m0"]  # type: ignore[assignment]
        self.one_l: list[int] = prm["one"]  # type: ignore[assignment]
        self.rr: list[int] = prm["rr"]  # type: ignore[assignment]
        self.p = value(self.mod)
        self.x = Ptx()

    def reduce_once(self, s: list[int]) -> list[int]:
        x, N = self.x, self.N
        d = [0] * N
        d[0] = x.sub_cc(s[0], self.mod[0])
        for i in range(1, N):
            d[i] = x.subc_cc(s[i], self.mod[i])
        mask = x.subc(0, 0)
        return [(s[i] & mask) | (d[i] & ~mask & M32) for i in range(N)]

    def add(self, a: list[int], b: list[int]) -> list[int]:
        x, N = self.x, self.N
        s = [0] * N
        s[0] = x.add_cc(a[0], b[0])
        for i in range(1, N - 1):
            s[i] = x.addc_cc(a[i], b[i])
        s[N - 1] = x.addc(a[N - 1], b[N - 1])
        return self.reduce_once(s)

    def sub(self, a: list[int], b: list[int]) -> list[int]:
        x, N = self.x, self.N
        d = [0] * N
        d[0] = x.sub_cc(a[0], b[0])
        for i in range(1, N):
            d[i] = x.subc_cc(a[i], b[i])
        mask = x.subc(0, 0)
        r = [0] * N
        r[0] = x.add_cc(d[0], self.mod[0] & mask)
        for i in range(1, N - 1):
            r[i] = x.addc_cc(d[i], self.mod[i] & mask)
        r[N - 1] = x.addc(d[N - 1], self.mod[N - 1] & mask)
        return r

    def mul(self, a: list[int], b: list[int]) -> list[int]:
        x, N, p = self.x, self.N, self.mod
        t = [0] * (N + 2)
        for i in range(N):
            assert value(t) < 2 * self.p, "CIOS invariant t < 2p broken at round start"
            bi = b[i]
            t[0] = x.mad_lo_cc(a[0], bi, t[0])
            for j in range(1, N):
                t[j] = x.madc_lo_cc(a[j], bi, t[j])
            t[N] = x.addc_cc(t[N], 0)
            t[N + 1] = x.addc(t[N + 1], 0)
            t[1] = x.mad_hi_cc(a[0], bi, t[1])
            for j in range(1, N):
                t[j + 1] = x.madc_hi_cc(a[j], bi, t[j + 1])
            t[N + 1] = x.addc(t[N + 1], 0)
            m = (t[0] * self.m0) & M32
            t[0] = x.mad_lo_cc(m, p[0], t[0])
            assert t[0] == 0, "m * p did not clear the low word"
            for j in range(1, N):
                t[j] = x.madc_lo_cc(m, p[j], t[j])
            t[N] = x.addc_cc(t[N], 0)
            t[N + 1] = x.addc(t[N + 1], 0)
            t[1] = x.mad_hi_cc(m, p[0], t[1])
            for j in range(1, N):
                t[j + 1] = x.madc_hi_cc(m, p[j], t[j + 1])
            t[N + 1] = x.addc(t[N + 1], 0)
            assert t[N + 1] == 0, "carry word used (modulus too large for the no-carry CIOS)"
            for j in range(N + 1):
                t[j] = t[j + 1]
            t[N + 1] = 0
        assert value(t) < 2 * self.p
        return self.reduce_once(t)

    # helpers on integers
    def mul_int(self, a: int, b: int) -> int:
        return value(self.mul(limbs(a), limbs(b)))

    def to_mont(self, a: int) -> int:
        return value(self.mul(limbs(a), self.rr))

    def from_mont(self, a: int) -> int:
        return value(self.mul(limbs(a), limbs(1)))


@pytest.fixture(scope="module", params=["bn254_fr_params", "bn254_fq_params"], ids=["Fr", "Fq"])
def mont(request):
    return MontMirror(request.param)


def edge_values(p: int) -> list[int]:
    return [
        0,
        1,
        2,
        p - 1,
        p - 2,
        (p - 1) // 2,
        (p + 1) // 2,
        M32,
        1 << 32,
        (1 << 224) - 1,
        R256 % p,
        p - (R256 % p),
        (1 << 253) % p,
        int("aa" * 31, 16) % p,
    ]


def test_header_constants(mont):
    p = mont.p
    assert p in (FR_MODULUS, FQ_MODULUS)
    assert p < 1 << 255, "the no-carry CIOS needs the top bit clear"
    assert (mont.m0 * p) & M32 == M32, "m0 must be -p^-1 mod 2^32"
    assert value(mont.one_l) == R256 % p
    assert value(mont.rr) == R256 * R256 % p


def test_mont_mul_matches_python_ints(mont):
    p, rinv = mont.p, pow(R256, -1, mont.p)
    rng = random.Random(0xC0FFEE)
    vals = edge_values(p) + [rng.randrange(p) for _ in range(40)]
    pairs = [(a, b) for a in vals[:14] for b in vals[:14]] + [(rng.choice(vals), rng.randrange(p)) for _ in range(200)]
    for a, b in pairs:
        assert mont.mul_int(a, b) == a * b * rinv % p, (a, b)


def test_mont_add_sub_match_python_ints(mont):
    p = mont.p
    rng = random.Random(7)
    vals = edge_values(p) + [rng.randrange(p) for _ in range(30)]
    for a in vals:
        for b in vals[:20]:
            assert value(mont.add(limbs(a), limbs(b))) == (a + b) % p, (a, b)
            assert value(mont.sub(limbs(a), limbs(b))) == (a - b) % p, (a, b)


def test_montgomery_conversions_round_trip(mont):
    p = mont.p
    for a in [*edge_values(p), secrets.randbelow(p)]:
        m = mont.to_mont(a)
        assert m == a * R256 % p
        assert mont.from_mont(m) == a
        # snarkjs' coef * R^2 -> coef * R (fr_coeffs_from_zkey): one from_mont
        assert mont.from_mont(a * R256 * R256 % p) == a * R256 % p


def test_fq2_karatsuba_mirror():
    """fp2_t::mul / sqr in Montgomery form against (a0 + a1 u)(b0 + b1 u) mod (u^2 + 1)."""
    f = MontMirror("bn254_fq_params")
    q = f.p
    rng = random.Random(3)

    def m(v: int) -> list[int]:
        return limbs(v * R256 % q)

    def std(ls: list[int]) -> int:
        return value(ls) * pow(R256, -1, q) % q

    for _ in range(40):
        a0, a1, b0, b1 = (rng.randrange(q) for _ in range(4))
        v0, v1 = f.mul(m(a0), m(b0)), f.mul(m(a1), m(b1))
        s = f.mul(f.add(m(a0), m(a1)), f.add(m(b0), m(b1)))
        c0, c1 = f.sub(v0, v1), f.sub(f.sub(s, v0), v1)
        assert (std(c0), std(c1)) == ((a0 * b0 - a1 * b1) % q, (a0 * b1 + a1 * b0) % q)
        mm = f.mul(m(a0), m(a1))
        s0 = f.mul(f.add(m(a0), m(a1)), f.sub(m(a0), m(a1)))
        s1 = f.add(mm, mm)
        assert (std(s0), std(s1)) == ((a0 * a0 - a1 * a1) % q, 2 * a0 * a1 % q)


# ==============================================================================================
# NTT / QAP: the kernels on NumPy buffers
# ==============================================================================================
def to_ints(buf: np.ndarray) -> list[int]:
    return fr_ints(np.ascontiguousarray(buf))


def write_ints(buf: np.ndarray, vals: list[int], start: int = 0) -> None:
    raw = b"".join(v.to_bytes(32, "little") for v in vals)
    buf[start : start + len(vals)] = np.frombuffer(raw, dtype="<u8").reshape(-1, 4)


def mmul(a: int, b: int) -> int:
    """mont_t::mul on raw representations."""
    return a * b * RINV % P


def bitrev(x: int, bits: int) -> int:
    return int(f"{x:0{bits}b}"[::-1], 2) if bits else 0


class MirrorOps:
    """The kernel launches of ``prover.backend.gpu.CupyOps`` on NumPy arrays (see the module
    docstring). ``mem`` is the device memory it claims to have free."""

    xp = np

    def __init__(self, tile_log: int = 10, mem: int = 1 << 40, mul=None) -> None:
        self.tile_log = tile_log
        self.mem = mem
        #: the Montgomery product used by the butterflies and scalings: Python ints by default,
        #: or the PTX-level limb mirror (MontMirror.mul_int) to run the two mirrors together
        self.mul = mul or mmul
        self.launches: list[str] = []

    def upload(self, host: np.ndarray) -> np.ndarray:
        return np.array(host, copy=True, order="C")

    def download(self, dev: np.ndarray) -> np.ndarray:
        return np.array(dev, copy=True)

    def empty(self, shape: tuple[int, ...], dtype=np.uint64) -> np.ndarray:
        # fresh device memory holds garbage: model it as such
        return (
            np.frombuffer(secrets.token_bytes(int(np.prod(shape)) * np.dtype(dtype).itemsize), dtype=dtype)
            .reshape(shape)
            .copy()
        )

    def mem_available(self) -> int:
        return self.mem

    def free_pool(self) -> None:
        pass

    def synchronize(self) -> None:
        pass

    # --- ntt.cu ---------------------------------------------------------------------------------
    def ntt_pass(self, data, log_n, batch, p, tw, log_tw, dif) -> None:
        """ntt_pass_body<fr_t, DIF>: one block per tile, one butterfly per thread and stage."""
        self.launches.append(f"{'dif' if dif else 'dit'}{tuple(p)}")
        p0, k, c = p
        assert k >= 1 and 0 <= c <= p0 and k + c <= self.tile_log, p  # shared tile and column rule
        assert p0 + k <= log_n <= log_tw, (p, log_n, log_tw)
        n = 1 << log_n
        half = 1 << (k + c - 1)
        assert half <= 1024, "block too large"
        col_mask = (1 << c) - 1
        twv = to_ints(tw)
        vals = to_ints(data[: n * batch])
        touched = [0] * (n * batch)
        for y in range(batch):  # blockIdx.y
            off = n * y
            for t in range(1 << (log_n - k - c)):  # blockIdx.x
                mid = t & ((1 << (p0 - c)) - 1)
                high = t >> (p0 - c)
                base = (mid << c) | (high << (p0 + k))
                tile = [None] * (2 * half)
                for tid in range(half):
                    for r in range(2):
                        lidx = tid + r * half
                        g = base | (lidx & col_mask) | ((lidx >> c) << p0)
                        tile[lidx] = vals[off + g]
                        touched[off + g] += 1
                for step in range(k):
                    b = k - 1 - step if dif else step
                    seen: set[int] = set()
                    for tid in range(half):
                        col = tid & col_mask
                        q = tid >> c
                        i0 = ((q >> b) << (b + 1)) | (q & ((1 << b) - 1))
                        i1 = i0 | (1 << b)
                        l0, l1 = (i0 << c) | col, (i1 << c) | col
                        assert l0 not in seen and l1 not in seen, "two butterflies share an element"
                        seen.update((l0, l1))
                        g0 = base | col | (i0 << p0)
                        s_bit = p0 + b
                        j = g0 & ((1 << s_bit) - 1)
                        w = twv[j << (log_tw - s_bit - 1)]
                        x0, x1 = tile[l0], tile[l1]
                        if dif:
                            tile[l0], tile[l1] = (x0 + x1) % P, self.mul((x0 - x1) % P, w)
                        else:
                            m = self.mul(x1, w)
                            tile[l0], tile[l1] = (x0 + m) % P, (x0 - m) % P
                    assert len(seen) == 2 * half
                for tid in range(half):
                    for r in range(2):
                        lidx = tid + r * half
                        g = base | (lidx & col_mask) | ((lidx >> c) << p0)
                        vals[off + g] = tile[lidx]
        assert all(x == 1 for x in touched), "a pass did not touch every element exactly once"
        write_ints(data, vals)

    @staticmethod
    def _two_level(hi: list[int], lo: list[int], lo_log: int, i: int, mul=mmul) -> int:
        return mul(hi[i >> lo_log], lo[i & ((1 << lo_log) - 1)])

    def permute_scale(self, src, dst, log_n, batch, permute, mode, hi, lo, lo_log) -> None:
        self.launches.append(f"permute_scale(permute={int(permute)}, mode={mode})")
        n = 1 << log_n
        inv = to_ints(src[: n * batch])
        hiv, lov = to_ints(hi), to_ints(lo)
        out = list(inv) if src is dst else to_ints(dst[: n * batch])
        for y in range(batch):
            off = n * y
            for o in range(n):
                rev = bitrev(o, log_n)
                s = rev if permute else o
                x = inv[off + s]
                if mode != SCALE_NONE:
                    assert mode in (SCALE_SRC, SCALE_DST, SCALE_DST_BITREV), mode
                    si = s if mode == SCALE_SRC else (o if mode == SCALE_DST else rev)
                    x = self.mul(x, self._two_level(hiv, lov, lo_log, si, self.mul))
                out[off + o] = x
        assert src is not dst or not permute, "an in-place permutation would race"
        write_ints(dst, out)

    def powers(self, out, count, hi, lo, lo_log) -> None:
        hiv, lov = to_ints(hi), to_ints(lo)
        write_ints(out, [self._two_level(hiv, lov, lo_log, i, self.mul) for i in range(count)])

    def convert(self, data, count, to_mont) -> None:
        vals = to_ints(data[:count])
        f = (lambda v: v * R256 % P) if to_mont else (lambda v: v * RINV % P)
        write_ints(data, [f(v) for v in vals])

    # --- qap.cu ---------------------------------------------------------------------------------
    def coeffs_from_zkey(self, vals, count) -> None:
        write_ints(vals, [mmul(v, 1) for v in to_ints(vals[:count])])

    def sparse_abc(self, a, b, n_rows, w, abc, n) -> None:
        wv = to_ints(w)
        rows = []
        for ptr, cols, vals in (a, b):
            pv, cv, vv = ptr.tolist(), cols.tolist(), to_ints(vals) if len(vals) else []
            acc = [0] * n
            for r in range(min(n, n_rows)):
                s = 0
                for e in range(pv[r], pv[r + 1]):
                    s = (s + mmul(vv[e], wv[cv[e]])) % P
                acc[r] = s
            rows.append(acc)
        av, bv = rows
        write_ints(abc, av, 0)
        write_ints(abc, bv, n)
        write_ints(abc, [mmul(x, y) for x, y in zip(av, bv, strict=True)], 2 * n)

    def quotient_h(self, abc, h, n) -> None:
        v = to_ints(abc[: 3 * n])
        write_ints(h, [(mmul(v[i], v[n + i]) - v[2 * n + i]) % P * RINV % P for i in range(n)])


def naive_dft(coeffs: list[int], coset: int = 1) -> list[int]:
    n = len(coeffs)
    w = root_of_unity(n.bit_length() - 1)
    return [sum(c * pow(coset * pow(w, i, P), j, P) for j, c in enumerate(coeffs)) % P for i in range(n)]


def rand_fr(n: int) -> list[int]:
    return [secrets.randbelow(P) for _ in range(n)]


def test_scale_modes_match_the_header():
    text = (KERNELS / "ntt.cuh").read_text()
    enum = dict(re.findall(r"(SCALE_\w+) = (\d+),", text))
    assert {k: int(v) for k, v in enum.items()} == {
        "SCALE_NONE": SCALE_NONE,
        "SCALE_SRC": SCALE_SRC,
        "SCALE_DST": SCALE_DST,
        "SCALE_DST_BITREV": SCALE_DST_BITREV,
    }


# --- plans and tables ---------------------------------------------------------------------------
@pytest.mark.parametrize("tile_log", [1, 2, 3, 4, 6, 10, 11])
def test_plan_covers_every_stage_once(tile_log):
    for log_n in range(0, 29):
        passes = plan_passes(log_n, tile_log)
        bit = 0
        for p in passes:
            assert p.p0 == bit and p.k >= 1 and 0 <= p.c <= p.p0 and p.k + p.c <= tile_log
            assert log_n - p.k - p.c >= 0 and (1 << (log_n - p.k - p.c)) < 2**31  # gridDim.x limit
            bit += p.k
        assert bit == log_n
        if tile_log == 10:
            # passes over memory: 2^20 in 3, 2^24 in 3, 2^26 in 4
            assert len(passes) == {20: 3, 24: 3, 26: 4}.get(log_n, len(passes))


def test_two_level_powers():
    x = secrets.randbelow(P)
    for count in (1, 2, 3, 5, 64, 1000):
        s = secrets.randbelow(P)
        hi, lo, lo_log = two_level_powers(x, count, s)
        for i in range(count):
            assert hi[i >> lo_log] * lo[i & ((1 << lo_log) - 1)] % P == s * pow(x, i, P) % P


# --- NTT parity ---------------------------------------------------------------------------------
@pytest.fixture(params=[10, 3], ids=["tile2^10", "tile2^3"])
def engine(request):
    return GpuEngine(MirrorOps(tile_log=request.param), poison=True)


@pytest.mark.parametrize("log_n", [0, 1, 2, 3, 4, 5])
@pytest.mark.parametrize("coset", [None, 5, "w2n"])
def test_mirror_ntt_matches_naive_dft(engine, log_n, coset):
    n = 1 << log_n
    g = root_of_unity(log_n + 1) if coset == "w2n" else coset
    coeffs = rand_fr(n)
    x = fr_vector(coeffs)
    before = x.copy()
    out = engine.ntt(x, coset=g)
    assert fr_ints(out) == naive_dft(coeffs, 1 if g is None else g)
    assert np.array_equal(x, before)
    assert fr_ints(engine.ntt(out, inverse=True, coset=g)) == coeffs


@pytest.mark.parametrize("log_n", [6, 8, 10, 11, 12])
def test_mirror_ntt_matches_python_backend(engine, log_n):
    n = 1 << log_n
    coeffs = rand_fr(n)
    x = fr_vector(coeffs)
    g = root_of_unity(log_n + 1)
    assert fr_ints(engine.ntt(x)) == ntt_ints(coeffs)
    assert fr_ints(engine.ntt(x, inverse=True)) == ntt_ints(coeffs, inverse=True)
    assert fr_ints(engine.ntt(x, coset=g)) == ntt_ints(coeffs, coset=g)
    assert fr_ints(engine.ntt(x, inverse=True, coset=g)) == ntt_ints(coeffs, inverse=True, coset=g)


def test_mirror_ntt_uses_the_planned_passes():
    ops = MirrorOps(tile_log=10)
    eng = GpuEngine(ops)
    eng.ntt(fr_vector(rand_fr(1 << 12)))
    assert ops.launches[-3:] == ["permute_scale(permute=1, mode=0)", "dit(0, 10, 0)", "dit(10, 2, 8)"]
    ops.launches.clear()
    eng.ntt(fr_vector(rand_fr(1 << 12)), inverse=True)
    assert ops.launches == ["dif(10, 2, 8)", "dif(0, 10, 0)", "permute_scale(permute=1, mode=2)"]


@pytest.mark.parametrize("inverse", [False, True])
def test_mirror_ntt_with_the_limb_level_multiplication(inverse):
    """Both mirrors together: the NTT passes with every product computed by the PTX-level
    CIOS sequence of mont_t::mul."""
    fr = MontMirror("bn254_fr_params")
    eng = GpuEngine(MirrorOps(tile_log=3, mul=fr.mul_int), poison=True)
    coeffs = rand_fr(1 << 5)
    g = root_of_unity(6)
    assert fr_ints(eng.ntt(fr_vector(coeffs), inverse=inverse, coset=g)) == ntt_ints(coeffs, inverse, g)


def test_twiddle_tables_grow_and_serve_smaller_sizes():
    eng = GpuEngine(MirrorOps(tile_log=4), poison=True)
    big = rand_fr(1 << 7)
    assert fr_ints(eng.ntt(fr_vector(big))) == ntt_ints(big)
    small = rand_fr(1 << 3)  # now served from the 2^7 table by striding
    assert eng._tw[False][0] == 7
    assert fr_ints(eng.ntt(fr_vector(small))) == ntt_ints(small)
    assert fr_ints(eng.ntt(fr_vector(small), inverse=True)) == ntt_ints(small, inverse=True)


def test_poison_exposes_unwritten_elements():
    """A kernel that forgets an element must fail parity, not read as zero."""

    class Lazy(MirrorOps):
        def permute_scale(self, src, dst, log_n, batch, permute, mode, hi, lo, lo_log):
            keep = dst[-1].copy()
            super().permute_scale(src, dst, log_n, batch, permute, mode, hi, lo, lo_log)
            dst[-1] = keep  # "forgot" the last element

    eng = GpuEngine(Lazy(), poison=True)
    out = eng.ntt(fr_vector(rand_fr(8)), inverse=True)
    assert (out[-1] == np.uint64(0xFFFFFFFFFFFFFFFF)).all()


# --- QAP ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def real_key():
    from circuits.examples import cube_chain
    from prover.groth16.setup import setup

    circuit = cube_chain(24)
    pk = setup(circuit.r1cs, name=circuit.name)
    witness = fr_vector(circuit.witness({"x": 3, "key": 77}))
    return pk, witness


@pytest.mark.parametrize("tile_log", [10, 4])
def test_mirror_quotient_matches_python_backend(real_key, tile_log):
    pk, witness = real_key
    ref = PythonBackend()
    expected = ref.quotient_evaluations(ref.load_key(pk.arrays), witness)
    eng = GpuEngine(MirrorOps(tile_log=tile_log), poison=True)
    state = eng.load_key(pk.arrays)
    got = eng.quotient(state, pk.n_vars, pk.domain_size, witness)
    assert np.array_equal(got, expected)
    # a second witness on the same resident state (buffers reused, nothing stale)
    w2 = witness.copy()
    w2[-1] = fr_vector([12345])[0]
    assert np.array_equal(
        eng.quotient(state, pk.n_vars, pk.domain_size, w2), ref.quotient_evaluations(ref.load_key(pk.arrays), w2)
    )


def test_key_that_does_not_fit_is_refused_before_allocating(real_key):
    pk, _ = real_key
    ops = MirrorOps(mem=300 << 20)  # just above the margin: the key cannot fit

    def no_alloc(*_a, **_k):
        raise AssertionError("allocated before the memory check")

    eng = GpuEngine(ops)
    ops.upload = no_alloc  # type: ignore[method-assign]
    ops.empty = no_alloc  # type: ignore[method-assign]
    with pytest.raises(BackendError, match=r"needs .* of GPU memory .*points .*only .* available"):
        eng.load_key(
            KeyArrays(
                n_vars=pk.n_vars,
                n_public=pk.n_public,
                domain_size=1 << 22,
                a_query=pk.arrays.a_query,
                b1_query=pk.arrays.b1_query,
                b2_query=pk.arrays.b2_query,
                c_query=pk.arrays.c_query,
                h_query=np.zeros((1 << 22, 2, 4), dtype=np.uint64),
                coeffs=pk.arrays.coeffs,
            )
        )
    with pytest.raises(BackendError, match="ntt of size 2\\^24 needs"):
        eng.ntt(np.zeros((1 << 24, 4), dtype=np.uint64))


def test_device_scalars_finds_witness_slices(real_key):
    from prover.backend.interface import ResidentKey

    pk, witness = real_key
    eng = GpuEngine(MirrorOps())
    state = eng.load_key(pk.arrays)
    h = eng.quotient(state, pk.n_vars, pk.domain_size, witness)
    state.update(w_host=witness, h_host=h)
    res = ResidentKey(
        source=pk.arrays,
        n_vars=pk.n_vars,
        n_public=pk.n_public,
        domain_size=pk.domain_size,
        a_query=None,
        b1_query=None,
        b2_query=None,
        c_query=None,
        h_query=None,
        private=state,
    )
    tail = witness[pk.n_public + 1 :]
    dev = GpuEngine.device_scalars(res, tail)
    assert dev is not None and len(dev) == len(tail)
    assert [v * RINV % P for v in to_ints(dev)] == fr_ints(tail)  # device witness is Montgomery form
    assert np.array_equal(GpuEngine.device_scalars(res, h), h)
    assert GpuEngine.device_scalars(res, witness.copy()) is None


def test_mirror_quotient_on_unsorted_synthetic_key():
    """Records in any order (as .zkey allows), padding rows, ~3 terms per row."""
    from tests.gpu.helpers import synthetic_key, synthetic_witness

    rng = np.random.default_rng(secrets.randbits(64))
    key = synthetic_key(7, rng)
    w = synthetic_witness(key, rng)
    ref = PythonBackend()
    eng = GpuEngine(MirrorOps(tile_log=4), poison=True)
    got = eng.quotient(eng.load_key(key), key.n_vars, key.domain_size, w)
    assert np.array_equal(got, ref.quotient_evaluations(ref.load_key(key), w))


# --- selection ----------------------------------------------------------------------------------
def test_selection_without_a_gpu(caplog, monkeypatch):
    """auto falls back with one log line giving the reason; gpu forced is a clear error."""
    import logging

    from kernels import loader
    from prover.backend.select import select_backend

    # the probe that both select_backend and GpuBackend.available ask first
    monkeypatch.setattr(loader, "probe", lambda: (False, "no CUDA device found"))
    monkeypatch.delenv("ZKPROVER_BACKEND", raising=False)
    with pytest.raises(BackendError, match="GPU backend requested but unavailable: no CUDA device found"):
        select_backend("gpu")
    with caplog.at_level(logging.INFO, logger="zkprover.backend"):
        be = select_backend("auto")
    assert be.name in ("cpu", "python")
    lines = [r.getMessage() for r in caplog.records if r.name == "zkprover.backend"]
    assert len(lines) == 1 and "no CUDA device found" in lines[0]


def test_gpu_module_imports_and_reports_without_cupy():
    from kernels import loader
    from prover.backend.gpu import GpuBackend

    ok, why = GpuBackend.available()
    assert isinstance(ok, bool) and why
    assert set(loader.PRODUCTION_MODULES) <= set(loader.MODULES)
    if not ok:
        with pytest.raises(BackendError, match="GPU backend unavailable"):
            GpuBackend()
