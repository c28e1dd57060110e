"""The first-stage image decoder of SV3D checkpoints (sgm/modules/diffusionmodules/model.py
Decoder, at `first_stage_model.decoder.`, no post_quant_conv), under sgm's module names. SVD's
temporal VideoDecoder is not implemented here (sampling SVD files is left to `svdmv generate`)."""
from __future__ import annotations

import json

import torch.nn as nn
import torch.nn.functional as F

from .checkpoint import Checkpoint
from .encoders import SV3D_ENCODER, AttnBlock, ResnetBlock, _load, _norm
from .unet_config import METADATA_KEY

DECODER_PREFIX = "first_stage_model.decoder."


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class Decoder(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        ch, mult, r = cfg["baseChannels"], cfg["channelMultipliers"], cfg["resBlockCount"]
        attention = cfg.get("attentionResolutions", [])
        resolution = cfg.get("resolution", 256) // 2 ** (len(mult) - 1)
        block_in = ch * mult[-1]
        self.conv_in = nn.Conv2d(cfg["latentChannels"], block_in, 3, padding=1)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1 = ResnetBlock(block_in, block_in), AttnBlock(block_in)
        self.mid.block_2 = ResnetBlock(block_in, block_in)
        ups = []
        for level in reversed(range(len(mult))):
            stage = nn.Module()
            stage.block, stage.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(r + 1):
                stage.block.append(ResnetBlock(block_in, ch * mult[level]))
                block_in = ch * mult[level]
                if resolution in attention:
                    stage.attn.append(AttnBlock(block_in))
            if level != 0:
                stage.upsample = Upsample(block_in)
                resolution *= 2
            ups.insert(0, stage)
        self.up = nn.ModuleList(ups)
        self.norm_out = _norm(block_in)
        self.conv_out = nn.Conv2d(block_in, cfg.get("imageChannels", 3), 3, padding=1)

    def forward(self, z):
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(self.conv_in(z))))
        for level in reversed(range(len(self.up))):
            stage = self.up[level]
            for i, block in enumerate(stage.block):
                h = block(h)
                if len(stage.attn):
                    h = stage.attn[i](h)
            if level != 0:
                h = stage.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


def first_stage_decoder(checkpoint: Checkpoint) -> Decoder:
    if checkpoint.variant == "svd":
        raise ValueError(f"{checkpoint.path}: SVD's temporal decoder is not supported by this sampler")
    config = json.loads(checkpoint.metadata[METADATA_KEY]) if METADATA_KEY in checkpoint.metadata else {}
    cfg = config.get("firstStage", SV3D_ENCODER)
    if cfg.get("hasQuantConvs"):
        raise ValueError(f"{checkpoint.path}: a first stage with post_quant_conv is not supported")
    decoder = Decoder(cfg)
    _load(decoder, checkpoint.others, DECODER_PREFIX, checkpoint.path)
    return decoder.requires_grad_(False).eval()
