#!/usr/bin/env python3
"""PyTorch twin of `svdmv bench train`: sgm's VideoUNet (generative-models, imported through
Scripts/fixtures/sgm_reference.py) built with the same configs (small, wide, medium; see
Sources/Benchmarks/UNetStepBenchmarks.swift), Float32 on the CPU, the same thread count and input
shapes, timed as the Swift side does:
  - train: v-denoiser scaling (c_in, c_noise = 0.25 ln sigma, c_skip, c_out) of one noised 21-frame
    video, concat latent on the channel axis, CLIP context tokens, vector y, the VWeighting
    ((sigma^2+1)/sigma^2) L2 loss averaged over the video, backward, clip_grad_norm_(1.0) and
    torch.optim.AdamW (lr 1e-4, weight decay 1e-2, as NN.AdamWConfig);
  - sample: one guided evaluation (cond + uncond rows in one 2 x 21-row batch) under torch.no_grad.
Weights: PyTorch's default initialisation (the cost does not depend on the values). Prints one
JSON object per (model, step) with the same fields as `svdmv bench train --json`.

    .venv/bin/python Scripts/bench/torch_train.py --threads 2 --warmup 1 --repeats 5
"""
import argparse
import contextlib
import io
import json
import math
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from sgm_reference import import_sgm, sgm_root_from_args  # noqa: E402


def unet_params(model_channels, channel_mult, attention_resolutions, num_head_channels, context_dim,
                adm_in_channels):
    """sgm VideoUNet arguments for a VideoUNetConfig, as the UNet parity fixtures map them
    (Scripts/fixtures/make_unet_fixtures.py tiny_params); 'softmax' is the same math as the
    released configs' 'softmax-xformers' without xformers."""
    return dict(in_channels=8, out_channels=4, model_channels=model_channels, channel_mult=channel_mult,
                attention_resolutions=attention_resolutions, num_res_blocks=1,
                num_head_channels=num_head_channels, context_dim=context_dim, adm_in_channels=adm_in_channels,
                num_classes="sequential", use_checkpoint=False, use_linear_in_transformer=True,
                transformer_depth=1, spatial_transformer_attn_type="softmax", extra_ff_mix_layer=True,
                use_spatial_context=True, merge_strategy="learned_with_images", video_kernel_size=[3, 1, 1])


# Mirrors UNetBenchmarkModel.small / .wide / .medium: (sgm params, latent side).
MODELS = {
    "small": (unet_params(32, [1, 2], [2, 1], 16, 32, 1280), 16),
    "wide": (unet_params(64, [1, 2], [2, 1], 32, 32, 1280), 16),
    "medium": (unet_params(64, [1, 2, 2], [2, 1], 32, 1024, 1280), 16),
}

TRAINING_SIGMA = math.e  # e^P_mean, P_mean 1.0 (SV3DTrainingSettings)
SAMPLING_SIGMA = 1.0


def v_denoise(net, x, sigma, concat, context, y, frames):
    """sgm Denoiser with VScalingWithEDMcNoise, one sigma for every row."""
    s = torch.full((x.shape[0],), sigma)
    c_skip = (1 / (s ** 2 + 1)).view(-1, 1, 1, 1)
    c_out = (-s / (s ** 2 + 1).sqrt()).view(-1, 1, 1, 1)
    c_in = (1 / (s ** 2 + 1).sqrt()).view(-1, 1, 1, 1)
    c_noise = 0.25 * s.log()
    out = net(torch.cat([x * c_in, concat], dim=1), c_noise, context=context, y=y, num_video_frames=frames,
              image_only_indicator=torch.zeros(x.shape[0] // frames, frames))
    return out * c_out + x * c_skip


def training_step(net, p, latent, frames):
    g = torch.Generator().manual_seed(1)
    latents = torch.randn(frames, 4, latent, latent, generator=g)
    concat = torch.randn(frames, 4, latent, latent, generator=g)
    context = torch.randn(frames, 1, p["context_dim"], generator=g)
    y = torch.randn(frames, p["adm_in_channels"], generator=g)
    noise = torch.randn(frames, 4, latent, latent, generator=g)
    optimizer = torch.optim.AdamW(net.parameters(), lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
    weight = (TRAINING_SIGMA ** 2 + 1) / TRAINING_SIGMA ** 2

    def step():
        optimizer.zero_grad(set_to_none=True)
        noised = latents + noise * TRAINING_SIGMA
        denoised = v_denoise(net, noised, TRAINING_SIGMA, concat, context, y, frames)
        loss = (weight * (denoised - latents) ** 2).reshape(frames, -1).mean(1).mean()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        optimizer.step()
    return step


def sampling_step(net, p, latent, frames):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2 * frames, 4, latent, latent, generator=g)
    concat = torch.cat([torch.randn(frames, 4, latent, latent, generator=g), torch.zeros(frames, 4, latent, latent)])
    context = torch.cat([torch.randn(frames, 1, p["context_dim"], generator=g), torch.zeros(frames, 1, p["context_dim"])])
    y = torch.randn(frames, p["adm_in_channels"], generator=g)
    y = torch.cat([y, y])

    def step():
        with torch.no_grad():
            v_denoise(net, x, SAMPLING_SIGMA, concat, context, y, frames)
    return step


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="small,wide,medium")
    ap.add_argument("--steps", default="train,sample")
    ap.add_argument("--frames", type=int, default=21)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--sgm", default=None)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    import_sgm(args.sgm or sgm_root_from_args(sys.argv))
    with contextlib.redirect_stdout(io.StringIO()):
        from sgm.modules.diffusionmodules.video_model import VideoUNet
    for name in args.models.split(","):
        params, latent = MODELS[name]
        torch.manual_seed(0)
        with contextlib.redirect_stdout(io.StringIO()):
            net = VideoUNet(**params)
        count = sum(t.numel() for t in net.parameters())
        for step_name in args.steps.split(","):
            if step_name == "train":
                net.train()
                body = training_step(net, params, latent, args.frames)
                shape = f"1 video x {args.frames} frames, [{args.frames},8,{latent},{latent}]"
            else:
                net.eval()
                body = sampling_step(net, params, latent, args.frames)
                shape = f"2 x {args.frames} frames (cond+uncond), [{2 * args.frames},8,{latent},{latent}]"
            for _ in range(args.warmup):
                body()
            samples = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                body()
                samples.append(time.perf_counter() - start)
            print(json.dumps({"name": f"{name}.{step_name}", "model": name, "step": step_name, "parameters": count,
                              "shape": shape, "warmup": args.warmup, "samples": samples,
                              "median": statistics.median(samples), "threads": torch.get_num_threads(),
                              "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
