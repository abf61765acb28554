"""BN254 field constants and roots of unity: the one table every other layer uses."""

from prover.field.bn254 import (
    FQ_MODULUS,
    FR_MODULUS,
    FR_NONRESIDUE,
    FR_TWO_ADICITY,
    MONT_R,
    fr_inv,
    root_of_unity,
)

__all__ = [
    "FQ_MODULUS",
    "FR_MODULUS",
    "FR_NONRESIDUE",
    "FR_TWO_ADICITY",
    "MONT_R",
    "fr_inv",
    "root_of_unity",
]
