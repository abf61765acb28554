"""The L1 side: Solidity contracts (Groth16 verifier, rollup), their committed artifacts, a
py-evm runner to deploy and drive them in memory, the calldata encoding of proofs, and the
operator's link to a real node (JSON-RPC chain, settler, event watcher; see l1/README.md).

Data flows one way: this package reads ``prover.groth16`` / ``prover.field`` /
``prover.rollup`` (the public data layout) and ``prover.metrics``; only the service, the CLI and tests import it.
"""
