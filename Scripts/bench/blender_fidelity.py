#!/usr/bin/env python3
"""How close `svdmv render` comes to Blender EEVEE on the same objects, cameras and HDRIs (run by
hand, not by CI; Blender 4.2's bpy from PyPI for Python 3.11, headless with software OpenGL).

    .venv/bin/pip install bpy==4.2.0 numpy pillow
    .venv/bin/python Scripts/bench/blender_fidelity.py --meshes LIST.txt --hdris A.exr B.exr C.exr \\
        --out WORK_DIR [--views 4] [--size 256] [--engine eevee|cycles] [--svdmv .build/release/svdmv]

For every mesh and HDRI: `svdmv render` with `--lighting hdri H --hdri-rotation R` (R drawn per
pair from a seeded generator) writes the views and cameras.json; Scripts/bench/blender_render.py
renders the same cameras with EEVEE under the same map, rotation and intensity (film transparent,
view transform Standard). Per view:
- silhouette IoU of alpha > 0.5;
- on the object's crop (the union of both silhouettes' boxes, padded by 5 % of its side, made
  square, resized to 256x256), composited on white: PSNR and LPIPS-VGG, scored by
  `svdmv evaluate` (its LPIPS is the lpips package's v0.1 network, parity-tested), because on the
  whole frame the white background decides the score.
Writes WORK_DIR/fidelity.json (every view), prints per-object means, the median and worst over
objects, and writes WORK_DIR/worst.png: the worst pairs side by side (ours above Blender's).
"""
import argparse
import json
import os
import random
import subprocess
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return result.stdout


def rgba(path):
    return np.asarray(Image.open(path).convert("RGBA"), dtype=np.float64) / 255


def on_white(image):
    return image[..., :3] * image[..., 3:] + (1 - image[..., 3:])


def crop_box(alpha_a, alpha_b, size):
    """The square crop around both silhouettes (alpha > 0.5), padded by 5 % of its side."""
    mask = (alpha_a > 0.5) | (alpha_b > 0.5)
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return 0, 0, size, size
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    side = max(x1 - x0, y1 - y0)
    side = int(round(side * 1.1))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    return left, top, left + side, top + side


def crop(image, box):
    """`image` (H, W, 3) on white, cut to `box` (white outside the frame), resized to 256x256."""
    left, top, right, bottom = box
    side = right - left
    canvas = np.ones((side, side, 3))
    h, w = image.shape[:2]
    sx0, sy0, sx1, sy1 = max(left, 0), max(top, 0), min(right, w), min(bottom, h)
    canvas[sy0 - top:sy1 - top, sx0 - left:sx1 - left] = image[sy0:sy1, sx0:sx1]
    pil = Image.fromarray((canvas * 255 + 0.5).clip(0, 255).astype(np.uint8))
    return pil.resize((256, 256), Image.LANCZOS)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--meshes", required=True, help="a text file, one mesh path per line")
    parser.add_argument("--hdris", nargs="+", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--views", type=int, default=4)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--samples", type=int, default=16, help="samples per pixel on both sides")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--svdmv", default=".build/release/svdmv")
    parser.add_argument("--engine", choices=["eevee", "cycles"], default="eevee",
                        help="Blender's renderer to compare with: EEVEE (what SV3D rendered with) or Cycles "
                             "(path-traced, the physically based reference for the same scene)")
    parser.add_argument("--worst", type=int, default=6)
    args = parser.parse_args()
    meshes = [line.strip() for line in open(args.meshes) if line.strip() and not line.startswith("#")]
    rng = random.Random(args.seed)
    records = []
    crops_ours = os.path.join(args.out, "crops", "svdmv")
    crops_blender = os.path.join(args.out, "crops", "blender")
    for mesh_index, mesh in enumerate(meshes):
        for hdri_index, hdri in enumerate(args.hdris):
            rotation = rng.uniform(0, 360)
            pair = f"{mesh_index:03d}-{os.path.splitext(os.path.basename(mesh))[0]}-{hdri_index}"
            ours = os.path.join(args.out, "svdmv", pair)
            if not os.path.exists(os.path.join(ours, "cameras.json")):
                staging = ours + ".render"
                run([args.svdmv, "render", mesh, "--out", staging, "--views", str(args.views), "--size", str(args.size),
                     "--samples", str(args.samples), "--lighting", "hdri", hdri, "--hdri-rotation", f"{rotation:.3f}"])
                folder = next(d for d in os.listdir(staging) if os.path.isfile(os.path.join(staging, d, "cameras.json")))
                os.replace(os.path.join(staging, folder), ours)
            theirs = os.path.join(args.out, "blender", pair)
            cameras = json.load(open(os.path.join(ours, "cameras.json")))
            if not all(os.path.exists(os.path.join(theirs, v["file"])) for v in cameras["views"]):
                run([sys.executable, os.path.join(HERE, "blender_render.py"), mesh, os.path.join(ours, "cameras.json"),
                     theirs, "--engine", args.engine, "--samples", str(args.samples)])
            for view in cameras["views"]:
                a, b = rgba(os.path.join(ours, view["file"])), rgba(os.path.join(theirs, view["file"]))
                inside_a, inside_b = a[..., 3] > 0.5, b[..., 3] > 0.5
                union = (inside_a | inside_b).sum()
                iou = float((inside_a & inside_b).sum() / union) if union else 1.0
                box = crop_box(a[..., 3], b[..., 3], args.size)
                name = view["file"]
                for folder, image in ((crops_ours, a), (crops_blender, b)):
                    os.makedirs(os.path.join(folder, pair), exist_ok=True)
                    crop(on_white(image), box).save(os.path.join(folder, pair, name))
                records.append({"pair": pair, "mesh": mesh, "hdri": hdri, "rotation_deg": rotation,
                                "view": name, "iou": iou})
            print(f"{pair}: rendered", flush=True)
    report = os.path.join(args.out, "crop-metrics")
    run([args.svdmv, "evaluate", "--generated", crops_ours, "--ground-truth", crops_blender, "--out", report,
         "--lpips", "vgg"])
    metrics = json.load(open(os.path.join(report, "metrics.json")))
    per_view = {(o["name"], v["file"]): v["scores"] for o in metrics["objects"] for v in o["views"]}
    for r in records:
        scores = per_view[(r["pair"], r["view"])]
        r["crop_psnr"], r["crop_lpips_vgg"] = scores["psnr"], scores["lpips"]
    json.dump(records, open(os.path.join(args.out, "fidelity.json"), "w"), indent=1)
    pairs = sorted({r["pair"] for r in records})
    print("| object / HDRI | mean IoU | crop PSNR (dB) | crop LPIPS-VGG |\n|---|---:|---:|---:|")
    summary = []
    for pair in pairs:
        rows = [r for r in records if r["pair"] == pair]
        m = {k: float(np.mean([r[k] for r in rows])) for k in ("iou", "crop_psnr", "crop_lpips_vgg")}
        summary.append((pair, m))
        print(f"| {pair} | {m['iou']:.4f} | {m['crop_psnr']:.2f} | {m['crop_lpips_vgg']:.4f} |")
    for key, worst in (("iou", min), ("crop_psnr", min), ("crop_lpips_vgg", max)):
        values = [m[key] for _, m in summary]
        print(f"{key}: median {np.median(values):.4f}, worst {worst(values):.4f}")
    worst_rows = sorted(records, key=lambda r: -r["crop_lpips_vgg"])[: args.worst]
    sheet = Image.new("RGB", (256 * len(worst_rows), 512), "white")
    for i, r in enumerate(worst_rows):
        sheet.paste(Image.open(os.path.join(crops_ours, r["pair"], r["view"])), (256 * i, 0))
        sheet.paste(Image.open(os.path.join(crops_blender, r["pair"], r["view"])), (256 * i, 256))
    sheet.save(os.path.join(args.out, "worst.png"))
    print(f"wrote {os.path.join(args.out, 'fidelity.json')} and worst.png (svdmv above, Blender below)")


if __name__ == "__main__":
    main()
