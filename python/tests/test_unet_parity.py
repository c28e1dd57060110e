"""The diffusers UNet with converted weights against sgm's VideoUNet outputs (the committed
fixtures the Swift UNet is tested against, written by Scripts/fixtures/make_unet_fixtures.py):
1e-4 relative to the output's largest magnitude (layers' tolerance in ARCHITECTURE.md)."""
import os

import pytest
import torch

from svdmv_torch.checkpoint import build_unet, diffusers_shapes
from svdmv_torch.conditioning import vector_conditioning, vector_rows
from svdmv_torch.unet_config import RELEASED, VideoUNetConfig
from svdmv_torch.unet_forward import video_unet_forward
from svdmv_torch.unet_keys import sgm_to_diffusers

from seeded import seeded_weights, unet_fixture

TOLERANCE = 1e-4


def config_from_network(params):
    """sgm network_config -> our config (only what the tiny fixtures vary)."""
    depth = params.get("transformer_depth", 1)
    return VideoUNetConfig(
        inChannels=params["in_channels"], outChannels=params["out_channels"], modelChannels=params["model_channels"],
        channelMultipliers=list(params["channel_mult"]), resBlocksPerLevel=params["num_res_blocks"],
        attentionDownsampleFactors=list(params["attention_resolutions"]), headWidth=params["num_head_channels"],
        transformerDepths=[depth] * len(params["channel_mult"]) if isinstance(depth, int) else list(depth),
        contextWidth=params["context_dim"], vectorWidth=params["adm_in_channels"])


def relative_error(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


def run_converted(config, weights, inputs, frames):
    unet = build_unet(config, device="meta")
    state = sgm_to_diffusers(weights, config, diffusers_shapes(config))
    unet.load_state_dict(state, strict=True, assign=True)  # the tensors themselves: no copy
    unet.eval()
    with torch.no_grad():
        return video_unet_forward(unet, inputs["x"], inputs["timesteps"], inputs["context"], inputs["y"], frames)


@pytest.mark.parametrize("name", ["tiny_sv3dp", "tiny_a"])
def test_tiny_unet_matches_sgm(name, record):
    description, tensors = unet_fixture(name)
    config = config_from_network(description["network_config"])
    weights = seeded_weights(description["parameters"], description["weight_seed"])
    out = run_converted(config, weights, tensors, description["frames"])
    error = relative_error(out, tensors["out"])
    record(f"unet parity {name}", error)
    assert error < TOLERANCE, f"{name}: max |diffusers - sgm| / max |sgm| = {error:.2e}"


def test_tiny_sv3dp_fixture_vector_is_ours():
    """The fixture's y (sgm's GeneralConditioner on 2 videos of 5 frames) from our conditioning."""
    _, tensors = unet_fixture("tiny_sv3dp")
    az = [72.0, 144.0, 216.0, 288.0, 0.0]
    rows = vector_rows("sv3d_p", videos=2, frames=5, cond_aug=1e-5,
                       elevations_deg=[10.0, 5.0, 0.0, -5.0, 30.0], azimuths_deg=az)
    y = vector_conditioning("sv3d_p", rows)
    assert (y - tensors["y"]).abs().max().item() < 1e-6


@pytest.mark.skipif(os.environ.get("SVDMV_FULL_WIDTH") != "1",
                    reason="full-width sv3d_p (1.5B parameters, ~12 GB, minutes): set SVDMV_FULL_WIDTH=1")
def test_full_width_sv3d_p_matches_sgm(record):
    description, tensors = unet_fixture("sv3d_p_full")
    from seeded import manifest
    parameters = manifest("sv3d_p")["parameters"]
    weights = seeded_weights(parameters, description["weight_seed"], round_to=torch.float16)
    out = run_converted(RELEASED["sv3d_p"], weights, tensors, description["frames"])
    error = relative_error(out, tensors["out"])
    record("unet parity sv3d_p full width", error)
    assert error < TOLERANCE


def test_svd_vector_equals_diffusers_own_added_time_ids():
    """For SVD-layout files y = [fps_id | motion_bucket_id | cond_aug] embeddings is exactly what
    diffusers' own forward builds from added_time_ids, so its SVD path stays usable as it is."""
    config = VideoUNetConfig(modelChannels=32, channelMultipliers=[1, 2], resBlocksPerLevel=1,
                             attentionDownsampleFactors=[2, 1], headWidth=16, contextWidth=32, vectorWidth=768)
    torch.manual_seed(3)
    unet = build_unet(config).eval()
    with torch.no_grad():
        for p in unet.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    frames, g = 4, torch.Generator().manual_seed(4)
    x = torch.randn(1, frames, 8, 8, 8, generator=g)
    context = torch.randn(1, 1, 32, generator=g)
    y = vector_conditioning("svd", vector_rows("svd", 1, frames, 0.02, fps_id=6, motion_bucket_id=127))
    with torch.no_grad():
        theirs = unet(x, torch.tensor([0.3]), context, added_time_ids=torch.tensor([[6.0, 127.0, 0.02]])).sample
        ours = video_unet_forward(unet, x[0], torch.full((frames,), 0.3), context.expand(frames, -1, -1), y, frames)
    assert relative_error(ours, theirs[0]) < 1e-5
