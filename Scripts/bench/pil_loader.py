#!/usr/bin/env python3
"""Reference Python loader (PIL + NumPy) doing the same work as `svdmv dataset benchmark`:
parse the COLMAP binary model, order registered frames by name, pick 21 evenly, project the sparse
points near the centre into each frame for a square crop (5-95 percentile box x 1.25), then PIL
open + EXIF transpose + crop + resize (BILINEAR, antialiased) to SIZE, and floats in [-1, 1] (T,3,H,W).
Usage: pil_loader.py ROOT [--size 576] [--repeats 3]
"""
import argparse
import glob
import os
import struct
import time

import numpy as np
from PIL import Image, ImageOps


def read_model(sparse):
    with open(os.path.join(sparse, "cameras.bin"), "rb") as fh:
        b = fh.read()
    n, = struct.unpack_from("<Q", b, 0)
    cid, mid, w, h = struct.unpack_from("<IiQQ", b, 8)
    f, cx, cy, k = struct.unpack_from("<4d", b, 32)
    with open(os.path.join(sparse, "images.bin"), "rb") as fh:
        b = fh.read()
    n, = struct.unpack_from("<Q", b, 0)
    off, images = 8, []
    for _ in range(n):
        iid, qw, qx, qy, qz, tx, ty, tz, cam = struct.unpack_from("<I7dI", b, off)
        off += 4 + 56 + 4
        end = b.index(b"\0", off)
        name = b[off:end].decode(); off = end + 1
        m, = struct.unpack_from("<Q", b, off); off += 8 + 24 * m
        r = np.array([[1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy - qw * qz), 2 * (qx * qz + qw * qy)],
                      [2 * (qx * qy + qw * qz), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz - qw * qx)],
                      [2 * (qx * qz - qw * qy), 2 * (qy * qz + qw * qx), 1 - 2 * (qx * qx + qy * qy)]])
        images.append((name, r, np.array([tx, ty, tz])))
    with open(os.path.join(sparse, "points3D.bin"), "rb") as fh:
        b = fh.read()
    n, = struct.unpack_from("<Q", b, 0)
    off, pts = 8, []
    for _ in range(n):
        pid, x, y, z = struct.unpack_from("<Q3d", b, off); off += 8 + 24 + 3 + 8
        t, = struct.unpack_from("<Q", b, off); off += 8 + 8 * t
        pts.append((x, y, z))
    return (f, cx, cy, k), sorted(images), np.array(pts)


def load(capture, size):
    (f, cx, cy, k), images, pts = read_model(os.path.join(capture, "sparse", "0"))
    picks = np.round(np.linspace(0, len(images) - 1, 21)).astype(int)
    frames = []
    for i in picks:
        name, r, t = images[i]
        cam = pts @ r.T + t
        u, v = cam[:, 0] / cam[:, 2], cam[:, 1] / cam[:, 2]
        d = 1 + k * (u * u + v * v)
        px, py = f * u * d + cx, f * v * d + cy
        x0, x1 = np.percentile(px, [5, 95]); y0, y1 = np.percentile(py, [5, 95])
        side = max(x1 - x0, y1 - y0) * 1.25
        mx, my = (x0 + x1) / 2, (y0 + y1) / 2
        box = (int(round(mx - side / 2)), int(round(my - side / 2)), int(round(mx + side / 2)), int(round(my + side / 2)))
        img = ImageOps.exif_transpose(Image.open(os.path.join(capture, "images", name))).convert("RGB")
        img = img.crop(box).resize((size, size), Image.BILINEAR)
        frames.append(np.asarray(img, dtype=np.float32).transpose(2, 0, 1) / 127.5 - 1)
    return np.stack(frames)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("root")
    ap.add_argument("--size", type=int, default=576)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    captures = sorted(glob.glob(os.path.join(args.root, "*", "*", "sparse", "0")))
    captures = [os.path.dirname(os.path.dirname(c)) for c in captures]
    for c in captures:
        load(c, args.size)  # warm-up
    times = []
    for _ in range(args.repeats):
        for c in captures:
            t0 = time.perf_counter()
            x = load(c, args.size)
            times.append(time.perf_counter() - t0)
            assert x.shape == (21, 3, args.size, args.size)
    times.sort()
    print(f"python (PIL {Image.__version__}, NumPy {np.__version__}): {len(times)} sequences, "
          f"median {times[len(times) // 2]:.3f} s/sequence, min {times[0]:.3f} s (1 process)")


if __name__ == "__main__":
    main()
