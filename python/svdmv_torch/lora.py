"""LoRA on the temporal attention with `peft`, saved and loaded under OUR adapter names
(Sources/Training/LoRA.swift): `model.diffusion_model.<sgm module>.lora_A.weight` [rank, in] and
`.lora_B.weight` [out, rank], metadata lora_rank, lora_alpha, lora_targets; ΔW = (alpha/rank)·B·A,
the same as peft's. The default targets are Swift's: the first temporal transformer block's
attn1/attn2 q, k, v and out projections of every SpatialVideoTransformer."""
from __future__ import annotations

import re

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .checkpoint import write_atomically
from .unet_config import UNET_PREFIX, VideoUNetConfig
from .unet_keys import prefix_pairs

TEMPORAL_ATTENTION = ["time_stack.0.attn1.to_q", "time_stack.0.attn1.to_k", "time_stack.0.attn1.to_v",
                      "time_stack.0.attn1.to_out.0", "time_stack.0.attn2.to_q", "time_stack.0.attn2.to_k",
                      "time_stack.0.attn2.to_v", "time_stack.0.attn2.to_out.0"]


def _rename(key, table):
    parts = key.split(".")
    for n in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:n])
        if head in table:
            return table[head] + "." + ".".join(parts[n:])
    raise KeyError(f"{key} is not a UNet weight")


def target_modules(unet, config: VideoUNetConfig, targets=TEMPORAL_ATTENTION) -> dict:
    """diffusers module name -> sgm module path of every Linear whose sgm weight key matches a
    target as Swift's LoRAConfig.isTarget does (the key less '.weight' ends with the target)."""
    to_sgm = {b: a for a, b in prefix_pairs(config)}
    out = {}
    for name, module in unet.named_modules():
        if isinstance(module, torch.nn.Linear):
            sgm = _rename(name + ".weight", to_sgm)[:-len(".weight")]
            if any(sgm == t or sgm.endswith("." + t) for t in targets):
                out[name] = sgm
    if not out:
        raise ValueError(f"LoRA: no 2-D weight of the model matches the targets {targets}")
    return out


def add_lora(unet, config: VideoUNetConfig, rank: int, alpha: float | None = None, targets=TEMPORAL_ATTENTION):
    """Injects peft LoRA layers (A Kaiming-uniform, B zero: an untrained adapter changes nothing)
    and freezes everything else. Returns {diffusers module: sgm module}."""
    from peft import LoraConfig, inject_adapter_in_model
    modules = target_modules(unet, config, targets)
    pattern = "^(" + "|".join(re.escape(m) for m in sorted(modules)) + ")$"
    lora = LoraConfig(r=rank, lora_alpha=alpha if alpha is not None else rank, target_modules=pattern,
                      lora_dropout=0.0, bias="none", init_lora_weights=True)
    inject_adapter_in_model(lora, unet)
    for name, p in unet.named_parameters():
        p.requires_grad_(".lora_A." in name or ".lora_B." in name)
    unet._svdmv_lora = {"rank": rank, "alpha": float(alpha if alpha is not None else rank),
                        "targets": list(targets), "modules": modules}
    return modules


def lora_state(unet) -> dict:
    """The adapters under our names (model.diffusion_model.<sgm path>.lora_A.weight ...)."""
    modules = unet._svdmv_lora["modules"]
    out = {}
    for name, p in unet.named_parameters():
        m = re.match(r"^(.*)\.(lora_[AB])\.default\.weight$", name)
        if m:
            out[f"{UNET_PREFIX}{modules[m.group(1)]}.{m.group(2)}.weight"] = p.detach().float().cpu().contiguous()
    return out


def lora_metadata(unet) -> dict:
    info = unet._svdmv_lora
    return {"lora_rank": str(info["rank"]), "lora_alpha": str(info["alpha"]), "lora_targets": ",".join(info["targets"])}


def save_lora(unet, path: str) -> None:
    tensors, metadata = lora_state(unet), lora_metadata(unet)
    write_atomically(path, lambda p: save_file(tensors, p, metadata=metadata))


def load_lora(unet, config: VideoUNetConfig, path: str):
    """Adds adapters as the file describes (ours or Swift's lora.safetensors) and loads them,
    strictly: every file tensor used, every adapter filled, else the error names them."""
    with safe_open(path, framework="pt") as f:
        meta = f.metadata() or {}
        if "lora_rank" not in meta or "lora_alpha" not in meta:
            raise KeyError(f"{path} has no lora_rank/lora_alpha metadata")
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    targets = meta.get("lora_targets", ",".join(TEMPORAL_ATTENTION)).split(",")
    modules = add_lora(unet, config, int(meta["lora_rank"]), float(meta["lora_alpha"]), targets)
    by_sgm = {v: k for k, v in modules.items()}
    params = dict(unet.named_parameters())
    used = set()
    for key, value in tensors.items():
        m = re.match(rf"^{re.escape(UNET_PREFIX)}(.*)\.(lora_[AB])\.weight$", key)
        target = m and by_sgm.get(m.group(1))
        name = f"{target}.{m.group(2)}.default.weight" if target else None
        if name is None or name not in params:
            raise KeyError(f"{path}: adapter {key} fits no targeted module")
        if params[name].shape != value.shape:
            raise KeyError(f"{path}: {key} has shape {tuple(value.shape)}, the model needs {tuple(params[name].shape)}")
        with torch.no_grad():
            params[name].copy_(value)
        used.add(name)
    missing = sorted(n for n in params if ".lora_" in n and n not in used)
    if missing:
        raise KeyError(f"{path}: no tensors for {missing[:10]}")


def merged_unet_state(unet, config: VideoUNetConfig) -> dict:
    """The base weights with the adapters folded in (W + (alpha/rank)·B·A), under diffusers' base
    names, for writing a whole model."""
    info = unet._svdmv_lora
    scale = info["alpha"] / info["rank"]
    state = {}
    params = dict(unet.named_parameters())
    for name, p in list(params.items()) + [(n, b) for n, b in unet.named_buffers()]:
        if ".lora_" in name:
            continue
        base = name.replace(".base_layer.", ".")
        state[base] = p.detach()
    for module in info["modules"]:
        a, b = params[f"{module}.lora_A.default.weight"], params[f"{module}.lora_B.default.weight"]
        w = state[f"{module}.weight"]
        state[f"{module}.weight"] = (w.float() + scale * (b.float() @ a.float())).to(w.dtype)
    return state
