"""zkprover: a Groth16 (BN254) prover service for ZK-rollups, with CPU and GPU backends."""

__version__ = "0.1.0"
