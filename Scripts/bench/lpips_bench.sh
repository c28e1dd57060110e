#!/usr/bin/env bash
# Times LPIPS-Alex and LPIPS-VGG on random pairs with `svdmv bench lpips` and its PyTorch twin
# (Scripts/bench/lpips_torch.py, the `lpips` package) in the same run, same size and thread count,
# and prints a Markdown table (seconds per call, speed ratio).
#   Scripts/bench/lpips_bench.sh [--size 256] [--pairs 1] [--repeats 3] [--threads N]
# Needs a Python with torch and lpips (PYTHON, default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/../.."
size=256; pairs=1; repeats=3; threads=$(nproc)
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2;;
        --pairs) pairs=$2; shift 2;;
        --repeats) repeats=$2; shift 2;;
        --threads) threads=$2; shift 2;;
        *) echo "unknown option $1" >&2; exit 2;;
    esac
done
PYTHON=${PYTHON:-.venv/bin/python}
swift build -c release --product svdmv >&2
echo "| LPIPS | input | pairs/call | threads | svdmv s | PyTorch s | speed vs PyTorch |"
echo "|---|---|---:|---:|---:|---:|---:|"
for net in alex vgg; do
    ours=$(SVDMV_THREADS="$threads" .build/release/svdmv bench lpips --json --net "$net" --size "$size" \
        --pairs "$pairs" --repeats "$repeats")
    theirs=$(OMP_NUM_THREADS="$threads" "$PYTHON" -W ignore Scripts/bench/lpips_torch.py --net "$net" \
        --size "$size" --pairs "$pairs" --repeats "$repeats" --threads "$threads")
    "$PYTHON" - "$ours" "$theirs" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"| {o['name'].split('_')[1]} | {o['size']}x{o['size']} | {o['pairs']} | {o['threads']} | "
      f"{o['seconds']:.3f} | {t['seconds']:.3f} | {t['seconds'] / o['seconds']:.2f}x |")
PY
done
