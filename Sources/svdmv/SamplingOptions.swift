// The sampler's options, shared by `generate` and `probe`'s full samples.

import ArgumentParser
import Diffusion
import Generation

extension GuidanceSchedule: ExpressibleByArgument {}
extension EDMSampler.Method: ExpressibleByArgument {}

struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampler steps (default: the checkpoint's recommendation, else SV3D's 50).")
    var steps: Int?
    @Option(help: "Guidance schedule over frames: \(GuidanceSchedule.allCases.map(\.rawValue).joined(separator: ", ")) (default: the checkpoint's recommendation, else SV3D's triangle).")
    var guider: GuidanceSchedule?
    @Option(help: "Guidance scale at the ends of the schedule (and for linear, the first frame).")
    var minGuidance: Float = 1
    @Option(help: "Largest guidance scale (vanilla: the one scale).")
    var maxGuidance: Float = 2.5
    @Option(help: "Sampler: euler or heun.")
    var method: EDMSampler.Method = .euler
    @Option(help: "Largest noise level of the sampler's discretization (SV3D: 700).")
    var sigmaMax: Float = 700
    @Option(help: "s_churn: noise re-injected at each step (SV3D: 0, a deterministic sampler).")
    var churn: Float = 0
    @Option(help: "cond_aug: noise added to the conditioning image and fed to the UNet as its level (SV3D's script: 1e-5; svdmv train draws ln σ ~ N(\(trainingCondAugDistribution))).")
    var condAug: Float = StableVideoSamplingSettings().conditioningAugmentation

    func validate() throws {
        guard (steps ?? 1) >= 1 else { throw ValidationError("--steps must be positive") }
        guard condAug >= 0, condAug.isFinite else { throw ValidationError("--cond-aug must be a noise level >= 0") }
        guard sigmaMax > 0.002, churn >= 0 else { throw ValidationError("--sigma-max must exceed σ_min 0.002 and --churn must not be negative") }
    }

    /// Steps and schedule: the options where given, else the checkpoint's recommendation, else SV3D's.
    func resolved(_ recommended: SamplingRecommendation?) -> (steps: Int, guider: GuidanceSchedule) {
        (steps ?? recommended?.steps ?? 50, guider ?? recommended?.guider ?? .triangle)
    }

    /// These options in `settings`, with steps and schedule as `resolved` gives them.
    func apply(to settings: inout StableVideoSamplingSettings, recommended: SamplingRecommendation?) {
        let (steps, guider) = resolved(recommended)
        settings.steps = steps
        settings.method = method
        settings.sigmaMax = sigmaMax
        settings.churn = churn
        settings.conditioningAugmentation = condAug
        settings.guider = guider.guider(minScale: minGuidance, maxScale: maxGuidance)
    }
}
