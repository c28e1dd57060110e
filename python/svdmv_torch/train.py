r"""`svdmv train`'s UNet stage on PyTorch + accelerate: one GPU, several, several nodes (DDP,
or whatever `accelerate config` sets up), or the CPU.

    accelerate launch -m svdmv_torch.train --data SHARDS --out RUN --init-from MODEL.safetensors \
        [--lora RANK] [--steps N --videos-per-step A --learning-rate LR --warmup W --schedule cosine \
         --clip 1 --ema 0.9999 --gradient-checkpointing]

Each optimiser step takes `videos-per-step` videos on every process (gradient accumulation), one
video per micro-batch, so a step sees processes × videos-per-step videos. Data and randomness are
per slot (data.py): 2 processes × 1 video and 1 process × 2 videos give the same steps.
Re-running the same command resumes from the newest checkpoint in RUN (--steps may grow)."""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from contextlib import nullcontext

import torch
from safetensors.torch import load_file, save_file

from . import run_state
from .checkpoint import (read_checkpoint, unet_from_checkpoint, unet_state_for_checkpoint, with_unet,
                         write_checkpoint)
from .data import slot_loader
from .ema import EMA
from .encoders import FrozenConditioners
from .lora import add_lora, load_lora, lora_metadata, merged_unet_state, save_lora
from .objective import ObjectiveSettings, loss_given_draws, prepare_video
from .unet_config import UNET_PREFIX
from .unet_keys import prefix_pairs, rename


class Denoiser(torch.nn.Module):
    """The UNet inside the loss, so DDP sees the loss computation as the module's forward."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, x0, concat, clip_tokens, y, draws, weighting):
        return loss_given_draws(self.unet, x0, concat, clip_tokens, y, draws, weighting)


def parse(argv=None):
    p = argparse.ArgumentParser(prog="svdmv_torch.train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True, help="a folder of .tar shards (svdmv dataset) or one shard")
    p.add_argument("--out", required=True, help="the run folder")
    p.add_argument("--init-from", required=True, help="our or an official sgm-keyed checkpoint")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--videos-per-step", type=int, default=1, help="per process (gradient accumulation)")
    p.add_argument("--learning-rate", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=0)
    p.add_argument("--schedule", choices=["constant", "cosine"], default="constant")
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (0: off)")
    p.add_argument("--ema", type=float, default=0.0, help="EMA decay (0: off)")
    p.add_argument("--no-ema-warmup", action="store_true")
    p.add_argument("--lora", type=int, default=0, help="LoRA rank on the temporal attention (0: full finetuning)")
    p.add_argument("--lora-alpha", type=float)
    p.add_argument("--lora-init", help="start from these adapters (ours or `svdmv train --lora`'s lora.safetensors)")
    p.add_argument("--p-mean", type=float, default=1.0)
    p.add_argument("--p-std", type=float, default=1.6)
    p.add_argument("--cond-aug-mean", type=float, default=-3.0)
    p.add_argument("--cond-aug-std", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=100)
    p.add_argument("--keep-checkpoints", type=int, default=2)
    p.add_argument("--gradient-checkpointing", action="store_true")
    p.add_argument("--workers", type=int, default=0, help="data loader workers per slot")
    p.add_argument("--shuffle-buffer", type=int, default=64)
    p.add_argument("--output-dtype", choices=["f16", "bf16", "f32"], default="f32",
                   help="dtype of model.safetensors")
    return p.parse_args(argv)


def run_config(a) -> dict:
    """The settings a resume must repeat (steps excepted), by name."""
    keys = ["data", "init_from", "steps", "videos_per_step", "learning_rate", "warmup", "schedule", "weight_decay",
            "clip", "ema", "no_ema_warmup", "lora", "lora_alpha", "lora_init", "p_mean", "p_std", "cond_aug_mean", "cond_aug_std",
            "seed", "shuffle_buffer"]
    config = {k: getattr(a, k) for k in keys}
    config["data"] = os.path.abspath(a.data)
    config["init_from"] = os.path.abspath(a.init_from)
    return config


def checkpoint_names(unet, config, parameter_names) -> dict:
    """diffusers/peft parameter name -> our checkpoint name: model.diffusion_model.<sgm key>, or
    for LoRA model.diffusion_model.<sgm module>.lora_A.weight (Swift's adapter names)."""
    table = {b: a for a, b in prefix_pairs(config)}
    lora = getattr(unet, "_svdmv_lora", None)
    out = {}
    for n in parameter_names:
        if lora is not None:
            module, ab = n.rsplit(".lora_", 1)
            out[n] = f"{UNET_PREFIX}{lora['modules'][module]}.lora_{ab.split('.')[0]}.weight"
        else:
            out[n] = UNET_PREFIX + rename(n, table)
    return out


def generator_state(g: torch.Generator) -> str:
    return base64.b64encode(g.get_state().numpy().tobytes()).decode()


def set_generator_state(g: torch.Generator, text: str) -> None:
    g.set_state(torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8).clone())


def main(argv=None) -> int:
    from accelerate import Accelerator
    from accelerate.utils import gather_object

    a = parse(argv)
    # On a machine without CUDA, cpu=True makes a multi-process launch a gloo process group.
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    rank, world, accumulation = accelerator.process_index, accelerator.num_processes, a.videos_per_step
    slots = world * accumulation
    my_slots = [rank * accumulation + i for i in range(accumulation)]
    config = run_config(a)
    config["slots"] = slots  # a resume must split the data and randomness the same way
    if accelerator.is_main_process:
        run_state.open_run(a.out, config)
    accelerator.wait_for_everyone()

    checkpoint = read_checkpoint(a.init_from)
    variant, unet_config = checkpoint.variant, checkpoint.unet_config
    if variant == "svd":
        raise ValueError(f"{a.init_from} is an SVD checkpoint; this trainer finetunes SV3D-structured models "
                         "(orbits, the conditioning view last), as svdmv train does")
    image_size = json.loads(checkpoint.metadata["svdmv.config"])["imageSize"] if "svdmv.config" in checkpoint.metadata else 576
    device = accelerator.device
    unet = unet_from_checkpoint(checkpoint, dtype=torch.float32)
    if a.lora_init:
        load_lora(unet, unet_config, a.lora_init)
        if unet._svdmv_lora["rank"] != a.lora:
            raise ValueError(f"--lora-init {a.lora_init} has rank {unet._svdmv_lora['rank']}, --lora says {a.lora}")
    elif a.lora:
        add_lora(unet, unet_config, a.lora, a.lora_alpha)
    if a.gradient_checkpointing:
        unet.enable_gradient_checkpointing()
    unet.train()
    encoders = FrozenConditioners(checkpoint).to(device)
    trainable = [(n, p) for n, p in unet.named_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([p for _, p in trainable], lr=a.learning_rate, betas=(0.9, 0.999), eps=1e-8,
                                  weight_decay=a.weight_decay)
    ema = EMA(trainable, a.ema, warm_up=not a.no_ema_warmup) if a.ema > 0 else None
    settings = ObjectiveSettings(a.p_mean, a.p_std, a.cond_aug_mean, a.cond_aug_std)

    names = checkpoint_names(unet, unet_config, [n for n, _ in trainable])
    by_name = {v: k for k, v in names.items()}

    def trainable_tensors():
        """The trainable weights under our checkpoint names (sgm keys, or our LoRA names)."""
        return {names[n]: p.detach().float().cpu().contiguous() for n, p in trainable}

    def load_trainable(tensors, what):
        unknown, missing = sorted(set(tensors) - set(by_name)), sorted(set(by_name) - set(tensors))
        if unknown or missing:
            raise KeyError(f"{what}: unknown tensors {unknown[:10]}, missing {missing[:10]}")
        return {by_name[k]: v for k, v in tensors.items()}

    step, history = 0, []
    generators = {s: torch.Generator().manual_seed(a.seed * 1_000_003 + s) for s in my_slots}
    positions = {s: 0 for s in my_slots}
    saved = run_state.checkpoint_steps(a.out)
    if saved:
        folder = run_state.checkpoint_folder(a.out, saved[-1])
        try:
            with open(os.path.join(folder, "state.json")) as f:
                state = json.load(f)
            weights = load_trainable(load_file(os.path.join(folder, "trainable.safetensors")), "trainable.safetensors")
            with torch.no_grad():
                for n, p in trainable:
                    p.copy_(weights[n])
            optimizer.load_state_dict(torch.load(os.path.join(folder, "optimizer.pt"), weights_only=True))
            if ema:
                ema.load_state_dict(load_trainable(load_file(os.path.join(folder, "ema.safetensors")), "ema.safetensors"))
        except (OSError, KeyError, ValueError, RuntimeError) as error:
            raise SystemExit(f"bad checkpoint {folder}: {error}")
        step = state["step"]
        for s in my_slots:
            set_generator_state(generators[s], state["slots"][str(s)]["generator"])
            positions[s] = state["slots"][str(s)]["position"]
        history = [r for r in run_state.read_metrics(os.path.join(folder, "metrics.csv")) if r["step"] <= step]
        accelerator.print(f"resumed {a.out} at step {step}")

    model, optimizer = accelerator.prepare(Denoiser(unet), optimizer)
    loaders = {s: slot_loader(a.data, s, slots, a.seed, positions[s], image_size, a.workers, a.shuffle_buffer)
               for s in my_slots}

    def write_checkpoint_files(folder, slot_states):
        save_file(trainable_tensors(), os.path.join(folder, "trainable.safetensors"),
                  metadata=lora_metadata(unet) if a.lora else None)
        torch.save(optimizer.state_dict(), os.path.join(folder, "optimizer.pt"))
        if ema:
            save_file({names[k]: v.contiguous() for k, v in ema.state_dict().items()},
                      os.path.join(folder, "ema.safetensors"))
        with open(os.path.join(folder, "state.json"), "w") as f:
            json.dump({"step": step, "slots": slot_states}, f, indent=1, sort_keys=True)

    while step < a.steps:
        started = time.time()
        next_step = step + 1
        lr = run_state.learning_rate(next_step, a.learning_rate, a.warmup, a.steps, a.schedule)
        for group in optimizer.param_groups:
            group["lr"] = lr
        total = torch.zeros((), device=device)
        for i, slot in enumerate(my_slots):
            sample = next(loaders[slot])
            positions[slot] = sample["index"] + 1
            x0, concat, clip_tokens, y, d = prepare_video(encoders, variant, sample["frames"].to(device),
                                                          sample["elevations_deg"], sample["azimuths_deg"], settings,
                                                          generators[slot])
            sync = accelerator.no_sync(model) if i < accumulation - 1 else nullcontext()
            with sync, accelerator.autocast():
                loss = model(x0, concat, clip_tokens, y, d, settings.weighting)
                if not torch.isfinite(loss):
                    raise SystemExit(f"loss is not finite at step {next_step}; stopping (the last checkpoint is intact)")
                accelerator.backward(loss / accumulation)
            total += loss.detach() / accumulation
        params = [p for _, p in trainable]
        if a.clip > 0:
            norm = accelerator.clip_grad_norm_(params, a.clip)
        else:
            norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params if p.grad is not None]))
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if ema:
            ema.update(trainable, next_step)
        step = next_step
        mean_loss = accelerator.reduce(total, reduction="mean").item()
        history.append({"step": step, "loss": mean_loss, "learning_rate": lr, "gradient_norm": float(norm),
                        "seconds": time.time() - started})
        accelerator.print(f"step {step}: loss {mean_loss:.6f} lr {lr:.3g} grad norm {float(norm):.4f}")
        if step % a.checkpoint_every == 0 or step == a.steps:
            slot_states = {}
            for part in gather_object([(s, generator_state(generators[s]), positions[s]) for s in my_slots]):
                slot_states[str(part[0])] = {"generator": part[1], "position": part[2]}
            if accelerator.is_main_process:
                run_state.write_checkpoint_folder(a.out, step, lambda f: write_checkpoint_files(f, slot_states),
                                                  history, a.keep_checkpoints)
            accelerator.wait_for_everyone()

    if accelerator.is_main_process:
        export(a, checkpoint, unet, ema, trainable)
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return 0


def export(a, checkpoint, unet, ema, trainable) -> None:
    """RUN/model.safetensors (our format, for svdmv generate/evaluate): the EMA weights if kept,
    LoRA merged (its adapters also as RUN/lora.safetensors, Swift's names)."""
    config = checkpoint.unet_config
    if ema:
        with torch.no_grad():
            params = dict(unet.named_parameters())
            for n, _ in trainable:
                params[n].copy_(ema.shadow[n])
    if a.lora:
        save_lora(unet, os.path.join(a.out, "lora.safetensors"))
        merged = unet_from_checkpoint(checkpoint)
        merged.load_state_dict({k: v.float() for k, v in merged_unet_state(unet, config).items()}, strict=True)
        state = unet_state_for_checkpoint(merged, config)
    else:
        state = unet_state_for_checkpoint(unet, config)
    dtype = {"f16": torch.float16, "bf16": torch.bfloat16, "f32": torch.float32}[a.output_dtype]
    write_checkpoint(os.path.join(a.out, "model.safetensors"), with_unet(checkpoint, {k: v.cpu() for k, v in state.items()}),
                     dtype=dtype)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, KeyError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)
