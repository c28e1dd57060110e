"""sgm-keyed checkpoints <-> diffusers, strictly: the released layouts' every key (from sgm's own
state-dict manifests), our bundled model round-tripped bit for bit in F16, BF16 and F32, and
errors that name the offending keys."""
import pytest
import torch
from safetensors import safe_open

from svdmv_torch.checkpoint import (read_checkpoint, unet_from_checkpoint, unet_state_for_checkpoint,
                                    with_unet, write_checkpoint)
from svdmv_torch.convert import main as convert_main
from svdmv_torch.unet_config import RELEASED, METADATA_KEY, VideoUNetConfig, UnsupportedConfig, model_config
from svdmv_torch.checkpoint import diffusers_shapes
from svdmv_torch.unet_keys import KeyMismatch, diffusers_to_sgm, sgm_to_diffusers

from seeded import DEFAULT_MODEL, manifest


@pytest.mark.parametrize("name", ["sv3d_p", "sv3d_u", "svd"])
def test_released_layouts_map_every_key(name):
    """Every key of sgm's VideoUNet built from the sampling config maps to one diffusers key of the
    same shape, and back (meta tensors: no memory)."""
    params = manifest(name)["parameters"]
    state = {k: torch.empty(s, device="meta") for k, s in params}
    _, config = model_config({}, {"model.diffusion_model." + k: s for k, s in params}, name)
    assert config == RELEASED[name]
    shapes = diffusers_shapes(config)
    converted = sgm_to_diffusers(state, config, shapes)
    assert len(converted) == len(state) == len(shapes)
    back = diffusers_to_sgm(converted, config, shapes)
    assert set(back) == set(state)


def file_tensors(path):
    with safe_open(path, framework="pt") as f:
        return dict(f.metadata() or {}), {k: f.get_tensor(k) for k in f.keys()}


def assert_bit_identical(a, b):
    assert set(a) == set(b)
    for k in a:
        assert a[k].dtype == b[k].dtype, k
        assert a[k].shape == b[k].shape, k
        assert torch.equal(a[k].view(torch.uint8) if a[k].dtype != torch.bool else a[k],
                           b[k].view(torch.uint8) if b[k].dtype != torch.bool else b[k]), k


@pytest.mark.parametrize("dtype", [None, torch.float32, torch.bfloat16])
def test_round_trip_is_bit_identical(tmp_path, dtype):
    """Our bundled model (F16 on disk) as F16 (stored dtype), F32 and BF16: checkpoint -> diffusers
    UNet -> checkpoint gives the same bytes for every tensor, the other parts and the metadata."""
    source = DEFAULT_MODEL
    if dtype is not None:  # first a copy of the model in that dtype
        source = str(tmp_path / "model.safetensors")
        write_checkpoint(source, read_checkpoint(DEFAULT_MODEL), dtype=dtype)
    checkpoint = read_checkpoint(source)
    unet = unet_from_checkpoint(checkpoint, dtype=None)
    assert next(unet.parameters()).dtype == (dtype or torch.float16)
    out = str(tmp_path / "back.safetensors")
    write_checkpoint(out, with_unet(checkpoint, unet_state_for_checkpoint(unet, checkpoint.unet_config)))
    meta_a, a = file_tensors(source)
    meta_b, b = file_tensors(out)
    assert meta_a == meta_b
    assert_bit_identical(a, b)


def test_command_line_round_trip(tmp_path):
    out_dir = str(tmp_path / "diffusers")
    assert convert_main(["to-diffusers", DEFAULT_MODEL, out_dir]) == 0
    out = str(tmp_path / "back.safetensors")
    assert convert_main(["to-sgm", out_dir, "--base", DEFAULT_MODEL, "--out", out, "--dtype", "f16"]) == 0
    _, a = file_tensors(DEFAULT_MODEL)
    _, b = file_tensors(out)
    assert_bit_identical(a, b)


def test_conversion_names_unused_and_missing_keys():
    checkpoint = read_checkpoint(DEFAULT_MODEL)
    config = checkpoint.unet_config
    shapes = diffusers_shapes(config)
    extra = dict(checkpoint.unet)
    extra["input_blocks.1.1.time_stack.0.attn1.to_q.lora_A.weight"] = torch.zeros(4, 64)
    with pytest.raises(KeyMismatch, match=r"input_blocks\.1\.1\.time_stack\.0\.attn1\.to_q\.lora_A\.weight"):
        sgm_to_diffusers(extra, config, shapes)
    missing = dict(checkpoint.unet)
    del missing["middle_block.1.time_mixer.mix_factor"]
    with pytest.raises(KeyMismatch, match=r"missing: mid_block\.attentions\.0\.time_mixer\.mix_factor"):
        sgm_to_diffusers(missing, config, shapes)
    stray = dict(checkpoint.unet)
    stray["not_a_block.weight"] = torch.zeros(1)
    with pytest.raises(KeyMismatch, match=r"not_a_block\.weight"):
        sgm_to_diffusers(stray, config, shapes)
    wrong = dict(checkpoint.unet)
    wrong["out.2.weight"] = torch.zeros(4, 64, 1, 1)
    with pytest.raises(KeyMismatch, match=r"conv_out\.weight"):
        sgm_to_diffusers(wrong, config, shapes)


def test_unsupported_options_are_named(tmp_path):
    config = VideoUNetConfig(modelChannels=32, channelMultipliers=[1], attentionDownsampleFactors=[1],
                             headWidth=32, contextWidth=32, vectorWidth=96, usesSpatialContextForTime=False,
                             mergeStrategy="learned")
    with pytest.raises(UnsupportedConfig, match="mergeStrategy learned.*usesSpatialContextForTime"):
        config.diffusers_config()
    with pytest.raises(UnsupportedConfig, match="label_emb.0.0.weight has shape"):
        model_config({}, {"model.diffusion_model.label_emb.0.0.weight": [1280, 100]}, "x.safetensors")
    with pytest.raises(UnsupportedConfig, match="not a model config"):
        model_config({METADATA_KEY: "{}"}, {}, "x.safetensors")
