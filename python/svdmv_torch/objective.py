"""The finetuning objective of `svdmv train` (Sources/Training/SV3DTrainingObjective.swift,
DiffusionLoss.swift), sgm's StandardDiffusionLoss with the choices video training needs:

- one σ per video, ln σ ~ N(P_mean, P_std²) (defaults 1.0, 1.6);
- the conditioning frame (the last: SV3D's input view) noise-augmented with
  ln σ_aug ~ N(−3.0, 0.5²); σ_aug is also y's cond_aug, as at sampling time;
- classifier-free dropout: the CLIP tokens and the concat latent each zeroed with probability
  0.1, independently (y is never dropped);
- the v-prediction denoiser with EDM noise input (c_skip 1/(σ²+1), c_out −σ/√(σ²+1),
  c_in 1/√(σ²+1), c_noise ¼ ln σ) and VWeighting (σ²+1)/σ², L2 averaged over the video.

The random draws (`draw`) and the deterministic loss given them (`loss_given_draws`) are apart,
so the loss can be checked against Swift on the same batch, σ and noise."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from .conditioning import vector_conditioning, vector_rows
from .unet_forward import video_unet_forward


@dataclass
class ObjectiveSettings:
    p_mean: float = 1.0
    p_std: float = 1.6
    cond_aug_log_mean: float = -3.0
    cond_aug_log_std: float = 0.5
    clip_drop: float = 0.1
    concat_drop: float = 0.1
    weighting: str = "v"

    def to_json(self):
        return asdict(self)


def denoiser_coefficients(sigma: torch.Tensor):
    """(c_skip, c_out, c_in, c_noise) of VScalingWithEDMcNoise for σ [N]."""
    s2 = sigma * sigma + 1
    return 1 / s2, -sigma / s2.sqrt(), 1 / s2.sqrt(), 0.25 * sigma.log()


def loss_weight(sigma: torch.Tensor, weighting: str = "v") -> torch.Tensor:
    if weighting == "v":
        return (sigma * sigma + 1) / (sigma * sigma)
    if weighting == "edm":
        return (sigma * sigma + 0.25) / (sigma * 0.5 * sigma * 0.5)
    if weighting == "eps":
        return 1 / (sigma * sigma)
    if weighting == "unit":
        return torch.ones_like(sigma)
    raise ValueError(f"unknown weighting {weighting!r} (v, edm, eps, unit)")


def denoise(unet, noised, sigma_rows, concat_rows, context_rows, y, frames):
    """D(x; σ) for rows [B·T, C, h, w]: c_skip·x + c_out·F([c_in·x | concat], c_noise)."""
    skip, out, inp, noise = (c.reshape(-1, 1, 1, 1) if i < 3 else c for i, c in
                             enumerate(denoiser_coefficients(sigma_rows.float())))
    scaled = torch.cat([noised * inp, concat_rows.to(noised.dtype)], dim=1)
    network = video_unet_forward(unet, scaled, noise, context_rows, y, frames)
    return network.float() * out + noised.float() * skip


def weighted_loss(denoised, target, sigma_rows, weighting="v"):
    """sgm's get_loss("l2") with the weighting: the mean over each row of w(σ)(D − x₀)², then
    over rows."""
    w = loss_weight(sigma_rows.float(), weighting).reshape(-1, *([1] * (target.dim() - 1)))
    return (w * (denoised.float() - target.float()) ** 2).reshape(target.shape[0], -1).mean(dim=1).mean()


@dataclass
class Draws:
    """The randomness of one video's loss."""
    sigma: float
    noise: torch.Tensor          # [T, C, h, w]
    sigma_aug: float
    aug_noise: torch.Tensor      # [1, 3, S, S]
    drop_clip: bool
    drop_concat: bool


def draw(generator: torch.Generator, settings: ObjectiveSettings, image_shape, latent_shape,
         dropout: bool = True) -> Draws:
    """In the order of SV3DTrainingObjective.loss: σ_aug, the augmentation noise, the two
    dropout decisions, σ, the latent noise (distributions as Swift's; torch's generator)."""
    sigma_aug = math.exp(settings.cond_aug_log_mean
                         + settings.cond_aug_log_std * torch.randn(1, generator=generator).item())
    aug_noise = torch.randn(image_shape, generator=generator)
    u_clip, u_concat = torch.rand(2, generator=generator).tolist()
    sigma = math.exp(settings.p_mean + settings.p_std * torch.randn(1, generator=generator).item())
    noise = torch.randn(latent_shape, generator=generator)
    return Draws(sigma, noise, sigma_aug, aug_noise,
                 dropout and u_clip < settings.clip_drop, dropout and u_concat < settings.concat_drop)


def loss_given_draws(unet, x0, concat, clip_tokens, y, d: Draws, weighting: str = "v"):
    """One video: x0 [T, C, h, w] (scaled latents), concat [1, C, h, w] (the augmented
    conditioning frame's encoder mean, unscaled), clip_tokens [1, N, D], y [T, W]."""
    t = x0.shape[0]
    device = x0.device
    if d.drop_clip:
        clip_tokens = torch.zeros_like(clip_tokens)
    if d.drop_concat:
        concat = torch.zeros_like(concat)
    sigma_rows = torch.full((t,), d.sigma, device=device)
    noised = x0 + d.noise.to(device) * d.sigma
    denoised = denoise(unet, noised, sigma_rows, concat.expand(t, *concat.shape[1:]),
                       clip_tokens.expand(t, *clip_tokens.shape[1:]), y, t)
    return weighted_loss(denoised, x0, sigma_rows, weighting)


def prepare_video(encoders, variant: str, frames, elevations_deg, azimuths_deg, settings: ObjectiveSettings,
                  generator: torch.Generator, latents=None):
    """The frozen inputs and the draws of one video's loss, frames [T, 3, S, S] in [-1, 1] with
    the conditioning view last (SV3DTrainingObjective.loss up to the denoiser): returns
    (x0, concat, clip_tokens, y, draws) for loss_given_draws. `encoders`:
    encoders.FrozenConditioners; `latents` (the encoder means of `frames`, unscaled) may be given."""
    t = frames.shape[0]
    with torch.no_grad():
        x0 = (latents if latents is not None else encoders.encode(frames)) * encoders.scale_factor
        d = draw(generator, settings, (1, *frames.shape[1:]), tuple(x0.shape))
        image = frames[t - 1:t]
        clip_tokens = encoders.clip(image)
        concat = encoders.encode(image + d.aug_noise.to(image.device) * d.sigma_aug)
        y = vector_conditioning(variant, vector_rows(variant, 1, t, d.sigma_aug, elevations_deg, azimuths_deg))
    return x0, concat, clip_tokens, y.to(frames.device), d


def video_loss(unet, encoders, variant: str, frames, elevations_deg, azimuths_deg, settings: ObjectiveSettings,
               generator: torch.Generator, latents=None):
    """The loss for one video (SV3DTrainingObjective.loss)."""
    x0, concat, clip_tokens, y, d = prepare_video(encoders, variant, frames, elevations_deg, azimuths_deg, settings,
                                                  generator, latents)
    return loss_given_draws(unet, x0, concat, clip_tokens, y, d, settings.weighting)
