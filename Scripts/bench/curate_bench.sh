#!/usr/bin/env bash
# Curation scoring benchmark, capture rows: `svdmv bench curate --orbits 0` (release build) against
# its OpenCV peer (Scripts/bench/curate_opencv.py: reduced-scale imread, Laplacian variance,
# Farneback flow at 64 px, calcHist/compareHist cut cascade, COLMAP read in NumPy) in the same run,
# twice. Both at 1080x1920 portrait, 30 frames, 400 COLMAP points; ours makes its own captures in a
# temporary folder, the peer reads make_bench_capture.py's from WORKDIR (same size, quality and
# content model; see curate_opencv.py's docstring for what differs). Prints each round's parts
# side by side with the ratio our time / OpenCV's, including decode, flow (ours / Farneback) and the
# whole scorer (one worker) and whole run (JOBS workers / processes).
# Usage: Scripts/bench/curate_bench.sh [WORKDIR]   (PYTHON, CAPTURES=4, REPEATS=2, JOBS=nproc)
# Needs OpenCV in PYTHON (default .venv/bin/python): pip install -r Scripts/bench/requirements-curate.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-/tmp/svdmv-curate-bench}
PYTHON=${PYTHON:-.venv/bin/python}
[ -x "$PYTHON" ] || PYTHON=python3
CAPTURES=${CAPTURES:-4}
REPEATS=${REPEATS:-2}
JOBS=${JOBS:-$(nproc)}
"$PYTHON" -c "import cv2" 2>/dev/null \
    || { echo "$PYTHON has no OpenCV: $PYTHON -m pip install -r Scripts/bench/requirements-curate.txt" >&2; exit 1; }
if [ ! -d "$WORK/0" ]; then
    "$PYTHON" Scripts/bench/make_bench_capture.py "$WORK" --captures "$CAPTURES" --frames 30
fi
found=$(find "$WORK/0" -mindepth 1 -maxdepth 1 -type d | wc -l)
[ "$found" -eq "$CAPTURES" ] || { echo "$WORK/0 holds $found captures, not $CAPTURES: use a fresh WORKDIR" >&2; exit 1; }
swift build -c release --product svdmv >/dev/null
BIN=$(swift build -c release --show-bin-path)/svdmv
echo "machine: $(nproc) cores, $(uname -m); JPEG sizes: $(du -sh "$WORK/0" | cut -f1) for $CAPTURES x 30 frames"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in 1 2; do
    echo "-- round $round"
    "$BIN" bench curate --orbits 0 --captures "$CAPTURES" --frames 30 --frame-size 1080x1920 --points 400 \
        --repeats "$REPEATS" --jobs "$JOBS" --json > "$WORK/ours-round$round.jsonl"
    "$PYTHON" Scripts/bench/curate_opencv.py "$WORK" --repeats "$REPEATS" --jobs "$JOBS" \
        --ours-json "$WORK/ours-round$round.jsonl"
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
