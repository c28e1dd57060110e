#!/usr/bin/env bash
# The GPU check of issue 28 for a device machine (run from the repository root). That machine's
# image has torch, accelerate, peft, safetensors and pillow but no diffusers, webdataset or
# kornia, and reaches no registry: bring them as wheels first, here, once:
#     python/scripts/device_wheels            # -> python/.device-wheels (git-ignored)
# then, with the device tool:  run(command="python/scripts/device_check.sh",
#                                   carry=["python/.device-wheels"], timeout_s=540)
# Results: $OUT/results.json and results.md (python/scripts/gpu_benchmark.py says what is timed),
# plus the CUDA run of the parity tests' log.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -d .device-wheels ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .device-wheels/*.whl
    export PYTHONPATH=/tmp/site:$(pwd)
fi
export PYTHONUNBUFFERED=1 OUT=${OUT:-$(pwd)/device-out}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 scripts/gpu_benchmark.py "$OUT" 2>&1 | tee "$OUT/benchmark.log"
