#!/usr/bin/env bash
# On the GPU machine, in the repository root: everything a GPU session checks, in one call.
#   bash bench/gpu_session.sh [harness arguments...]      (default: the full harness)
# 1. unpacks the carried wheels (.whl) into /tmp/site, 2. builds the native CPU backend (the
# parity reference), 3. compiles the kernel modules in parallel processes into the on-disk cache
# (msm.cu alone takes minutes; sequential compiles would eat the call's time limit), 4. runs
# bench/gpu_harness.py, which writes its JSON/Markdown into $OUT after every section.
# The device tool brings back at most 8 files: $OUT gets session.log (GPU, build and compile
# logs), gpu_tests.log, gpu_bench.json/.md, snarkjs_proof/{proof,public,vk}.json and, with
# GPU_MEMORY_BATCHES set, gpu_memory.jsonl.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench/results}
mkdir -p "$OUT" /tmp/site
python3 -c "import glob, zipfile; [zipfile.ZipFile(w).extractall('/tmp/site') for w in glob.glob('.whl/*.whl')]"
export PYTHONPATH=/tmp/site:$PWD ZKPROVER_KERNEL_CACHE=$PWD/.cache/kernels PYTHONUNBUFFERED=1
LOG=$OUT/session.log
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv 2>&1 | tee "$LOG"
if python3 setup.py -q build_ext --inplace > /tmp/build_ext.log 2>&1; then
    echo "native CPU backend built" | tee -a "$LOG"
else
    cat /tmp/build_ext.log >> "$LOG"
    echo "native CPU backend NOT built (log in session.log): the CPU reference is pure Python" | tee -a "$LOG"
fi
t0=$(date +%s)
pids=()
for m in $(python3 -c "from kernels import loader; print(' '.join(loader.MODULES))"); do
    python3 -c "from kernels import loader; loader.load('$m'); print('compiled $m')" > "/tmp/compile_$m.log" 2>&1 &
    pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
cat /tmp/compile_*.log >> "$LOG"
grep -h -v '^$' /tmp/compile_*.log | tail -40
echo "kernel compile: $(( $(date +%s) - t0 )) s, rc $rc" | tee -a "$LOG"
[ "$rc" = 0 ] || exit 2
data=.cache/bench-data/poseidon_chain_65k
args=("$@")
[ ${#args[@]} -eq 0 ] && [ -d "$data" ] && args=(--bench-data "$data")
python3 bench/gpu_harness.py --json "$OUT/gpu_bench.json" "${args[@]}"
rc=$?
# deploy/README's GPU column, measured: GPU_MEMORY_BATCHES="1 2 4 8" runs a worker's job per
# batch size (depth 12) on the GPU backend and appends each figure set to gpu_memory.jsonl
for b in ${GPU_MEMORY_BATCHES:-}; do
    python3 deploy/scripts/measure_memory.py --backend gpu --batch-size "$b" --depth 12 \
        --cache-dir /tmp/zkprover-keys --json /tmp/mem.json >> "$LOG" 2>&1 \
        && python3 -c "import json; print(json.dumps(json.load(open('/tmp/mem.json'))))" >> "$OUT/gpu_memory.jsonl"
done
exit $rc
