"""The bundled default model's UNet (real trained weights, F16 on disk) run by the Swift library
(Examples/LibraryExample, built by `swift build`) and by diffusers with converted weights, on the
same inputs: 1e-4 relative. Skipped when the Swift binary has not been built."""
import os
import subprocess

import pytest
import torch
from safetensors.torch import load_file, save_file

from svdmv_torch.checkpoint import read_checkpoint, unet_from_checkpoint
from svdmv_torch.conditioning import vector_conditioning, vector_rows
from svdmv_torch.unet_forward import video_unet_forward

from seeded import DEFAULT_MODEL, ROOT


def swift_binary(name):
    for folder in (os.environ.get("SVDMV_BIN_DIR"), os.path.join(ROOT, ".build", "debug"),
                   os.path.join(ROOT, ".build", "release")):
        if folder and os.access(os.path.join(folder, name), os.X_OK):
            return os.path.join(folder, name)
    return None


@pytest.mark.skipif(swift_binary("LibraryExample") is None, reason="LibraryExample not built (swift build)")
def test_default_model_unet_matches_swift(tmp_path, record):
    frames = 5
    g = torch.Generator().manual_seed(5)
    x = torch.randn(frames, 8, 16, 16, generator=g)
    timesteps = torch.full((frames,), 0.25 * torch.log(torch.tensor(2.5)).item())
    context = torch.randn(1, 1, 32, generator=g).repeat(frames, 1, 1)
    y = vector_conditioning("sv3d_p", vector_rows("sv3d_p", 1, frames, 1e-5, [10, 12, 8, 10, 15],
                                                  [72, 144, 216, 288, 0]))
    inputs, out = str(tmp_path / "inputs.safetensors"), str(tmp_path / "out.safetensors")
    save_file({"x": x, "timesteps": timesteps, "context": context, "y": y}, inputs)
    subprocess.run([swift_binary("LibraryExample"), DEFAULT_MODEL, inputs, out], check=True,
                   capture_output=True, env={**os.environ, "SVDMV_THREADS": "1"})
    swift = load_file(out)["output"]
    unet = unet_from_checkpoint(read_checkpoint(DEFAULT_MODEL)).eval()
    with torch.no_grad():
        ours = video_unet_forward(unet, x, timesteps, context, y, frames)
    error = ((ours - swift).abs().max() / swift.abs().max()).item()
    record("unet parity default model vs Swift", error)
    assert error < 1e-4
