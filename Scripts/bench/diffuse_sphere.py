#!/usr/bin/env python3
"""Whose approximation is a difference to Blender? A matte sphere (MTL: Kd 0.8, Ks 0, Ni 1: pure
Lambert, no specular; smooth normals, so no self-shadowing) under one HDRI, rendered by
`svdmv render`, by Blender 4.2's EEVEE and by Blender's Cycles (path traced: the reference for
the same scene), each pair compared on the sphere's pixels (both alphas 1): PSNR in sRGB and the
mean and spread of linear radiance. Run by hand (bpy from PyPI), not by CI:

    .venv/bin/python Scripts/bench/diffuse_sphere.py --hdri /usr/share/blender/datafiles/studiolights/world/city.exr \\
        --out WORK_DIR [--intensity 0.25] [--rotation 40] [--size 256] [--views 2] [--cycles-samples 64]

The intensity keeps the sphere below white so no renderer clips.
"""
import argparse
import json
import math
import os
import subprocess
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def write_sphere(folder, rings=48, segments=96):
    os.makedirs(folder, exist_ok=True)
    vertices = []
    for i in range(rings + 1):
        theta = math.pi * i / rings
        for j in range(segments + 1):
            phi = 2 * math.pi * j / segments
            vertices.append((math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta)))
    with open(os.path.join(folder, "sphere.obj"), "w") as out:
        out.write("mtllib sphere.mtl\n")
        out.writelines("v %f %f %f\n" % v for v in vertices)
        out.writelines("vn %f %f %f\n" % v for v in vertices)
        out.write("usemtl matte\n")
        for i in range(rings):
            for j in range(segments):
                a = i * (segments + 1) + j + 1
                b = a + segments + 1
                for tri in ((a, b, b + 1), (a, b + 1, a + 1)):
                    out.write("f " + " ".join(f"{k}//{k}" for k in tri) + "\n")
    with open(os.path.join(folder, "sphere.mtl"), "w") as out:
        out.write("newmtl matte\nKd 0.8 0.8 0.8\nKs 0 0 0\nNs 0\nNi 1.0\nd 1\nillum 1\n")
    return os.path.join(folder, "sphere.obj")


def linear(c):
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def compare(path_a, path_b):
    a = np.asarray(Image.open(path_a).convert("RGBA"), dtype=np.float64) / 255
    b = np.asarray(Image.open(path_b).convert("RGBA"), dtype=np.float64) / 255
    inside = (a[..., 3] > 0.99) & (b[..., 3] > 0.99)
    mse = ((a[..., :3] - b[..., :3])[inside] ** 2).mean()
    la, lb = linear(a[..., :3])[inside].mean(1), linear(b[..., :3])[inside].mean(1)
    return {"psnr": -10 * math.log10(mse), "mean": (la.mean(), lb.mean()), "std": (la.std(), lb.std())}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--hdri", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--intensity", type=float, default=0.25)
    parser.add_argument("--rotation", type=float, default=40)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--views", type=int, default=2)
    parser.add_argument("--cycles-samples", type=int, default=64)
    parser.add_argument("--svdmv", default=".build/release/svdmv")
    args = parser.parse_args()
    mesh = write_sphere(os.path.join(args.out, "mesh"))
    ours = os.path.join(args.out, "svdmv")
    subprocess.run([args.svdmv, "render", mesh, "--out", ours, "--views", str(args.views), "--size", str(args.size),
                    "--lighting", "hdri", args.hdri, "--hdri-rotation", str(args.rotation),
                    "--hdri-intensity", str(args.intensity)], check=True, capture_output=True)
    cameras = os.path.join(ours, "sphere.obj", "cameras.json")
    views = [v["file"] for v in json.load(open(cameras))["views"]]
    renders = {"svdmv": os.path.join(ours, "sphere.obj")}
    for engine, samples in (("eevee", 16), ("cycles", args.cycles_samples)):
        renders[engine] = os.path.join(args.out, engine)
        subprocess.run([sys.executable, os.path.join(HERE, "blender_render.py"), mesh, cameras, renders[engine],
                        "--engine", engine, "--samples", str(samples)], check=True, capture_output=True)
    print(f"| pair | view | PSNR (dB) | mean linear radiance | std over the sphere |")
    print("|---|---|---:|---|---|")
    for a, b in (("svdmv", "cycles"), ("eevee", "cycles"), ("svdmv", "eevee")):
        for view in views:
            r = compare(os.path.join(renders[a], view), os.path.join(renders[b], view))
            print(f"| {a} vs {b} | {view} | {r['psnr']:.2f} | {r['mean'][0]:.4f} vs {r['mean'][1]:.4f} "
                  f"| {r['std'][0]:.4f} vs {r['std'][1]:.4f} |")


if __name__ == "__main__":
    main()
