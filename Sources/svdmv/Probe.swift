// `svdmv probe --checkpoint FILE --data SHARDS --out DIR`: where along σ a trained model's
// denoising goes wrong (the Training library's `DenoisingProbe`), as `probe.md` and a picture of
// the decoded estimates, one row per σ, then the full sample (`probe.png`).

import ArgumentParser
import FileSupport
import Foundation
import Generation
import Imaging
import Training

extension SVDMV {
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-σ one-step denoising errors of a model on orbit shards, with a picture of the estimates.")

        @OptionGroup(title: "Model, data and output") var files: ModelDataOutput
        @Option(parsing: .upToNextOption, help: "Noise levels σ.")
        var sigmas: [Float] = [0.05, 0.2, 0.5, 1, 2, 5, 10, 40]
        @Option(help: "Sequences probed (the first ones in the shards).")
        var sequences = 4
        @Option(help: "Random seed of the noise and the full samples.")
        var seed: UInt64 = 0
        @Flag(help: "Skip the full samples (the sampler of `generate` from each sequence's last frame with its cameras) reported beside the one-step estimates.")
        var noSamples = false
        @OptionGroup(title: "Sampling of the full samples") var sampling: SamplingOptions

        struct ModelDataOutput: ParsableArguments {
            @Option(help: "Model checkpoint (.safetensors) of an sv3d model, e.g. a run's model.safetensors.")
            var checkpoint: String
            @Option(help: "Folder of .tar shards (svdmv dataset ...) or one shard.")
            var data: String
            @Option(help: "Output folder for probe.md and probe.png.")
            var out: String

            func validate() throws {
                guard FileManager.default.isReadableFile(atPath: checkpoint) else { throw ValidationError("cannot read checkpoint \(checkpoint)") }
            }
        }

        func validate() throws {
            guard sequences >= 1 else { throw ValidationError("--sequences must be positive") }
            guard !sigmas.isEmpty, sigmas.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ValidationError("--sigmas must be positive numbers")
            }
        }

        func run() throws {
            let model = try StableVideoModel.load(URL(fileURLWithPath: files.checkpoint), weightPrecision: .float32)
            guard model.config.variant.isOrbitModel else { throw CommandError("\(files.checkpoint) is not an SV3D model") }
            let videos = try loadTrainingSequences(files.data, size: model.config.imageSize, limit: sequences)
            // The full samples are sampled as `generate` would sample them.
            let recommended = try SamplingRecommendation.read(URL(fileURLWithPath: files.checkpoint))
            var settings: StableVideoSamplingSettings?
            if !noSamples {
                var s = StableVideoSamplingSettings()
                sampling.apply(to: &s, recommended: recommended)
                settings = s
            }
            let probe = DenoisingProbe(model: model, sigmas: sigmas, seed: seed, sampling: settings)
            let progress = ProgressBar(total: videos.count * sigmas.count)
            let result = probe.run(videos) { sigma in progress.step("σ \(sigma)") }
            var report = "# Probe of \(files.checkpoint)\n\n\(result.sequences) sequences of \(files.data); views 0..<T-1 against the frames.\n"
            report += String(format: "VAE reconstruction %.2f dB; repeat-the-input baseline %.2f dB.\n\n",
                             result.reconstructionPSNR, result.baselinePSNR)
            report += "| σ | latent MSE of D(x; σ) | of the noisy input x | PSNR of decoded D (dB) | of decoded x (dB) |\n|---:|---:|---:|---:|---:|\n"
            for (i, sigma) in result.sigmas.enumerated() {
                report += String(format: "| %g | %.4f | %.4f | %.2f | %.2f |\n", sigma, result.latentError[i],
                                 result.inputLatentError[i], result.estimatePSNR[i], result.noisyInputPSNR[i])
            }
            if let samplePSNR = result.samplePSNR, let s = settings {
                let method = s.method == .euler ? "Euler" : "Heun"
                let guider = sampling.resolved(recommended).guider.rawValue
                report += "\nFull samples (\(s.steps) \(method) steps from σ \(s.sigmaMax), s_churn \(s.churn), guidance \(guider) \(sampling.minGuidance) -> \(sampling.maxGuidance)): "
                    + String(format: "%.2f dB.\n", samplePSNR)
            }
            let folder = URL(fileURLWithPath: files.out)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try writeAtomically(Data(report.utf8), to: folder.appendingPathComponent("probe.md"))
            let cell = model.config.imageSize
            try PNG.write(ContactSheet.make(rows: result.pictureRows, cellWidth: cell, cellHeight: cell),
                          to: folder.appendingPathComponent("probe.png"))
            print(report)
            print("wrote \(folder.appendingPathComponent("probe.png").path) (rows: the first sequence's frames, then D at each σ, then the full sample)")
        }
    }
}
