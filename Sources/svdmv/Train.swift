// `svdmv train --data SHARDS --out RUN`: full or LoRA finetuning of an SV3D-structured model on
// orbit shards, resumable after a kill (`--resume`), with metrics.csv and loss.png in RUN.

import ArgumentParser
import Foundation
import Generation
import MultiViewData
import NN
import Tensor
import Training

enum InitialModel: String, ExpressibleByArgument, CaseIterable {
    /// A fresh random model of the tiny SV3D_p structure (64x64 images).
    case tiny
}

extension SVDMV {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Finetune (full or LoRA) an SV3D-structured model on orbit shards; resumable.")

        @Option(help: "Folder of .tar shards (svdmv dataset ...) or one shard.")
        var data: String
        @Option(help: "Run folder: checkpoints, metrics.csv, loss.png, model.safetensors.")
        var out: String
        @Option(help: "Starting checkpoint (.safetensors with sgm keys).")
        var initFrom: String?
        @Option(help: "Or a fresh random model: \(InitialModel.allCases.map(\.rawValue).joined(separator: ", ")).")
        var fresh: InitialModel?
        @Option(help: "Train LoRA adapters of this rank on the temporal attention instead of the whole UNet.")
        var lora: Int?
        @Option(help: "LoRA alpha (default: the rank).")
        var loraAlpha: Float?
        @Option(help: "Optimiser steps.")
        var steps = 1000
        @Option(help: "Videos per optimiser step (gradient accumulation).")
        var videosPerStep = 1
        @Option(help: "Peak learning rate (AdamW).")
        var learningRate: Float = 1e-4
        @Option(help: "Linear warm-up steps.")
        var warmup = 0
        @Option(help: "AdamW weight decay.")
        var weightDecay: Float = 0.01
        @Option(help: "Gradient-norm clipping (0: off).")
        var clip: Float = 1
        @Option(help: "EMA decay of the weights (0: off).")
        var ema: Float = 0
        @Option(help: "Steps between checkpoints.")
        var checkpointEvery = 100
        @Option(help: "Random seed (data order, noise, dropout).")
        var seed: UInt64 = 0
        @Option(help: "Sequences loaded from the shards at most (they are held in memory).")
        var maxSamples = 100_000
        @Flag(help: "Continue the run in --out from its last checkpoint.")
        var resume = false
        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            guard (initFrom == nil) != (fresh == nil) else { throw ValidationError("give exactly one of --init-from and --fresh") }
            guard steps >= 1, videosPerStep >= 1, checkpointEvery >= 1 else {
                throw ValidationError("--steps, --videos-per-step and --checkpoint-every must be positive")
            }
            if let lora, lora < 1 { throw ValidationError("--lora must be a positive rank") }
            guard ema == 0 || (ema > 0 && ema < 1) else { throw ValidationError("--ema must be in [0, 1)") }
            let checkpoints = URL(fileURLWithPath: out).appendingPathComponent("checkpoints")
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path))?.contains { $0.hasPrefix("step-") } ?? false
            if existing && !resume { throw ValidationError("\(out) already holds checkpoints: pass --resume to continue it, or choose another --out") }
        }

        func run() throws {
            memory.apply()
            let folder = URL(fileURLWithPath: out)
            let model: SV3DModel
            if let initFrom {
                model = try SV3DModel.load(URL(fileURLWithPath: initFrom), weightPrecision: .float32)  // trainable
            } else {
                model = SV3DModel(.tinySV3DP)
                model.initializeRandomly(seed: seed)
            }
            let sequences = try loadSequences(size: model.config.imageSize)
            let objective = SV3DTrainingObjective(model: model)
            var config = TrainingConfig(steps: steps, optimizer: AdamWConfig(learningRate: learningRate, weightDecay: weightDecay),
                                        warmupSteps: warmup, gradientAccumulation: videosPerStep,
                                        maxGradientNorm: clip > 0 ? clip : nil, checkpointEvery: checkpointEvery,
                                        emaDecay: ema > 0 ? ema : nil, seed: seed)
            config.keepCheckpoints = 2
            let unet = PrefixedModule(SV3DModel.unetPrefix, model.unet)
            let adapters = try lora.map { try LoRAAdapters(for: unet, config: LoRAConfig(rank: $0, alpha: loraAlpha), seed: seed) }
            let trainable: Module = adapters ?? unet
            let run = try TrainingRun(folder: folder, config: config, trainable: trainable)
            if run.step > 0 { print("resuming \(out) at step \(run.step)") }
            let progress = ProgressBar(total: steps, done: run.step)
            try run.run(loss: { _, _, generator in
                let pick = Int(generator.nextUInt32() % UInt32(sequences.count))
                let s = sequences[pick]
                return try objective.loss(frames: s.frames, elevationsDeg: s.metadata.elevationsDeg,
                                          azimuthsDeg: s.metadata.azimuthsDeg, generator: &generator)
            }, beforeForward: { adapters?.apply(to: unet) }, afterBackward: { adapters?.restore(unet) },
            onStep: { record in progress.step(String(format: "loss %.4f", record.loss)) })
            // Export: the model with the EMA (or final) weights under sgm keys, and the adapters.
            if let adapters {
                try adapters.save(to: folder.appendingPathComponent("lora.safetensors"))
                adapters.merge(into: unet)
            } else if config.emaDecay != nil {
                try unet.load(run.evaluationWeights())
            }
            try model.save(to: folder.appendingPathComponent("model.safetensors"))
            print("wrote \(folder.appendingPathComponent("model.safetensors").path)")
        }

        /// Every sequence of the shards, resized to the model's image size, conditioning view last.
        func loadSequences(size: Int) throws -> [TrainingSequence] {
            let url = URL(fileURLWithPath: data)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
                throw ValidationError("no such file or folder: \(data)")
            }
            let urls = isDirectory.boolValue ? try ShardReader.shards(in: url) : [url]
            guard !urls.isEmpty else { throw ValidationError("\(data) holds no .tar shards") }
            let reader = ShardReader(urls: urls)
            var out: [TrainingSequence] = []
            while out.count < maxSamples, let (key, sequence) = try reader.next() {
                guard sequence.metadata.conditioningIndex == sequence.metadata.frameCount - 1 else {
                    throw ValidationError("sample \(key): the conditioning view must be the last frame")
                }
                guard sequence.metadata.width == size, sequence.metadata.height == size else {
                    throw ValidationError("sample \(key) is \(sequence.metadata.width)x\(sequence.metadata.height); the model takes \(size)x\(size) (build the shards with --size \(size))")
                }
                out.append(sequence)
            }
            guard !out.isEmpty else { throw ValidationError("no samples in \(data)") }
            print("loaded \(out.count) sequences of \(out[0].metadata.frameCount) frames from \(urls.count) shard(s)")
            return out
        }
    }
}
