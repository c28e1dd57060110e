"""The committed UNet fixtures' weights, regenerated as Scripts/fixtures/make_unet_fixtures.py
draws them (weight i = init_rule(torch.rand(shape) from a generator seeded seed + i)), and the
fixture files' locations."""
import json
import math
import os

import torch
from safetensors.torch import load_file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL_FIXTURES = os.path.join(ROOT, "Tests", "ModelsTests", "Fixtures")
DEFAULT_MODEL = os.path.join(ROOT, "Sources", "svdmv", "Resources", "default-model.safetensors")


def init_rule(key, shape, u):
    if key.endswith("mix_factor"):
        return (u * 2 - 1) * 2.0
    if len(shape) == 1 and key.endswith("weight"):
        return (u * 2 - 1) * 0.25 + 1.0
    if len(shape) == 1:
        return (u * 2 - 1) * 0.1
    return (u * 2 - 1) * math.sqrt(3.0 / math.prod(shape[1:]))


def seeded_weights(parameters, seed, round_to=None):
    """[(key, shape)] in state-dict order -> {key: tensor}."""
    out = {}
    for i, (key, shape) in enumerate(parameters):
        u = torch.rand(tuple(shape), generator=torch.Generator().manual_seed(seed + i))
        w = init_rule(key, tuple(shape), u)
        out[key] = w.to(round_to).float() if round_to is not None else w
    return out


def unet_fixture(name):
    """(description json, tensors) of Tests/ModelsTests/Fixtures/unet_<name>."""
    with open(os.path.join(MODEL_FIXTURES, f"unet_{name}.json")) as f:
        description = json.load(f)
    return description, load_file(os.path.join(MODEL_FIXTURES, f"unet_{name}.safetensors"))


def manifest(name):
    with open(os.path.join(MODEL_FIXTURES, f"unet_manifest_{name}.json")) as f:
        return json.load(f)
