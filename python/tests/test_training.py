"""The training entry point end to end on the CPU, on a tiny SV3D_p checkpoint and shards:
2-process DDP (gloo, through `accelerate launch`) gives the loss curve of 1 process accumulating
the same videos (1e-5), a run killed with SIGKILL resumes to the uninterrupted curve exactly, LoRA
runs write adapters under our names, and a resume with other settings is refused by name."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

from svdmv_torch.checkpoint import read_checkpoint
from svdmv_torch.run_state import read_metrics

from shards import write_shards
from tiny_model import write_tiny_model

PYTHON = sys.executable
ACCELERATE = os.path.join(os.path.dirname(PYTHON), "accelerate")
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("training")
    model = write_tiny_model(str(root / "tiny.safetensors"))
    shards = str(root / "shards")
    write_shards(shards, shards=2, per_shard=3, frames=3, size=32)
    return root, model, shards


def train_args(model, shards, out, *extra):
    return ["-m", "svdmv_torch.train", "--data", shards, "--out", str(out), "--init-from", model,
            "--steps", str(STEPS), "--checkpoint-every", "1", "--ema", "0.9", "--warmup", "2", *extra]


def run(command, **kw):
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=PACKAGE_ROOT, env=env, capture_output=True, text=True, timeout=600, **kw)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def single(setup):
    """1 process, 2 videos per step (gradient accumulation), uninterrupted."""
    root, model, shards = setup
    out = root / "single"
    run([PYTHON, *train_args(model, shards, out, "--videos-per-step", "2")])
    return out


def losses(out):
    return [r["loss"] for r in read_metrics(os.path.join(out, "metrics.csv"))]


def test_ddp_two_processes_equal_one_process_accumulating(setup, single, record):
    root, model, shards = setup
    out = root / "ddp"
    run([*ddp_launch(29531), *train_args(model, shards, out, "--videos-per-step", "1")])
    with open(os.path.join(out, "checkpoints", f"step-{STEPS:06d}", "state.json")) as f:
        assert sorted(json.load(f)["slots"]) == ["0", "1"], "two processes, one slot each"
    a, b = losses(single), losses(out)
    assert len(a) == len(b) == STEPS
    worst = max(abs(x - y) / abs(x) for x, y in zip(a, b))
    record("DDP 2 processes vs 1 process accumulating: loss curve", worst)
    assert worst < 1e-5, (a, b)
    wa, wb = load_file(os.path.join(single, "model.safetensors")), load_file(os.path.join(out, "model.safetensors"))
    weight_error = max(((wa[k] - wb[k]).abs().max() / wa[k].abs().max().clamp_min(1e-12)).item() for k in wa)
    record("DDP vs accumulation: exported EMA weights", weight_error)
    assert weight_error < 1e-4


def ddp_launch(port):
    return [ACCELERATE, "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1", "--mixed_precision",
            "no", "--dynamo_backend", "no", "--main_process_port", str(port)]


@pytest.mark.parametrize("launcher", ["one process", "ddp"])
def test_resume_after_kill_repeats_the_curve(setup, single, launcher):
    """SIGKILL to the whole process group once the second checkpoint is complete, then the same
    command again: it resumes and repeats the uninterrupted curve (and weights) exactly."""
    root, model, shards = setup
    out = root / f"killed-{launcher.replace(' ', '-')}"
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT, "OMP_NUM_THREADS": "1"}
    if launcher == "ddp":
        command = [*ddp_launch(29533), *train_args(model, shards, out, "--videos-per-step", "1")]
    else:
        command = [PYTHON, *train_args(model, shards, out, "--videos-per-step", "2")]
    process = subprocess.Popen(command, cwd=PACKAGE_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    target = os.path.join(out, "checkpoints", "step-000002")
    deadline = time.time() + 300
    while not os.path.isdir(target) and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert os.path.isdir(target), "the run never wrote its second checkpoint"
    assert not os.path.exists(os.path.join(out, "model.safetensors")), "killed before the end"
    result = run(command)
    assert "resumed" in result.stdout
    assert losses(out) == losses(single)
    a, b = load_file(os.path.join(single, "model.safetensors")), load_file(os.path.join(out, "model.safetensors"))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_lora_run_writes_our_adapter_names(setup):
    root, model, shards = setup
    out = root / "lora"
    run([PYTHON, *train_args(model, shards, out, "--lora", "4")])
    with safe_open(os.path.join(out, "lora.safetensors"), framework="pt") as f:
        keys = list(f.keys())
        assert f.metadata()["lora_rank"] == "4"
    assert keys and all(k.startswith("model.diffusion_model.") and ".time_stack.0.attn" in k
                        and (k.endswith(".lora_A.weight") or k.endswith(".lora_B.weight")) for k in keys)
    trained = load_file(os.path.join(out, "checkpoints", f"step-{STEPS:06d}", "trainable.safetensors"))
    assert set(trained) == set(keys)
    assert any(trained[k].abs().max() > 0 for k in keys if k.endswith("lora_B.weight")), "B moved from zero"
    exported = read_checkpoint(os.path.join(out, "model.safetensors"))
    base = read_checkpoint(model)
    changed = {k for k in base.unet if not torch.equal(base.unet[k], exported.unet[k])}
    assert changed and all(".time_stack.0.attn" in k for k in changed), "only adapted weights change"


def test_resume_with_other_settings_is_refused(setup, single):
    _, model, shards = setup
    env = {**os.environ, "PYTHONPATH": PACKAGE_ROOT}
    result = subprocess.run([PYTHON, *train_args(model, shards, single, "--videos-per-step", "2", "--p-mean", "0.5")],
                            cwd=PACKAGE_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert "p_mean (run: 1.0, requested: 0.5)" in result.stderr


def test_exported_models_load_in_svdmv(setup, single, tmp_path):
    """svdmv loads what the companion writes strictly (every tensor of the model, nothing else):
    the full finetuning run's model.safetensors samples an orbit with `svdmv generate`."""
    from test_swift_unet_parity import swift_binary
    svdmv = swift_binary("svdmv")
    if svdmv is None:
        pytest.skip("svdmv not built (swift build)")
    from seeded import ROOT
    out = tmp_path / "orbit"
    result = subprocess.run([svdmv, "generate", f"{ROOT}/Sources/svdmv/Resources/example-input.png", "--checkpoint",
                             os.path.join(single, "model.safetensors"), "--out", str(out), "--frames", "3",
                             "--steps", "1", "--guider", "none", "--keep-framing"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / "002.png").exists() and (out / "cameras.json").exists()
