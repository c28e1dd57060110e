// `svdmv bench train`: whole UNet training and sampling steps on the small and a medium
// SV3D_p-structured config (Benchmarks' UNetStepBenchmarks); Scripts/bench/train runs it beside its
// PyTorch twin (Scripts/bench/torch_train.py, sgm's VideoUNet) and prints the ratios.

import ArgumentParser
import Benchmarks
import Foundation
import Tensor

extension SVDMV.Bench {
    struct TrainBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "train",
            abstract: "Time UNet training steps (forward, backward, AdamW) and guided sampling steps.")

        @Option(help: "Configs to time, comma-separated: small (the first default model's UNet, 16x16 latents), wide (the bundled default model's UNet: small at twice the width), medium (tinyD widths with the real SV3D_p context and vector widths, 16x16 latents).")
        var models = "small,wide,medium"
        @Option(help: "Steps to time, comma-separated: train, sample.")
        var steps = "train,sample"
        @Option(help: "Frames per video (SV3D uses 21).")
        var frames = 21
        @Option(help: "Untimed runs of each step before timing.")
        var warmup = 1
        @Option(help: "Timed runs of each step; the median is reported.")
        var repeats = 5
        @OptionGroup var output: BenchOutputOptions
        @OptionGroup var memory: MemoryOptions

        var selectedModels: [UNetBenchmarkModel] {
            get throws {
                try models.split(separator: ",").map { name in
                    guard let m = UNetBenchmarkModel.all.first(where: { $0.name == name }) else {
                        throw ValidationError("unknown model '\(name)' in --models (known: \(UNetBenchmarkModel.all.map(\.name).joined(separator: ", ")))")
                    }
                    return m
                }
            }
        }

        var selectedSteps: [UNetStepBenchmarks.Step] {
            get throws {
                try steps.split(separator: ",").map { name in
                    guard let s = UNetStepBenchmarks.Step(rawValue: String(name)) else {
                        throw ValidationError("unknown step '\(name)' in --steps (known: train, sample)")
                    }
                    return s
                }
            }
        }

        func validate() throws {
            guard try !selectedModels.isEmpty else { throw ValidationError("--models is empty") }
            guard try !selectedSteps.isEmpty else { throw ValidationError("--steps is empty") }
            // The temporal convolutions and frame embeddings need at least one frame; 21 is SV3D's.
            guard frames >= 1 else { throw ValidationError("--frames must be at least 1") }
            guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
            guard repeats >= 1 else { throw ValidationError("--repeats must be at least 1") }
        }

        func run() throws {
            memory.apply()
            let bench = UNetStepBenchmarks(models: try selectedModels, steps: try selectedSteps, frames: frames,
                                           warmup: warmup, repeats: repeats)
            output.header((["BLAS: \(BLAS.configuration), \(Parallel.threadCount) threads"]
                           + (try selectedModels).map { "\($0.name): \($0.summary)" }
                           + ["step            parameters  median s  steps/s  samples"]).joined(separator: "\n"))
            _ = bench.run { r in
                output.emit(r) {
                    let name = r.name.padding(toLength: 14, withPad: " ", startingAt: 0)
                    let samples = r.samples.map { String(format: "%.3f", $0) }.joined(separator: " ")
                    return name + String(format: " %11d %9.3f %8.2f  ", r.parameters, r.median, 1 / r.median) + samples
                }
            }
        }
    }
}
