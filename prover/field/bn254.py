"""BN254 (alt_bn128) constants: base field q, scalar field r, Montgomery radix, roots of unity.

Roots of unity follow ffjavascript (and so snarkjs): the 2-adicity of r - 1 is 28 and the
generator of the 2^28 subgroup is 5^((r-1)/2^28), 5 being the smallest quadratic non-residue.
Domain 2^k uses w_k = w_28^(2^(28-k)). Every NTT, the QAP and the setup take roots from here so
that H evaluations match snarkjs keys bit for bit.

A typo here would silently produce proofs no verifier accepts. The algebraic facts the constants
must satisfy (2-adicity, non-residue, primitive root, generator on the curve) are checked at import:
plain integer arithmetic, tens of microseconds. Agreement with py_ecc's copy of the curve is
checked by the tests (``tests/test_field.py``) rather than here, because importing py_ecc's
``bn128`` costs ~0.1 s (its pairing module runs point multiplications at import) and every
``zkprover prove`` would pay it for a check whose outcome never changes between runs.
"""

from __future__ import annotations

from functools import lru_cache

FQ_MODULUS = 21888242871839275222246405745257275088696311157297823662689037894645226208583
FR_MODULUS = 21888242871839275222246405745257275088548364400416034343698204186575808495617

#: Montgomery radix used by snarkjs files (.zkey point coordinates): R = 2^256.
MONT_R = 1 << 256

FR_NONRESIDUE = 5
FR_TWO_ADICITY = 28

#: Field element byte width in every iden3 binary file.
N8 = 32

# Curve: y^2 = x^3 + 3 over Fq; twist y^2 = x^3 + 3/(9+u) over Fq2 = Fq[u]/(u^2+1).
G1_B = 3
G1_GENERATOR = (1, 2)
G2_GENERATOR = (
    (
        10857046999023057135944570762232829481370756359578518086990519993285655852781,
        11559732032986387107991004021392285783925812861821192530917403151452391805634,
    ),
    (
        8495653923123431417604973247489272438418190587263600148770280649306958101930,
        4082367875863433681332203403145435568316851327593401208105741076214120093531,
    ),
)


def fr_inv(x: int) -> int:
    """Inverse in Fr; raises ZeroDivisionError on 0 rather than returning 0."""
    x %= FR_MODULUS
    if x == 0:
        raise ZeroDivisionError("inverse of zero in Fr")
    return pow(x, -1, FR_MODULUS)


def fq_inv(x: int) -> int:
    """Inverse in Fq; raises ZeroDivisionError on 0."""
    x %= FQ_MODULUS
    if x == 0:
        raise ZeroDivisionError("inverse of zero in Fq")
    return pow(x, -1, FQ_MODULUS)


_W28 = pow(FR_NONRESIDUE, (FR_MODULUS - 1) >> FR_TWO_ADICITY, FR_MODULUS)


@lru_cache(maxsize=64)
def root_of_unity(log_n: int) -> int:
    """Primitive 2^log_n-th root of unity in Fr (ffjavascript's choice)."""
    if not 0 <= log_n <= FR_TWO_ADICITY:
        raise ValueError(f"no 2^{log_n}-th root of unity in Fr (2-adicity is {FR_TWO_ADICITY})")
    return pow(_W28, 1 << (FR_TWO_ADICITY - log_n), FR_MODULUS)


def log2_domain(n: int) -> int:
    """Smallest k with 2^k >= n."""
    return max(0, (n - 1).bit_length())


def _self_check() -> None:
    if (FR_MODULUS - 1) % (1 << FR_TWO_ADICITY) or ((FR_MODULUS - 1) >> FR_TWO_ADICITY) % 2 == 0:
        raise ImportError("2-adicity of r - 1 is not 28")
    if pow(FR_NONRESIDUE, (FR_MODULUS - 1) // 2, FR_MODULUS) != FR_MODULUS - 1:
        raise ImportError("5 is not a quadratic non-residue mod r")
    if pow(_W28, 1 << (FR_TWO_ADICITY - 1), FR_MODULUS) != FR_MODULUS - 1:
        raise ImportError("w_28 is not a primitive 2^28-th root of unity")
    x, y = G1_GENERATOR
    if (y * y - x * x * x - G1_B) % FQ_MODULUS:
        raise ImportError("G1 generator is not on the curve")


_self_check()
