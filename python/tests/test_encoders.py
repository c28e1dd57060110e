"""The frozen conditioners against the reference fixtures (Scripts/fixtures/make_vae_clip_fixtures.py:
sgm's Encoder + quant_conv, open_clip's VisionTransformer, sgm's kornia preprocessing), 1e-4
relative, and loaded strictly from our bundled checkpoint."""
import pytest
import torch
from safetensors.torch import load_file

from svdmv_torch.checkpoint import read_checkpoint
from svdmv_torch.encoders import ConditioningEncoder, FrozenConditioners, VisionTransformer, clip_preprocess

from seeded import DEFAULT_MODEL, MODEL_FIXTURES

TINY_VAE = {"baseChannels": 32, "channelMultipliers": [2, 1], "resBlockCount": 1, "attentionResolutions": [8],
            "latentChannels": 4, "resolution": 16}
TINY_VIT = {"width": 64, "layerCount": 2, "headCount": 2, "patchSize": 14, "imageSize": 224, "mlpWidth": 256,
            "outputWidth": 32}


def fixture(name):
    return load_file(f"{MODEL_FIXTURES}/{name}.safetensors")


def relative(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def test_vae_encoder_mean_matches_sgm(record):
    t = fixture("vae_encoder")
    encoder = ConditioningEncoder(TINY_VAE)
    encoder.load_state_dict({k[len("weights."):]: v for k, v in t.items() if k.startswith("weights.")}, strict=True)
    with torch.no_grad():
        mean = encoder(t["input"])
    error = relative(mean, t["mean"])
    record("vae encoder mean vs sgm", error)
    assert error < 1e-4


@pytest.mark.parametrize("name,activation", [("clip_vit", "gelu"), ("clip_vit_quickgelu", "quickgelu")])
def test_clip_tower_matches_open_clip(name, activation, record):
    t = fixture(name)
    vit = VisionTransformer({**TINY_VIT, "activation": activation})
    vit.load_state_dict({k[len("weights."):]: v for k, v in t.items() if k.startswith("weights.")}, strict=True)
    with torch.no_grad():
        out = vit(fixture("clip_vit_input")["input"])
    error = relative(out, t["output"])
    record(f"{name} vs open_clip", error)
    assert error < 1e-4


def test_sgm_preprocessing_and_embedder(record):
    t, weights = fixture("clip_preprocess"), fixture("clip_vit")
    error = relative(clip_preprocess(t["clip.input"]), t["clip.output"])
    record("clip preprocess vs sgm/kornia", error)
    assert error < 1e-5
    vit = VisionTransformer(TINY_VIT)
    vit.load_state_dict({k[len("weights."):]: v for k, v in weights.items() if k.startswith("weights.")})
    with torch.no_grad():
        assert relative(vit(clip_preprocess(t["clip.input"])), t["embedder.output"]) < 1e-4


def test_checkpoint_conditioners_load_strictly():
    conditioners = FrozenConditioners(read_checkpoint(DEFAULT_MODEL))
    frames = torch.rand(2, 3, 64, 64) * 2 - 1
    assert conditioners.encode(frames).shape == (2, 4, 16, 16)
    assert conditioners.clip(frames[-1:]).shape == (1, 1, 32)
    assert abs(conditioners.scale_factor - 0.5720271) < 1e-6   # the bundled model's latent scale (its metadata)
    assert not any(p.requires_grad for p in conditioners.parameters())


def test_vae_decoder_matches_sgm(record):
    from svdmv_torch.decoder import Decoder
    t = fixture("vae_decoder")
    decoder = Decoder(TINY_VAE)
    decoder.load_state_dict({k[len("weights.decoder."):]: v for k, v in t.items() if k.startswith("weights.decoder.")},
                            strict=True)
    with torch.no_grad():
        out = decoder(t["input"])
    error = relative(out, t["output"])
    record("vae decoder vs sgm", error)
    assert error < 1e-4


def test_checkpoint_decoder_loads_strictly():
    from svdmv_torch.decoder import first_stage_decoder
    decoder = first_stage_decoder(read_checkpoint(DEFAULT_MODEL))
    assert decoder(torch.zeros(1, 4, 16, 16)).shape == (1, 3, 64, 64)
