#!/usr/bin/env bash
# Dataset loading benchmark: one 21-frame sequence of 1080x1920 JPEGs -> 576x576 floats in [-1, 1],
# Swift (`svdmv dataset benchmark`, release build) against a PIL + NumPy loader, in the same run.
# Usage: Scripts/bench/dataset_bench.sh [WORKDIR]   (PYTHON=... to pick the interpreter)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/svdmv-dataset-bench}
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
if [ ! -d "$WORK/0/bench00" ]; then
    "$PYTHON" Scripts/bench/make_bench_capture.py "$WORK" --captures 1 --frames 30
fi
swift build -c release --product svdmv >/dev/null
BIN=$(swift build -c release --show-bin-path)/svdmv
echo "machine: $(nproc) cores, $(uname -m); JPEG sizes: $(du -sh "$WORK/0/bench00/images" | cut -f1) for 30 frames"
REPEATS=${REPEATS:-9}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in 1 2; do
    echo "-- round $round"
    echo "python, default glibc malloc:"
    "$PYTHON" Scripts/bench/pil_loader.py "$WORK" --size 576 --repeats "$REPEATS"
    echo "python, freed memory kept in the heap (same policy as svdmv's default):"
    MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647 \
        "$PYTHON" Scripts/bench/pil_loader.py "$WORK" --size 576 --repeats "$REPEATS"
    "$BIN" dataset benchmark "$WORK" --size 576 --repeats "$REPEATS"
    "$BIN" dataset benchmark "$WORK" --size 576 --repeats "$REPEATS" --threads 1
    "$BIN" dataset benchmark "$WORK" --size 576 --repeats "$REPEATS" --no-retain-memory
    "$BIN" dataset benchmark "$WORK" --size 576 --repeats "$REPEATS" --full-decode
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
