"""Native (pure-Python integer) twins of the circuit gadgets.

These compute exactly what the gadgets in ``circuits.gadgets`` constrain, with no dependency on
the constraint-system builder, so that witness generation and the rollup state (a higher layer)
share one implementation. Everything here is circomlib/circomlibjs-compatible:

- ``poseidon``: Poseidon over BN254 Fr for 1..16 inputs (constants from the Grain LFSR),
- ``babyjub``: Baby Jubjub twisted Edwards arithmetic and point packing,
- ``eddsa``: EdDSA-Poseidon keys, signing and verification (BLAKE-512 key derivation),
- ``sha256``: SHA-256 with the bit order used by the in-circuit gadget,
- ``merkle``: Poseidon Merkle paths (binary and 4-ary),
- ``poseidon_opt``: Poseidon's optimized form (sparse partial rounds) derived from the constants.

``fast`` holds C twins of the operator's hot paths (Poseidon, point addition and multiplication,
EdDSA-Poseidon verification, Merkle path hashing) from the ``prover.backend._native`` extension,
with the same names and results; the pure-Python functions stay the reference.
"""
