#!/usr/bin/env python3
"""Writes an open_clip model's weights as the safetensors file `svdmv evaluate --clip-weights` reads
(open_clip's own state-dict key names; the text tower is kept and ignored by the loader).

    .venv/bin/python Scripts/export-clip-weights.py ViT-B-32 --pretrained openai --out clip-b32-openai.safetensors
    .venv/bin/python Scripts/export-clip-weights.py ViT-L-14 --pretrained laion2b_s32b_b82k --out clip-l14.safetensors
    .venv/bin/python Scripts/export-clip-weights.py ViT-B-32 --random --out random-b32.safetensors   # benchmarks

`--pretrained` downloads through open_clip (needs network or its cache). Use the activation the
weights were trained with: OpenAI's ("openai" tag) need `--clip-activation quickgelu`, OpenCLIP's
(LAION, DataComp) `--clip-activation gelu`; the file's metadata records which.
"""
import argparse

import open_clip
import torch
from safetensors.torch import save_file

p = argparse.ArgumentParser()
p.add_argument("model")
p.add_argument("--pretrained", default=None)
p.add_argument("--random", action="store_true", help="random weights (seeded), no download")
p.add_argument("--out", required=True)
a = p.parse_args()
if not a.random and not a.pretrained:
    p.error("give --pretrained TAG or --random")
torch.manual_seed(0)
model = open_clip.create_model(a.model, pretrained=None if a.random else a.pretrained)
quick = a.pretrained == "openai" or a.model.endswith("-quickgelu")
state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
save_file(state, a.out, metadata={"open_clip_model": a.model, "pretrained": "random" if a.random else a.pretrained,
                                  "svdmv_clip_activation": "quickgelu" if quick else "gelu"})
print(f"wrote {a.out}: {len(state)} tensors; use --clip-activation {'quickgelu' if quick else 'gelu'}")
