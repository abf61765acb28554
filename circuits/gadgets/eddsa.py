"""EdDSA-Poseidon verification in-circuit (circomlib ``EdDSAPoseidonVerifier``), twin of
``circuits.native.eddsa.verify_poseidon``.

Checks, when enabled: A and R8 are on the curve, S < ℓ (the subgroup order), 8·A is not the
identity-like point with x = 0 (rejects low-order keys as circomlib does), and
S·B8 = R8 + h·(8·A) with h = Poseidon(R8x, R8y, Ax, Ay, M) decomposed into 254 bits *strictly*
(the bits' integer is below r, so a prover cannot use h + r as the scalar instead).

Constraints: 5,531 ungated, 5,534 with an ``enabled`` signal —

====================================  ===========
part                                   constraints
====================================  ===========
on-curve A, R8                         6 (8 gated)
S bits + S < ℓ                         504 (505 gated)
Poseidon(5)                            321
h strict 254-bit decomposition         510
8·A, x ≠ 0                             16
h·(8·A) (variable base)                3,291
R8 + …                                 6
S·B8 (fixed base, 2-bit window)        875
final equality                         2
====================================  ===========

With ``enabled`` = 0 (rollup padding) nothing is checked, but the witness must still be computable:
pass curve points (e.g. A = R8 = B8, S = 0), since the addition formulas divide by 1 ± d·….
"""

from __future__ import annotations

from circuits import hints
from circuits.builder import LC, ConstraintSystem, Signal, as_lc
from circuits.gadgets import babyjub
from circuits.gadgets.bits import assert_bool, from_bits, to_bits
from circuits.gadgets.poseidon import poseidon
from circuits.native.babyjub import B8, SUBORDER
from circuits.native.poseidon_constants import P

_S_BITS = 251  # ℓ < 2^251
_TOP = 1 << 253
_C = P - _TOP  # integers L + 2^253 with L < _C are exactly the 254-bit values below r


def to_bits_strict(cs: ConstraintSystem, x: LC | int) -> list[Signal]:
    """The unique 254 little-endian bits of x (their integer is < r): 510 constraints.

    ``bits.to_bits`` stops at 253 bits because 254-bit decompositions alias (x and x + r); this
    adds the alias check: if the top bit is set, the low 253 bits must be below r - 2^253. That is
    ``top · (r - 2^253 - 1 - low)`` proven to fit in 253 bits: a negative difference wraps to at
    least 2·(r - 2^253) > 2^253 and fails the range check.
    """
    bits = cs.hint(hints.low_bits(254), x, count=254, name="bit")
    with cs.scope("bits254_strict"):
        for b in bits:
            assert_bool(cs, b)
        cs.assert_equal(from_bits(bits), x, label="bits sum to the value")
        low = from_bits(bits[:253])
        slack = cs.mul(bits[253], _C - 1 - low, name="alias slack")
        to_bits(cs, slack, 253)
    return bits


def verify(
    cs: ConstraintSystem,
    a: tuple[LC | int, LC | int],
    r8: tuple[LC | int, LC | int],
    s: LC | int,
    msg: LC | int,
    enabled: LC | int | None = None,
) -> None:
    """Constrain (R8, S) to be a valid EdDSA-Poseidon signature of ``msg`` under key ``a``.

    ``enabled``, if given, must be a proven bit; with 0 the signature is not checked.
    """
    ax, ay = babyjub.point(a)
    rx, ry = babyjub.point(r8)
    s = as_lc(s)
    with cs.scope("eddsa_poseidon"):
        babyjub.on_curve(cs, (ax, ay), enabled)
        babyjub.on_curve(cs, (rx, ry), enabled)

        # S < ℓ: S has 251 bits (also the fixed-base scalar) and S + 2^251 - ℓ has 251 bits too.
        s_bits = to_bits(cs, s, _S_BITS)
        s_shift = s + ((1 << _S_BITS) - SUBORDER)
        if enabled is not None:
            s_shift = cs.mul(enabled, s_shift, name="gate S < l")
        with cs.scope("S < l"):
            to_bits(cs, s_shift, _S_BITS)

        h = poseidon(cs, [rx, ry, ax, ay, msg])
        h_bits = to_bits_strict(cs, h)

        # 8·A by three doublings: it lies in the prime-order subgroup whatever A's torsion part.
        a8 = babyjub.double(cs, babyjub.double(cs, babyjub.double(cs, (ax, ay))))
        # x(8·A) ≠ 0 (when enabled): x · inv = enabled.
        gate = cs.one if enabled is None else as_lc(enabled)
        inv = cs.hint(hints.quotient, gate, a8[0], name="inv x8A")
        cs.enforce(a8[0], inv, gate, label="8A is not low order")

        right = babyjub.add(cs, (rx, ry), babyjub.mul_var(cs, h_bits, a8))
        left = babyjub.mul_fixed(cs, s_bits, B8)
        if enabled is None:
            cs.assert_equal(left[0], right[0], label="S*B8 == R8 + 8hA (x)")
            cs.assert_equal(left[1], right[1], label="S*B8 == R8 + 8hA (y)")
        else:
            cs.enforce(left[0] - right[0], enabled, 0, label="S*B8 == R8 + 8hA (x) if enabled")
            cs.enforce(left[1] - right[1], enabled, 0, label="S*B8 == R8 + 8hA (y) if enabled")
