"""Phase-2 building blocks without the snarkjs peers: the native kernels against the pure-Python
curve, ffjavascript's random draws against values ffjavascript 0.2.63 printed, contribution
records, and input validation. The interop suite (tests/interop/test_ceremony.py) runs the
whole ceremony against snarkjs."""

from __future__ import annotations

import numpy as np
import pytest

from prover.backend import cpu
from prover.binfile import BinFile, BinWriter, FormatError
from prover.field.arrays import g1_array, g1_points, g2_array, g2_points
from prover.field.bn254 import FR_MODULUS
from prover.field.curve import G1, G2
from prover.groth16 import phase2
from prover.groth16.mpc import BEACON, Contribution, MpcParams, read_mpc_params
from prover.groth16.snarkjs_rng import ChaCha, hash_to_g2, keypair_from_rng

native = pytest.mark.skipif(cpu._native is None, reason="native extension not built")
R = FR_MODULUS
SCALARS = [1, 0, 2, 5, R - 1, R - 2, 1 << 63, (1 << 64) + 3, R // 3, 0xDEADBEEF << 150]


def _limbs(values: list[int]) -> np.ndarray:
    return np.array([[(v >> (64 * i)) & (2**64 - 1) for i in range(4)] for v in values], dtype="<u8")


@native
@pytest.mark.parametrize("g2", [False, True])
def test_lincomb_matches_the_python_curve(g2):
    group = G2 if g2 else G1
    bases = [group.affine_mul(group.generator, 11 + 7 * i) for i in range(5)] + [None]
    arr = (g2_array if g2 else g1_array)(bases)
    # rows: several terms (incl. a base twice and the infinity base), one term, none
    rows = [[(0, 1), (1, R - 1), (0, 5), (5, 9)], [(2, s) for s in SCALARS], [], [(3, R - 1)], [(4, 0)]]
    # a row of more than LINCOMB_GROUP (64) full-size terms takes two Straus groups; one term
    # and its negation on the same base cancel inside a group
    rows.append([(i % 6, (SCALARS[i % len(SCALARS)] * (i + 1)) % R) for i in range(80)])
    rows.append([(1, R // 5), (1, R - R // 5), (2, R // 5), (2, R // 5)])
    ptr = np.cumsum([0] + [len(r) for r in rows]).astype(np.uint64)
    idx = np.array([b for r in rows for b, _ in r], dtype=np.uint32)
    scal = _limbs([s for r in rows for _, s in r])
    out = np.zeros((len(rows), *arr.shape[1:]), dtype="<u8")
    cpu._native.lincomb(g2, arr, ptr, idx, scal, out, 2)
    got = (g2_points if g2 else g1_points)(out)
    for row, point in zip(rows, got, strict=True):
        want = group.affine_add(*[group.affine_mul(bases[b], s) for b, s in row if bases[b] is not None])
        assert point == want
    with pytest.raises(ValueError, match="row pointers"):
        cpu._native.lincomb(g2, arr, ptr[::-1].copy(), idx, scal, out, 1)


@native
@pytest.mark.parametrize("g2", [False, True])
def test_lincomb_pippenger_rows_match_the_straus_path(g2):
    """A row over LINCOMB_MSM_MIN (4096) terms goes to Pippenger; the same terms split into
    shorter rows (Straus) and summed must give the same point."""
    group, to_arr, to_pts = (G2, g2_array, g2_points) if g2 else (G1, g1_array, g1_points)
    n_bases = 64
    start, step = to_arr([group.affine_mul(group.generator, 3)]), to_arr([group.affine_mul(group.generator, 5)])
    bases = np.empty((n_bases, *start.shape[1:]), dtype="<u8")
    cpu._native.series(g2, start, step, bases, 2)
    rng = np.random.default_rng(1)
    n = 4100
    idx = rng.integers(0, n_bases, n).astype(np.uint32)
    vals = [int.from_bytes(rng.bytes(32), "little") % R for _ in range(n)]
    scal = _limbs(vals)
    outs = []
    for cuts in ([0, n], [0, 2000, n]):
        out = np.zeros((len(cuts) - 1, *bases.shape[1:]), dtype="<u8")
        cpu._native.lincomb(g2, bases, np.array(cuts, dtype=np.uint64), idx, scal, out, 2)
        outs.append(to_pts(out))
    assert outs[0][0] == group.affine_add(*outs[1])


@native
def test_batch_glv_rescaling_matches_the_generic_product():
    """More points than one lockstep batch (1024), with points at infinity among them."""
    start, step = g1_array([G1.affine_mul(G1.generator, 7)]), g1_array([G1.affine_mul(G1.generator, 11)])
    pts = np.empty((1100, 2, 4), dtype="<u8")
    cpu._native.series(False, start, step, pts, 2)
    pts[[0, 300, 1099]] = 0
    for k in (R - 1, R // 3 + 17, phase2.GLV_LAMBDA + 1):
        k1, k2 = phase2.glv_split(k)
        out, want = np.empty_like(pts), np.empty_like(pts)
        m1, m2 = (_limbs([abs(v)])[0] for v in (k1, k2))
        cpu._native.scale_g1_glv(pts, m1, k1 < 0, m2, k2 < 0, out, 2)
        cpu._native.scale(False, pts, _limbs([k])[0], want, 2)
        assert np.array_equal(out, want)


@native
@pytest.mark.parametrize("g2", [False, True])
def test_scale_matches_the_python_curve(g2):
    group = G2 if g2 else G1
    pts = [group.affine_mul(group.generator, 3 + i) for i in range(6)] + [None]
    arr = (g2_array if g2 else g1_array)(pts)
    for s in (R - 1, 12345, R // 7):
        out = np.empty_like(arr)
        cpu._native.scale(g2, arr, _limbs([s])[0], out, 2)
        want = [None if p is None else group.affine_mul(p, s) for p in pts]
        assert (g2_points if g2 else g1_points)(out) == want


@native
def test_glv_rescaling_matches_the_python_curve():
    pts = [G1.affine_mul(G1.generator, 5 + 3 * i) for i in range(5)] + [None]
    arr = g1_array(pts)
    for k in (1, R - 1, 2, R // 3, 0xC0FFEE << 200, phase2.GLV_LAMBDA):
        k1, k2 = phase2.glv_split(k)
        assert (k1 + k2 * phase2.GLV_LAMBDA - k) % R == 0 and max(abs(k1), abs(k2)) < 1 << 127
        out = np.empty_like(arr)
        m1, m2 = (_limbs([abs(v)])[0] for v in (k1, k2))
        cpu._native.scale_g1_glv(arr, m1, k1 < 0, m2, k2 < 0, out, 2)
        assert g1_points(out) == [None if p is None else G1.affine_mul(p, k) for p in pts]
    with pytest.raises(ValueError, match="2\\^128"):
        cpu._native.scale_g1_glv(arr, _limbs([1 << 130])[0], False, m2, False, out, 1)


def test_random_draws_match_ffjavascript():
    """hashToG2, Fr.fromRng and G1.fromRng of ffjavascript 0.2.63 on a fixed 64-byte hash."""
    h = bytes((i * 7 + 3) & 255 for i in range(64))
    assert hash_to_g2(h) == (
        (
            10981744191856992381809360468766349808540288088380022120879940032157482185159,
            21596609199614916244870285972043611265843163710357154274803730808527450671106,
        ),
        (
            21106394083971498902915171443050057787679082343764185182527384465384631981618,
            16434225528908858706977571821808088155132905298271956510167368579555172722980,
        ),
    )
    secret, g1_s = keypair_from_rng(ChaCha.from_hash(h))
    assert secret == 1999399850937727353411852283797433476428515852032432344680610858802918784213
    assert g1_s == (
        19843346435496270338108779899034198167871071879351958044959127106881763704854,
        18280963976093579328197736100545934356412327230589035182212091958467516250227,
    )
    with pytest.raises(ValueError, match="8 32-bit words"):
        ChaCha([1, 2, 3])


def _record(tmp_path, mpc: MpcParams | bytes):
    w = BinWriter(b"zkey", 1)
    w.add(10, mpc if isinstance(mpc, bytes) else mpc.encode())
    w.save(tmp_path / "k.zkey")
    return read_mpc_params(BinFile(tmp_path / "k.zkey", b"zkey", 2).reader(10, "contributions"))


def test_contribution_records_round_trip_and_bad_ones_are_refused(tmp_path):
    g = G1.generator
    c1 = Contribution(G1.affine_mul(g, 2), g, G1.affine_mul(g, 3), G2.generator, bytes(range(64)), name="alice")
    c2 = Contribution(g, g, g, G2.generator, bytes(64), BEACON, None, 12, b"\x01\x02")
    mpc = MpcParams(bytes(range(64, 128)), [c1, c2])
    assert _record(tmp_path, mpc) == mpc
    assert c1.contribution_hash() != c2.contribution_hash()
    raw = bytearray(mpc.encode())
    # c1's parameter list is [1, len, 'alice']; an unknown tag in its place is refused
    at = raw.index(b"alice") - 2
    raw[at] = 9
    with pytest.raises(FormatError, match="unknown parameter tag 9"):
        _record(tmp_path, bytes(raw))
    with pytest.raises(FormatError, match="too short"):
        _record(tmp_path, mpc.encode()[:-3])


@pytest.mark.parametrize(
    ("beacon", "exp", "problem"),
    [("", "10", "non-empty hexadecimal"), ("abc", "10", "hexadecimal"), ("zz", "10", "hexadecimal"),
     ("ab" * 256, "10", "at most 255"), ("ab", "9", "between 10 and 63"), ("ab", "64", "between 10 and 63"),
     ("ab", "x", "not a number")],
)  # fmt: skip
def test_bad_beacon_parameters_are_refused(beacon, exp, problem):
    with pytest.raises(phase2.CeremonyError, match=problem):
        phase2.parse_beacon(beacon, exp)
    assert phase2.parse_beacon("0x0a0b", "10") == (b"\x0a\x0b", 10)


def test_domain_size_is_snarkjs_cirpower():
    # the smallest power of two strictly above constraints + public signals
    assert [phase2.domain_size(c, p) for c, p in [(1, 0), (3, 1), (4, 0), (5, 2), (511, 1), (1000, 24)]] == [
        2, 8, 8, 8, 1024, 2048,
    ]  # fmt: skip


def test_the_point_past_the_tau_section_is_subtracted_as_ffjavascript_does():
    """At a domain of 2^power snarkjs hashes tau^(2d-1) - tau^(d-1) with tau^(2d-1) read past the
    section: the next section's header and the start of tau G2 (words above q). ffjavascript
    0.2.63 gave this uncompressed difference for the words below (a power-15 file)."""
    garbage = bytes.fromhex(
        "0300000000004000000000002620bc02d1b5838e72017b493519ebdcdf1a8197"
        "4726b8fb3b5096af4138571940614ca87d73b4afc4d802585add4360862fa052"
    )
    tail = bytes.fromhex(
        "ad6f138b5f27d4a911edca9535ad124203c3dfde52f48041371007edc6ba5e0c"
        "4cade349b8551975b19b4844c41b5aaad2156f9a6df471f0a61cdd476351ca00"
    )
    words = [int.from_bytes(b[k : k + 32], "little") for b in (garbage, tail) for k in (0, 32)]
    x, y = phase2._wasm_sub_affine(*words)
    assert (x.to_bytes(32, "big") + y.to_bytes(32, "big")).hex() == (
        "168f48e4a47c6f24fb6b0d8ae847111e5a1538c2dfffe8c9b6e272de56371bce"
        "257dd5a78feeffcda3f05d3816bee0f07accc08af14fa45ac06add6f4a71e94c"
    )
    # and it is not what plain field arithmetic on the words gives
    q = 21888242871839275222246405745257275088696311157297823662689037894645226208583
    rinv = pow(1 << 256, -1, q)
    x1, y1, x2, y2 = (w * rinv % q for w in words)
    lam = (-y2 - y1) * pow(x2 - x1, -1, q) % q
    assert (lam * lam - x1 - x2) % q != x


@native
@pytest.mark.parametrize("g2", [False, True])
def test_folding_shared_coefficients_changes_no_sum(g2):
    """Terms of one output sharing a coefficient are summed first (``coef_id``): same points as
    one product per term, with repeated bases, the coefficient 1 and singletons mixed in."""
    group, to_arr = (G2, g2_array) if g2 else (G1, g1_array)
    start, step = to_arr([group.affine_mul(group.generator, 3)]), to_arr([group.affine_mul(group.generator, 5)])
    bases = np.empty((40, *start.shape[1:]), dtype="<u8")
    cpu._native.series(g2, start, step, bases, 2)
    rng = np.random.default_rng(3)
    values = [1, 7, R - 1, R // 3, (R // 3) * 2, 0xDEADBEEF << 150]
    n = 600
    ids = rng.integers(0, len(values), n)
    out_idx, base_idx = rng.integers(0, 25, n), rng.integers(0, len(bases), n)
    scalars = _limbs([values[i] for i in ids])
    plain = phase2._lincomb(g2, bases, out_idx, base_idx, scalars, 25)
    folded = phase2._lincomb(g2, bases, out_idx, base_idx, scalars, 25, ids)
    assert np.array_equal(plain, folded)
