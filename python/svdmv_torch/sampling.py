"""sgm's EDM sampling as `svdmv generate` runs it (Sources/Diffusion/{Discretization,Guider,
Sampler}.swift): the EDM σ schedule in float32 as torch computes it, Euler (or Heun) steps with
s_churn, classifier-free guidance on the denoised [uncond; cond] halves with one scale per frame
(triangle: SV3D; linear: SVD; vanilla; none)."""
from __future__ import annotations

import numpy as np
import torch


def edm_sigmas(steps: int, sigma_min=0.002, sigma_max=700.0, rho=7.0) -> torch.Tensor:
    """σ_i = (σ_max^{1/ρ} + i/(n−1)(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, then 0 (float32)."""
    min_inv, max_inv = sigma_min ** (1 / rho), sigma_max ** (1 / rho)  # Python doubles, as sgm
    ramp = torch.linspace(0, 1, steps, dtype=torch.float32)
    sigmas = (max_inv + ramp * (min_inv - max_inv)) ** rho
    return torch.cat([sigmas, torch.zeros(1)])


def frame_scales(guider: str, frames: int, min_scale=1.0, max_scale=2.5) -> torch.Tensor:
    if guider == "none":
        return torch.ones(frames)
    if guider == "vanilla":
        return torch.full((frames,), float(max_scale))
    if guider == "linear":
        return torch.linspace(min_scale, max_scale, frames, dtype=torch.float32)
    if guider == "triangle":
        v = torch.linspace(0, 1, frames, dtype=torch.float32)
        wave = 2 * (v - torch.floor(v + 0.5)).abs()
        return wave * (max_scale - min_scale) + min_scale
    raise ValueError(f"unknown guider {guider!r} (triangle, linear, vanilla, none)")


def guider_description(guider: str, min_scale: float, max_scale: float) -> str:
    """The guider as cameras.json records it (Swift's String(describing:) of its Guider)."""
    return {"none": "identity", "vanilla": f"vanilla(scale: {max_scale!r})",
            "linear": f"linear(minScale: {min_scale!r}, maxScale: {max_scale!r})",
            "triangle": f"triangle(minScale: {min_scale!r}, maxScale: {max_scale!r})"}[guider]


def sample_edm(denoise, noise: torch.Tensor, steps: int, sigma_max=700.0, method="euler", churn=0.0,
               generator: torch.Generator | None = None, progress=lambda i, n: None) -> torch.Tensor:
    """sgm's EulerEDMSampler / HeunEDMSampler from unit noise scaled by √(1 + σ₀²);
    denoise(x, σ) -> guided D(x; σ)."""
    # Scalars in float32, as Swift's sampler and sgm's tensors compute them.
    sigmas = [np.float32(v) for v in edm_sigmas(steps, sigma_max=sigma_max).tolist()]
    x = noise * float(np.sqrt(np.float32(1) + sigmas[0] * sigmas[0]))
    for i in range(len(sigmas) - 1):
        sigma, nxt = sigmas[i], sigmas[i + 1]
        gamma = np.float32(min(np.float32(churn) / np.float32(len(sigmas) - 1), np.float32(2 ** 0.5) - 1)) \
            if churn > 0 else np.float32(0)
        sigma_hat = sigma * (gamma + np.float32(1))
        if gamma > 0:
            eps = torch.randn(x.shape, generator=generator).to(x.device)
            x = x + eps * float(np.sqrt(sigma_hat * sigma_hat - sigma * sigma))
        denoised = denoise(x, float(sigma_hat))
        d = (x - denoised) / float(sigma_hat)
        dt = float(nxt - sigma_hat)
        euler = x + d * dt
        if method == "heun" and nxt > 0:
            d2 = (euler - denoise(euler, float(nxt))) / float(nxt)
            x = x + (d + d2) / 2 * dt
        else:
            x = euler
        progress(i + 1, len(sigmas) - 1)
    return x
