"""Sampling pieces against sgm (Tests/DiffusionTests/Fixtures/diffusion.safetensors: the EDM
schedule, the guiders' frame scales, the denoiser scalings and loss weights), and a whole orbit
against `svdmv generate` on the bundled model with the same input, seed and settings (skipped
when the svdmv binary is not built): the PNGs within one 8-bit level, cameras.json equal."""
import json
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from svdmv_torch.objective import denoiser_coefficients, loss_weight
from svdmv_torch.sample import main as sample_main
from svdmv_torch.sampling import edm_sigmas, frame_scales

from seeded import DEFAULT_MODEL, ROOT
from test_swift_unet_parity import swift_binary

DIFFUSION = load_file(f"{ROOT}/Tests/DiffusionTests/Fixtures/diffusion.safetensors")


@pytest.mark.parametrize("name,steps,sigma_max", [("edm700.8", 8, 700.0), ("edm700.25", 25, 700.0),
                                                  ("edm700.50", 50, 700.0), ("edm80.20", 20, 80.0)])
def test_edm_schedule_matches_sgm(name, steps, sigma_max):
    expected = DIFFUSION[f"sigmas.{name}"]
    ours = edm_sigmas(steps, sigma_max=sigma_max)
    assert ((ours - expected).abs() / expected.clamp_min(1e-30)).max() < 1e-6


@pytest.mark.parametrize("guider,frames", [(g, n) for g in ("linear", "triangle") for n in (5, 14, 21)])
def test_guider_scales_match_sgm(guider, frames):
    # the fixture's scales: triangle 1 -> 2.5, linear 1 -> 3.0
    top = 3.0 if guider == "linear" else 2.5
    assert torch.allclose(frame_scales(guider, frames, 1.0, top), DIFFUSION[f"guider.{guider}.{frames}"], atol=1e-6)


def test_denoiser_scaling_and_weights_match_sgm():
    sigmas = DIFFUSION["scaling.sigmas"]
    skip, out, inp, noise = denoiser_coefficients(sigmas)
    for ours, key in ((skip, "skip"), (out, "out"), (inp, "in"), (noise, "noise")):
        assert torch.allclose(ours, DIFFUSION[f"scaling.vedm.{key}"].reshape(ours.shape), rtol=1e-6, atol=1e-7), key
    for w in ("v", "edm", "eps"):
        assert torch.allclose(loss_weight(sigmas, w), DIFFUSION[f"weighting.{w}"], rtol=1e-6), w


@pytest.mark.skipif(swift_binary("svdmv") is None, reason="svdmv not built (swift build)")
def test_orbit_matches_svdmv_generate(tmp_path, record):
    swift, ours = tmp_path / "swift", tmp_path / "python"
    subprocess.run([swift_binary("svdmv"), "generate", f"{ROOT}/Sources/svdmv/Resources/example-input.png",
                    "--out", str(swift), "--keep-framing", "--frames", "5", "--elevation", "12", "--seed", "7"],
                   check=True, capture_output=True)
    assert sample_main([str(swift / "input.png"), "--out", str(ours), "--checkpoint", DEFAULT_MODEL, "--frames", "5",
                        "--elevation", "12", "--seed", "7", "--device", "cpu"]) == 0
    worst, differing = 0, 0.0
    for i in range(5):
        a = np.asarray(Image.open(swift / f"{i:03d}.png").convert("RGB")).astype(int)
        b = np.asarray(Image.open(ours / f"{i:03d}.png").convert("RGB")).astype(int)
        worst, differing = max(worst, np.abs(a - b).max()), max(differing, (a != b).mean())
    record("orbit vs svdmv generate: largest 8-bit difference", worst)
    record("orbit vs svdmv generate: share of differing values", differing)
    assert worst <= 1 and differing < 0.01
    assert sorted(p.name for p in swift.iterdir()) == sorted(p.name for p in ours.iterdir()), "the same files"
    assert Image.open(ours / "orbit.png").n_frames == 5
    a, b = json.loads((swift / "cameras.json").read_text()), json.loads((ours / "cameras.json").read_text())
    assert set(a) == set(b) and set(a["generation"]) == set(b["generation"])
    for key in a["generation"]:
        if key != "checkpoint":
            assert a["generation"][key] == pytest.approx(b["generation"][key]) if not isinstance(a["generation"][key], str) \
                else a["generation"][key] == b["generation"][key], key
    assert np.allclose(np.array(a["K"]), np.array(b["K"]))
    for va, vb in zip(a["views"], b["views"]):
        assert set(va) == set(vb) and va["file"] == vb["file"]
        for key in ("elevation_deg", "azimuth_deg", "distance", "position", "world_to_camera_opencv",
                    "world_to_camera_opengl"):
            assert np.allclose(np.array(va[key]), np.array(vb[key]), atol=1e-12), key
