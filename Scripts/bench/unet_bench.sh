#!/usr/bin/env bash
# One full-size sv3d_p UNet evaluation (random weights, cond + uncond batch) in svdmv and in sgm's
# PyTorch VideoUNet, one after the other (never together), same threads and inputs; prints both
# times, peak resident memory (the whole process, from the kernel) and the ratios.
#   Scripts/bench/unet_bench.sh [--size 576] [--frames 21] [--precision f16] [--threads 2]
#                               [--weights /tmp/sv3d_p_unet_random_f16.safetensors] [--skip-torch]
# Needs a Python with torch and sgm's dependencies (PYTHON, default .venv/bin/python) and a
# generative-models checkout (SGM_ROOT; see Scripts/fixtures/sgm_reference.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
size=576; frames=21; precision=f16; threads=2; weights=""; skip_torch=0
while [ $# -gt 0 ]; do
    case "$1" in
        --size) size=$2; shift 2;;
        --frames) frames=$2; shift 2;;
        --precision) precision=$2; shift 2;;
        --threads) threads=$2; shift 2;;
        --weights) weights=$2; shift 2;;
        --skip-torch) skip_torch=1; shift;;
        *) echo "unknown option $1" >&2; exit 2;;
    esac
done
weights=${weights:-${TMPDIR:-/tmp}/sv3d_p_unet_random_$precision.safetensors}
PYTHON=${PYTHON:-.venv/bin/python}
swift build -c release --product svdmv >&2
svdmv=.build/release/svdmv
[ -f "$weights" ] || SVDMV_THREADS=$threads $svdmv bench unet --weights "$weights" --precision "$precision" --write-weights
out=$(mktemp)
SVDMV_THREADS=$threads $svdmv bench unet --weights "$weights" --precision "$precision" --size "$size" \
    --frames "$frames" | tee "$out"
if [ "$skip_torch" = 0 ]; then
    OMP_NUM_THREADS=$threads "$PYTHON" Scripts/bench/torch_unet.py --size "$size" --frames "$frames" \
        --threads "$threads" | tee -a "$out"
fi
"$PYTHON" - "$out" <<'PY'
import sys
rows = [dict(kv.split("=") for kv in l.split()[1:]) for l in open(sys.argv[1]) if l.startswith("RESULT")]
for r in rows:
    print(f"{r['precision']:>4}: eval {float(r['eval_s']):8.2f} s, peak resident {int(r['peak_bytes']) / 2**30:6.2f} GiB")
if len(rows) == 2:
    ours, torch = rows
    print(f"speed vs PyTorch {float(torch['eval_s']) / float(ours['eval_s']):.2f}x, "
          f"peak memory {int(ours['peak_bytes']) / int(torch['peak_bytes']):.2f}x PyTorch's")
PY
