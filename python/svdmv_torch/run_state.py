"""The run folder, laid out as `svdmv train`'s (Sources/Training/TrainingRun.swift):

    RUN/config.json                  the settings the run was started with (a resume must repeat
                                     them, except steps, which may grow)
    RUN/checkpoints/step-000100/     trainable.safetensors (sgm keys, or our LoRA names),
                                     ema.safetensors, optimizer.pt, state.json (step, per-slot
                                     data position and random state), metrics.csv
    RUN/metrics.csv                  step, loss, learning_rate, gradient_norm, seconds
    RUN/model.safetensors            the whole model in our format at the end (EMA or merged LoRA)

A checkpoint folder is written under a hidden temporary name and renamed when complete, so a run
killed at any moment resumes from its last complete checkpoint."""
from __future__ import annotations

import json
import math
import os
import shutil

from .checkpoint import write_atomically

METRICS_HEADER = "step,loss,learning_rate,gradient_norm,seconds\n"


def learning_rate(step: int, peak: float, warmup: int, steps: int, schedule: str) -> float:
    """TrainingConfig.learningRate: linear warm-up, then constant or a half cosine to zero."""
    if warmup > 0 and step < warmup:
        return peak * step / warmup
    if schedule == "constant":
        return peak
    span = max(1, steps - warmup)
    progress = min(1.0, max(0, step - warmup) / span)
    return peak * 0.5 * (1 + math.cos(math.pi * progress))


def checkpoints_folder(run: str) -> str:
    return os.path.join(run, "checkpoints")


def checkpoint_steps(run: str) -> list[int]:
    folder = checkpoints_folder(run)
    if not os.path.isdir(folder):
        return []
    return sorted(int(n[5:]) for n in os.listdir(folder) if n.startswith("step-") and n[5:].isdigit())


def checkpoint_folder(run: str, step: int) -> str:
    return os.path.join(checkpoints_folder(run), f"step-{step:06d}")


def open_run(run: str, config: dict) -> None:
    """Writes config.json, or checks a resumed run's saved one (all but 'steps' must be equal)."""
    os.makedirs(checkpoints_folder(run), exist_ok=True)
    path = os.path.join(run, "config.json")
    if os.path.exists(path):
        with open(path) as f:
            saved = json.load(f)
        differing = sorted(k for k in set(saved) | set(config) if k != "steps" and saved.get(k) != config.get(k))
        if differing:
            details = ", ".join(f"{k} (run: {saved.get(k, 'unset')}, requested: {config.get(k, 'unset')})" for k in differing)
            raise ValueError(f"cannot resume: {path} differs from the requested settings in {details}: "
                             "resume with the options the run was started with")
    text = json.dumps(config, indent=2, sort_keys=True).encode()
    write_atomically(path, lambda p: open(p, "wb").write(text))


def metrics_csv(history: list) -> str:
    return METRICS_HEADER + "".join(f"{r['step']},{r['loss']!r},{r['learning_rate']!r},{r['gradient_norm']!r},"
                                    f"{r['seconds']!r}\n" for r in history)


def read_metrics(path: str) -> list:
    if not os.path.exists(path):
        return []
    rows = []
    with open(path) as f:
        for line in f.read().splitlines()[1:]:
            s, loss, lr, norm, seconds = line.split(",")
            rows.append({"step": int(s), "loss": float(loss), "learning_rate": float(lr),
                         "gradient_norm": float(norm), "seconds": float(seconds)})
    return rows


def write_checkpoint_folder(run: str, step: int, write_files, history: list, keep: int) -> None:
    """write_files(folder) writes the tensors and state; the folder appears complete or not at all."""
    final = checkpoint_folder(run, step)
    temporary = os.path.join(checkpoints_folder(run), f".step-{step}.{os.getpid()}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    os.makedirs(temporary)
    write_files(temporary)
    with open(os.path.join(temporary, "metrics.csv"), "w") as f:
        f.write(metrics_csv(history))
    shutil.rmtree(final, ignore_errors=True)
    os.replace(temporary, final)
    text = metrics_csv(history).encode()
    write_atomically(os.path.join(run, "metrics.csv"), lambda p: open(p, "wb").write(text))
    for old in checkpoint_steps(run)[:-max(1, keep)]:
        shutil.rmtree(checkpoint_folder(run, old), ignore_errors=True)
