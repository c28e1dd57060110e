// The finetuning objective for SV3D-structured models: denoising score matching on orbit
// videos, sgm's StandardDiffusionLoss (sgm/modules/diffusionmodules/loss.py StandardDiffusionLoss) with the choices video training needs; public sgm has no SVD/SV3D training config, so these are settings:
//  - latents: the conditioning VAE encoder's mean × scale factor (SV3D's first stage has no
//    encoder; the conditioner's kl-f8 encoder is the same architecture);
//  - one σ per video, ln σ ~ N(P_mean, P_std²), defaults P_mean 1.0, P_std 1.6 (the SV3D
//    finetuning values reported by mindone's config "as in the SV3D paper"; sgm's image defaults
//    are −1.2 / 1.2; neither is in the public code for SV3D, so both are settings);
//  - conditioning-frame noise augmentation ln σ_aug ~ N(−3.0, 0.5²) (community SVD scripts), with
//    σ_aug also fed to y as cond_aug, as at sampling time;
//  - classifier-free dropout: CLIP tokens and the concat latent each zeroed with probability 0.1,
//    independently (inference's unconditional branch zeroes both; y is never dropped);
//  - VWeighting ((σ² + 1)/σ²) with the v-prediction denoiser, L2 averaged over the video;
//  - optionally (not in sgm; off by default) an image-space term: a few frames of the estimate D
//    decoded by the frozen first-stage decoder and compared with the true frames by `decodedLoss`
//    (the autoencoder's L1 + LPIPS), since latent MSE barely sees the texture errors that decode
//    to visible mottling.
// The conditioning view is the last frame (azimuth 0), the SV3D convention.
//
// Image-only mode (`imageOnly`) is stage I of the staged training the SVD paper describes (its
// section 3: image pretraining, then video; SV3D builds on that prior): every frame is its own
// image, denoised at its own σ with the UNet's temporal blocks off (sgm's image_only_indicator = 1,
// which makes every learned_with_images mixer pass the spatial branch alone, so the temporal
// layers get no gradient) and without the orbit's conditioning: no concat latent and a zero vector
// y (no cameras), only the CLIP tokens of the frame itself (dropped with the same probability as
// in video training). The spatial layers learn an image prior of the views, as Stable Diffusion's
// image stage does for SVD; the multi-view stage then adds the input view and the cameras.

import Diffusion
import Generation
import Foundation
import Models
import Tensor

public struct SV3DTrainingSettings: Codable, Equatable, Sendable {
    public var sigmaSampling = EDMSigmaSampling(pMean: 1.0, pStd: 1.6)
    public var conditioningAugmentationLogMean: Float = -3.0
    public var conditioningAugmentationLogStd: Float = 0.5
    public var clipDropProbability: Float = 0.1
    public var concatDropProbability: Float = 0.1
    public var weighting: LossWeighting = .v
    /// Weight of the image-space term (0: off, sgm's objective).
    public var decodedLossWeight: Float = 0
    /// Frames of each video decoded for the image-space term (drawn at random, with repeats).
    public var decodedFrames = 4
    /// Stage I of staged training: each frame an independent image, temporal blocks off, no
    /// input view and no cameras (see the file's header).
    public var imageOnly = false

    public init() {}
}

public enum SV3DTrainingError: Error, CustomStringConvertible {
    case conditioningNotLast(String)
    case badFrames(String)
    public var description: String {
        switch self {
        case .conditioningNotLast(let id): return "sequence \(id): the conditioning view must be the last frame (SV3D's convention)"
        case .badFrames(let why): return "training frames: \(why)"
        }
    }
}

public struct SV3DTrainingObjective {
    public let model: StableVideoModel
    public var settings: SV3DTrainingSettings
    /// The image-space loss of decoded frames against true ones [N, 3, S, S], used when
    /// `settings.decodedLossWeight` > 0.
    public var decodedLoss: ((_ decoded: Tensor, _ frames: Tensor) -> Tensor)?

    public init(model: StableVideoModel, settings: SV3DTrainingSettings = SV3DTrainingSettings(),
                decodedLoss: ((Tensor, Tensor) -> Tensor)? = nil) {
        self.model = model
        self.settings = settings
        self.decodedLoss = decodedLoss
    }

    /// The frozen encoder's latents of a video (its posterior means, unscaled), which `loss` can
    /// take precomputed: they depend only on the frames, so a run over a fixed data set encodes
    /// each video once instead of at every step.
    public func encoderLatents(_ frames: Tensor) -> Tensor {
        GradMode.withoutGradients { model.conditioningEncoder.encode(frames).mode }
    }

    /// The loss for one video: frames [T, 3, S, S] in [-1, 1] with per-frame elevation and azimuth
    /// (degrees, the conditioning view last), and optionally `encoderLatents(frames)`.
    /// Gradients reach only the UNet's parameters.
    public func loss(frames: Tensor, elevationsDeg: [Double], azimuthsDeg: [Double],
                     latents: Tensor? = nil, generator: inout TorchGenerator) throws -> Tensor {
        let t = frames.shape[0]
        guard frames.rank == 4, frames.shape[1] == 3, elevationsDeg.count == t, azimuthsDeg.count == t else {
            throw SV3DTrainingError.badFrames("frames \(frames.shape), \(elevationsDeg.count) elevations, \(azimuthsDeg.count) azimuths")
        }
        let scale = model.config.firstStage.scaleFactor
        var g = generator
        let x0 = GradMode.withoutGradients { (latents ?? model.conditioningEncoder.encode(frames).mode) * scale }
        if settings.imageOnly {
            defer { generator = g }
            return imageOnlyLoss(frames: frames, x0: x0, generator: &g)
        }
        let cond = conditioning(frames: frames, elevationsDeg: elevationsDeg, azimuthsDeg: azimuthsDeg,
                                augmentation: .sampled, dropout: true, generator: &g)
        let sigma = settings.sigmaSampling.sigmas(normals: [g.randn([1]).item])[0]
        let noised = x0 + g.randn(x0.shape) * sigma
        let sigmas = [Float](repeating: sigma, count: t)
        let denoised = denoise(noised, sigma: sigma, conditioning: cond)
        let loss = weightedDenoisingLoss(denoised: denoised, target: x0, sigmas: sigmas, weighting: settings.weighting).mean()
        defer { generator = g }
        guard settings.decodedLossWeight > 0, let decodedLoss else { return loss }
        let picks = (0..<settings.decodedFrames).map { _ in Int(g.nextUInt32() % UInt32(t)) }
        // The decoder's weights are constants here: gradients pass through it to the UNet only.
        let decoded = model.decoder(denoised.rows(picks) * (1 / scale), frameCount: 1)
        return loss + decodedLoss(decoded, frames.rows(picks)) * settings.decodedLossWeight
    }

    /// Stage I's loss: the frames as T independent images (see the file's header), each at its own
    /// σ, VWeighting L2 averaged over them.
    func imageOnlyLoss(frames: Tensor, x0: Tensor, generator g: inout TorchGenerator) -> Tensor {
        let t = x0.shape[0]
        let sigmas = settings.sigmaSampling.sigmas(normals: g.randn([t]).scalars)
        let noised = x0 + g.randn(x0.shape) * Tensor(shape: [t, 1, 1, 1], scalars: sigmas)
        let (context, zeroVector) = GradMode.withoutGradients { () -> (Tensor, Tensor) in
            var tokens = model.clip(frames).reshaped([t, 1, -1])
            let keep = (0..<t).map { _ in g.nextUniformFloat() < settings.clipDropProbability ? Float(0) : 1 }
            tokens = tokens * Tensor(shape: [t, 1, 1], scalars: keep)
            let vector = try! model.config.variant.vectorConditioner(VectorConditioner.rows(
                videos: 1, frames: t, conditioningAugmentation: 0,
                camera: model.config.variant == .sv3dP ? SV3DCamera(elevationsDegrees: [Double](repeating: 0, count: t),
                                                                    azimuthsDegrees: [Double](repeating: 0, count: t)) : nil))
            return (tokens, Tensor(zeros: vector.shape))
        }
        let concat = Tensor(zeros: x0.shape)
        let imageOnly = Tensor(shape: [1, t], scalars: [Float](repeating: 1, count: t))
        let denoised = Denoiser(scaling: .vWithEDMNoise)(noised, sigmas: sigmas) { scaled, cNoise in
            model.unet(Tensor.concatenated([scaled, concat], axis: 1), timesteps: Tensor(shape: [t], scalars: cNoise),
                       context: context, y: zeroVector, frames: t, imageOnlyIndicator: imageOnly)
        }
        return weightedDenoisingLoss(denoised: denoised, target: x0, sigmas: sigmas, weighting: settings.weighting).mean()
    }

    /// The denoiser's one-step estimate D(x0 + σ·n; σ) of a video's clean latents (scaled), without
    /// gradients, conditioned as at sampling time (no dropout, σ_aug 1e-5), at a σ drawn from the
    /// training distribution, or x0 itself with probability `cleanProbability`. The decoder stage
    /// trains on these: they carry the UNet's kind of error, which the encoder's latents do not.
    public func oneStepEstimate(frames: Tensor, elevationsDeg: [Double], azimuthsDeg: [Double], latents: Tensor,
                                cleanProbability: Float, generator: inout TorchGenerator) -> Tensor {
        let x0 = latents * model.config.firstStage.scaleFactor
        var g = generator
        defer { generator = g }
        let sigma = settings.sigmaSampling.sigmas(normals: [g.randn([1]).item])[0]
        let noise = g.randn(x0.shape)
        guard g.nextUniformFloat() >= cleanProbability else { return x0 }
        let cond = conditioning(frames: frames, elevationsDeg: elevationsDeg, azimuthsDeg: azimuthsDeg,
                                augmentation: .fixed(1e-5), dropout: false, generator: &g)
        return GradMode.withoutGradients { denoise(x0 + noise * sigma, sigma: sigma, conditioning: cond) }
    }

    /// How the conditioning frame is noise-augmented: with a σ_aug drawn as in training, or with a
    /// fixed σ_aug (sampling uses SV3D's 1e-5).
    public enum ConditioningAugmentation { case sampled, fixed(Float) }

    /// The frozen conditioning of one video (CLIP tokens and concat latent of the last frame, y
    /// from cond_aug and the cameras), with the classifier-free dropout of training when `dropout`.
    public func conditioning(frames: Tensor, elevationsDeg: [Double], azimuthsDeg: [Double],
                             augmentation: ConditioningAugmentation, dropout: Bool,
                             generator: inout TorchGenerator) -> UNetConditioning {
        let t = frames.shape[0]
        var g = generator
        defer { generator = g }
        return GradMode.withoutGradients {
            let image = frames.sliced(axis: 0, (t - 1)..<t)
            let sigmaAug: Float
            switch augmentation {
            case .sampled: sigmaAug = expf(settings.conditioningAugmentationLogMean
                                          + settings.conditioningAugmentationLogStd * g.randn([1]).item)
            case .fixed(let value): sigmaAug = value
            }
            let augmented = image + g.randn(image.shape) * sigmaAug
            var clipTokens = model.clip(image).reshaped([1, 1, -1])
            var concat = model.conditioningEncoder.encode(augmented).mode
            if dropout {
                if g.nextUniformFloat() < settings.clipDropProbability { clipTokens = Tensor(zeros: clipTokens.shape) }
                if g.nextUniformFloat() < settings.concatDropProbability { concat = Tensor(zeros: concat.shape) }
            }
            let camera = model.config.variant == .sv3dP
                ? SV3DCamera(elevationsDegrees: elevationsDeg, azimuthsDegrees: azimuthsDeg) : nil
            let vector = try! model.config.variant.vectorConditioner(
                VectorConditioner.rows(videos: 1, frames: t, conditioningAugmentation: sigmaAug, camera: camera))
            return UNetConditioning(clipEmbedding: clipTokens, concatLatent: concat, vector: vector, frames: t)
        }
    }

    /// The denoiser's estimate D(x; σ) of the clean latents of one video, every frame at σ.
    public func denoise(_ noised: Tensor, sigma: Float, conditioning cond: UNetConditioning) -> Tensor {
        let t = noised.shape[0]
        return Denoiser(scaling: .vWithEDMNoise)(noised, sigmas: [Float](repeating: sigma, count: t)) { scaled, cNoise in
            model.unet(Tensor.concatenated([scaled, cond.concat], axis: 1),
                       timesteps: Tensor(shape: [t], scalars: cNoise), context: cond.crossAttention,
                       y: cond.vector, frames: t)
        }
    }
}
