r"""An SV3D orbit from one image on a GPU (or the CPU), as `svdmv generate` samples it, writing the
same files: 000.png ... (the input view last), input.png, contact-sheet.png, orbit.png (animated
PNG) and cameras.json (our schema, the settings under "generation"), so `svdmv evaluate` scores
the folder.

    python -m svdmv_torch.sample IMAGE --out DIR --checkpoint MODEL.safetensors \
        [--steps 50 --guider triangle --min-guidance 1 --max-guidance 2.5 --elevation 10 --seed 23 \
         --device cuda --dtype bf16]

The input is used as framed (svdmv generate --keep-framing): RGBA composited on white, resized
to the model's size. For the reference script's re-centring, prepare it with `svdmv generate`
and pass its input.png. Random numbers follow the script (and svdmv): torch.manual_seed(seed),
randn_like(image), then randn(latents), on the CPU generator, so a seed gives svdmv's noise."""
from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

from .cameras import orbit_cameras, write_cameras
from .checkpoint import read_checkpoint, unet_from_checkpoint
from .conditioning import vector_conditioning, vector_rows
from .decoder import first_stage_decoder
from .encoders import FrozenConditioners
from .objective import denoise
from .sampling import frame_scales, guider_description, sample_edm


def parse(argv=None):
    p = argparse.ArgumentParser(prog="svdmv_torch.sample", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("image")
    p.add_argument("--out", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--frames", type=int, default=21)
    p.add_argument("--elevation", type=float, action="append", help="once, or once per frame")
    p.add_argument("--azimuths", type=float, action="append", help="once per frame, the input view last")
    p.add_argument("--steps", type=int, help="default: the checkpoint's recommendation, else 50")
    p.add_argument("--guider", choices=["triangle", "linear", "vanilla", "none"],
                   help="default: the checkpoint's recommendation, else triangle")
    p.add_argument("--min-guidance", type=float, default=1.0)
    p.add_argument("--max-guidance", type=float, default=2.5)
    p.add_argument("--method", choices=["euler", "heun"], default="euler")
    p.add_argument("--sigma-max", type=float, default=700.0)
    p.add_argument("--churn", type=float, default=0.0)
    p.add_argument("--cond-aug", type=float, default=1e-5)
    p.add_argument("--seed", type=int, default=23)
    p.add_argument("--decoding-chunk", type=int, default=14)
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", choices=["f32", "bf16", "f16"], default="f32", help="the UNet's weights and arithmetic")
    return p.parse_args(argv)


def load_image(path: str, size: int) -> torch.Tensor:
    """[1, 3, S, S] in [-1, 1]: RGBA over white, resized (Lanczos) when not already S x S."""
    image = Image.open(path)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image)
    image = image.convert("RGB")
    if image.size != (size, size):
        image = image.resize((size, size), Image.LANCZOS)
    pixels = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float()
    return (pixels / 255 * 2 - 1).unsqueeze(0)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """[3, H, W] in [0, 1] -> HxWx3 uint8, truncating as the script's (x * 255).astype(uint8)."""
    return (x.clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).cpu().numpy()


def contact_sheet(views, cell: int) -> Image.Image:
    columns = min(7, len(views))
    rows = (len(views) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * cell, rows * cell), (255, 255, 255))
    for i, v in enumerate(views):
        sheet.paste(Image.fromarray(v).resize((cell, cell), Image.LANCZOS), ((i % columns) * cell, (i // columns) * cell))
    return sheet


def main(argv=None) -> int:
    a = parse(argv)
    checkpoint = read_checkpoint(a.checkpoint)
    if checkpoint.variant == "svd":
        raise SystemExit("error: this sampler makes SV3D orbits (sv3d_u / sv3d_p); use svdmv generate for SVD")
    config = json.loads(checkpoint.metadata.get("svdmv.config", "{}"))
    size = config.get("imageSize", 576)
    recommendation = json.loads(checkpoint.metadata.get("svdmv.sampling", "{}"))
    steps = a.steps or recommendation.get("steps", 50)
    guider = a.guider or recommendation.get("guider", "triangle")
    frames = a.frames
    elevations = a.elevation or [10.0]
    elevations = elevations * frames if len(elevations) == 1 else elevations
    azimuths = a.azimuths or [((i + 1) * 360.0 / frames) % 360 if i < frames - 1 else 0.0 for i in range(frames)]
    if len(elevations) != frames or len(azimuths) != frames:
        raise SystemExit(f"error: need one elevation (or {frames}) and {frames} azimuths")
    device = torch.device(a.device)
    dtype = {"f32": torch.float32, "bf16": torch.bfloat16, "f16": torch.float16}[a.dtype]

    image = load_image(a.image, size)
    generator = torch.Generator().manual_seed(a.seed)
    augmented = image + torch.randn(image.shape, generator=generator) * a.cond_aug
    encoders = FrozenConditioners(checkpoint).to(device)
    unet = unet_from_checkpoint(checkpoint, dtype=dtype, device=device).eval()
    decoder = first_stage_decoder(checkpoint).to(device)
    with torch.no_grad():
        clip_tokens = encoders.clip(image.to(device))
        concat = encoders.encode(augmented.to(device))
        y = vector_conditioning(checkpoint.variant, vector_rows(checkpoint.variant, 1, frames, a.cond_aug,
                                                                elevations, azimuths)).to(device)
        f = encoders.vae.encoder.latent_channels
        factor = size // concat.shape[-1]
        noise = torch.randn(frames, f, size // factor, size // factor, generator=generator).to(device)
        scales = frame_scales(guider, frames, a.min_guidance, a.max_guidance).to(device).reshape(-1, 1, 1, 1)
        guided = guider != "none"
        ctx = clip_tokens.expand(frames, -1, -1)
        cat = concat.expand(frames, -1, -1, -1)
        if guided:  # [uncond; cond]: CLIP tokens and concat latent zeroed, y kept
            ctx = torch.cat([torch.zeros_like(ctx), ctx])
            cat = torch.cat([torch.zeros_like(cat), cat])
            y2 = torch.cat([y, y])
        else:
            y2 = y

        def guided_denoise(x, sigma):
            batch = torch.cat([x, x]) if guided else x
            d = denoise(unet, batch, torch.full((batch.shape[0],), sigma, device=device), cat, ctx, y2, frames)
            if not guided:
                return d
            uncond, cond = d.chunk(2)
            return uncond + scales * (cond - uncond)

        latents = sample_edm(guided_denoise, noise, steps, a.sigma_max, a.method, a.churn, generator,
                             progress=lambda i, n: print(f"\rstep {i}/{n}", end="", flush=True))
        print()
        z = latents / encoders.scale_factor
        decoded = torch.cat([decoder(z[i:i + a.decoding_chunk]) for i in range(0, frames, a.decoding_chunk)])
        decoded = torch.cat([decoded[:-1], image.to(device)])
        views = [to_uint8((v + 1) * 0.5) for v in decoded.float()]

    os.makedirs(a.out, exist_ok=True)
    for i, v in enumerate(views):
        Image.fromarray(v).save(os.path.join(a.out, f"{i:03d}.png"))
    Image.fromarray(to_uint8((image[0] + 1) * 0.5)).save(os.path.join(a.out, "input.png"))
    contact_sheet(views, min(192, size)).save(os.path.join(a.out, "contact-sheet.png"))
    frames_png = [Image.fromarray(v) for v in views]  # orbit.png: animated PNG, 0.1 s a view, looping
    frames_png[0].save(os.path.join(a.out, "orbit.png"), save_all=True, append_images=frames_png[1:], duration=100,
                       loop=0)
    generation = {"checkpoint": a.checkpoint, "variant": checkpoint.variant, "frames": frames, "steps": steps,
                  "seed": a.seed, "sampler": a.method, "sigma_max": a.sigma_max, "churn": a.churn,
                  "cond_aug": a.cond_aug, "starts_from_input": False,
                  "guider": guider_description(guider, a.min_guidance, a.max_guidance), "input_view": frames - 1,
                  "input_framing": "as given"}
    write_cameras(os.path.join(a.out, "cameras.json"),
                  orbit_cameras(os.path.basename(os.path.abspath(a.out)), size, elevations, azimuths, generation))
    print(f"wrote {frames} views to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
