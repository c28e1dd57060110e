// Where along σ a trained model's denoising goes wrong. For a few training (or held-out) orbits it
// noises the clean latents to each σ, takes the denoiser's one-step estimate D(x; σ) under the
// sampling-time conditioning (cond_aug 1e-5, no dropout, no guidance), and measures the latent
// error of D against that of the noisy input, and the PSNR of the decoded estimate against the
// frames, beside the repeat-the-input baseline's and the decoded noisy input's (how visible
// latent errors of that size are once decoded). Full samples from the same orbits' input views
// show whether the sampler's path goes where the one-step estimates do.

import Foundation
import Generation
import Imaging
import Metrics
import MultiViewData
import Tensor

public struct DenoisingProbe {
    public var model: StableVideoModel
    /// Noise levels probed.
    public var sigmas: [Float]
    /// Seed of the noise (and of the full samples).
    public var seed: UInt64
    /// Settings of the full samples (frames, cameras and seed are each sequence's); nil skips them.
    public var sampling: StableVideoSamplingSettings?
    /// Whether to decode the noisy input at each σ for `noisyInputPSNR` (one more decode per σ and
    /// sequence; validation during training has no use for it and turns it off: NaN then).
    public var measuresNoisyInput = true
    /// A perceptual distance [N] between image batches in [-1, 1] (LPIPS); when given, the result
    /// carries the mean distance of the decoded estimates and of the baseline beside their PSNR.
    public var perceptual: ((Tensor, Tensor) -> Tensor)?

    public init(model: StableVideoModel, sigmas: [Float], seed: UInt64 = 0, sampling: StableVideoSamplingSettings? = nil) {
        self.model = model
        self.sigmas = sigmas
        self.seed = seed
        self.sampling = sampling
    }

    /// Means over the probed sequences (PSNR in dB over views 0..<T-1, latents scaled as the UNet sees them).
    public struct Result {
        public var sequences: Int
        public var sigmas: [Float]
        public var latentError: [Double]
        public var inputLatentError: [Double]
        public var estimatePSNR: [Double]
        public var noisyInputPSNR: [Double]
        public var baselinePSNR: Double
        /// Mean perceptual distances (nil without `perceptual`): of the decoded estimate at each σ,
        /// and of the repeat-the-input baseline.
        public var estimatePerceptual: [Double]?
        public var baselinePerceptual: Double?
        public var reconstructionPSNR: Double
        /// nil when no full samples were drawn.
        public var samplePSNR: Double?
        /// The first sequence's frames, then its decoded estimate at each σ, then its full sample:
        /// every other view, as images.
        public var pictureRows: [[Image8]]
    }

    /// Probes `videos`; `step` after each (sequence, σ) pair.
    public func run(_ videos: [TrainingSequence], step: (Float) -> Void = { _ in }) -> Result {
        let objective = SV3DTrainingObjective(model: model)
        let scale = model.config.firstStage.scaleFactor
        var generator = TorchGenerator(seed: seed)
        var latentError = [Double](repeating: 0, count: sigmas.count)
        var inputError = [Double](repeating: 0, count: sigmas.count)
        var psnr = [Double](repeating: 0, count: sigmas.count)
        var noisyPSNR = [Double](repeating: 0, count: sigmas.count)
        var baselinePSNR = 0.0, reconstructionPSNR = 0.0, samplePSNR = 0.0
        var perceptualDistance = [Double](repeating: 0, count: sigmas.count), baselineDistance = 0.0
        func distance(_ images: Tensor, _ truth: Tensor) -> Double {
            guard let perceptual else { return 0 }
            let d = GradMode.withoutGradients { perceptual(images.mapped { min(1, max(-1, $0)) }, truth) }
            return Double(d.scalars.reduce(0, +)) / Double(d.count)
        }
        var pictureRows: [[Image8]] = []
        func views(_ images: Tensor) -> [Image8] {   // images [T, 3, S, S] in [-1, 1], every other view
            let unit = ((images + 1) * 0.5).mapped { min(1, max(0, $0)) }
            return stride(from: 0, to: images.shape[0], by: 2).map { Image8(frame: $0, of: unit) }
        }
        for (v, video) in videos.enumerated() {
            let t = video.frames.shape[0]
            let truth = video.frames.sliced(axis: 0, 0..<(t - 1))
            let input = video.frames.sliced(axis: 0, (t - 1)..<t)
            baselinePSNR += meanImagePSNR(input.broadcast(to: truth.shape), truth)
            baselineDistance += distance(input.broadcast(to: truth.shape), truth)
            let x0 = objective.encoderLatents(video.frames) * scale
            let decode = { (z: Tensor) in GradMode.withoutGradients { model.decoder(z * (1 / scale), frameCount: 1) } }
            reconstructionPSNR += meanImagePSNR(decode(x0).sliced(axis: 0, 0..<(t - 1)), truth)
            let cond = objective.conditioning(frames: video.frames, elevationsDeg: video.metadata.elevationsDeg,
                                              azimuthsDeg: video.metadata.azimuthsDeg,
                                              augmentation: .fixed(1e-5), dropout: false, generator: &generator)
            if v == 0 { pictureRows.append(views(video.frames)) }
            for (i, sigma) in sigmas.enumerated() {
                let noised = x0 + generator.randn(x0.shape) * sigma
                let d = GradMode.withoutGradients { objective.denoise(noised, sigma: sigma, conditioning: cond) }
                latentError[i] += meanSquaredError(d, x0)
                inputError[i] += meanSquaredError(noised, x0)
                let images = decode(d)
                psnr[i] += meanImagePSNR(images.sliced(axis: 0, 0..<(t - 1)), truth)
                perceptualDistance[i] += distance(images.sliced(axis: 0, 0..<(t - 1)), truth)
                noisyPSNR[i] += measuresNoisyInput ? meanImagePSNR(decode(noised).sliced(axis: 0, 0..<(t - 1)), truth) : .nan
                if v == 0 { pictureRows.append(views(images)) }
                step(sigma)
            }
            if var settings = sampling {
                settings.seed = seed
                settings.frames = t
                settings.elevationsDegrees = video.metadata.elevationsDeg
                settings.azimuthsDegrees = video.metadata.azimuthsDeg
                let sampler = StableVideoSampler(model: model, settings: settings)
                let images = GradMode.withoutGradients {
                    model.decoder(sampler.sampleLatents(image: input) * (1 / scale), frameCount: 1)
                }
                samplePSNR += meanImagePSNR(images.sliced(axis: 0, 0..<(t - 1)), truth)
                if v == 0 { pictureRows.append(views(images)) }
            }
        }
        let n = Double(videos.count)
        return Result(sequences: videos.count, sigmas: sigmas, latentError: latentError.map { $0 / n },
                      inputLatentError: inputError.map { $0 / n }, estimatePSNR: psnr.map { $0 / n },
                      noisyInputPSNR: noisyPSNR.map { $0 / n }, baselinePSNR: baselinePSNR / n,
                      estimatePerceptual: perceptual == nil ? nil : perceptualDistance.map { $0 / n },
                      baselinePerceptual: perceptual == nil ? nil : baselineDistance / n,
                      reconstructionPSNR: reconstructionPSNR / n, samplePSNR: sampling == nil ? nil : samplePSNR / n,
                      pictureRows: pictureRows)
    }
}
