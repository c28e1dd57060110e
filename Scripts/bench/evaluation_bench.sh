#!/usr/bin/env bash
# Times a whole GSO-style evaluation on synthetic data: N procedural objects (`svdmv shapes`) in the
# GSO layout (<object>/meshes/model.obj) as ground truth, and as "generated" views the same meshes
# rendered by `svdmv render` at 10 degrees elevation with a cameras.json that claims 12 (so the
# evaluator renders the ground truth 2 degrees higher: similar, not identical views). Then
# `svdmv evaluate --protocol svd-mv-gso` (21 views, 576x576) runs twice: cold (renders the ground
# truth) and warm (render cache reused: metrics only). CLIP-S uses random ViT-B/32 weights
# (Scripts/export-clip-weights.py --random; the cost does not depend on the values).
#   Scripts/bench/evaluation_bench.sh [--objects 50] [--lpips vgg|alex] [--dir /tmp/svdmv-eval-bench] [--threads N]
# Needs PYTHON (default .venv/bin/python) with open_clip_torch for the CLIP weights file.
set -euo pipefail
cd "$(dirname "$0")/../.."
objects=50; lpips=""; dir=/tmp/svdmv-eval-bench; threads=$(nproc)
while [ $# -gt 0 ]; do
    case "$1" in
        --objects) objects=$2; shift 2;;
        --lpips) lpips=$2; shift 2;;
        --dir) dir=$2; shift 2;;
        --threads) threads=$2; shift 2;;
        *) echo "unknown option $1" >&2; exit 2;;
    esac
done
PYTHON=${PYTHON:-.venv/bin/python}
swift build -c release --product svdmv >&2
svdmv=$PWD/.build/release/svdmv
export SVDMV_THREADS=$threads
rm -rf "$dir"; mkdir -p "$dir/gso" "$dir/gen"
"$svdmv" shapes --out "$dir/shapes" --count "$objects" >&2
for obj in "$dir"/shapes/*/; do
    name=$(basename "$obj"); mkdir -p "$dir/gso/$name/meshes"; cp "$obj"/model.* "$dir/gso/$name/meshes/"
done
start=$(date +%s.%N)
"$svdmv" render "$dir/gso" --out "$dir/renders" --views 21 --size 576 --elevation 10 \
    --azimuth-start 17.142857142857142 --background white >&2
render_s=$(echo "$(date +%s.%N) - $start" | bc)
for obj in "$dir"/gso/*/; do
    name=$(basename "$obj"); mv "$dir/renders/${name}__meshes__model.obj" "$dir/gen/$name"
    "$PYTHON" - "$dir/gen/$name/cameras.json" <<'PY'
import json, sys
# The render's own cameras, claiming 12 degrees: the extrinsics are left out, so the reader
# derives them from the angles and distance.
cameras = json.load(open(sys.argv[1]))
for view in cameras["views"]:
    view["elevation_deg"] = 12.0
    for key in ("position", "world_to_camera_opencv", "world_to_camera_opengl"):
        view.pop(key, None)
json.dump(cameras, open(sys.argv[1], "w"))
PY
done
"$PYTHON" Scripts/export-clip-weights.py ViT-B-32 --random --out "$dir/clip-b32-random.safetensors" >&2
extra=(--clip-weights "$dir/clip-b32-random.safetensors" --clip-activation gelu)
[ -n "$lpips" ] && extra+=(--lpips "$lpips")
for run in cold warm; do
    start=$(date +%s.%N)
    "$svdmv" evaluate --protocol svd-mv-gso --generated "$dir/gen" --ground-truth "$dir/gso" \
        --out "$dir/report" "${extra[@]}" > "$dir/evaluate-$run.out" 2> "$dir/evaluate-$run.log"
    head -1 "$dir/evaluate-$run.out"
    echo "$run: $(echo "$(date +%s.%N) - $start" | bc) s (evaluate, $objects objects x 21 views at 576, $threads threads)"
done
echo "generated-view renders (svdmv render, $objects orbits): $render_s s"
