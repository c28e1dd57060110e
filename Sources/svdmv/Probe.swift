// `svdmv probe --checkpoint FILE --data SHARDS --out DIR`: where along σ a trained model's
// denoising goes wrong. For a few training (or held-out) orbits it noises the clean latents to each
// σ, takes the denoiser's one-step estimate D(x; σ) under the sampling-time conditioning (cond_aug
// 1e-5, no dropout, no guidance), and reports the latent error of D against that of the noisy
// input, and the PSNR of the decoded estimate against the frames next to the repeat-the-input
// baseline's and that of the decoded noisy input (how visible latent errors of that size are
// once decoded). Full samples from the same orbits' input views show whether the sampler's path
// goes where the one-step estimates do. A PNG shows the decoded estimates, one row per σ, then
// the sample.

import ArgumentParser
import FileSupport
import Foundation
import Generation
import Imaging
import Metrics
import Models
import MultiViewData
import Tensor

extension SVDMV {
    struct Probe: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Per-σ one-step denoising errors of a model on orbit shards, with a picture of the estimates.")

        @Option(help: "Model checkpoint (.safetensors) of an sv3d model, e.g. a run's model.safetensors.")
        var checkpoint: String
        @Option(help: "Folder of .tar shards (svdmv dataset ...) or one shard.")
        var data: String
        @Option(help: "Output folder for probe.md and probe.png.")
        var out: String
        @Option(help: "Noise levels σ, comma-separated.")
        var sigmas = "0.05,0.2,0.5,1,2,5,10,40"
        @Option(help: "Sequences probed (the first ones in the shards).")
        var sequences = 4
        @Option(help: "Random seed of the noise.")
        var seed: UInt64 = 0
        @Option(help: "Steps of the full samples (SV3D's Euler sampler from each sequence's last frame with its cameras) reported beside the one-step estimates; 0 skips them.")
        var sampleSteps = 50
        @Option(help: "Largest σ of the full samples (SV3D: 700).")
        var sampleSigmaMax: Float = 700
        @Option(help: "s_churn of the full samples (0: SV3D's deterministic sampler).")
        var sampleChurn: Float = 0
        @Option(help: "Guidance of the full samples (scales 1 -> 2.5, SV3D's; vanilla: 2.5): \(GuiderOption.allCases.map(\.rawValue).joined(separator: ", ")).")
        var sampleGuider: GuiderOption = .triangle

        func validate() throws {
            guard FileManager.default.isReadableFile(atPath: checkpoint) else { throw ValidationError("cannot read checkpoint \(checkpoint)") }
            guard sequences >= 1, sampleSteps >= 0 else { throw ValidationError("--sequences must be positive and --sample-steps >= 0") }
            guard sampleSigmaMax > 0.002 else { throw ValidationError("--sample-sigma-max must be above σ_min 0.002") }
            _ = try sigmaList()
        }

        func sigmaList() throws -> [Float] {
            try sigmas.split(separator: ",").map {
                guard let v = Float($0.trimmingCharacters(in: .whitespaces)), v > 0, v.isFinite else {
                    throw ValidationError("--sigmas: '\($0)' is not a positive number")
                }
                return v
            }
        }

        func run() throws {
            let model = try SV3DModel.load(URL(fileURLWithPath: checkpoint), weightPrecision: .float32)
            guard model.config.variant.isOrbitModel else { throw ValidationError("\(checkpoint) is not an SV3D model") }
            let levels = try sigmaList()
            let videos = try loadTrainingSequences(data, size: model.config.imageSize, limit: sequences)
            let objective = SV3DTrainingObjective(model: model)
            let scale = model.config.firstStage.scaleFactor
            var generator = TorchGenerator(seed: seed)
            // rows[σ] accumulates over videos: latent MSE of D and of x, image PSNR of decode(D).
            var latentError = [Double](repeating: 0, count: levels.count)
            var inputError = [Double](repeating: 0, count: levels.count)
            var psnr = [Double](repeating: 0, count: levels.count)
            var noisyPSNR = [Double](repeating: 0, count: levels.count)
            var baselinePSNR = 0.0, reconstructionPSNR = 0.0, samplePSNR = 0.0
            var pictureRows: [[Image8]] = []
            let progress = ProgressBar(total: videos.count * levels.count)
            func views(_ images: Tensor) -> [Image8] {   // images [T, 3, S, S] in [-1, 1], every other view
                let unit = ((images + 1) * 0.5).mapped { min(1, max(0, $0)) }
                return stride(from: 0, to: images.shape[0], by: 2).map { Image8(frame: $0, of: unit) }
            }
            for (v, video) in videos.enumerated() {
                let t = video.frames.shape[0]
                let truth = video.frames.sliced(axis: 0, 0..<(t - 1))
                let input = video.frames.sliced(axis: 0, (t - 1)..<t)
                baselinePSNR += meanImagePSNR(input.broadcast(to: truth.shape), truth)
                let x0 = objective.encoderLatents(video.frames) * scale
                let decode = { (z: Tensor) in GradMode.withoutGradients { model.decoder(z * (1 / scale), frameCount: 1) } }
                reconstructionPSNR += meanImagePSNR(decode(x0).sliced(axis: 0, 0..<(t - 1)), truth)
                let cond = objective.conditioning(frames: video.frames, elevationsDeg: video.metadata.elevationsDeg,
                                                  azimuthsDeg: video.metadata.azimuthsDeg,
                                                  augmentation: .fixed(1e-5), dropout: false, generator: &generator)
                if v == 0 { pictureRows.append(views(video.frames)) }
                for (i, sigma) in levels.enumerated() {
                    let noised = x0 + generator.randn(x0.shape) * sigma
                    let d = GradMode.withoutGradients { objective.denoise(noised, sigma: sigma, conditioning: cond) }
                    latentError[i] += meanSquaredError(d, x0)
                    inputError[i] += meanSquaredError(noised, x0)
                    let images = decode(d)
                    psnr[i] += meanImagePSNR(images.sliced(axis: 0, 0..<(t - 1)), truth)
                    noisyPSNR[i] += meanImagePSNR(decode(noised).sliced(axis: 0, 0..<(t - 1)), truth)
                    if v == 0 { pictureRows.append(views(images)) }
                    progress.step("σ \(sigma)")
                }
                if sampleSteps > 0 {
                    var settings = SV3DSamplingSettings()
                    settings.steps = sampleSteps
                    settings.sigmaMax = sampleSigmaMax
                    settings.churn = sampleChurn
                    settings.guider = sampleGuider.guider(minScale: 1, maxScale: 2.5)
                    settings.seed = seed
                    settings.frames = t
                    settings.elevationsDegrees = video.metadata.elevationsDeg
                    settings.azimuthsDegrees = video.metadata.azimuthsDeg
                    let sampler = SV3DSampler(model: model, settings: settings)
                    let images = GradMode.withoutGradients {
                        model.decoder(sampler.sampleLatents(image: input) * (1 / scale), frameCount: 1)
                    }
                    samplePSNR += meanImagePSNR(images.sliced(axis: 0, 0..<(t - 1)), truth)
                    if v == 0 { pictureRows.append(views(images)) }
                }
            }
            let n = Double(videos.count)
            var report = "# Probe of \(checkpoint)\n\n\(videos.count) sequences of \(data); views 0..<T-1 against the frames.\n"
            report += String(format: "VAE reconstruction %.2f dB; repeat-the-input baseline %.2f dB.\n\n", reconstructionPSNR / n, baselinePSNR / n)
            report += "| σ | latent MSE of D(x; σ) | of the noisy input x | PSNR of decoded D (dB) | of decoded x (dB) |\n|---:|---:|---:|---:|---:|\n"
            for (i, sigma) in levels.enumerated() {
                report += String(format: "| %g | %.4f | %.4f | %.2f | %.2f |\n", sigma, latentError[i] / n, inputError[i] / n,
                                 psnr[i] / n, noisyPSNR[i] / n)
            }
            if sampleSteps > 0 {
                report += "\nFull samples (\(sampleSteps) Euler steps from σ \(sampleSigmaMax), s_churn \(sampleChurn), guidance \(sampleGuider.rawValue) 1 -> 2.5): "
                    + String(format: "%.2f dB.\n", samplePSNR / n)
            }
            let folder = URL(fileURLWithPath: out)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try writeAtomically(Data(report.utf8), to: folder.appendingPathComponent("probe.md"))
            let cell = model.config.imageSize
            try PNG.write(ContactSheet.make(rows: pictureRows, cellWidth: cell, cellHeight: cell),
                          to: folder.appendingPathComponent("probe.png"))
            print(report)
            print("wrote \(folder.appendingPathComponent("probe.png").path) (rows: the first sequence's frames, then D at each σ, then the full sample)")
        }
    }
}
