#!/usr/bin/env python3
"""Convert a glTF 1.0 file (Blender's importer reads glTF 2.0 only) into OBJ + MTL so the Blender
benchmark can load CesiumMilkTruck from the assimp corpus. Handles what that file uses: node
matrices and TRS, triangle primitives with POSITION / NORMAL / TEXCOORD_0, float and ushort
accessors, diffuse colours or a diffuse texture. The OBJ stays Y-up, like the glTF.

    python Scripts/bench/gltf1_to_obj.py IN.gltf OUT.obj
"""
import json
import os
import shutil
import sys

import numpy as np

COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}
DTYPES = {5126: np.float32, 5123: np.uint16, 5125: np.uint32, 5121: np.uint8}


def quat_matrix(q):
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def main(src, dst):
    folder = os.path.dirname(src)
    g = json.load(open(src))
    buffers = {k: open(os.path.join(folder, b["uri"]), "rb").read() for k, b in g["buffers"].items()}

    def accessor(name):
        a = g["accessors"][name]
        view = g["bufferViews"][a["bufferView"]]
        dtype = np.dtype(DTYPES[a["componentType"]])
        n = COMPONENTS[a["type"]]
        stride = a.get("byteStride", 0) or dtype.itemsize * n
        start = view.get("byteOffset", 0) + a.get("byteOffset", 0)
        raw = buffers[view["buffer"]]
        return np.stack([np.frombuffer(raw, dtype, n, start + i * stride) for i in range(a["count"])])

    def local(node):
        m = np.eye(4)
        if "matrix" in node:
            m = np.array(node["matrix"], dtype=float).reshape(4, 4).T   # column-major in the file
        else:
            m[:3, :3] = quat_matrix(node.get("rotation", [0, 0, 0, 1])) * np.array(node.get("scale", [1, 1, 1]))
            m[:3, 3] = node.get("translation", [0, 0, 0])
        return m

    base = os.path.splitext(dst)[0]
    obj, mtl = [f"mtllib {os.path.basename(base)}.mtl"], []
    for name, material in g["materials"].items():
        mtl.append(f"newmtl {name}")
        diffuse = material.get("values", {}).get("diffuse", [0.8, 0.8, 0.8, 1])
        if isinstance(diffuse, str):
            image = g["images"][g["textures"][diffuse]["source"]]["uri"]
            shutil.copy(os.path.join(folder, image), os.path.join(os.path.dirname(dst) or ".", image))
            mtl += ["Kd 1 1 1", f"map_Kd {image}"]
        else:
            mtl.append("Kd %g %g %g" % tuple(diffuse[:3]))
    offset = 1

    def visit(node_name, parent):
        nonlocal offset
        node = g["nodes"][node_name]
        world = parent @ local(node)
        for mesh_name in node.get("meshes", []):
            for prim in g["meshes"][mesh_name]["primitives"]:
                p = accessor(prim["attributes"]["POSITION"]).astype(float)
                p = (world[:3, :3] @ p.T).T + world[:3, 3]
                n = accessor(prim["attributes"]["NORMAL"]).astype(float) @ np.linalg.inv(world[:3, :3])
                uv = accessor(prim["attributes"]["TEXCOORD_0"]).astype(float)
                idx = accessor(prim["indices"]).reshape(-1, 3).astype(int) + offset
                obj.append(f"usemtl {prim['material']}")
                obj.extend(["v %.6f %.6f %.6f" % tuple(v) for v in p])
                obj.extend(["vn %.6f %.6f %.6f" % tuple(v) for v in n])
                obj.extend(["vt %.6f %.6f" % (u, 1 - v) for u, v in uv])
                obj.extend(["f %d/%d/%d %d/%d/%d %d/%d/%d" % (a, a, a, b, b, b, c, c, c) for a, b, c in idx])
                offset += len(p)
        for child in node.get("children", []):
            visit(child, world)

    for root in g["scenes"][g["scene"]]["nodes"]:
        visit(root, np.eye(4))
    open(dst, "w").write("\n".join(obj) + "\n")
    open(base + ".mtl", "w").write("\n".join(mtl) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
