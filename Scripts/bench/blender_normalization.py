#!/usr/bin/env python3
"""Compare `svdmv render`'s scene normalisation with Blender's (bpy from PyPI, Blender 4.2 for
Python 3.11; run by hand, not by CI).

    .venv/bin/pip install bpy==4.2.0
    .venv/bin/python Scripts/bench/blender_normalization.py MESH [MESH ...] --svdmv .build/release/svdmv

For each mesh it imports the file into an empty Blender scene as the Objaverse rendering scripts
do (allenai/objaverse-xl scripts/rendering/blender_script.py: glTF with merge_vertices), takes
their box (every mesh object's `bound_box` corners through its `matrix_world`), and computes the
normalisation they apply (scale 1 / largest side; the box then centred at the origin). It renders
the same file with `svdmv render` (2 views, 16 px) under `--normalization objaverse` and
`tight-box`, and prints both rules' scale and offset beside Blender's, with the differences.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import bpy
from mathutils import Vector


def blender_normalization(path):
    bpy.ops.wm.read_factory_settings(use_empty=True)
    extension = os.path.splitext(path)[1].lower()
    if extension in (".glb", ".gltf"):
        bpy.ops.import_scene.gltf(filepath=path, merge_vertices=True)
    elif extension == ".obj":
        bpy.ops.wm.obj_import(filepath=path)
    elif extension == ".ply":
        bpy.ops.wm.ply_import(filepath=path)
    elif extension == ".stl":
        bpy.ops.wm.stl_import(filepath=path)
    elif extension == ".fbx":
        bpy.ops.import_scene.fbx(filepath=path)
    elif extension == ".dae":
        bpy.ops.wm.collada_import(filepath=path)
    else:
        raise SystemExit(f"{path}: no Blender importer chosen for {extension}")
    bpy.context.view_layer.update()
    lo = Vector((float("inf"),) * 3)
    hi = Vector((float("-inf"),) * 3)
    meshes = [o for o in bpy.context.scene.objects if isinstance(o.data, bpy.types.Mesh)]
    for obj in meshes:
        for corner in obj.bound_box:
            world = obj.matrix_world @ Vector(corner)
            lo = Vector(min(a, b) for a, b in zip(lo, world))
            hi = Vector(max(a, b) for a, b in zip(hi, world))
    scale = 1 / max(hi - lo)
    offset = -(lo + hi) / 2 * scale
    return scale, list(offset), len(meshes)


def svdmv_normalization(svdmv, path, rule, work):
    out = os.path.join(work, rule)
    subprocess.run([svdmv, "render", path, "--out", out, "--views", "2", "--size", "16", "--samples", "1",
                    "--normalization", rule], check=True, capture_output=True)
    folders = [d for d in os.listdir(out) if os.path.isfile(os.path.join(out, d, "cameras.json"))]
    cameras = json.load(open(os.path.join(out, folders[0], "cameras.json")))
    return cameras["normalization"]["scale"], cameras["normalization"]["offset"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("meshes", nargs="+")
    parser.add_argument("--svdmv", default=".build/release/svdmv")
    args = parser.parse_args()
    print("| mesh | Blender mesh objects | Blender scale | svdmv objaverse scale (rel. diff) | tight-box scale (rel. diff) "
          "| max offset diff, objaverse | max offset diff, tight-box |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for path in args.meshes:
        scale, offset, count = blender_normalization(os.path.abspath(path))
        with tempfile.TemporaryDirectory() as work:
            ours = {rule: svdmv_normalization(args.svdmv, path, rule, work) for rule in ("objaverse", "tight-box")}
        def rel(s):
            return abs(s - scale) / scale
        def off(o):
            return max(abs(a - b) for a, b in zip(o, offset))
        print(f"| {os.path.basename(path)} | {count} | {scale:.6f} | {ours['objaverse'][0]:.6f} ({rel(ours['objaverse'][0]):.1e}) "
              f"| {ours['tight-box'][0]:.6f} ({rel(ours['tight-box'][0]):.1e}) | {off(ours['objaverse'][1]):.1e} "
              f"| {off(ours['tight-box'][1]):.1e} |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
