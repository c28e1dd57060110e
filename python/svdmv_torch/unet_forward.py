"""sgm's VideoUNet forward over a diffusers UNetSpatioTemporalConditionModel's modules.

diffusers' own forward embeds one timestep and one add_time_ids row per *video* and repeats them
over the frames; sgm's takes them per *row* (frame): SV3D_p's y differs from frame to frame
(polar, azimuth), and sgm allows a σ per frame. So this forward computes the embedding per row,
emb = time_embedding(time_proj(timesteps)) + add_embedding(y), with y the full vector
conditioning (conditioning.vector_conditioning: for SVD files this equals diffusers' add_time_ids
path), then runs diffusers' blocks as its forward does (gradient checkpointing included, when
enabled on the model)."""
from __future__ import annotations

import torch


def video_unet_forward(unet, x: torch.Tensor, timesteps: torch.Tensor, context: torch.Tensor,
                       y: torch.Tensor, frames: int) -> torch.Tensor:
    """x [B·T, C, h, w], timesteps [B·T] (c_noise), context [B·T, N, D], y [B·T, vector width]
    -> [B·T, out, h, w], as sgm's VideoUNet(x, timesteps, context, y, num_video_frames=T)."""
    rows = x.shape[0]
    if rows % frames:
        raise ValueError(f"{rows} rows are not whole videos of {frames} frames")
    for name, t in (("timesteps", timesteps), ("context", context), ("y", y)):
        if t.shape[0] != rows:
            raise ValueError(f"{name} has {t.shape[0]} rows, x has {rows}")
    dtype = unet.conv_in.weight.dtype
    x, context, y = x.to(dtype), context.to(dtype), y.to(dtype)
    emb = unet.time_embedding(unet.time_proj(timesteps.reshape(rows)).to(dtype)) + unet.add_embedding(y)
    sample = unet.conv_in(x)
    indicator = torch.zeros(rows // frames, frames, dtype=dtype, device=x.device)
    skips = (sample,)
    for block in unet.down_blocks:
        if getattr(block, "has_cross_attention", False):
            sample, res = block(hidden_states=sample, temb=emb, encoder_hidden_states=context,
                                image_only_indicator=indicator)
        else:
            sample, res = block(hidden_states=sample, temb=emb, image_only_indicator=indicator)
        skips += res
    sample = unet.mid_block(hidden_states=sample, temb=emb, encoder_hidden_states=context,
                            image_only_indicator=indicator)
    for block in unet.up_blocks:
        res, skips = skips[-len(block.resnets):], skips[:-len(block.resnets)]
        if getattr(block, "has_cross_attention", False):
            sample = block(hidden_states=sample, temb=emb, res_hidden_states_tuple=res,
                           encoder_hidden_states=context, image_only_indicator=indicator)
        else:
            sample = block(hidden_states=sample, temb=emb, res_hidden_states_tuple=res,
                           image_only_indicator=indicator)
    return unet.conv_out(unet.conv_act(unet.conv_norm_out(sample)))
