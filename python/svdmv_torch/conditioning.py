"""The vector conditioning y of the VideoUNet as sgm's GeneralConditioner builds it from the
ConcatTimestepEmbedderND embedders of the sampling configs (Sources/Models/UNet/VectorConditioner.swift):
each scalar gets the cos-first sinusoid of its embedder's width, concatenated in config order, one
row per frame. SV3D_p's camera inputs as scripts/sampling/simple_video_sample.py computes them."""
from __future__ import annotations

import math

import numpy as np
import torch

# (input, width) per released config.
EMBEDDERS = {
    "sv3d_p": [("cond_aug", 256), ("polars_rad", 512), ("azimuths_rad", 512)],
    "sv3d_u": [("cond_aug", 256)],
    "svd": [("fps_id", 256), ("motion_bucket_id", 256), ("cond_aug", 256)],
}


def timestep_embedding(values: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """sgm's timestep_embedding: [N] -> [N, dim], cos first, float32."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(0, half, dtype=torch.float32) / half)
    args = values.reshape(-1, 1).float() * freqs[None].to(values.device)
    emb = torch.cat([torch.cos(args), torch.sin(args)], dim=-1)
    if dim % 2:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


def sv3d_camera(elevations_deg, azimuths_deg) -> tuple[list, list]:
    """(polars_rad, azimuths_rad) per frame: deg2rad(90 − elevation) and the azimuth relative to
    the last frame (the input view), (a − a_last) mod 360 in radians, rounded to float32 as
    NumPy's float64 -> torch.tensor(float32) does."""
    elevations = np.asarray(elevations_deg, dtype=np.float64)
    azimuths = np.asarray(azimuths_deg, dtype=np.float64)
    polars = np.deg2rad(90 - elevations)
    relative = np.deg2rad((azimuths - azimuths[-1]) % 360)
    return [float(np.float32(p)) for p in polars], [float(np.float32(a)) for a in relative]


def vector_rows(variant: str, videos: int, frames: int, cond_aug, elevations_deg=None, azimuths_deg=None,
                fps_id: float = 6, motion_bucket_id: float = 127) -> dict:
    """Per-row inputs as simple_video_sample.get_batch lays them out: scalars repeated B·T times
    (cond_aug may be a list of one value per video), per-frame camera lists tiled B times."""
    n = videos * frames
    aug = cond_aug if isinstance(cond_aug, (list, tuple)) else [cond_aug] * videos
    rows = {"cond_aug": torch.tensor([a for a in aug for _ in range(frames)], dtype=torch.float32),
            "fps_id": torch.full((n,), float(fps_id)), "motion_bucket_id": torch.full((n,), float(motion_bucket_id))}
    if variant == "sv3d_p":
        if elevations_deg is None or azimuths_deg is None:
            raise ValueError("sv3d_p needs per-frame elevations and azimuths")
        polars, azimuths = sv3d_camera(elevations_deg, azimuths_deg)
        if len(polars) != frames:
            raise ValueError(f"{len(polars)} camera entries for {frames} frames")
        rows["polars_rad"] = torch.tensor(polars * videos, dtype=torch.float32)
        rows["azimuths_rad"] = torch.tensor(azimuths * videos, dtype=torch.float32)
    return rows


def vector_conditioning(variant: str, rows: dict) -> torch.Tensor:
    """y [rows, width]: the embedders of `variant` over `rows` (from vector_rows or given)."""
    if variant not in EMBEDDERS:
        raise ValueError(f"unknown variant {variant!r}; known: {sorted(EMBEDDERS)}")
    parts = []
    for name, width in EMBEDDERS[variant]:
        if name not in rows:
            raise KeyError(f"vector conditioning of {variant} needs '{name}'")
        parts.append(timestep_embedding(torch.as_tensor(rows[name]), width))
    return torch.cat(parts, dim=1)
