"""A tiny SV3D_p checkpoint for the training tests: the bundled default model's VAE and CLIP tower
(so 32x32 frames become 8x8 latents) with the 2.2M-parameter VideoUNetConfig.tinySV3DP UNet,
seeded weights, in our format."""
import json

import torch

from svdmv_torch.checkpoint import build_unet, read_checkpoint, unet_state_for_checkpoint, write_checkpoint
from svdmv_torch.checkpoint import Checkpoint
from svdmv_torch.unet_config import METADATA_KEY, TINY_SV3DP

from seeded import DEFAULT_MODEL


def write_tiny_model(path, seed=0):
    base = read_checkpoint(DEFAULT_MODEL)
    torch.manual_seed(seed)
    unet = build_unet(TINY_SV3DP)
    with torch.no_grad():  # diffusers zero-inits some output layers; give every weight a value
        for p in unet.parameters():
            p.add_(torch.randn_like(p) * 0.02)
    state = unet_state_for_checkpoint(unet, TINY_SV3DP)
    config = json.loads(base.metadata[METADATA_KEY])
    config["unet"] = TINY_SV3DP.to_json()
    config["imageSize"] = 32
    metadata = {METADATA_KEY: json.dumps(config)}
    write_checkpoint(path, Checkpoint(path, "sv3d_p", TINY_SV3DP, state, base.others, metadata), dtype=torch.float32)
    return path
