#!/usr/bin/env python3
"""Synthetic MVImgNet-format capture(s) at full phone resolution for the loading benchmark.

ROOT/0/benchNN/images/001.jpg … (1080x1920 portrait JPEGs, quality 92, photo-like content: smooth
random shading plus sensor-like noise, ~0.4 MB each) and ROOT/0/benchNN/sparse/0/*.bin with 30
cameras orbiting an object of radius 0.45 at distance 2 (SIMPLE_RADIAL, f = 1500 px).
Usage: make_bench_capture.py ROOT [--captures 1] [--frames 30]
"""
import argparse
import math
import os
import struct

import numpy as np
from PIL import Image

W, H, F = 1080, 1920, 1500.0


def look_at(c):
    z = -c / np.linalg.norm(c)
    x = np.cross(z, [0.0, 0.0, 1.0]); x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])


def quat(r):
    w = math.sqrt(max(0.0, 1 + r[0, 0] + r[1, 1] + r[2, 2])) / 2
    if w < 1e-6:
        raise ValueError("rotation too close to 180 degrees for this simple conversion")
    return [w, (r[2, 1] - r[1, 2]) / (4 * w), (r[0, 2] - r[2, 0]) / (4 * w), (r[1, 0] - r[0, 1]) / (4 * w)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--captures", type=int, default=1)
    ap.add_argument("--frames", type=int, default=30)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    for n in range(args.captures):
        cap = os.path.join(args.root, "0", f"bench{n:02d}")
        os.makedirs(os.path.join(cap, "images"), exist_ok=True)
        os.makedirs(os.path.join(cap, "sparse", "0"), exist_ok=True)
        pts = rng.normal(size=(400, 3)); pts = pts / np.linalg.norm(pts, axis=1, keepdims=True) * 0.45
        with open(os.path.join(cap, "sparse", "0", "cameras.bin"), "wb") as fh:
            fh.write(struct.pack("<QIiQQ4d", 1, 1, 2, W, H, F, W / 2, H / 2, 0.0))
        with open(os.path.join(cap, "sparse", "0", "images.bin"), "wb") as fh:
            fh.write(struct.pack("<Q", args.frames))
            for i in range(args.frames):
                az, el = math.radians(10 + 330 * i / (args.frames - 1)), math.radians(15 + 10 * math.sin(i / 5))
                c = 2.0 * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
                r = look_at(c)
                fh.write(struct.pack("<I7dI", i + 1, *quat(r), *(-r @ c), 1))
                fh.write(f"{i + 1:03d}.jpg".encode() + b"\0")
                fh.write(struct.pack("<Q", 0))
                low = rng.uniform(0, 255, size=(24, 14, 3)).astype(np.uint8)
                img = np.asarray(Image.fromarray(low).resize((W, H), Image.BICUBIC), dtype=np.float32)
                img += rng.normal(0, 4, size=img.shape).astype(np.float32)
                Image.fromarray(img.clip(0, 255).astype(np.uint8)).save(
                    os.path.join(cap, "images", f"{i + 1:03d}.jpg"), quality=92)
        with open(os.path.join(cap, "sparse", "0", "points3D.bin"), "wb") as fh:
            fh.write(struct.pack("<Q", len(pts)))
            for k, p in enumerate(pts):
                fh.write(struct.pack("<Q3d3BdQ", k + 1, *p, 128, 128, 128, 0.5, 0))


if __name__ == "__main__":
    main()
