"""Writes small orbit shards in the format of `svdmv dataset` (Sources/MultiViewData/Shards.swift:
per sample `<key>.json` with sorted keys and frames `<key>.000.png`..., members sorted by name)."""
import io
import json
import os
import tarfile

import numpy as np
from PIL import Image


def sample_metadata(key, frames, size, elevation):
    azimuths = [(360.0 / frames * (i + 1)) % 360 for i in range(frames)]
    return {"angle_convention": "elevation above horizon; azimuth ccw about up, relative to conditioning frame",
            "azimuths_deg": azimuths, "cameras": [{"K": [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
                                                   "world_to_camera_opencv": [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 2]]}
                                                  for _ in range(frames)],
            "cond_index": frames - 1, "distances": [2.0] * frames, "elevations_deg": [elevation] * frames,
            "extrinsics_convention": "opencv_w2c", "frame_names": [f"{i:03d}.png" for i in range(frames)],
            "height": size, "object_id": key, "source": "renders", "width": size}


def write_shards(folder, shards=2, per_shard=3, frames=5, size=16, seed=0):
    """Shards shard-000000.tar ...; sample k of shard s has key obj_s_k and pixels drawn from seed."""
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    keys = []
    for s in range(shards):
        members = []
        for k in range(per_shard):
            key = f"obj_{s}_{k}"
            keys.append(key)
            meta = sample_metadata(key, frames, size, elevation=float(5 * k))
            members.append((f"{key}.json", json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()))
            for i in range(frames):
                image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
                buffer = io.BytesIO()
                Image.fromarray(image).save(buffer, format="PNG")
                members.append((f"{key}.{i:03d}.png", buffer.getvalue()))
        with tarfile.open(os.path.join(folder, f"shard-{s:06d}.tar"), "w") as tar:
            for name, data in sorted(members):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return keys
