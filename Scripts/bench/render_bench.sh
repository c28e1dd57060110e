#!/usr/bin/env bash
# Renderer benchmark (not a test): a 21-view 576x576 orbit with 4 samples per pixel of the two
# assimp-corpus models, timed for `svdmv render` (best of RUNS, whole command: load, normalise,
# render, PNG encode, write) and for Blender's Python module on the same cameras (Cycles at 4 samples
# on the CPU, whole orbit; EEVEE Next on BLENDER_VIEWS views, extrapolated to 21). Prints a
# markdown table for Evaluation/benchmarks.md.
#   Scripts/bench/render_bench.sh                  # needs bpy: pip install bpy==4.2.0 (Python 3.11)
#   PYTHON=/path/to/python RUNS=5 BLENDER_VIEWS=2 SKIP_BLENDER=1 Scripts/bench/render_bench.sh
#   HDRI=/usr/share/blender/datafiles/studiolights/world/forest.exr Scripts/bench/render_bench.sh
# With HDRI set, both sides light the objects with that environment map (rotation 0; Blender
# reads it from the cameras.json `svdmv render` wrote) instead of the studio lights.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-.venv/bin/python}
RUNS=${RUNS:-5}
BLENDER_VIEWS=${BLENDER_VIEWS:-2}
CORES=${CORES:-0,1}
lighting=()
[ -n "${HDRI:-}" ] && lighting=(--lighting hdri "$HDRI" --hdri-rotation 0)
M=/usr/share/assimp/models
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
swift build -c release --product svdmv >/dev/null
svdmv=.build/release/svdmv

"$PYTHON" Scripts/bench/gltf1_to_obj.py "$M/glTF/CesiumMilkTruck/CesiumMilkTruck.gltf" "$work/truck/CesiumMilkTruck.obj" 2>/dev/null \
    || { mkdir -p "$work/truck" && "$PYTHON" Scripts/bench/gltf1_to_obj.py "$M/glTF/CesiumMilkTruck/CesiumMilkTruck.gltf" "$work/truck/CesiumMilkTruck.obj"; }

echo "| model | triangles | svdmv wall (s/orbit, best of $RUNS) | svdmv CPU (user+sys s, best) | Cycles 4 spp (s/orbit) | EEVEE (s/orbit, from $BLENDER_VIEWS views) | speed-up vs Cycles | vs EEVEE |"
echo "|---|---|---|---|---|---|---|---|"
for spec in "2CylinderEngine.glb|$M/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb|$M/glTF2/2CylinderEngine-glTF-Binary/2CylinderEngine.glb" \
            "CesiumMilkTruck.gltf|$M/glTF/CesiumMilkTruck/CesiumMilkTruck.gltf|$work/truck/CesiumMilkTruck.obj"; do
    IFS='|' read -r id mesh blender_mesh <<<"$spec"
    best=999999 cpu=999999
    for _ in $(seq "$RUNS"); do
        rm -rf "$work/ours"
        /usr/bin/time -o "$work/time" -f "%e %U %S" \
            taskset -c "$CORES" "$svdmv" render "$mesh" --out "$work/ours" --views 21 --size 576 --samples 4 "${lighting[@]}" >/dev/null
        read -r wall user sys <"$work/time"
        best=$(awk -v a="$wall" -v b="$best" 'BEGIN { print (a < b ? a : b) }')
        cpu=$(awk -v u="$user" -v s="$sys" -v b="$cpu" 'BEGIN { t = u + s; print (t < b ? t : b) }')
    done
    cameras="$work/ours/$id/cameras.json"
    triangles=$(grep '"triangles"' "$cameras" | tr -dc '0-9')
    cycles=- eevee=-
    if [ -z "${SKIP_BLENDER:-}" ]; then
        cycles=$(cd "$work" && taskset -c "$CORES" "$PYTHON" "$OLDPWD/Scripts/bench/blender_render.py" "$blender_mesh" "$cameras" "$work/cycles" --engine cycles --samples 4 2>/dev/null | tail -1 | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["per_orbit_s"])')
        eevee=$(cd "$work" && taskset -c "$CORES" "$PYTHON" "$OLDPWD/Scripts/bench/blender_render.py" "$blender_mesh" "$cameras" "$work/eevee" --engine eevee --samples 4 --views "$BLENDER_VIEWS" 2>/dev/null | tail -1 | "$PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["per_orbit_s"])')
    fi
    ratio() { [ "$1" = - ] && echo - || awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0fx", a / b }'; }
    printf "| %s | %s | %.2f | %.2f | %s | %s | %s | %s |\n" "$id" "$triangles" "$best" "$cpu" "$cycles" "$eevee" "$(ratio "$cycles" "$best")" "$(ratio "$eevee" "$best")"
done
