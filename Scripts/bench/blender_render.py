#!/usr/bin/env python3
"""Render the same orbit as `svdmv render` with Blender's Python module (bpy from PyPI), for the
speed comparison in Evaluation/benchmarks.md and the fidelity comparison of
Scripts/bench/blender_fidelity.py.

    python Scripts/bench/blender_render.py MESH CAMERAS_JSON OUT_DIR --engine cycles|eevee [--samples 4]

MESH is a glTF 2.0 / OBJ / PLY / STL file; CAMERAS_JSON is the cameras.json `svdmv render` wrote
for it, so Blender renders exactly our views: the object is normalised with the saved scale and
offset (Blender's glTF and OBJ importers turn Y-up into Z-up the same way we do), each camera sits
at the saved position with the saved field of view and looks at the origin (TRACK_TO, no roll).
Lighting: when the cameras.json records an environment map (`svdmv render --lighting hdri ...`),
the world is that map (Environment Texture behind a Mapping node that turns it by the recorded
rotation about Z, Background strength = the recorded intensity), with no lamps; otherwise four sun
lamps stand in for our studio lights. The film is transparent and the view transform Standard
(sRGB, no filmic curve), as our PNGs are. Prints one line of JSON: engine, views, seconds for
import and for rendering. Threads are fixed to 2 to match the 2-core goal.
"""
import argparse
import json
import math
import os
import sys
import time

import bpy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mesh")
    parser.add_argument("cameras")
    parser.add_argument("out")
    parser.add_argument("--engine", choices=["cycles", "eevee"], default="cycles")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--views", type=int, default=0, help="render only the first N views (0 = all)")
    args = parser.parse_args()
    with open(args.cameras) as f:
        cams = json.load(f)

    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    t0 = time.perf_counter()
    ext = os.path.splitext(args.mesh)[1].lower()
    if ext in (".glb", ".gltf"):
        bpy.ops.import_scene.gltf(filepath=args.mesh)
    elif ext == ".obj":
        bpy.ops.wm.obj_import(filepath=args.mesh)
    elif ext == ".ply":
        bpy.ops.wm.ply_import(filepath=args.mesh)
    elif ext == ".stl":
        bpy.ops.wm.stl_import(filepath=args.mesh)
    else:
        sys.exit(f"{args.mesh}: unsupported extension for this benchmark")
    # normalise exactly as svdmv did: world = scale * p + offset
    norm = cams["normalization"]
    root = bpy.data.objects.new("normaliser", None)
    scene.collection.objects.link(root)
    for obj in list(scene.objects):
        if obj is not root and obj.parent is None:
            obj.parent = root
    root.scale = (norm["scale"],) * 3
    root.location = norm["offset"]
    import_seconds = time.perf_counter() - t0

    target = bpy.data.objects.new("target", None)
    scene.collection.objects.link(target)
    cam_data = bpy.data.cameras.new("camera")
    cam_data.sensor_fit = "HORIZONTAL"
    cam_data.angle = math.radians(cams["fov_deg"])
    camera = bpy.data.objects.new("camera", cam_data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    track = camera.constraints.new(type="TRACK_TO")
    track.target = target
    track.track_axis = "TRACK_NEGATIVE_Z"
    track.up_axis = "UP_Y"
    world = bpy.data.worlds.new("world")
    scene.world = world
    environment = cams.get("environment")
    if environment:
        world.use_nodes = True
        nodes, links = world.node_tree.nodes, world.node_tree.links
        background = nodes["Background"]
        background.inputs["Strength"].default_value = environment["intensity"]
        texture = nodes.new("ShaderNodeTexEnvironment")
        texture.image = bpy.data.images.load(environment["file"])
        mapping = nodes.new("ShaderNodeMapping")
        mapping.vector_type = "POINT"
        mapping.inputs["Rotation"].default_value = (0, 0, math.radians(environment["rotation_deg"]))
        coordinates = nodes.new("ShaderNodeTexCoord")
        links.new(coordinates.outputs["Generated"], mapping.inputs["Vector"])
        links.new(mapping.outputs["Vector"], texture.inputs["Vector"])
        links.new(texture.outputs["Color"], background.inputs["Color"])
    else:
        for name, rotation, energy in [("key", (45, 0, 135), 3.0), ("fill", (45, 0, -45), 1.5),
                                       ("back", (60, 0, 60), 1.2), ("bottom", (180, 0, 0), 0.5)]:
            light = bpy.data.lights.new(name, type="SUN")
            light.energy = energy
            obj = bpy.data.objects.new(name, light)
            obj.rotation_euler = tuple(math.radians(a) for a in rotation)
            scene.collection.objects.link(obj)
        world.color = (0.3, 0.3, 0.3)

    render = scene.render
    render.resolution_x = render.resolution_y = cams["width"]
    render.resolution_percentage = 100
    render.film_transparent = True
    scene.view_settings.view_transform = "Standard"
    render.image_settings.file_format = "PNG"
    render.image_settings.color_mode = "RGBA"
    render.threads_mode = "FIXED"
    render.threads = args.threads
    if args.engine == "cycles":
        render.engine = "CYCLES"
        scene.cycles.device = "CPU"
        scene.cycles.samples = args.samples
        scene.cycles.use_denoising = False
        scene.cycles.use_adaptive_sampling = False
        scene.cycles.max_bounces = 1
        scene.cycles.diffuse_bounces = 1
        scene.cycles.glossy_bounces = 1
    else:
        render.engine = "BLENDER_EEVEE_NEXT" if "BLENDER_EEVEE_NEXT" in {
            e.identifier for e in bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items} else "BLENDER_EEVEE"
        scene.eevee.taa_render_samples = args.samples

    views = cams["views"][: args.views] if args.views else cams["views"]
    os.makedirs(args.out, exist_ok=True)
    t1 = time.perf_counter()
    for view in views:
        camera.location = view["position"]
        render.filepath = os.path.join(args.out, view["file"])
        bpy.ops.render.render(write_still=True)
    render_seconds = time.perf_counter() - t1
    print(json.dumps({"engine": render.engine, "samples": args.samples, "views": len(views),
                      "size": cams["width"], "import_s": round(import_seconds, 3),
                      "render_s": round(render_seconds, 3),
                      "per_orbit_s": round(import_seconds + render_seconds * len(cams["views"]) / len(views), 3)}))


if __name__ == "__main__":
    main()
    # bpy 4.2 from PyPI segfaults while tearing down at interpreter exit; the work is done
    sys.stdout.flush()
    os._exit(0)
