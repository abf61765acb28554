#!/usr/bin/env bash
# Here, before a GPU session (needs network): fetch what the GPU machine lacks into git-ignored
# folders that the device call carries. See bench/README.md, "Recipe for a session with a GPU".
set -euo pipefail
cd "$(dirname "$0")/.."
exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qx '/.whl/' "$exclude" 2>/dev/null || echo '/.whl/' >> "$exclude"
mkdir -p .whl
# py_ecc is pure Python and imports nothing outside the standard library on the paths we use;
# the GPU image already has numpy, cupy, pytest, pytest-timeout, grpcio, protobuf.
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 -d .whl "py_ecc==8.0.0"
# the full-proof data (bench_circom_chain.py --hashes 276 --keep DIR makes it)
data=${ZKPROVER_BENCH_DATA:-.cache/bench-data/poseidon_chain_65k}
if [ -d "$data" ] && [ "$data" != .cache/bench-data/poseidon_chain_65k ]; then
    mkdir -p .cache/bench-data/poseidon_chain_65k
    cp "$data"/*_final.zkey "$data"/*.wtns .cache/bench-data/poseidon_chain_65k/
fi
du -sh .whl .cache/bench-data 2>/dev/null || true
echo 'carry: [".whl", ".cache/bench-data"]   command: bash bench/gpu_session.sh'
