"""Exponential moving average of the trainable weights, sgm's LitEma (as
Sources/Training/EMA.swift): after optimiser step n, ema ← ema − (1 − d)·(ema − w) with
d = min(decay, (1 + n)/(10 + n)) when warming up (LitEma's default), else d = decay."""
from __future__ import annotations

import torch


class EMA:
    def __init__(self, named_parameters, decay: float, warm_up: bool = True):
        self.decay, self.warm_up = decay, warm_up
        self.shadow = {k: p.detach().clone().float() for k, p in named_parameters}

    def decay_at(self, n: int) -> torch.Tensor:
        """LitEma's arithmetic: its decay is a float32 buffer, (1 + n)/(10 + n) a float32 quotient."""
        decay = torch.tensor(self.decay, dtype=torch.float32)
        if not self.warm_up:
            return decay
        return torch.minimum(decay, torch.tensor(1 + n, dtype=torch.float32) / torch.tensor(10 + n, dtype=torch.float32))

    @torch.no_grad()
    def update(self, named_parameters, n: int) -> None:
        one_minus = (1.0 - self.decay_at(n)).item()  # a float32 value, exact as a Python float
        for k, p in named_parameters:
            if k in self.shadow:
                s = self.shadow[k]
                s.sub_(one_minus * (s - p.detach().to(s.device, s.dtype)))

    def state_dict(self) -> dict:
        return {k: v.cpu() for k, v in self.shadow.items()}

    def load_state_dict(self, tensors: dict) -> None:
        missing = sorted(set(self.shadow) - set(tensors))
        if missing:
            raise KeyError(f"EMA state lacks {missing[:10]}")
        for k in self.shadow:
            self.shadow[k].copy_(tensors[k])
