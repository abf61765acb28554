"""Regenerate the protobuf/gRPC modules in ``prover/service/gen`` from ``proto/``.

    python -m prover.service.codegen          # rewrite prover/service/gen in place
    python -m prover.service.codegen --check  # exit 1 if the committed files are stale

The generated code is committed (so a plain ``pip install`` needs no protoc) and a test
regenerates it into a temporary folder and compares, so it cannot drift from the .proto.
grpcio-tools is a development dependency only.

protoc names the module after the proto path, ``prover.v1``, which would collide with this
project's top-level ``prover`` package; the generated files are therefore written flat into
``prover/service/gen`` and the one cross-module import is rewritten to a relative one.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROTO_DIR = ROOT / "proto"
PROTO_FILE = "prover/v1/prover.proto"
GEN_DIR = Path(__file__).resolve().parent / "gen"
GENERATED = ("prover_pb2.py", "prover_pb2.pyi", "prover_pb2_grpc.py")


def generate() -> dict[str, str]:
    """Run protoc (grpcio-tools) and return {file name: text} after the import fix."""
    import grpc_tools
    from grpc_tools import protoc

    well_known = str(Path(grpc_tools.__file__).parent / "_proto")
    with tempfile.TemporaryDirectory() as tmp:
        rc = protoc.main(
            [
                "protoc",
                f"-I{PROTO_DIR}",
                f"-I{well_known}",
                f"--python_out={tmp}",
                f"--pyi_out={tmp}",
                f"--grpc_python_out={tmp}",
                str(PROTO_DIR / PROTO_FILE),
            ]
        )
        if rc != 0:
            raise RuntimeError(f"protoc failed with status {rc}")
        out = {}
        for name in GENERATED:
            text = (Path(tmp) / "prover" / "v1" / name).read_text()
            out[name] = text.replace("from prover.v1 import prover_pb2", "from . import prover_pb2")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="compare with the committed files instead of writing")
    args = p.parse_args(argv)
    fresh = generate()
    if args.check:
        stale = [n for n, text in fresh.items() if not (GEN_DIR / n).exists() or (GEN_DIR / n).read_text() != text]
        if stale:
            print(f"stale generated code: {', '.join(stale)}; run python -m prover.service.codegen", file=sys.stderr)
            return 1
        return 0
    for name, text in fresh.items():
        (GEN_DIR / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
