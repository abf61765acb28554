"""A development powers of tau: a prepared ``.ptau`` from one random tau, alpha, beta.

What ``snarkjs powersoftau new`` + one ``contribute`` + ``prepare phase2`` produce, minus the
contribution record, made in seconds instead of (at power 18 on this VM) the better part of an
hour: for tests and benchmarks of the phase 2, whose inputs must be big enough for the batch
circuits. The secrets are drawn here and dropped, but this process saw them: NOT a phase 1 for
production (use a public ceremony's file, e.g. the Hermez/Polygon perpetual powers of tau).

snarkjs's ``zkey new`` and ``zkey verify`` read everything they need from it (sections 1-6 and
12-15); section 7 holds zero contributions, so ``snarkjs powersoftau verify`` refuses it, which
is right.

The series are fixed-base products of the generators (native ``fixed_base``), the Lagrange
values L_i(tau) come from the closed form per domain size (``setup.lagrange_at``).
"""

from __future__ import annotations

import os
import secrets
import struct

from prover.binfile import atomic_output, bigint, u32
from prover.field.arrays import fr_vector
from prover.field.bn254 import FQ_MODULUS, FR_MODULUS
from prover.field.curve import G1, G2
from prover.groth16.ptau import ALPHA_TAU_G1, BETA_G2, BETA_TAU_G1, PTAU_MAGIC, TAU_G1, TAU_G2
from prover.groth16.setup import lagrange_at

R = FR_MODULUS
_BLOCK = 1 << 16  # scalars converted and multiplied per call (bounds the temporaries)


def _powers(x: int, n: int, scale: int = 1) -> list[int]:
    out, acc = [0] * n, scale % R
    for i in range(n):
        out[i] = acc
        acc = acc * x % R
    return out


def write_development_ptau(path: str | os.PathLike, power: int) -> None:
    """Write a prepared powers of tau of ``power`` (domains up to 2^power; 2^(power+1) for tau G1)."""
    from prover.backend.cpu import CpuBackend

    if not 1 <= power <= 27:
        raise ValueError(f"power {power} is out of range 1..27")
    backend = CpuBackend()
    while True:
        tau, alpha, beta = (secrets.randbelow(R - 1) + 1 for _ in range(3))
        # L_i(tau) needs tau outside every domain; the chance of meeting one is ~2^(power+2) / r
        if pow(tau, 1 << (power + 1), R) != 1:
            break
    n, n2 = 1 << power, 1 << (power + 1)

    def g1(scalars: list[int]) -> bytes:
        return b"".join(
            backend.batch_mul_g1(G1.generator, fr_vector(scalars[i : i + _BLOCK])).tobytes()
            for i in range(0, len(scalars), _BLOCK)
        )

    def g2(scalars: list[int]) -> bytes:
        return b"".join(
            backend.batch_mul_g2(G2.generator, fr_vector(scalars[i : i + _BLOCK])).tobytes()
            for i in range(0, len(scalars), _BLOCK)
        )

    def lagrange(top: int, scale: int) -> list[int]:
        # every domain 1, 2, ..., 2^top in turn, as prepare phase2 lays them out
        return [v * scale % R for k in range(top + 1) for v in lagrange_at(tau, k)]

    with atomic_output(path) as fh:
        fh.write(PTAU_MAGIC + struct.pack("<II", 1, 11))  # sections 1-7 and 12-15

        def section(stype: int, body: bytes) -> None:
            fh.write(struct.pack("<IQ", stype, len(body)))
            fh.write(body)

        section(1, u32(32) + bigint(FQ_MODULUS) + u32(power) + u32(power))
        section(TAU_G1, g1(_powers(tau, n2 - 1)))
        section(TAU_G2, g2(_powers(tau, n)))
        section(ALPHA_TAU_G1, g1(_powers(tau, n, alpha)))
        section(BETA_TAU_G1, g1(_powers(tau, n, beta)))
        section(BETA_G2, g2([beta]))
        section(7, u32(0))  # no contribution records
        section(12, g1(lagrange(power + 1, 1)))
        section(13, g2(lagrange(power, 1)))
        section(14, g1(lagrange(power, alpha)))
        section(15, g1(lagrange(power, beta)))


__all__ = ["write_development_ptau"]
