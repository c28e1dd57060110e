// Image-to-orbit (SV3D) and image-to-video (SVD) sampling as sgm's
// scripts/sampling/simple_video_sample.py (`sample`) does it, with the EulerEDMSampler of
// sgm/modules/diffusionmodules/sampling.py; for SVD, y holds fps_id and motion_bucket_id instead of the camera, the frames
// are decoded as videos by the temporal decoder, and no frame is replaced by the input:
//  1. the prepared image I [1, 3, S, S] in [-1, 1];
//  2. CLIP embedding of I -> crossattn; VAE-encoder mean of I + cond_aug·ε (unscaled) -> concat;
//  3. y per frame from cond_aug (and, for sv3d_p, polar and azimuth); unconditional branch:
//     crossattn and concat zeroed, y kept;
//  4. x = ε'·√(1 + σ₀²) (ε' of shape [T, 4, S/8, S/8]), EDM Euler steps on [uncond; cond] with the
//     per-frame (triangle) guidance on the denoised predictions;
//  5. decode z / 0.18215 with the first-stage decoder in chunks, replace the last frame (the input
//     view) by I, map to [0, 1].
// Random numbers follow the script: torch.manual_seed(seed), then randn_like(image), then
// randn(shape), from one PyTorch-compatible stream.

import Diffusion
import Foundation
import Models
import Tensor

public struct StableVideoSamplingSettings: Codable, Equatable, Sendable {
    public var frames = 21
    public var steps = 50
    /// The EDM discretization's σ_max (sgm's default 700).
    public var sigmaMax: Float = 700
    /// sgm's s_churn (noise re-injected at every step; SV3D samples with 0, a deterministic ODE).
    public var churn: Float = 0
    /// SDEdit: start from the input view's latent on every frame plus σ_max·ε (σ_max a few, not
    /// 700) instead of from pure noise. Not the reference's sampling; off by default.
    public var startsFromInput = false
    public var method: EDMSampler.Method = .euler
    public var guider: Guider = .triangle(minScale: 1, maxScale: 2.5)
    public var seed: UInt64 = 23
    /// SV3D forces 1e-5.
    public var conditioningAugmentation: Float = 1e-5
    /// One elevation for every frame, or one per frame (sv3d_p only).
    public var elevationsDegrees: [Double] = [10]
    /// One azimuth per frame, the input view last; nil for the default orbit (sv3d_p only).
    public var azimuthsDegrees: [Double]?
    /// Frames decoded at a time (`decoding_t`).
    public var decodingChunk = 14
    /// SVD's micro-conditioning (fps_id = fps − 1 and motion_bucket_id; the script's defaults).
    public var fpsID: Float = 6
    public var motionBucketID: Float = 127

    public init() {}

    /// simple_video_sample.py's defaults for svd (14 frames, 25 steps, linear guidance 1 -> 2.5,
    /// cond_aug 0.02) or, with `xt`, svd_xt (25 frames, 30 steps, guidance up to 3.0).
    public static func svd(xt: Bool = false) -> StableVideoSamplingSettings {
        var s = StableVideoSamplingSettings()
        s.frames = xt ? 25 : 14
        s.steps = xt ? 30 : 25
        s.guider = .linear(minScale: 1, maxScale: xt ? 3 : 2.5)
        s.conditioningAugmentation = 0.02
        return s
    }

    /// One elevation per frame (a single value repeated).
    public var frameElevationsDegrees: [Double] {
        elevationsDegrees.count == 1 ? Array(repeating: elevationsDegrees[0], count: frames) : elevationsDegrees
    }

    /// One azimuth per frame, the input view last (the default orbit when none are given).
    public var frameAzimuthsDegrees: [Double] {
        azimuthsDegrees ?? SV3DCamera.defaultAzimuthsDegrees(frames: frames)
    }

    public func camera() -> SV3DCamera {
        SV3DCamera(elevationsDegrees: frameElevationsDegrees, azimuthsDegrees: azimuthsDegrees)
    }
}

public struct StableVideoSampler {
    public let model: StableVideoModel
    public var settings: StableVideoSamplingSettings

    public init(model: StableVideoModel, settings: StableVideoSamplingSettings = StableVideoSamplingSettings()) {
        self.model = model
        self.settings = settings
    }

    /// Latents of the orbit for the prepared image [1, 3, S, S] in [-1, 1]; `step(i, total)` after
    /// each sampler step.
    public func sampleLatents(image: Tensor, step: (Int, Int) -> Void = { _, _ in }) -> Tensor {
        let frames = settings.frames
        precondition(image.rank == 4 && image.shape[0] == 1 && image.shape[1] == 3, "image \(image.shape)")
        return GradMode.withoutGradients {
            var generator = TorchGenerator(seed: settings.seed)
            let augmented = image + generator.randn(image.shape) * settings.conditioningAugmentation
            let clipTokens = model.clip(image).reshaped([1, 1, -1])
            let concatLatent = model.conditioningEncoder.encode(augmented).mode
            let camera = model.config.variant == .sv3dP ? settings.camera() : nil
            let vector = try! model.config.variant.vectorConditioner(
                VectorConditioner.rows(videos: 1, frames: frames, fpsID: settings.fpsID,
                                       motionBucketID: settings.motionBucketID,
                                       conditioningAugmentation: settings.conditioningAugmentation, camera: camera))
            let cond = UNetConditioning(clipEmbedding: clipTokens, concatLatent: concatLatent, vector: vector, frames: frames)
            let uncond = cond.unconditional()
            // [uncond; cond] batch, as sgm's guiders prepare it.
            let context = Tensor.concatenated([uncond.crossAttention, cond.crossAttention], axis: 0)
            let concat = Tensor.concatenated([uncond.concat, cond.concat], axis: 0)
            let y = Tensor.concatenated([uncond.vector, cond.vector], axis: 0)
            let latentShape = [frames, model.config.firstStage.latentChannels,
                               image.shape[2] / model.config.firstStage.downsamplingFactor,
                               image.shape[3] / model.config.firstStage.downsamplingFactor]
            let noise = generator.randn(latentShape)
            let denoiser = Denoiser(scaling: .vWithEDMNoise)
            let sampler = EDMSampler(method: settings.method, steps: settings.steps,
                                     discretization: EDMDiscretization(sigmaMax: settings.sigmaMax), sChurn: settings.churn)
            let guider = settings.guider
            let batch = guider.isGuided ? 2 : 1
            let network: DenoiserNetwork = { scaled, cNoise in
                let input = Tensor.concatenated([scaled, guider.isGuided ? concat : cond.concat], axis: 1)
                return model.unet(input, timesteps: Tensor(shape: [cNoise.count], scalars: cNoise),
                                  context: guider.isGuided ? context : cond.crossAttention,
                                  y: guider.isGuided ? y : cond.vector, frames: frames)
            }
            var done = 0
            let total = settings.steps * (settings.method == .heun ? 2 : 1)
            let denoise: (Tensor, Float) -> Tensor = { x, sigma in
                let doubled = batch == 2 ? Tensor.concatenated([x, x], axis: 0) : x
                let d = denoiser(doubled, sigmas: [Float](repeating: sigma, count: batch * frames), network: network)
                done += 1
                step(min(done, total), total)
                return guider.combine(d, frames: frames)
            }
            guard settings.startsFromInput else { return sampler.sample(noise: noise, generator: &generator, denoise: denoise) }
            // The input's latent (sampling's cond_aug is negligible) repeated over the frames.
            let inputLatent = concatLatent * model.config.firstStage.scaleFactor
            let clean = Tensor.concatenated([Tensor](repeating: inputLatent, count: frames), axis: 0)
            return sampler.sample(editing: clean, noise: noise, generator: &generator, denoise: denoise)
        }
    }

    /// Decodes latents to images in [0, 1] in chunks of `decodingChunk` frames (SVD's temporal
    /// decoder sees each chunk as one video, as sgm's decode_first_stage passes `timesteps`),
    /// replacing the last frame by the input view as the reference script does for SV3D.
    public func decode(latents: Tensor, inputImage: Tensor) -> Tensor {
        GradMode.withoutGradients {
            let z = latents * (1 / model.config.firstStage.scaleFactor)
            let n = z.shape[0], chunk = max(1, settings.decodingChunk)
            let temporal = model.config.firstStage.video != nil
            var parts: [Tensor] = []
            for start in stride(from: 0, to: n, by: chunk) {
                let end = min(n, start + chunk)
                parts.append(model.decoder(z.sliced(axis: 0, start..<end), frameCount: temporal ? end - start : 1))
            }
            var x = Tensor.concatenated(parts, axis: 0)
            if model.config.variant.isOrbitModel {
                x = Tensor.concatenated([x.sliced(axis: 0, 0..<(n - 1)), inputImage], axis: 0)
            }
            return ((x + 1) * 0.5).mapped { min(1, max(0, $0)) }
        }
    }

    /// The whole orbit: [T, 3, S, S] in [0, 1].
    public func generate(image: Tensor, step: (Int, Int) -> Void = { _, _ in }) -> Tensor {
        decode(latents: sampleLatents(image: image, step: step), inputImage: image)
    }
}
