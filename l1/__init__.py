"""The L1 side: Solidity contracts (Groth16 verifier, rollup), their committed artifacts, a
py-evm runner to deploy and drive them in memory, and the calldata encoding of proofs.

Data flows one way: this package reads ``prover.groth16`` / ``prover.field`` /
``prover.rollup`` (the public data layout); only the service, the CLI and tests import it.
"""
