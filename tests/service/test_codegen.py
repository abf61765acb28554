"""The committed generated code matches proto/prover/v1/prover.proto."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

from prover.service import codegen


def test_generated_code_is_current():
    pytest.importorskip("grpc_tools", reason="grpcio-tools is a dev dependency (pip install -e '.[dev]')")
    committed_grpc = (codegen.GEN_DIR / "prover_pb2_grpc.py").read_text()
    made_with = re.search(r"GRPC_GENERATED_VERSION = '([^']+)'", committed_grpc).group(1)
    installed = metadata.version("grpcio-tools")
    if installed != made_with:
        # another protoc writes other version stamps; comparing would only report that
        pytest.skip(f"gen/ was made with grpcio-tools {made_with}, {installed} is installed")
    for name, text in codegen.generate().items():
        committed = (codegen.GEN_DIR / name).read_text()
        assert committed == text, f"prover/service/gen/{name} is stale: run python -m prover.service.codegen"
