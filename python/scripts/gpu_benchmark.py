#!/usr/bin/env python3
"""The GPU checks of issue 28, in one run (python/scripts/device_check.sh runs it on a device
machine; it needs CUDA):

1. parity on CUDA: the tiny sv3d_p-shaped and the full-width sv3d_p UNet fixtures (sgm's outputs)
   through the converted diffusers UNet in float32 with TF32 off (1e-4 relative, as on the CPU);
2. sv3d_p finetuning steps at 576² (latents 72x72): one video of 21 frames, float32 master
   weights, bf16 autocast, gradient checkpointing, AdamW, clipping; the frozen conditioners
   (SV3D's kl-f8 encoder, ViT-H/14) timed apart; median step time and peak GPU memory, full
   finetuning and LoRA rank 16;
3. one full 50-step orbit (EDM Euler, triangle guidance: 2 × 21 frames per UNet call, bf16
   weights) and the decode of its 21 frames: time and peak memory.

Weights are random (the official files are not here): speed and memory do not depend on them.
Writes results.json and results.md to the folder given (default $OUT or .)."""
import json
import os
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))

from svdmv_torch.checkpoint import build_unet, diffusers_shapes  # noqa: E402
from svdmv_torch.conditioning import vector_conditioning, vector_rows  # noqa: E402
from svdmv_torch.decoder import Decoder  # noqa: E402
from svdmv_torch.encoders import SV3D_ENCODER, VIT_H14, ConditioningEncoder, VisionTransformer, clip_preprocess  # noqa: E402
from svdmv_torch.lora import add_lora  # noqa: E402
from svdmv_torch.objective import Draws, denoise, loss_given_draws  # noqa: E402
from svdmv_torch.sampling import frame_scales, sample_edm  # noqa: E402
from svdmv_torch.unet_config import RELEASED  # noqa: E402
from svdmv_torch.unet_forward import video_unet_forward  # noqa: E402
from svdmv_torch.unet_keys import sgm_to_diffusers  # noqa: E402

OUT = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT", ".")
# SVDMV_BENCH_SMOKE=1: a CPU smoke run of this script on tiny shapes (no numbers worth keeping).
SMOKE = os.environ.get("SVDMV_BENCH_SMOKE") == "1"
DEVICE = torch.device("cpu" if SMOKE else "cuda")
T, LATENT = (3, 8) if SMOKE else (21, 72)
IMAGE = 8 * LATENT
UNET = __import__("svdmv_torch.unet_config", fromlist=["TINY_SV3DP"]).TINY_SV3DP if SMOKE else RELEASED["sv3d_p"]
CONTEXT = UNET.contextWidth
ENCODER = {**SV3D_ENCODER, "baseChannels": 32} if SMOKE else SV3D_ENCODER
VIT = {**VIT_H14, "width": 64, "layerCount": 2, "headCount": 2, "mlpWidth": 256, "outputWidth": 32} if SMOKE else VIT_H14
results = {"device": "cpu (smoke)" if SMOKE else torch.cuda.get_device_name(0), "torch": torch.__version__}


def synchronize():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def reset_peak():
    if DEVICE.type == "cuda":
        torch.cuda.reset_peak_memory_stats()


def timed(fn, repeats, warmup=1):
    for _ in range(warmup):
        fn()
    synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_gib():
    return torch.cuda.max_memory_allocated() / 2 ** 30 if DEVICE.type == "cuda" else 0.0


def parity():
    from seeded import manifest, seeded_weights, unet_fixture
    from test_unet_parity import config_from_network
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    out = {}
    for name in ("tiny_sv3dp",) if SMOKE else ("tiny_sv3dp", "sv3d_p_full"):
        description, t = unet_fixture(name)
        if name == "tiny_sv3dp":
            config = config_from_network(description["network_config"])
            weights = seeded_weights(description["parameters"], description["weight_seed"])
        else:
            config = RELEASED["sv3d_p"]
            weights = seeded_weights(manifest("sv3d_p")["parameters"], description["weight_seed"], round_to=torch.float16)
        unet = build_unet(config, device="meta")
        unet.load_state_dict(sgm_to_diffusers(weights, config, diffusers_shapes(config)), strict=True, assign=True)
        unet = unet.to(DEVICE).eval()
        with torch.no_grad():
            y = video_unet_forward(unet, t["x"].to(DEVICE), t["timesteps"].to(DEVICE), t["context"].to(DEVICE),
                                   t["y"].to(DEVICE), description["frames"]).cpu()
        out[name] = ((y - t["out"]).abs().max() / t["out"].abs().max()).item()
        del unet, weights
        if DEVICE.type == "cuda":
            torch.cuda.empty_cache()
    torch.backends.cuda.matmul.allow_tf32 = True
    return out


def train_steps(lora_rank):
    reset_peak()
    config = UNET
    unet = build_unet(config, device=DEVICE)
    if lora_rank:
        add_lora(unet, config, lora_rank)
    unet.enable_gradient_checkpointing()
    unet.train()
    params = [p for p in unet.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.01)
    g = torch.Generator(device=DEVICE).manual_seed(0)
    x0 = torch.randn(T, 4, LATENT, LATENT, device=DEVICE, generator=g)
    concat = torch.randn(1, 4, LATENT, LATENT, device=DEVICE, generator=g)
    clip = torch.randn(1, 1, CONTEXT, device=DEVICE, generator=g)
    y = vector_conditioning("sv3d_p", vector_rows("sv3d_p", 1, T, 0.05, [10.0] * T,
                                                  [(i + 1) * 360 / T % 360 for i in range(T)])).to(DEVICE)
    d = Draws(sigma=2.0, noise=torch.randn(T, 4, LATENT, LATENT, device=DEVICE, generator=g), sigma_aug=0.05,
              aug_noise=torch.zeros(1), drop_clip=False, drop_concat=False)

    def step():
        with torch.autocast(DEVICE.type, dtype=torch.bfloat16):
            loss = loss_given_draws(unet, x0, concat, clip, y, d)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    seconds = timed(step, repeats=5, warmup=2)
    return {"seconds_per_step": seconds, "peak_gib": peak_gib(), "trainable_parameters": sum(p.numel() for p in params)}


def conditioners():
    reset_peak()
    vae = ConditioningEncoder(ENCODER).to(DEVICE).eval()
    vit = VisionTransformer(VIT).to(DEVICE).eval()
    frames = torch.rand(T, 3, IMAGE, IMAGE, device=DEVICE) * 2 - 1

    def run():
        with torch.no_grad(), torch.autocast(DEVICE.type, dtype=torch.bfloat16):
            vae(frames)
            vae(frames[-1:])
            vit(clip_preprocess(frames[-1:]))

    return {"seconds_per_video": timed(run, repeats=3), "peak_gib": peak_gib()}


def orbit():
    reset_peak()
    unet = build_unet(UNET, device=DEVICE, dtype=torch.bfloat16).eval()
    decoder = Decoder(ENCODER).to(DEVICE, torch.bfloat16).eval()
    y = vector_conditioning("sv3d_p", vector_rows("sv3d_p", 1, T, 1e-5, [10.0] * T,
                                                  [(i + 1) * 360 / T % 360 for i in range(T)])).to(DEVICE)
    ctx = torch.randn(1, 1, CONTEXT, device=DEVICE).expand(T, -1, -1)
    cat = torch.randn(1, 4, LATENT, LATENT, device=DEVICE).expand(T, -1, -1, -1)
    ctx2, cat2, y2 = torch.cat([torch.zeros_like(ctx), ctx]), torch.cat([torch.zeros_like(cat), cat]), torch.cat([y, y])
    scales = frame_scales("triangle", T).to(DEVICE).reshape(-1, 1, 1, 1)

    def guided(x, sigma):
        d = denoise(unet, torch.cat([x, x]), torch.full((2 * T,), sigma, device=DEVICE), cat2, ctx2, y2, T)
        u, c = d.chunk(2)
        return u + scales * (c - u)

    timings = {}

    def run():
        with torch.no_grad():
            start = time.perf_counter()
            z = sample_edm(guided, torch.randn(T, 4, LATENT, LATENT, device=DEVICE), 2 if SMOKE else 50)
            synchronize()
            timings["sampling"] = time.perf_counter() - start
            start = time.perf_counter()
            for i in range(0, T, 14):
                decoder(z[i:i + 14].to(torch.bfloat16) / 0.18215)
            synchronize()
            timings["decoding"] = time.perf_counter() - start

    total = timed(run, repeats=1, warmup=1)
    return {"seconds_total": total, **{f"seconds_{k}": v for k, v in timings.items()}, "peak_gib": peak_gib()}


for name, fn in (("parity", parity), ("train_full", lambda: train_steps(0)), ("train_lora16", lambda: train_steps(16)),
                 ("conditioners", conditioners), ("orbit_50_steps", orbit)):
    start = time.time()
    try:
        results[name] = fn()
    except Exception as error:  # keep the other numbers when one part fails (e.g. out of memory)
        results[name] = {"error": repr(error)}
    print(f"{name}: {results[name]} ({time.time() - start:.0f} s)", flush=True)

os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "results.json"), "w") as f:
    json.dump(results, f, indent=1)
with open(os.path.join(OUT, "results.md"), "w") as f:
    f.write(f"{results['device']}, torch {results['torch']}\n\n")
    for key, value in results.items():
        if isinstance(value, dict):
            f.write(f"- {key}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                                              for k, v in value.items()) + "\n")
print(json.dumps(results, indent=1))
