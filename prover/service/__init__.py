"""The prover service: gRPC API, job submission, workers (see ARCHITECTURE.md §5).

``servicer`` converts between protobuf and internal types only; ``core`` does the work
(submission against the rollup state, queries); ``server`` runs gRPC with health and
reflection; ``worker`` claims and proves jobs; ``interceptors`` map errors to status codes.
"""
