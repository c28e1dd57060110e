// The autoencoder stage of a small SV3D-structured model: the latent space the UNet will work in
// is learned first, as sgm trains its KL autoencoders (sgm/modules/autoencoding/losses
// `GeneralLPIPSWithDiscriminator` with the kl-f8 settings of configs/example_training/autoencoder),
// without the adversarial term:
//
//   per image: Σ_pixels (|x − x̂| + w_p · LPIPS(x, x̂)) + w_kl · KL(q(z|x) ‖ N(0, I))
//
// (sgm broadcasts the per-image LPIPS over every pixel before summing, and its learned log-variance
// starts at 0, i.e. the NLL is the reconstruction loss). Divided by the 3·H·W values of an image
// this is mean|x − x̂| + w_p · LPIPS + w_kl · KL / (3HW), averaged over the batch: the form below.
// Defaults w_p = 1 and w_kl = 1e-6 are sgm's. The pair trained is SV3D's: the conditioning
// encoder (with its quant_conv; its mean gives the UNet's latents) and the first-stage image
// decoder (SV3D decodes without post_quant_conv); the latent z is sampled from the posterior.

import Foundation
import Generation
import Models
import NN
import Tensor

public struct AutoencoderObjectiveSettings: Codable, Equatable, Sendable {
    /// Weight of the perceptual (LPIPS) term; sgm's kl-f8 configs use 1.
    public var perceptualWeight: Float = 1
    /// Weight of the KL term; sgm's kl-f8 configs use 1e-6.
    public var klWeight: Float = 1e-6

    public init(perceptualWeight: Float = 1, klWeight: Float = 1e-6) {
        self.perceptualWeight = perceptualWeight
        self.klWeight = klWeight
    }
}

public struct AutoencoderObjective {
    public let model: StableVideoModel
    public var settings: AutoencoderObjectiveSettings
    /// Per-image perceptual distance [N] (or [N,1,1,1]) of two image batches in [-1, 1], with
    /// gradients to its second argument; nil trains without the perceptual term.
    public var perceptualDistance: ((Tensor, Tensor) -> Tensor)?

    public init(model: StableVideoModel, settings: AutoencoderObjectiveSettings = AutoencoderObjectiveSettings(),
                perceptualDistance: ((Tensor, Tensor) -> Tensor)? = nil) {
        self.model = model
        self.settings = settings
        self.perceptualDistance = perceptualDistance
    }

    /// The parameters this stage trains, under their checkpoint keys: the conditioning encoder's
    /// encoder and quant_conv and the first-stage decoder. The conditioning autoencoder's own
    /// decoder and post_quant_conv (kept in SV3D checkpoints, never run) are left as they are.
    public var trainable: Module {
        let encoder = model.conditioningEncoder
        var parts: [Module] = [PrefixedModule(StableVideoModel.encoderPrefix + "encoder.", encoder.encoder)]
        if let quantConv = encoder.quantConv { parts.append(PrefixedModule(StableVideoModel.encoderPrefix + "quant_conv.", quantConv)) }
        parts.append(PrefixedModule(StableVideoModel.decoderPrefix, model.decoder))
        return ModuleGroup(parts)
    }

    /// The loss for a batch of images [N, 3, S, S] in [-1, 1].
    public func loss(images: Tensor, generator: inout TorchGenerator) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == 3 else {
            throw SV3DTrainingError.badFrames("autoencoder batch must be [N, 3, H, W], got \(images.shape)")
        }
        let posterior = model.conditioningEncoder.encode(images)
        let z = posterior.sample(using: &generator)
        var loss = reconstructionLoss(model.decoder(z, frameCount: 1), images)
        if settings.klWeight != 0 {
            // KL(N(μ, σ²) ‖ N(0, 1)) = ½ Σ (μ² + σ² − 1 − ln σ²), summed per image, batch-averaged.
            let kl = (posterior.mean.squared() + posterior.logVariance.exp() - 1 - posterior.logVariance).sum() * 0.5
            let valuesPerImage = Float(images.count / images.shape[0])
            loss = loss + kl * (settings.klWeight / (Float(images.shape[0]) * valuesPerImage))
        }
        return loss
    }

    /// The first-stage decoder alone, under its checkpoint key: what the `decoder` stage trains.
    public var decoderPart: Module { PrefixedModule(StableVideoModel.decoderPrefix, model.decoder) }

    /// The decoder stage's loss: the reconstruction terms of `loss` for decoding `latents`, scaled
    /// as the UNet produces them ([N, 4, s, s]), against `images` [N, 3, S, S]. Gradients reach the
    /// decoder only, through whatever the latents were computed from without gradients.
    public func decodingLoss(latents: Tensor, images: Tensor) throws -> Tensor {
        guard latents.rank == 4, images.rank == 4, latents.shape[0] == images.shape[0] else {
            throw SV3DTrainingError.badFrames("decoder batch: latents \(latents.shape), images \(images.shape)")
        }
        return reconstructionLoss(model.decoder(latents * (1 / model.config.firstStage.scaleFactor), frameCount: 1), images)
    }

    /// mean|x − x̂| + w_p · LPIPS(x, x̂), averaged over the batch.
    public func reconstructionLoss(_ reconstruction: Tensor, _ images: Tensor) -> Tensor {
        let loss = (reconstruction - images).absolute().mean()
        guard let perceptualDistance, settings.perceptualWeight != 0 else { return loss }
        return loss + perceptualDistance(images, reconstruction).mean() * settings.perceptualWeight
    }

    /// Mean PSNR (dB, images mapped to [0, 1]) of decoding the posterior means of `images`: how
    /// much of the data the latent space keeps, a bound on what the diffusion model can reach.
    public func reconstructionPSNR(images: Tensor, batch: Int = 16) -> Double {
        GradMode.withoutGradients {
            var total = 0.0
            for start in stride(from: 0, to: images.shape[0], by: batch) {
                let part = images.sliced(axis: 0, start..<min(start + batch, images.shape[0]))
                let decoded = model.decoder(model.conditioningEncoder.encode(part).mean, frameCount: 1)
                total += meanImagePSNR(decoded, part) * Double(part.shape[0])
            }
            return total / Double(images.shape[0])
        }
    }

    /// 1 / standard deviation of the encoder's latent means over `images` (the scale factor that
    /// gives the diffusion model unit-variance latents, as chosen for Stable Diffusion's VAE).
    public func latentScaleFactor(images: Tensor, batch: Int = 16) -> Float {
        GradMode.withoutGradients {
            var sum = 0.0, sumSquares = 0.0, count = 0.0
            for start in stride(from: 0, to: images.shape[0], by: batch) {
                let part = images.sliced(axis: 0, start..<min(start + batch, images.shape[0]))
                let mean = model.conditioningEncoder.encode(part).mean
                for i in 0..<mean.count {
                    let v = Double(mean.data[i]); sum += v; sumSquares += v * v
                }
                count += Double(mean.count)
            }
            let variance = max(sumSquares / count - (sum / count) * (sum / count), 1e-12)
            return Float(1 / variance.squareRoot())
        }
    }
}
