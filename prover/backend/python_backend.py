"""The pure-Python backend: correct, dependency-free, slow.

It is the fallback when the native CPU extension cannot be built or loaded, and the reference
the faster backends are tested against. Arithmetic is on Python integers; MSM is Pippenger's
bucket method over Jacobian coordinates with mixed additions, which keeps a few-thousand-
constraint proof in seconds rather than the minutes naive double-and-add would take.
"""

from __future__ import annotations

from typing import Any

from prover.backend.interface import (
    Backend,
    BackendError,
    KeyArrays,
    ResidentKey,
    check_msm_sizes,
    check_ntt_size,
)
from prover.field.arrays import FrVector, fr_ints, fr_vector, g1_points, g2_points
from prover.field.bn254 import FR_MODULUS, MONT_R, root_of_unity
from prover.field.curve import G1, G2, G1Affine, G2Affine, Group

P = FR_MODULUS
_RINV2 = pow(MONT_R % P, -2, P)


def ntt_ints(values: list[int], inverse: bool = False, coset: int | None = None) -> list[int]:
    """Radix-2 NTT on a list of ints (natural order in and out); see Backend.ntt."""
    n = len(values)
    a = [v % P for v in values]
    if coset is not None and not inverse:
        g, acc = coset % P, 1
        for i in range(n):
            a[i] = a[i] * acc % P
            acc = acc * g % P
    # bit-reversal permutation, then iterative butterflies
    j = 0
    for i in range(1, n):
        bit = n >> 1
        while j & bit:
            j ^= bit
            bit >>= 1
        j |= bit
        if i < j:
            a[i], a[j] = a[j], a[i]
    length = 2
    while length <= n:
        w = root_of_unity(length.bit_length() - 1)
        if inverse:
            w = pow(w, -1, P)
        half = length >> 1
        twiddles = [1] * half
        for k in range(1, half):
            twiddles[k] = twiddles[k - 1] * w % P
        for start in range(0, n, length):
            for k in range(half):
                u = a[start + k]
                t = a[start + k + half] * twiddles[k] % P
                a[start + k] = (u + t) % P
                a[start + k + half] = (u - t) % P
        length <<= 1
    if inverse:
        n_inv = pow(n, -1, P)
        a = [x * n_inv % P for x in a]
        if coset is not None:
            g_inv, acc = pow(coset, -1, P), 1
            for i in range(n):
                a[i] = a[i] * acc % P
                acc = acc * g_inv % P
    return a


def _window_for(n: int) -> int:
    # Pippenger's cost ~ (254/c) * (n + 2^(c+1)); the minimum sits near c = log2(n) - 2.
    if n < 32:
        return 3
    return max(3, min(16, n.bit_length() - 3))


def msm_points(group: Group, points: list, scalars: list[int]) -> Any:
    """sum scalars[i] * points[i] (affine points, None = infinity) by Pippenger."""
    pairs = [(p, k % P) for p, k in zip(points, scalars, strict=True) if p is not None and k % P]
    if not pairs:
        return None
    c = _window_for(len(pairs))
    mask = (1 << c) - 1
    n_windows = (P.bit_length() + c - 1) // c
    total = group.infinity
    for win in range(n_windows - 1, -1, -1):
        for _ in range(c):
            total = group.double(total)
        shift = win * c
        buckets: list = [None] * (1 << c)
        for p, k in pairs:
            d = (k >> shift) & mask
            if d:
                b = buckets[d]
                buckets[d] = group.add_affine(b if b is not None else group.infinity, p)
        running = group.infinity
        acc = group.infinity
        for d in range(mask, 0, -1):
            b = buckets[d]
            if b is not None:
                running = group.add(running, b)
            acc = group.add(acc, running)
        total = group.add(total, acc)
    return group.to_affine(total)


class PythonBackend(Backend):
    name = "python"

    def describe(self) -> str:
        return "python (pure-Python reference backend; slow)"

    def ntt(self, values: FrVector, *, inverse: bool = False, coset: int | None = None) -> FrVector:
        check_ntt_size(values)
        return fr_vector(ntt_ints(fr_ints(values), inverse, coset))

    def _bases(self, bases: Any, decode) -> list:
        if isinstance(bases, list):
            return bases
        return decode(bases)

    def msm_g1(self, bases: Any, scalars: FrVector) -> G1Affine:
        pts = self._bases(bases, g1_points)
        check_msm_sizes(len(pts), scalars, "msm_g1")
        return msm_points(G1, pts, fr_ints(scalars))

    def msm_g2(self, bases: Any, scalars: FrVector) -> G2Affine:
        pts = self._bases(bases, g2_points)
        check_msm_sizes(len(pts), scalars, "msm_g2")
        return msm_points(G2, pts, fr_ints(scalars))

    def load_key(self, key: KeyArrays) -> ResidentKey:
        coeffs = [
            (
                int(r["matrix"]),
                int(r["constraint"]),
                int(r["signal"]),
                int.from_bytes(r["value"].tobytes(), "little") * _RINV2 % P,
            )
            for r in key.coeffs
        ]
        return ResidentKey(
            source=key,
            n_vars=key.n_vars,
            n_public=key.n_public,
            domain_size=key.domain_size,
            a_query=g1_points(key.a_query),
            b1_query=g1_points(key.b1_query),
            b2_query=g2_points(key.b2_query),
            c_query=g1_points(key.c_query),
            h_query=g1_points(key.h_query),
            private={"coeffs": coeffs},
        )

    def quotient_evaluations(self, resident: ResidentKey, witness: FrVector) -> FrVector:
        if len(witness) != resident.n_vars:
            raise BackendError(f"witness has {len(witness)} values, the key expects {resident.n_vars}")
        n = resident.domain_size
        w = fr_ints(witness)
        ab = [[0] * n, [0] * n]
        for m, c, s, k in resident.private["coeffs"]:
            ab[m][c] += k * w[s]
        a = [x % P for x in ab[0]]
        b = [x % P for x in ab[1]]
        c_ = [x * y % P for x, y in zip(a, b, strict=True)]
        shift = root_of_unity(n.bit_length())  # w_2n: evaluate on the odd coset
        a, b, c_ = (ntt_ints(ntt_ints(v, inverse=True), coset=shift) for v in (a, b, c_))
        return fr_vector([(x * y - z) % P for x, y, z in zip(a, b, c_, strict=True)])
