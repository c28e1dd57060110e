"""The frozen conditioners of an SV3D-structured checkpoint, under sgm's own module names so the
checkpoint's tensors load as they are:

- the KL VAE encoder (sgm/modules/diffusionmodules/model.py Encoder + legacy quant_conv) at
  `conditioner.embedders.1.encoder.` (SVD: `.3.`): the concat latent and the training latents
  are its posterior means;
- the OpenCLIP image tower (open_clip VisionTransformer) at `conditioner.embedders.0.open_clip.`,
  with sgm FrozenOpenCLIPImageEmbedder's preprocessing (kornia's antialiased bicubic resize to
  224, [-1, 1] -> CLIP's mean/std): the cross-attention tokens.

Configs come from our `svdmv.config` metadata (AutoencoderConfig, VisionTransformerConfig) or, for
official files, SV3D's (kl-f8 VAE, ViT-H/14)."""
from __future__ import annotations

import json

import torch
import torch.nn as nn
import torch.nn.functional as F

from .checkpoint import Checkpoint
from .unet_config import METADATA_KEY

SV3D_ENCODER = {"baseChannels": 128, "channelMultipliers": [1, 2, 4, 4], "resBlockCount": 2, "attentionResolutions": [],
                "latentChannels": 4, "imageChannels": 3, "resolution": 256, "scaleFactor": 0.18215}
VIT_H14 = {"width": 1280, "layerCount": 32, "headCount": 16, "patchSize": 14, "imageSize": 224, "mlpWidth": 5120,
           "outputWidth": 1024, "activation": "gelu", "layerNormEps": 1e-5}
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


def _norm(channels):
    return nn.GroupNorm(32, channels, eps=1e-6)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.norm1, self.conv1 = _norm(cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.norm2, self.conv2 = _norm(cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.nin_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if self.nin_shortcut is not None else x) + h


class AttnBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.norm = _norm(c)
        self.q, self.k, self.v, self.proj_out = (nn.Conv2d(c, c, 1) for _ in range(4))

    def forward(self, x):
        b, c, h, w = x.shape
        n = self.norm(x)
        q, k, v = (m(n).reshape(b, 1, c, h * w).transpose(2, 3) for m in (self.q, self.k, self.v))
        out = F.scaled_dot_product_attention(q, k, v).transpose(2, 3).reshape(b, c, h, w)
        return x + self.proj_out(out)


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=2)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))


class Encoder(nn.Module):
    """sgm's Encoder (double_z) + quant_conv; `mean(x)` is the posterior mean."""

    def __init__(self, cfg: dict):
        super().__init__()
        ch, mult = cfg["baseChannels"], cfg["channelMultipliers"]
        z = cfg["latentChannels"]
        self.conv_in = nn.Conv2d(cfg.get("imageChannels", 3), ch, 3, padding=1)
        self.down = nn.ModuleList()
        resolution = cfg.get("resolution", 256)
        cin = ch
        for level, m in enumerate(mult):
            stage = nn.Module()
            stage.block, stage.attn = nn.ModuleList(), nn.ModuleList()
            for _ in range(cfg["resBlockCount"]):
                stage.block.append(ResnetBlock(cin, ch * m))
                cin = ch * m
                if resolution in cfg.get("attentionResolutions", []):
                    stage.attn.append(AttnBlock(cin))
            if level != len(mult) - 1:
                stage.downsample = Downsample(cin)
                resolution //= 2
            self.down.append(stage)
        self.mid = nn.Module()
        self.mid.block_1, self.mid.attn_1, self.mid.block_2 = ResnetBlock(cin, cin), AttnBlock(cin), ResnetBlock(cin, cin)
        self.norm_out, self.conv_out = _norm(cin), nn.Conv2d(cin, 2 * z, 3, padding=1)
        self.latent_channels = z

    def features(self, x):
        h = self.conv_in(x)
        for stage in self.down:
            for i, block in enumerate(stage.block):
                h = block(h)
                if len(stage.attn):
                    h = stage.attn[i](h)
            if hasattr(stage, "downsample"):
                h = stage.downsample(h)
        h = self.mid.block_2(self.mid.attn_1(self.mid.block_1(h)))
        return self.conv_out(F.silu(self.norm_out(h)))


class ConditioningEncoder(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.encoder = Encoder(cfg)
        z = cfg["latentChannels"]
        self.quant_conv = nn.Conv2d(2 * z, 2 * z, 1)

    def forward(self, x):
        """The posterior mean [N, z, H/f, W/f] of images in [-1, 1]."""
        return self.quant_conv(self.encoder.features(x))[:, :self.encoder.latent_channels]


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width, heads, mlp, eps, quick_gelu):
        super().__init__()
        self.ln_1, self.ln_2 = nn.LayerNorm(width, eps=eps), nn.LayerNorm(width, eps=eps)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.mlp = nn.Sequential()
        self.mlp.add_module("c_fc", nn.Linear(width, mlp))
        self.mlp.add_module("gelu", QuickGELU() if quick_gelu else nn.GELU())
        self.mlp.add_module("c_proj", nn.Linear(mlp, width))

    def forward(self, x):
        n = self.ln_1(x)
        x = x + self.attn(n, n, n, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class VisionTransformer(nn.Module):
    """open_clip's VisionTransformer (class token, pre/post LayerNorm, projection)."""

    def __init__(self, cfg: dict):
        super().__init__()
        w, p, s = cfg["width"], cfg["patchSize"], cfg["imageSize"]
        eps = cfg.get("layerNormEps", 1e-5)
        self.conv1 = nn.Conv2d(3, w, p, stride=p, bias=False)
        self.class_embedding = nn.Parameter(torch.zeros(w))
        self.positional_embedding = nn.Parameter(torch.zeros((s // p) ** 2 + 1, w))
        self.ln_pre, self.ln_post = nn.LayerNorm(w, eps=eps), nn.LayerNorm(w, eps=eps)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.ModuleList(
            ResidualAttentionBlock(w, cfg["headCount"], cfg["mlpWidth"], eps, cfg.get("activation") == "quickgelu")
            for _ in range(cfg["layerCount"]))
        self.proj = nn.Parameter(torch.zeros(w, cfg["outputWidth"]))
        self.image_size = s

    def forward(self, x):
        x = self.conv1(x).flatten(2).transpose(1, 2)
        x = torch.cat([self.class_embedding.to(x.dtype).expand(x.shape[0], 1, -1), x], dim=1)
        x = self.ln_pre(x + self.positional_embedding.to(x.dtype))
        for block in self.transformer.resblocks:
            x = block(x)
        return self.ln_post(x[:, 0]) @ self.proj


def clip_preprocess(x, size: int = 224):
    """sgm FrozenOpenCLIPImageEmbedder.preprocess: kornia bicubic antialiased resize (squashing),
    [-1, 1] -> [0, 1], CLIP mean/std."""
    import kornia
    x = kornia.geometry.resize(x, (size, size), interpolation="bicubic", align_corners=True, antialias=True)
    x = (x + 1.0) / 2.0
    mean = torch.tensor(CLIP_MEAN, device=x.device, dtype=x.dtype).reshape(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=x.device, dtype=x.dtype).reshape(1, 3, 1, 1)
    return (x - mean) / std


def _load(module: nn.Module, tensors: dict, prefix: str, path: str, ignore=()):
    state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    state = {k: v for k, v in state.items() if not any(k.startswith(i) for i in ignore)}
    expected = module.state_dict()
    unused, missing = sorted(set(state) - set(expected)), sorted(set(expected) - set(state))
    if unused or missing:
        raise KeyError(f"{path}: under {prefix}: unused {unused[:10]}, missing {missing[:10]}")
    module.load_state_dict({k: v.float() for k, v in state.items()})


class FrozenConditioners(nn.Module):
    """encode(frames) -> posterior means (unscaled); clip(image) -> [1, 1, D] tokens;
    scale_factor: the diffusion latents' scale (latents = scale · means)."""

    def __init__(self, checkpoint: Checkpoint):
        super().__init__()
        config = json.loads(checkpoint.metadata[METADATA_KEY]) if METADATA_KEY in checkpoint.metadata else {}
        encoder_cfg = config.get("conditioningEncoder", SV3D_ENCODER)
        clip_cfg = config.get("clip", VIT_H14)
        self.scale_factor = float(config.get("firstStage", {}).get("scaleFactor", 0.18215))
        encoder_prefix = "conditioner.embedders.3.encoder." if checkpoint.variant == "svd" else "conditioner.embedders.1.encoder."
        self.vae = ConditioningEncoder(encoder_cfg)
        _load(self.vae, checkpoint.others, encoder_prefix, checkpoint.path, ignore=("decoder.", "post_quant_conv."))
        self.visual = VisionTransformer(clip_cfg)
        clip_prefix = next((p for p in ("conditioner.embedders.0.open_clip.model.visual.",
                                        "conditioner.embedders.0.open_clip.visual.")
                            if any(k.startswith(p) for k in checkpoint.others)), None)
        if clip_prefix is None:
            raise KeyError(f"{checkpoint.path}: no CLIP image tower under conditioner.embedders.0.open_clip.")
        _load(self.visual, checkpoint.others, clip_prefix, checkpoint.path)
        self.requires_grad_(False).eval()

    @torch.no_grad()
    def encode(self, frames):
        return self.vae(frames.float())

    @torch.no_grad()
    def clip(self, image):
        return self.visual(clip_preprocess(image.float(), self.visual.image_size)).unsqueeze(1)
