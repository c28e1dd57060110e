"""Our sgm-keyed safetensors checkpoints (official sv3d_u / sv3d_p / svd / svd_xt files and the
ones `svdmv train` writes) read and written from PyTorch, the UNet as a diffusers
UNetSpatioTemporalConditionModel.

A checkpoint is kept as: the variant and UNet config, the UNet's tensors under sgm keys, every
other tensor (CLIP, VAE encoder and decoder, anything else) verbatim, and the metadata. Tensors
keep the dtype they were stored in (F16/BF16/F32) unless a dtype is asked for; writing is atomic
(a temporary file in the same folder, then a rename)."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .unet_config import METADATA_KEY, UNET_PREFIX, VideoUNetConfig, model_config
from .unet_keys import diffusers_to_sgm, sgm_to_diffusers

DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16,
          "float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass
class Checkpoint:
    path: str
    variant: str
    unet_config: VideoUNetConfig
    unet: dict          # sgm keys without the prefix -> tensor
    others: dict        # full key -> tensor (CLIP, VAEs, ...)
    metadata: dict

    def tensors(self) -> dict:
        out = {UNET_PREFIX + k: v for k, v in self.unet.items()}
        out.update(self.others)
        return out


def read_checkpoint(path: str) -> Checkpoint:
    with safe_open(path, framework="pt") as f:
        metadata = dict(f.metadata() or {})
        keys = list(f.keys())
        shapes = {k: f.get_slice(k).get_shape() for k in keys}
        variant, config = model_config(metadata, shapes, path)
        tensors = {k: f.get_tensor(k) for k in keys}
    unet = {k[len(UNET_PREFIX):]: v for k, v in tensors.items() if k.startswith(UNET_PREFIX)}
    if not unet:
        raise KeyError(f"{path} has no tensors under {UNET_PREFIX}")
    others = {k: v for k, v in tensors.items() if not k.startswith(UNET_PREFIX)}
    return Checkpoint(path, variant, config, unet, others, metadata)


def write_atomically(path: str, write) -> None:
    """Calls write(temporary_path) and renames the result to `path` (same folder, so the rename
    is atomic): readers see the old file or the complete new one, never a partial one."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    os.close(fd)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise


def write_checkpoint(path: str, checkpoint: Checkpoint, dtype: torch.dtype | None = None,
                     metadata: dict | None = None) -> None:
    """Writes every tensor under its sgm key; floating tensors cast to `dtype` when given. Our
    config goes into the metadata (so `svdmv` reads the architecture, as for its own files)."""
    tensors = {}
    for k, v in checkpoint.tensors().items():
        v = v.detach().to("cpu")
        if dtype is not None and v.is_floating_point():
            v = v.to(dtype)
        tensors[k] = v.contiguous()
    meta = dict(checkpoint.metadata)
    meta.update(metadata or {})
    write_atomically(path, lambda p: save_file(tensors, p, metadata={k: str(v) for k, v in meta.items()}))


def build_unet(config: VideoUNetConfig, device="cpu", dtype=torch.float32, num_frames: int = 21):
    from diffusers import UNetSpatioTemporalConditionModel
    with torch.device(device):
        unet = UNetSpatioTemporalConditionModel(**config.diffusers_config(num_frames))
    return unet.to(dtype=dtype) if device != "meta" else unet


def diffusers_shapes(config: VideoUNetConfig) -> dict:
    """The diffusers state dict's key -> shape, from a model on the meta device (no memory)."""
    return {k: tuple(v.shape) for k, v in build_unet(config, device="meta").state_dict().items()}


def unet_from_checkpoint(checkpoint: Checkpoint, dtype: torch.dtype | None = torch.float32, device="cpu"):
    """The diffusers UNet holding the checkpoint's UNet weights (strict; dtype None keeps the
    stored one)."""
    config = checkpoint.unet_config
    config.check_diffusers_can_build(checkpoint.path)
    state = sgm_to_diffusers(checkpoint.unet, config, diffusers_shapes(config), context=checkpoint.path)
    unet = build_unet(config, device="meta")
    if dtype is not None:
        state = {k: v.to(dtype) for k, v in state.items()}
    unet.load_state_dict(state, strict=True, assign=True)
    return unet.to(device)


def unet_state_for_checkpoint(unet, config: VideoUNetConfig, context: str = "UNet") -> dict:
    """The diffusers UNet's weights under sgm keys (no prefix), detached."""
    state = {k: v.detach() for k, v in unet.state_dict().items()}
    return diffusers_to_sgm(state, config, {k: tuple(v.shape) for k, v in state.items()}, context)


def with_unet(checkpoint: Checkpoint, unet_sgm: dict) -> Checkpoint:
    """The same checkpoint with the UNet tensors replaced (same keys, strictly)."""
    if set(unet_sgm) != set(checkpoint.unet):
        extra, missing = sorted(set(unet_sgm) - set(checkpoint.unet)), sorted(set(checkpoint.unet) - set(unet_sgm))
        raise KeyError(f"{checkpoint.path}: new UNet keys differ: extra {extra[:10]}, missing {missing[:10]}")
    return Checkpoint(checkpoint.path, checkpoint.variant, checkpoint.unet_config, unet_sgm,
                      checkpoint.others, checkpoint.metadata)


def config_metadata(checkpoint: Checkpoint) -> dict:
    """The svdmv.config metadata of an official file has none: keep what is there."""
    return {METADATA_KEY: checkpoint.metadata[METADATA_KEY]} if METADATA_KEY in checkpoint.metadata else {}
