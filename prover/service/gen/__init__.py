"""Generated protobuf/gRPC code for proto/prover/v1/prover.proto (see prover.service.codegen)."""
