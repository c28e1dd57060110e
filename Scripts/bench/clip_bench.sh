#!/usr/bin/env bash
# Times the CLIP-S image path (open_clip's evaluation transform + ViT-B/32 and ViT-L/14 image
# towers) with `svdmv bench clip` and its PyTorch twin (Scripts/bench/clip_torch.py: open_clip +
# torchvision on tensors) in the same run, same inputs' shape and thread count, and prints a
# Markdown table (seconds per call, speed ratio).
#   Scripts/bench/clip_bench.sh [--size 224] [--images 1] [--repeats 3] [--threads N] [--models "ViT-B-32 ViT-L-14"]
# Needs a Python with torch, torchvision and open_clip_torch (PYTHON, default .venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/../.."
size=224; images=1; repeats=3; threads=$(nproc); models="ViT-B-32 ViT-L-14"
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2;;
        --images) images=$2; shift 2;;
        --repeats) repeats=$2; shift 2;;
        --threads) threads=$2; shift 2;;
        --models) models=$2; shift 2;;
        *) echo "unknown option $1" >&2; exit 2;;
    esac
done
PYTHON=${PYTHON:-.venv/bin/python}
swift build -c release --product svdmv >&2
echo "| CLIP tower | input | images/call | threads | svdmv s | PyTorch s | speed vs PyTorch |"
echo "|---|---|---:|---:|---:|---:|---:|"
for model in $models; do
    ours=$(SVDMV_THREADS="$threads" .build/release/svdmv bench clip --json --model "$model" --size "$size" \
        --images "$images" --repeats "$repeats")
    theirs=$(OMP_NUM_THREADS="$threads" "$PYTHON" -W ignore Scripts/bench/clip_torch.py --model "$model" \
        --size "$size" --images "$images" --repeats "$repeats" --threads "$threads" 2>/dev/null)
    "$PYTHON" - "$ours" "$theirs" <<'PY'
import json, sys
o, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(f"| {o['name'][5:]} | {o['size']}x{o['size']} | {o['images']} | {o['threads']} | "
      f"{o['seconds']:.3f} | {t['seconds']:.3f} | {t['seconds'] / o['seconds']:.2f}x |")
PY
done
