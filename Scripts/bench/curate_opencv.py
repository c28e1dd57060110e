#!/usr/bin/env python3
"""OpenCV peer of `svdmv bench curate`'s capture rows (Sources/Curation, CaptureScorer.score).

Times, per MVImgNet-layout capture (ROOT/<category>/<object>/{images,sparse/0}, as
Scripts/bench/make_bench_capture.py makes them), the OpenCV analogue of each part of our scorer,
in its order and at its sizes (the defaults of CaptureScoreSettings):

  frame decode   JPEG header read, then `cv2.imread(path, IMREAD_REDUCED_GRAYSCALE_{8,4,2})` at the
                 smallest libjpeg-turbo scale (1/8, 2/8 or 4/8; else full) that leaves the shorter
                 side >= 256, as `CaptureScorer.loadGrey` picks it (1080 px -> 2/8 -> 270x480), to
                 float32 and `cv2.resize(INTER_AREA)` to a 256-px shorter side (256x455), as
                 `GreyImage.downscaled(shorterSide: 256)`. Both decoders are libjpeg-turbo, accurate
                 (islow) IDCT, grey output (chroma not transformed), EXIF orientation applied.
  sharpness      `cv2.Laplacian(grey, cv2.CV_32F).var(dtype=float64)` per frame (ksize 1: the
                 4-neighbour kernel of Sharpness.swift; the frames are float32 as ours, and OpenCV
                 has no float32 -> CV_64F Laplacian: float Laplacian, double accumulation, as
                 ours), then the median and 10th percentile.
  flow motion    `cv2.resize(INTER_AREA)` of each 256-px frame to a 64-px shorter side (64x114),
                 to uint8, and `cv2.calcOpticalFlowFarneback` on each consecutive pair (OpenCV
                 tutorial parameters: pyr_scale 0.5, 3 levels, window 15, 3 iterations, poly_n 5,
                 sigma 1.2); the motion score is the mean flow magnitude per pair, averaged over
                 the pairs (ours: exhaustive 8x8 block matching, step 4, radius 6, sub-pixel
                 parabola, BlockFlow.swift).
  cut detection  its own `cv2.resize(INTER_AREA)` of each 256-px frame to 64 px (as
                 CutDetector.swift scales again), 32-bin `cv2.calcHist` over [0, 256), normalised;
                 distance = half the L1 distance = 1 - `cv2.compareHist(HISTCMP_INTERSECT)`; the
                 cascade at strides 1, 2, 4 (floors 0.3, 0.45, 0.45, 3x the stride's median).
  colmap + traj. cameras.bin, images.bin (with their 2D points) and points3D.bin (with tracks) read
                 with struct/NumPy, the registered frames on disk in numeric name order, mean
                 reprojection error, and the trajectory scores (TrajectoryScores.swift with
                 CaptureGeometry's default estimators: centre nearest the optical axes, up from
                 the cameras' right axes) in NumPy.

Each part is the fastest of --repeats passes over every capture, after one untimed capture, in
ms per capture and share of the parts' sum; then the whole scorer (all parts in one call per
capture) on one worker and a whole run over --jobs processes, in captures per second. The parts
and the whole scorer run with `cv2.setNumThreads(1)` (one worker, as ours); in the whole run each
process also has one OpenCV thread. The process pool is started and warmed before the timing
(ours starts its worker threads inside the timed run).

Where it differs from ours, unavoidably:
  - Farneback is a different flow estimator (dense, per pixel, polynomial expansion) from our
    block matching; it needs 8-bit frames, so the 64-px frames are rounded to uint8 (in the flow
    part), and its mean covers every pixel where ours covers the blocks whose search window lies
    inside the frame. The scores are comparable in meaning (px per frame at 64 px), not equal.
  - cv2.Laplacian includes the border (reflected); ours takes the interior pixels only.
  - INTER_AREA on float32 and our area resampling agree up to rounding; the histograms match.
  - The inputs are make_bench_capture.py's, not the ones `svdmv bench curate` makes itself in a
    temporary folder: same JPEG size and quality and content model, but its frames do not slide
    (each frame has its own shading) and its COLMAP points (400) carry no tracks, where ours carry
    6 observations each. Scripts/bench/curate_bench.sh runs ours at the same frame size, frame
    count and point count.

Needs OpenCV (pinned in Scripts/bench/requirements-curate.txt: `.venv/bin/pip install -r
Scripts/bench/requirements-curate.txt`) and NumPy.
Usage: curate_opencv.py ROOT [--repeats 2] [--jobs N] [--json] [--ours-json FILE]
  --ours-json FILE: the output of `svdmv bench curate --json`; prints its capture rows beside ours
  and the ratios (ours / OpenCV time).
"""
import argparse
import glob
import json
import math
import multiprocessing
import os
import re
import struct
import sys
import time

import cv2
import numpy as np

SHARPNESS_SIZE = 256          # CaptureScoreSettings.sharpnessSize
FLOW_SIZE = 64                # BlockFlowSettings.analysisSize
CUT_SIZE = 64                 # CutDetectorSettings.analysisSize
CUT_BINS = 32
CUT_STRIDES = [1, 2, 4]
CUT_FLOORS = [0.3, 0.45, 0.45]
CUT_RELATIVE = 3.0
FARNEBACK = dict(pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0)
REDUCED = {1: cv2.IMREAD_REDUCED_GRAYSCALE_8, 2: cv2.IMREAD_REDUCED_GRAYSCALE_4,
           4: cv2.IMREAD_REDUCED_GRAYSCALE_2, 8: cv2.IMREAD_GRAYSCALE}
PARTS = ["frame decode", "sharpness", "flow motion", "cut detection", "colmap + trajectory"]


# ---------------------------------------------------------------- helpers mirroring Curation

def numeric_key(name):
    """Numeric file-name order (Foundation's `.numeric` compare)."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def frame_names(images):
    return sorted((n for n in os.listdir(images)
                   if n.lower().rsplit(".", 1)[-1] in ("jpg", "jpeg", "png") and not n.startswith(".")),
                  key=numeric_key)


def discover(root):
    """MVImgNet captures: ROOT/<category>/<object> with sparse/0, sorted by id."""
    return sorted(os.path.dirname(os.path.dirname(p)) for p in glob.glob(os.path.join(root, "*", "*", "sparse", "0")))


def round_half_up(x):
    return int(math.floor(x + 0.5))


def shorter_side_size(w, h, target):
    """GreyImage.downscaled(shorterSide:): the (w, h) after scaling, never enlarged."""
    s = min(w, h)
    if target >= s:
        return w, h
    scale = target / s
    return max(1, round_half_up(w * scale)), max(1, round_half_up(h * scale))


def downscaled(grey, target):
    h, w = grey.shape
    nw, nh = shorter_side_size(w, h, target)
    return grey if (nw, nh) == (w, h) else cv2.resize(grey, (nw, nh), interpolation=cv2.INTER_AREA)


def jpeg_stored_size(path):
    """Width and height from the JPEG's SOF marker (ours asks TurboJPEG for the header)."""
    with open(path, "rb") as fh:
        data = fh.read(65536)
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        length = struct.unpack_from(">H", data, i + 2)[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack_from(">HH", data, i + 5)
            return w, h
        i += 2 + length
    raise ValueError(f"{path}: no JPEG frame header in the first 64 kB")


def load_grey(path):
    """CaptureScorer.loadGrey: grey float32 at the sharpness size, JPEG decoded at reduced scale."""
    if path.lower().endswith(".png"):
        image = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    else:
        w, h = jpeg_stored_size(path)
        shorter = min(w, h)
        eighths = next((e for e in (1, 2, 4) if e / 8 * shorter >= SHARPNESS_SIZE), 8)
        image = cv2.imread(path, REDUCED[eighths])
    if image is None:
        raise ValueError(f"{path}: cannot decode")
    return downscaled(image.astype(np.float32), SHARPNESS_SIZE)


def sharpness_scores(frames):
    values = [cv2.Laplacian(g, cv2.CV_32F).var(dtype=np.float64) for g in frames]
    return float(np.median(values)), float(np.percentile(values, 10))


def motion_score(frames):
    small = [cv2.convertScaleAbs(downscaled(g, FLOW_SIZE)) for g in frames]   # rounds, saturates to uint8
    per_pair = []
    for a, b in zip(small, small[1:]):
        if a.shape != b.shape:
            continue
        flow = cv2.calcOpticalFlowFarneback(a, b, None, **FARNEBACK)
        per_pair.append(float(np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2).mean()))
    return float(np.mean(per_pair)) if per_pair else None


def detect_cuts(frames):
    hists = []
    for g in frames:
        small = downscaled(g, CUT_SIZE)
        h = cv2.calcHist([small], [0], None, [CUT_BINS], [0, 256])
        hists.append(h / small.size)
    cuts = []   # (from, to, stride, distance)
    for stride, floor in zip(CUT_STRIDES, CUT_FLOORS):
        if not 1 <= stride < len(hists):
            continue
        d = [1.0 - cv2.compareHist(hists[i], hists[i + stride], cv2.HISTCMP_INTERSECT)
             for i in range(len(hists) - stride)]
        threshold = max(floor, CUT_RELATIVE * float(np.median(d)))
        found = []
        for i, x in enumerate(d):
            if x <= threshold or any(c[0] >= i and c[1] <= i + stride for c in cuts):
                continue
            if found and i < found[-1][1]:
                found[-1] = (found[-1][0], i + stride, stride, max(found[-1][3], x))
            else:
                found.append((i, i + stride, stride, x))
        cuts += found
    return sorted(cuts)


def read_colmap(sparse):
    """cameras.bin, images.bin, points3D.bin (COLMAP's binary layout) with struct and NumPy."""
    with open(os.path.join(sparse, "cameras.bin"), "rb") as fh:
        data = fh.read()
    params_per_model = {0: 3, 1: 4, 2: 4, 3: 5, 4: 8, 5: 8, 6: 12, 7: 5, 8: 4, 9: 5, 10: 12}
    (n,), o, cameras = struct.unpack_from("<Q", data), 8, {}
    for _ in range(n):
        cid, model, w, h = struct.unpack_from("<IiQQ", data, o); o += 24
        k = params_per_model[model]
        cameras[cid] = (model, w, h, np.frombuffer(data, "<f8", k, o)); o += 8 * k
    with open(os.path.join(sparse, "images.bin"), "rb") as fh:
        data = fh.read()
    point2d = np.dtype([("x", "<f8"), ("y", "<f8"), ("id", "<i8")])
    (n,), o, images = struct.unpack_from("<Q", data), 8, []
    for _ in range(n):
        iid, qw, qx, qy, qz, tx, ty, tz, cid = struct.unpack_from("<I7dI", data, o); o += 64
        end = data.index(b"\0", o)
        name = data[o:end].decode(); o = end + 1
        (m,) = struct.unpack_from("<Q", data, o); o += 8
        pts = np.frombuffer(data, point2d, m, o); o += 24 * m
        if cid not in cameras:
            raise ValueError(f"{sparse}: image {iid} ({name}) uses missing camera {cid}")
        images.append((iid, name, np.array([qw, qx, qy, qz]), np.array([tx, ty, tz]), cid, pts))
    with open(os.path.join(sparse, "points3D.bin"), "rb") as fh:
        data = fh.read()
    (n,), o = struct.unpack_from("<Q", data), 8
    xyz, errors, tracks = np.empty((n, 3)), np.empty(n), []
    for k in range(n):
        _, x, y, z, _, _, _, err, length = struct.unpack_from("<Q3d3BdQ", data, o); o += 51
        xyz[k] = (x, y, z); errors[k] = err
        tracks.append(np.frombuffer(data, "<u4", 2 * length, o)); o += 8 * length
    return cameras, images, xyz, errors, tracks


def rotation(q):
    w, x, y, z = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                     [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                     [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)]])


def trajectory_scores(rotations, translations):
    """TrajectoryScores with CaptureGeometry's optical-axes centre and camera-axes up."""
    r = np.asarray(rotations); t = np.asarray(translations)
    n = len(r)
    if n < 3:
        return None
    centres = -np.einsum("nji,nj->ni", r, t)
    right, down, forward = r[:, 0], r[:, 1], r[:, 2]
    proj = np.eye(3) - np.einsum("ni,nj->nij", forward, forward)
    centre = np.linalg.solve(proj.sum(0), np.einsum("nij,nj->i", proj, centres))
    ev_r, vec_r = np.linalg.eigh(right.T @ right)
    ev_d, vec_d = np.linalg.eigh(down.T @ down)
    sideways = ev_d[0] < ev_r[0]
    values, vectors = (ev_d, vec_d) if sideways else (ev_r, vec_r)
    up = vectors[:, 0]
    axes = right if sideways else down
    if values[1] < 0.02 * n:
        h = (down if sideways else right).sum(0); h /= np.linalg.norm(h)
        mean_up = -axes.sum(0)
        up = mean_up - (mean_up @ h) * h
    if not sideways:
        if up @ -axes.sum(0) < 0:
            up = -up
    else:
        v = centres - centre
        if ((v / np.linalg.norm(v, axis=1, keepdims=True)) @ up).sum() < 0:
            up = -up
    up /= np.linalg.norm(up)
    v = centres - centre
    e1 = v[0] - (v[0] @ up) * up; e1 /= np.linalg.norm(e1)
    e2 = np.cross(up, e1)
    az = np.degrees(np.arctan2(v @ e2, v @ e1)) % 360
    step = np.fmod(np.diff(az), 360)
    step = np.where(step > 180, step - 360, np.where(step <= -180, step + 360, step))
    running = np.concatenate([[0.0], np.cumsum(step)])
    elevation = np.degrees(np.arcsin(np.clip((v / np.linalg.norm(v, axis=1, keepdims=True)) @ up, -1, 1)))
    steps = np.linalg.norm(np.diff(centres, axis=0), axis=1)
    typical = float(np.median(steps))
    return {"azimuth_span_deg": float(running.max() - running.min()),
            "elevation_range_deg": float(elevation.max() - elevation.min()),
            "camera_step_jump": float(steps.max() / typical) if typical > 0 else None,
            "up_residual": float(min(((right @ up) ** 2).mean(), ((down @ up) ** 2).mean()))}


def pose_scores(capture, names):
    _, images, _, errors, _ = read_colmap(os.path.join(capture, "sparse", "0"))
    on_disk = set(names)
    registered = sorted((im for im in images if im[1] in on_disk), key=lambda im: numeric_key(im[1]))
    finite = errors[np.isfinite(errors)]
    scores = {"registered_frames": len(registered),
              "registered_share": len(registered) / len(names) if names else None,
              "points3d": len(errors),
              "reprojection_error": float(finite.mean()) if finite.size else None}
    scores["trajectory"] = trajectory_scores([rotation(im[2]) for im in registered], [im[3] for im in registered])
    return scores


# ---------------------------------------------------------------- timing

def parts(captures):
    """One pass of the parts over `captures`: seconds per part, and each capture's motion and cuts."""
    total = [0.0] * len(PARTS)
    results = []
    for capture in captures:
        clock = time.perf_counter()

        def lap(k):
            nonlocal clock
            t = time.perf_counter(); total[k] += t - clock; clock = t
        images = os.path.join(capture, "images")
        names = frame_names(images)
        grey = [load_grey(os.path.join(images, n)) for n in names]
        lap(0)
        sharpness_scores(grey)
        lap(1)
        motion = motion_score(grey)
        lap(2)
        cuts = len(detect_cuts(grey)) if len(grey) >= 2 else None
        lap(3)
        pose_scores(capture, names)
        lap(4)
        results.append((motion, cuts))
    return total, results


def score(capture):
    """The whole scorer for one capture (the parts in one call), as CaptureScorer.score."""
    images = os.path.join(capture, "images")
    names = frame_names(images)
    grey = [load_grey(os.path.join(images, n)) for n in names]
    record = {"id": os.path.relpath(capture, os.path.dirname(os.path.dirname(capture))), "frames": len(names)}
    record["sharpness_median"], record["sharpness_p10"] = sharpness_scores(grey)
    record["motion"] = motion_score(grey)
    record["cuts"] = len(detect_cuts(grey)) if len(grey) >= 2 else None
    record.update(pose_scores(capture, names))
    return record


def _worker_init():
    cv2.setNumThreads(1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("root")
    ap.add_argument("--repeats", type=int, default=2, help="timed passes; the fastest is reported")
    ap.add_argument("--jobs", type=int, default=os.cpu_count(), help="processes in the whole run (0: skip it)")
    ap.add_argument("--json", action="store_true", help="one JSON line per row, as `svdmv bench curate --json`")
    ap.add_argument("--ours-json", help="the output of `svdmv bench curate --json`: print the ratios")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    captures = discover(args.root)
    if not captures:
        sys.exit(f"no captures (<category>/<object>/sparse/0) under {args.root}")
    first = os.path.join(captures[0], "images")
    names = frame_names(first)
    w, h = jpeg_stored_size(os.path.join(first, names[0]))
    kb = np.mean([os.path.getsize(os.path.join(c, "images", n)) for c in captures for n in frame_names(os.path.join(c, "images"))]) / 1e3
    group = f"mvimgnet-{w}x{h}x{len(names)}"
    n = len(captures)

    parts(captures[:1])                      # one untimed capture
    best = [math.inf] * len(PARTS)
    for _ in range(args.repeats):
        seconds, part_results = parts(captures)
        best = [min(a, b) for a, b in zip(best, seconds)]
    whole, records = math.inf, []
    for _ in range(args.repeats):
        start = time.perf_counter()
        records = [score(c) for c in captures]
        whole = min(whole, time.perf_counter() - start)
    for rec, (motion, cuts) in zip(records, part_results):
        if (rec["motion"], rec["cuts"]) != (motion, cuts):
            sys.exit(f"{rec['id']}: parts give motion {motion}, {cuts} cuts; the whole scorer {rec['motion']}, {rec['cuts']}")
    run, jobs = None, max(1, min(args.jobs, n))
    if args.jobs > 0:
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_worker_init) as pool:
            pool.map(abs, range(jobs), chunksize=1)      # workers started before the timing
            run = math.inf
            for _ in range(args.repeats):
                start = time.perf_counter()
                pool.map(score, captures, chunksize=1)
                run = min(run, time.perf_counter() - start)

    total = sum(best)
    rows = [dict(group=group, part=p, items=n, workers=1, ms_per_item=1e3 * s / n, share=s / total if total else None)
            for p, s in zip(PARTS, best)]
    rows.append(dict(group=group, part="sum of parts", items=n, workers=1, ms_per_item=1e3 * total / n))
    rows.append(dict(group=group, part="whole scorer", items=n, workers=1, ms_per_item=1e3 * whole / n,
                     items_per_second=n / whole))
    if run is not None:
        rows.append(dict(group=group, part="whole run", items=n, workers=jobs, ms_per_item=1e3 * run / n,
                         items_per_second=n / run))
    if args.json:
        for r in rows:
            print(json.dumps(r, sort_keys=True))
    else:
        print(f"OpenCV {cv2.__version__}, NumPy {np.__version__}; cv2.setNumThreads(1) for the parts and the whole "
              f"scorer; whole run: {jobs} process(es), 1 OpenCV thread each")
        print(f"\n{group} (OpenCV): {n} capture(s) of {len(names)} JPEG frames at {w}x{h} ({kb:.0f} kB a frame) "
              f"under {args.root}")
        print_table(rows)
        ms = np.mean([r["motion"] for r in records]); cuts = sum(r["cuts"] for r in records)
        sharp = np.mean([r["sharpness_median"] for r in records])
        print(f"  scores: Farneback motion {ms:.3f} px/frame at {FLOW_SIZE} px (mean over captures), {cuts} cut(s), "
              f"sharpness median {sharp:.1f} (mean over captures)")
    if args.ours_json:
        compare(args.ours_json, rows)


def print_table(rows):
    print("  part                   ms/item    share   items/s  workers")
    for r in rows:
        share = f"{100 * r['share']:6.1f} %" if r.get("share") is not None else " " * 8
        rate = f"{r['items_per_second']:9.2f}" if r.get("items_per_second") is not None else " " * 9
        print(f"  {r['part']:<20.20} {r['ms_per_item']:9.2f} {share} {rate} {r['workers']:8d}")


def compare(path, theirs):
    """Ours (svdmv bench curate --json, capture group) beside OpenCV's, with ours / OpenCV."""
    ours = {}
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if line.startswith("{"):
                r = json.loads(line)
                if r.get("group", "").startswith("mvimgnet-"):
                    ours[r["part"]] = r
    if not ours:
        print(f"{path}: no mvimgnet rows", file=sys.stderr)
        return
    group = next(iter(ours.values()))["group"]
    print(f"\nours ({group}, {next(iter(ours.values()))['items']} capture(s)) against OpenCV "
          f"({theirs[0]['group']}, {theirs[0]['items']} capture(s)); ratio = our time / OpenCV's (under 1: ours faster)")
    print("  part                   ours ms  OpenCV ms    ratio  workers")
    for t in theirs:
        o = ours.get(t["part"])
        if o is None:
            continue
        workers = f"{o['workers']}/{t['workers']}"
        print(f"  {t['part']:<20.20} {o['ms_per_item']:9.2f} {t['ms_per_item']:10.2f} "
              f"{o['ms_per_item'] / t['ms_per_item']:8.2f} {workers:>8}")
    for label, part in (("decode ours/OpenCV", "frame decode"), ("flow ours/Farneback", "flow motion"),
                        ("whole scorer ours/OpenCV", "whole scorer"), ("whole run ours/OpenCV", "whole run")):
        o, t = ours.get(part), next((r for r in theirs if r["part"] == part), None)
        if o and t:
            print(f"  {label}: {o['ms_per_item'] / t['ms_per_item']:.2f}")


if __name__ == "__main__":
    main()
