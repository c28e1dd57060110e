// Timings of whole VideoUNet steps on SV3D_p-structured configs (`svdmv bench train`):
//  - training: one optimiser step on one 21-frame video, as SV3DTrainingObjective + TrainingRun
//    do it: v-denoiser scaling of the noised latents, concat latent on the channel axis, CLIP
//    context tokens and the vector y, the VWeighting L2 loss, backward, gradient clipping to norm 1
//    and AdamW;
//  - sampling: one guided UNet evaluation as StableVideoSampler does it: cond and uncond rows in one
//    2 × 21-row batch (the uncond half with zeroed concat and context), no gradients.
// Scripts/bench/torch_train.py builds sgm's VideoUNet with the same configs (its parameter count is
// compared) and times the same steps; Scripts/bench/train runs both and prints the ratios. The
// frozen parts (VAE encoder, CLIP) are left out: their inputs are random tensors of the shapes
// the objective feeds, which does not change the UNet's cost.

import Diffusion
import Foundation
import Models
import NN
import Tensor
import Training

/// A UNet configuration timed by `UNetStepBenchmarks`, at the latent side it runs on.
public struct UNetBenchmarkModel: Sendable {
    public var name: String
    public var unet: VideoUNetConfig
    public var latentSize: Int
    public var summary: String

    /// The first default model's UNet (`StableVideoModelConfig.small`: tinySV3DP at 16x16 latents of
    /// 64x64 images).
    public static let small = UNetBenchmarkModel(
        name: "small", unet: .tinySV3DP, latentSize: 16,
        summary: "tinySV3DP: mc 32, mult [1,2], attn [2,1], 1 res block, head 16, context 32, y 1280; 16x16 latents")

    /// A wider UNet on the same 16x16 latents, chosen so a training step still takes seconds on 2
    /// loaded cores (at 32x32 latents it took ~40 s under load 8): tinyD's widths (mc 64,
    /// mult [1,2,2], attention at levels 0 and 1, head width 32, 13.2M parameters) with the released
    /// SV3D_p's context (OpenCLIP ViT-H, 1024) and vector (1280) widths.
    public static let medium = UNetBenchmarkModel(
        name: "medium",
        unet: VideoUNetConfig(modelChannels: 64, channelMultipliers: [1, 2, 2], resBlocksPerLevel: 1,
                              attentionDownsampleFactors: [2, 1], headWidth: 32, contextWidth: 1024,
                              vectorWidth: 1280),
        latentSize: 16,
        summary: "tinyD widths: mc 64, mult [1,2,2], attn [2,1], 1 res block, head 32, context 1024, y 1280; 16x16 latents")

    /// The bundled default model's UNet (`StableVideoModelConfig.wide`: `small` at twice the width).
    public static let wide = UNetBenchmarkModel(
        name: "wide", unet: .wideSV3DP, latentSize: 16,
        summary: "wideSV3DP: mc 64, mult [1,2], attn [2,1], 1 res block, head 32, context 32, y 1280; 16x16 latents")

    public static let all = [small, wide, medium]
}

public struct UNetStepResult: Codable {
    /// "<model>.train" or "<model>.sample".
    public var name: String
    public var model: String
    public var step: String
    public var parameters: Int
    /// Rows through the UNet per step and the input shape.
    public var shape: String
    public var warmup: Int
    /// Every timed repetition, seconds.
    public var samples: [Double]
    public var median: Double
    public var threads: Int
}

public struct UNetStepBenchmarks {
    public enum Step: String, CaseIterable, Sendable { case train, sample }

    public var models: [UNetBenchmarkModel]
    public var steps: [Step]
    public var frames: Int
    public var warmup: Int
    public var repeats: Int

    public init(models: [UNetBenchmarkModel] = UNetBenchmarkModel.all, steps: [Step] = Step.allCases,
                frames: Int = 21, warmup: Int = 1, repeats: Int = 5) {
        self.models = models; self.steps = steps; self.frames = frames
        self.warmup = warmup; self.repeats = repeats
    }

    /// Fixed σ of the training step: e^P_mean with SV3DTrainingSettings' P_mean 1.0 (the median
    /// of its σ distribution); the cost does not depend on it.
    static let trainingSigma: Float = expf(1.0)
    /// σ of the sampling step: the middle of the EDM schedule's range; again cost-neutral.
    static let samplingSigma: Float = 1.0

    /// Times each (model, step): `warmup` untimed runs, then `repeats` timed ones; reports the median.
    public func run(progress: (UNetStepResult) -> Void = { _ in }) -> [UNetStepResult] {
        var results: [UNetStepResult] = []
        for model in models {
            let unet = VideoUNet(model.unet)
            unet.initializeRandomly(seed: 0)
            let parameters = unet.parameterCount
            for step in steps {
                let body: () -> Void
                let shape: String
                switch step {
                case .train:
                    body = trainingStep(unet, model)
                    shape = "1 video x \(frames) frames, [\(frames),\(model.unet.inChannels),\(model.latentSize),\(model.latentSize)]"
                case .sample:
                    body = samplingStep(unet, model)
                    shape = "2 x \(frames) frames (cond+uncond), [\(2 * frames),\(model.unet.inChannels),\(model.latentSize),\(model.latentSize)]"
                }
                for _ in 0..<warmup { body() }
                var samples: [Double] = []
                for _ in 0..<repeats {
                    let start = DispatchTime.now().uptimeNanoseconds
                    body()
                    samples.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
                let result = UNetStepResult(name: "\(model.name).\(step.rawValue)", model: model.name, step: step.rawValue,
                                            parameters: parameters, shape: shape, warmup: warmup, samples: samples,
                                            median: Self.median(samples), threads: Parallel.threadCount)
                results.append(result)
                progress(result)
            }
            unet.frozen()
        }
        return results
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }

    /// One training step; the optimiser (and its moments) lives across calls as in a real run.
    func trainingStep(_ unet: VideoUNet, _ model: UNetBenchmarkModel) -> () -> Void {
        let t = frames, s = model.latentSize, config = model.unet
        var g = TorchGenerator(seed: 1)
        let latents = g.randn([t, 4, s, s])
        let concat = g.randn([t, 4, s, s])
        let context = g.randn([t, 1, config.contextWidth])
        let y = g.randn([t, config.vectorWidth ?? 0])
        let noise = g.randn([t, 4, s, s])
        let sigmas = [Float](repeating: Self.trainingSigma, count: t)
        let optimizer = AdamW()
        return {
            unet.trainable()  // fresh leaves each step, as TrainingRun does
            let noised = latents + noise * Self.trainingSigma
            let denoised = Denoiser(scaling: .vWithEDMNoise)(noised, sigmas: sigmas) { scaled, cNoise in
                unet(Tensor.concatenated([scaled, concat], axis: 1), timesteps: Tensor(shape: [t], scalars: cNoise),
                     context: context, y: config.vectorWidth == nil ? nil : y, frames: t)
            }
            let loss = weightedDenoisingLoss(denoised: denoised, target: latents, sigmas: sigmas, weighting: .v).mean()
            loss.backward()
            clipGradientNorm(unet, maxNorm: 1)
            GradMode.withoutGradients { optimizer.update(unet) }
        }
    }

    /// One guided evaluation: rows 0..<T conditional, T..<2T unconditional (zero concat and context).
    func samplingStep(_ unet: VideoUNet, _ model: UNetBenchmarkModel) -> () -> Void {
        let t = frames, s = model.latentSize, config = model.unet
        var g = TorchGenerator(seed: 2)
        let x = g.randn([2 * t, 4, s, s])
        let concat = Tensor.concatenated([g.randn([t, 4, s, s]), Tensor(zeros: [t, 4, s, s])], axis: 0)
        let context = Tensor.concatenated([g.randn([t, 1, config.contextWidth]), Tensor(zeros: [t, 1, config.contextWidth])], axis: 0)
        let y = g.randn([t, config.vectorWidth ?? 0])
        let yBoth = Tensor.concatenated([y, y], axis: 0)
        let sigmas = [Float](repeating: Self.samplingSigma, count: 2 * t)
        unet.frozen()
        return {
            GradMode.withoutGradients {
                _ = Denoiser(scaling: .vWithEDMNoise)(x, sigmas: sigmas) { scaled, cNoise in
                    unet(Tensor.concatenated([scaled, concat], axis: 1), timesteps: Tensor(shape: [2 * t], scalars: cNoise),
                         context: context, y: config.vectorWidth == nil ? nil : yBoth, frames: t)
                }
            }
        }
    }
}
