"""cameras.json of a generated orbit in our schema (Sources/Cameras/OrbitCameras.swift, format
svdmv-orbit-cameras version 2; poses as Sources/Cameras/OrbitGeometry.swift: +Z up, a camera at
distance·(cos el cos az, cos el sin az, sin el) looking at the origin with no roll; OpenCV and
OpenGL world-to-camera 3x4; K from the horizontal field of view), with the sampling settings
under "generation" as Sources/Generation/GeneratedOrbitFiles.swift writes them."""
from __future__ import annotations

import json
import math

import numpy as np

FOV_DEGREES = 33.8  # SV3D's renders; the model fixes neither distance nor field of view
DISTANCE = math.sqrt(0.75) / math.sin(FOV_DEGREES * math.pi / 360)


def world_to_camera_opencv(elevation_deg, azimuth_deg, distance):
    el, az = math.radians(elevation_deg), math.radians(azimuth_deg)
    c = distance * np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    forward = -c / np.linalg.norm(c)
    right = np.cross(forward, [0.0, 0.0, 1.0])
    if (right * right).sum() < 1e-18:  # at the poles: the azimuth's tangent
        right = np.array([-math.sin(az), math.cos(az), 0.0])
    right = right / np.linalg.norm(right)
    down = np.cross(forward, right)
    rows = np.stack([right, down, forward])
    return rows, -rows @ c, c


def view(index, elevation_deg, azimuth_deg, distance=DISTANCE):
    rows, t, c = world_to_camera_opencv(elevation_deg, azimuth_deg, distance)
    cv = np.concatenate([rows, t[:, None]], axis=1)
    gl = cv * np.array([[1.0], [-1.0], [-1.0]])
    return {"index": index, "file": f"{index:03d}.png", "elevation_deg": float(elevation_deg),
            "azimuth_deg": float(azimuth_deg), "distance": distance, "position": [float(v) for v in c],
            "world_to_camera_opencv": cv.tolist(), "world_to_camera_opengl": gl.tolist()}


def orbit_cameras(object_id, size, elevations_deg, azimuths_deg, generation: dict) -> dict:
    f = size / 2 / math.tan(FOV_DEGREES * math.pi / 360)
    return {"format": "svdmv-orbit-cameras", "version": 2, "object_id": object_id, "width": size, "height": size,
            "fov_deg": FOV_DEGREES, "K": [[f, 0.0, size / 2], [0.0, f, size / 2], [0.0, 0.0, 1.0]],
            "views": [view(i, e, a) for i, (e, a) in enumerate(zip(elevations_deg, azimuths_deg))],
            "generation": generation}


def write_cameras(path, cameras: dict) -> None:
    from .checkpoint import write_atomically
    text = json.dumps(cameras, indent=2, sort_keys=True).encode()
    write_atomically(path, lambda p: open(p, "wb").write(text))
