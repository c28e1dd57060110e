// `svdmv bench unet` and `svdmv bench decoder`: one full-size sv3d_p UNet evaluation and one SV3D
// VAE decode with random weights, time and memory; Scripts/bench/unet_bench.sh runs them beside
// their PyTorch twins.

import ArgumentParser
import Benchmarks
import Foundation
import Generation
import Models
import NN
import Tensor

enum WeightPrecisionOption: String, ExpressibleByArgument, CaseIterable {
    case f32, f16, bf16
    var dtype: DType { self == .f32 ? .float32 : self == .f16 ? .float16 : .bfloat16 }
}

private func gib(_ bytes: Int) -> String { String(format: "%.2f GiB", Double(bytes) / Double(1 << 30)) }

private func seconds(since start: UInt64) -> Double {
    Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

extension SVDMV.Bench {
    struct UNetBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "unet",
            abstract: "One sv3d_p UNet evaluation (cond + uncond batch) with random full-size weights.",
            discussion: "Run once with --write-weights to create the checkpoint, then without it to measure (separate processes, so the peak memory is the evaluation's).")

        @Option(help: "Image size in pixels (latent = size / 8).")
        var size = 576
        @Option(help: "Frames per video.")
        var frames = 21
        @Option(help: "Videos in the batch (2: cond and uncond, as in a sampling step).")
        var videos = 2
        @Option(help: "Storage of the layer weights in memory (\(WeightPrecisionOption.allCases.map(\.rawValue).joined(separator: ", "))); arithmetic is Float32.")
        var precision: WeightPrecisionOption = .f16
        @Option(help: "UNet checkpoint (sgm keys) with random sv3d_p weights.")
        var weights: String
        @Flag(help: "Only write --weights (random, seeded, stored as --precision) and exit.")
        var writeWeights = false
        @Option(help: "Timed evaluations.")
        var repeats = 1
        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            guard size >= 64, size % 64 == 0 else { throw ValidationError("--size must be a multiple of 64") }
            guard frames >= 1, videos >= 1, repeats >= 1 else {
                throw ValidationError("--frames, --videos and --repeats must be at least 1")
            }
        }

        func run() throws {
            let url = URL(fileURLWithPath: weights)
            if writeWeights {
                memory.apply()
                let start = DispatchTime.now().uptimeNanoseconds
                try UNetBenchmark.writeRandomCheckpoint(.sv3dP, dtype: precision.dtype, seed: 0, to: url)
                print(String(format: "wrote %@ (%@) in %.1f s", weights, precision.rawValue, seconds(since: start)))
                return
            }
            print("BLAS: \(BLAS.configuration)")
            var start = DispatchTime.now().uptimeNanoseconds
            let unet = VideoUNet(.sv3dP)
            try unet.load(from: SafeTensorsFile(url: url), prefix: VideoUNet.checkpointPrefix,
                          weightPrecision: precision.dtype)
            let loadSeconds = seconds(since: start)
            // After building and loading: with freed memory kept in the heap, glibc's calloc clears
            // recycled heap blocks, which would commit the model's zero placeholders.
            memory.apply()
            let afterLoad = ProcessMemory.resident
            // Reads every stored weight once, so mapped file pages count as resident.
            unet.pageInLayerWeights()
            let storage = unet.parameterStorageByteCount
            print(String(format: "load: %.2f s, resident %@ after load, %@ with every weight paged in; parameter storage %@ (%d parameters, %@)",
                         loadSeconds, gib(afterLoad), gib(ProcessMemory.resident), gib(storage),
                         unet.parameterCount, precision.rawValue))
            let latent = size / 8
            let input = UNetBenchmark.inputs(.sv3dP, videos: videos, frames: frames, latentSize: latent, seed: 1)
            var evalSeconds = 0.0
            for i in 0..<repeats {
                start = DispatchTime.now().uptimeNanoseconds
                TensorMemory.resetPeak()
                let tensorsBefore = TensorMemory.live
                let out = GradMode.withoutGradients {
                    unet(input.x, timesteps: input.timesteps, context: input.context, y: input.y, frames: frames)
                }
                evalSeconds = seconds(since: start)
                let mean = out.scalars.reduce(0, +) / Float(out.count)
                print(String(format: "eval %d: %.2f s, x %@, output mean %.6f, peak resident %@, peak of live tensors above the weights and inputs %@",
                             i + 1, evalSeconds, "\(input.x.shape)", mean, gib(ProcessMemory.peakResident),
                             gib(TensorMemory.peak - tensorsBefore)))
            }
            print("RESULT size=\(size) frames=\(frames) videos=\(videos) precision=\(precision.rawValue) "
                  + String(format: "load_s=%.2f eval_s=%.2f", loadSeconds, evalSeconds) + " peak_bytes=\(ProcessMemory.peakResident)")
        }
    }

    struct DecoderBench: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "decoder",
            abstract: "The SV3D first-stage VAE decoder on random latents with random weights: time and peak memory.")

        @Option(help: "Image size in pixels (latent = size / 8).")
        var size = 576
        @Option(help: "Frames decoded in one call (StableVideoSampler's decoding chunk).")
        var frames = 1
        @Option(name: .customLong("im2col-scratch-mib"), help: "Largest im2col scratch in MiB; 0 = whole images (the scratch before banding).")
        var im2colScratchMiB = KernelConfiguration.standard.im2colScratchLimit * 4 >> 20
        @OptionGroup var memory: MemoryOptions

        func run() throws {
            memory.apply()
            var kernels = KernelConfiguration.standard
            kernels.im2colScratchLimit = im2colScratchMiB == 0 ? Int.max / 8 : im2colScratchMiB << 18
            let decoder = VAEDecoder(config: .sv3dFirstStage)
            decoder.initializeRandomly(seed: 0)
            var g = TorchGenerator(seed: 1)
            let z = g.randn([frames, 4, size / 8, size / 8])
            let before = ProcessMemory.resident
            let start = DispatchTime.now().uptimeNanoseconds
            let image = KernelConfiguration.$current.withValue(kernels) {
                GradMode.withoutGradients { decoder(z, frameCount: 1) }
            }
            print(String(format: "decoder %dx%d, %d frame(s), im2col scratch %@: %.2f s, output %@, resident before %@, peak %@",
                         size, size, frames, im2colScratchMiB == 0 ? "whole image" : "\(im2colScratchMiB) MiB",
                         seconds(since: start), "\(image.shape)", gib(before), gib(ProcessMemory.peakResident)))
        }
    }
}
