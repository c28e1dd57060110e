"""EMA against sgm's own LitEma (Tests/TrainingTests/Fixtures/ema.safetensors, bit for bit), and
LoRA adapters under our key names: the names and shapes Swift's LoRAAdapters gives the same
checkpoint, peft's adapted UNet equal to the merged weights, and a saved file loading back."""
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from svdmv_torch.checkpoint import read_checkpoint, unet_from_checkpoint, unet_state_for_checkpoint
from svdmv_torch.conditioning import vector_conditioning, vector_rows
from svdmv_torch.ema import EMA
from svdmv_torch.lora import TEMPORAL_ATTENTION, add_lora, load_lora, lora_state, merged_unet_state, save_lora
from svdmv_torch.unet_forward import video_unet_forward

from seeded import DEFAULT_MODEL, ROOT


def test_ema_matches_lit_ema_bit_for_bit():
    t = load_file(f"{ROOT}/Tests/TrainingTests/Fixtures/ema.safetensors")
    decay = t["decay"].item()
    for label, warm in (("warm", True), ("constant", False)):
        ema = EMA([("weight", t["init.weight"]), ("bias", t["init.bias"])], decay, warm_up=warm)
        for n in range(1, 26):
            ema.update([("weight", t[f"step{n}.weight"]), ("bias", t[f"step{n}.bias"])], n)
            for name in ("weight", "bias"):
                assert torch.equal(ema.shadow[name], t[f"{label}{n}.{name}"]), (label, n, name)


def swift_lora_keys(sgm_unet_shapes):
    """Swift's LoRAConfig.isTarget over the checkpoint's UNet keys, as adapter names and shapes."""
    out = {}
    for key, shape in sgm_unet_shapes.items():
        if len(shape) == 2 and any(key.endswith("." + t + ".weight") for t in TEMPORAL_ATTENTION):
            path = "model.diffusion_model." + key[:-len(".weight")]
            out[path + ".lora_A.weight"] = (4, shape[1])
            out[path + ".lora_B.weight"] = (shape[0], 4)
    return out


def inputs(frames=5):
    g = torch.Generator().manual_seed(9)
    y = vector_conditioning("sv3d_p", vector_rows("sv3d_p", 1, frames, 1e-5, [10] * frames, [72, 144, 216, 288, 0]))
    return (torch.randn(frames, 8, 16, 16, generator=g), torch.full((frames,), 0.2),
            torch.randn(frames, 1, 32, generator=g), y)


def test_lora_names_merge_and_reload(tmp_path):
    checkpoint = read_checkpoint(DEFAULT_MODEL)
    config = checkpoint.unet_config
    unet = unet_from_checkpoint(checkpoint)
    add_lora(unet, config, rank=4)
    trainable = [n for n, p in unet.named_parameters() if p.requires_grad]
    assert trainable and all(".lora_" in n for n in trainable)
    with torch.no_grad():  # non-zero B so the adapters change the output
        for n, p in unet.named_parameters():
            if ".lora_B." in n:
                p.copy_(torch.randn(p.shape, generator=torch.Generator().manual_seed(len(n))) * 0.05)
    state = lora_state(unet)
    assert {k: tuple(v.shape) for k, v in state.items()} == swift_lora_keys(
        {k: tuple(v.shape) for k, v in checkpoint.unet.items()})
    x, ts, ctx, y = inputs()
    with torch.no_grad():
        adapted = video_unet_forward(unet, x, ts, ctx, y, 5)
        merged = unet_from_checkpoint(checkpoint)
        merged.load_state_dict(merged_unet_state(unet, config), strict=True)
        plain = video_unet_forward(merged, x, ts, ctx, y, 5)
    assert ((adapted - plain).abs().max() / plain.abs().max()).item() < 1e-5
    path = str(tmp_path / "lora.safetensors")
    save_lora(unet, path)
    with safe_open(path, framework="pt") as f:
        assert f.metadata() == {"lora_rank": "4", "lora_alpha": "4.0", "lora_targets": ",".join(TEMPORAL_ATTENTION)}
    again = unet_from_checkpoint(checkpoint)
    load_lora(again, config, path)
    with torch.no_grad():
        assert torch.equal(video_unet_forward(again, x, ts, ctx, y, 5), adapted)
    # the merged weights go back under sgm keys for a whole checkpoint
    assert set(unet_state_for_checkpoint(merged, config)) == set(checkpoint.unet)


def test_adapters_from_svdmv_train_load_and_merge_as_swift_merges(tmp_path):
    """`svdmv train --lora` (Swift) on shards written here: its lora.safetensors loads strictly
    into peft, and merging it gives the UNet weights of the model.safetensors Swift exported."""
    import subprocess

    import pytest

    from shards import write_shards
    from svdmv_torch.checkpoint import read_checkpoint as read
    from test_swift_unet_parity import swift_binary
    svdmv = swift_binary("svdmv")
    if svdmv is None:
        pytest.skip("svdmv not built (swift build)")
    shards, run = tmp_path / "shards", tmp_path / "run"
    write_shards(str(shards), shards=2, per_shard=1, frames=5, size=64)
    subprocess.run([svdmv, "train", "--data", str(shards), "--out", str(run), "--init-from", DEFAULT_MODEL,
                    "--lora", "2", "--lora-alpha", "4", "--steps", "2", "--learning-rate", "0.01"],
                   check=True, capture_output=True, env={**__import__("os").environ, "SVDMV_THREADS": "2"})
    checkpoint = read_checkpoint(DEFAULT_MODEL)
    unet = unet_from_checkpoint(checkpoint)
    load_lora(unet, checkpoint.unet_config, str(run / "lora.safetensors"))
    assert unet._svdmv_lora["alpha"] == 4.0 and unet._svdmv_lora["rank"] == 2
    merged = unet_from_checkpoint(checkpoint)
    merged.load_state_dict(merged_unet_state(unet, checkpoint.unet_config), strict=True)
    ours = unet_state_for_checkpoint(merged, checkpoint.unet_config)
    swift = read(str(run / "model.safetensors")).unet
    changed = [k for k in swift if not torch.equal(swift[k].float(), checkpoint.unet[k].float())]
    assert changed and all(".time_stack.0.attn" in k for k in changed)
    for k in swift:
        scale = swift[k].float().abs().max().clamp_min(1e-12)
        assert ((ours[k].float() - swift[k].float()).abs().max() / scale).item() < 1e-6, k
