#!/usr/bin/env bash
# Install zkprover into a virtual environment: the one build step of both images.
#
#   deploy/scripts/install.sh VENV [SOURCE]
#
# SOURCE is the project checkout (default: the one this script lives in). Environment:
#   ZKPROVER_EXTRAS          pip extras, comma-separated (e.g. gpu-cuda12); default none
#   ZKPROVER_PORTABLE        default 1 here: an image is built on one host and run on others, and
#                            -march=native code can die with SIGILL on an older CPU (see setup.py)
#   ZKPROVER_REQUIRE_NATIVE  default 1: fail unless the native CPU backend was built, because
#                            setup.py makes it optional and an image without it would fall back
#                            to the pure-Python backend (orders of magnitude slower) silently
#   ZKPROVER_PREBUILD_KERNELS  auto (default): with a gpu extra, compile the CUDA kernels to
#                            cubins now where nvcc or NVRTC is present (kernels/prebuild.py), so a
#                            worker's first start loads them instead of compiling msm.cu with
#                            NVRTC for ~100-160 s; 1: always, and fail without a compiler; 0: never
#   ZKPROVER_KERNEL_ARCHS    compute capabilities to prebuild for (default "80 90": A100, H100)
#   PYTHON                   interpreter for the venv (default python3)
#
# Dockerfile.cpu and Dockerfile.cuda run exactly this, and tests/deploy/test_install.py runs it
# on the test machine, so the images' install steps are tested where no Docker engine runs.
set -euo pipefail

venv=${1:?usage: install.sh VENV [SOURCE]}
src=${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
extras=${ZKPROVER_EXTRAS:-}
python=${PYTHON:-python3}
export ZKPROVER_PORTABLE=${ZKPROVER_PORTABLE:-1}
require_native=${ZKPROVER_REQUIRE_NATIVE:-1}

# Build from a clean copy: pip builds in-tree, and a developer checkout's build/ directory or an
# in-place _native*.so (compiled with -march=native) would otherwise be reused as "up to date".
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
tar -C "$src" \
    --exclude=./.git --exclude=./.venv --exclude=./build --exclude='./*.egg-info' \
    --exclude='*.so' --exclude='__pycache__' --exclude=./tests --exclude=./bench \
    --exclude=./deploy --exclude=./node_modules --exclude=./zkprover-data \
    -cf - . | tar -C "$stage" -xf -

"$python" -m venv "$venv"
spec="$stage"
if [ -n "$extras" ]; then
    spec="$stage[$extras]"
fi
# --no-cache-dir keeps pip's wheel cache out of the image layer
"$venv/bin/pip" install --no-cache-dir --no-compile -q "$spec"
# compile bytecode now, as root, so a read-only or non-root runtime does not try to write it
"$venv/bin/python" -m compileall -q "$venv/lib" >/dev/null

# Smoke checks: the command runs, and the native backend is there when it is required.
"$venv/bin/zkprover" --help >/dev/null
if [ "$require_native" != "0" ]; then
    "$venv/bin/python" -c 'import prover.backend._native' || {
        echo "install.sh: the native CPU backend was not built (C compiler or OpenMP missing?)" >&2
        exit 1
    }
fi
case ",$extras," in
    *,gpu*)
        # import only: there is no GPU at image build time; the backend probes the device at start
        "$venv/bin/python" -c 'import cupy' ;;
esac
# Kernels ahead of time: cubins in $venv/share/zkprover/kernels, where the loader looks first
# (a cubin made for other sources or another architecture is never used; see kernels/prebuild.py)
prebuild=${ZKPROVER_PREBUILD_KERNELS:-auto}
if [ "$prebuild" = auto ]; then
    case ",$extras," in
        *,gpu*) prebuild=auto-gpu ;;
        *) prebuild=0 ;;
    esac
fi
if [ "$prebuild" != 0 ]; then
    started=$(date +%s)
    # shellcheck disable=SC2086  # the architectures are a word list
    if "$venv/bin/python" -m kernels.prebuild --arch ${ZKPROVER_KERNEL_ARCHS:-80 90} \
        --out "$venv/share/zkprover/kernels"; then
        echo "install.sh: kernels prebuilt in $(($(date +%s) - started)) s"
    elif [ "$prebuild" = 1 ]; then
        echo "install.sh: prebuilding the kernels failed (ZKPROVER_PREBUILD_KERNELS=1)" >&2
        exit 1
    else
        echo "install.sh: kernels not prebuilt; a worker's first start compiles them (~100-160 s)" >&2
    fi
fi
echo "install.sh: zkprover installed in $venv (extras: ${extras:-none}, portable: $ZKPROVER_PORTABLE)"
