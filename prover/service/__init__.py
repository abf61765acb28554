"""The prover service: gRPC API, job submission, workers (see docs/architecture.md, "The service").

``servicer`` converts between protobuf and internal types only; ``core`` does the work
(submission against the rollup state, queries); ``server`` runs gRPC with health and
reflection; ``worker`` claims and proves jobs; ``interceptors`` authenticate, budget and map
errors to status codes, with ``auth`` (tokens, roles, TLS), ``limits`` (rates, stream caps,
message sizes) and ``errors`` beside it; ``watch`` polls job versions for every WatchJob stream;
``client`` opens a channel with TLS and a token.
"""
