"""Sample circuits for the demo, tests and benchmarks."""

from __future__ import annotations

from circuits.builder import CompiledCircuit, ConstraintSystem
from circuits.gadgets.bits import range_check
from prover.field.bn254 import FR_MODULUS


def round_constant(i: int) -> int:
    """Fixed, structure-free round constants (a simple LCG-free derivation is enough here)."""
    return pow(7, i + 11, FR_MODULUS)


def cube_chain(rounds: int) -> CompiledCircuit:
    """x_{i+1} = (x_i + key + c_i)^3 for ``rounds`` rounds, MiMC-style.

    Public input ``x`` (the start), private input ``key`` (range-checked to 64 bits), public
    output ``y`` (the end). Costs 2 constraints per round plus 65 for the range check.
    """
    cs = ConstraintSystem(f"cube_chain_{rounds}")
    x = cs.public_input("x")
    key = cs.private_input("key")
    range_check(cs, key, 64)
    state = x
    for i in range(rounds):
        with cs.scope(f"round{i}"):
            t = state + key + round_constant(i)
            sq = cs.mul(t, t, name="square")
            state = cs.mul(sq, t, name="cube")
    cs.public_output("y", state)
    return cs.compile()


def cube_chain_output(x: int, key: int, rounds: int) -> int:
    """The native twin of ``cube_chain``: what the circuit's output must equal."""
    state = x % FR_MODULUS
    for i in range(rounds):
        state = pow((state + key + round_constant(i)) % FR_MODULUS, 3, FR_MODULUS)
    return state
