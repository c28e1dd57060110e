// `svdmv train --data SHARDS --out RUN`: full or LoRA finetuning of an SV3D-structured model on
// orbit shards, resumable after a kill (`--resume`), with metrics.csv and loss.png in RUN.

import ArgumentParser
import Diffusion
import Foundation
import Generation
import MultiViewData
import NN
import Tensor
import Metrics
import Training

enum InitialModel: String, ExpressibleByArgument, CaseIterable {
    /// A fresh random model of the tiny SV3D_p structure (64x64 images, 8x8 latents; tests).
    case tiny
    /// A fresh random model of the bundled default model's structure (64x64 images, 16x16 latents).
    case small
    /// `small` with a UNet twice as wide (64 channels).
    case wide

    var config: SV3DModelConfig {
        switch self {
        case .tiny: return .tinySV3DP
        case .small: return .small
        case .wide: return .wide
        }
    }
}

/// Which networks a run trains.
enum TrainedPart: String, ExpressibleByArgument, CaseIterable {
    /// The diffusion UNet (full or LoRA); VAE and CLIP stay frozen.
    case unet
    /// The conditioning encoder and first-stage decoder as a KL autoencoder (the first stage of a
    /// small model's recipe); UNet and CLIP untouched.
    case autoencoder
    /// The first-stage decoder alone, on the UNet's one-step estimates of the training videos
    /// (the last stage of a small model's recipe); encoder, UNet and CLIP frozen.
    case decoder
}

/// `svdmv train`'s default conditioning-augmentation distribution, "-3, 0.5²", for help texts
/// (`generate --cond-aug` quotes it too).
let trainingCondAugDistribution: String = {
    let settings = SV3DTrainingSettings()
    return String(format: "%g, %g²", settings.conditioningAugmentationLogMean, settings.conditioningAugmentationLogStd)
}()

extension SVDMV {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Finetune (full or LoRA) an SV3D-structured model on orbit shards; resumable.")
        /// Relative noise on a widened decoder's weights (`--decoder-init widened`): small enough
        /// to start from the narrow decoder's output, large enough for Adam to separate the copies.
        static let wideningPerturbation: Float = 0.01

        @Option(help: "Folder of .tar shards (svdmv dataset ...) or one shard.")
        var data: String
        @Option(help: "Run folder: checkpoints, metrics.csv, loss.png, model.safetensors.")
        var out: String
        @Option(help: "Starting checkpoint (.safetensors with sgm keys).")
        var initFrom: String?
        @Option(help: "Or a fresh random model: \(InitialModel.allCases.map(\.rawValue).joined(separator: ", ")).")
        var fresh: InitialModel?
        @Option(help: "With --fresh: take the CLIP tower, VAE and latent scale factor from this checkpoint (e.g. an autoencoder stage's model.safetensors), so a fresh UNet trains on an existing VAE.")
        var autoencoderFrom: String?
        @Option(help: "With --fresh: latent channels of the VAE (SV3D's: 4), the UNet's input and output widths following; with --autoencoder-from, the source's must match.")
        var latentChannels: Int?
        @Option(help: "What to train: unet (the diffusion model; VAE and CLIP frozen), autoencoder (conditioning encoder + first-stage decoder, sgm's KL-autoencoder loss without the GAN), or decoder (the first-stage decoder alone, with the autoencoder's reconstruction loss, decoding the UNet's one-step estimates D(x0 + σn; σ) at ln σ ~ N(--p-mean, --p-std²) so that it learns the latents the UNet produces; the rest frozen).")
        var part: TrainedPart = .unet
        @Option(help: "Autoencoder: images per step (random frames of random sequences; decoder: random frames of one sequence).")
        var imagesPerStep = 8
        @Option(help: "Autoencoder, decoder and the UNet's image-space term: weight of the LPIPS term (sgm's kl-f8 configs: 1; 0 turns it off).")
        var perceptualWeight: Float = 1
        @Option(help: "Autoencoder: weight of the KL term (sgm's kl-f8 configs: 1e-6).")
        var klWeight: Float = 1e-6
        @Option(help: "Autoencoder, decoder and image-space term: LPIPS trunk of the perceptual term (sgm uses vgg).")
        var lpips: LPIPSNet = .vgg
        @Option(help: ArgumentHelp("Autoencoder, decoder and image-space term: folder holding the LPIPS weights (default $SVDMV_LPIPS_DIR or ~/.cache/svdmv/lpips).", valueName: "dir"))
        var lpipsWeights: String?
        @Option(parsing: .unconditional, help: "UNet and decoder: mean of ln σ of the training noise levels (default: SV3D's finetuning value, see SV3DTrainingObjective.swift).")
        var pMean: Float = SV3DTrainingSettings().sigmaSampling.pMean
        @Option(help: "UNet and decoder: standard deviation of ln σ.")
        var pStd: Float = SV3DTrainingSettings().sigmaSampling.pStd
        @Option(parsing: .unconditional, help: "UNet and decoder: mean of ln σ_aug, the noise added to the conditioning frame (and fed to the UNet as cond_aug); the default is the community SVD scripts' (see SV3DTrainingObjective.swift).")
        var condAugMean: Float = SV3DTrainingSettings().conditioningAugmentationLogMean
        @Option(help: "UNet and decoder: standard deviation of ln σ_aug.")
        var condAugStd: Float = SV3DTrainingSettings().conditioningAugmentationLogStd
        @Option(help: "UNet: weight of an image-space term (not in sgm; 0, the default, is sgm's objective): --decoded-frames frames of the estimate D decoded by the frozen decoder, against the true frames with the autoencoder's L1 + LPIPS (--lpips, --perceptual-weight).")
        var decodedLossWeight: Float = 0
        @Option(help: "UNet: frames per video decoded for --decoded-loss-weight.")
        var decodedFrames = 4
        @Option(help: "Decoder: fraction of steps that decode the encoder's own latents instead of the UNet's estimates, so reconstruction is kept.")
        var cleanFraction: Float = 0.25
        @Option(help: "Decoder: start a new first-stage decoder with this base width (sgm's ch; its ch_mult and block count are the checkpoint's) instead of the checkpoint's decoder. The latents are unchanged, so a wider decoder can be trained for a trained encoder and UNet.")
        var decoderChannels: Int?
        @Option(help: "Decoder, with --decoder-channels: random weights, or the checkpoint's decoder widened so that it decodes as before (Net2WiderNet; the width a whole multiple of the checkpoint's; weights then perturbed by \(Self.wideningPerturbation) of their RMS so the copies can diverge).")
        var decoderInit: DecoderInitOption = .random
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
        @Option(help: "Learning rate after the warm-up: constant, or cosine (to zero at --steps).")
        var schedule: LearningRateScheduleOption = .constant
        @Option(help: "AdamW weight decay.")
        var weightDecay: Float = 0.01
        @Option(help: "Gradient-norm clipping (0: off).")
        var clip: Float = 1
        @Option(help: "EMA decay of the weights (0: off).")
        var ema: Float = 0
        @Flag(name: .customLong("ema-warmup"), inversion: .prefixedNo,
              help: "With --ema: warm the decay up as sgm's LitEma does, min(decay, (1+n)/(10+n)) at update n; --no-ema-warmup keeps it constant.")
        var emaWarmUp = true
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
            if let latentChannels {
                guard fresh != nil else { throw ValidationError("--latent-channels shapes a fresh model: it goes with --fresh (--init-from keeps its checkpoint's)") }
                guard latentChannels >= 1 else { throw ValidationError("--latent-channels must be positive") }
            }
            if let autoencoderFrom {
                guard fresh != nil else { throw ValidationError("--autoencoder-from goes with --fresh (--init-from already brings its own VAE)") }
                guard FileManager.default.isReadableFile(atPath: autoencoderFrom) else { throw ValidationError("cannot read --autoencoder-from \(autoencoderFrom)") }
            }
            guard steps >= 1, videosPerStep >= 1, checkpointEvery >= 1 else {
                throw ValidationError("--steps, --videos-per-step and --checkpoint-every must be positive")
            }
            if let lora, lora < 1 { throw ValidationError("--lora must be a positive rank") }
            if part != .unet {
                guard lora == nil else { throw ValidationError("--lora trains the UNet; it does not apply to --part \(part.rawValue)") }
                guard imagesPerStep >= 1 else { throw ValidationError("--images-per-step must be positive") }
                guard perceptualWeight >= 0, klWeight >= 0 else { throw ValidationError("--perceptual-weight and --kl-weight must be >= 0") }
                guard cleanFraction >= 0, cleanFraction <= 1 else { throw ValidationError("--clean-fraction must be in [0, 1]") }
            }
            if part == .decoder, fresh != nil {
                throw ValidationError("--part decoder adapts the decoder to a trained UNet: give --init-from (a fresh model's UNet is random)")
            }
            if let decoderChannels {
                guard part == .decoder else { throw ValidationError("--decoder-channels starts a new decoder: it goes with --part decoder") }
                guard decoderChannels >= 1 else { throw ValidationError("--decoder-channels must be positive") }
            } else if decoderInit != .random {
                throw ValidationError("--decoder-init goes with --decoder-channels")
            }
            guard ema == 0 || (ema > 0 && ema < 1) else { throw ValidationError("--ema must be in [0, 1)") }
            guard decodedLossWeight >= 0, decodedFrames >= 1, perceptualWeight >= 0 else {
                throw ValidationError("--decoded-loss-weight and --perceptual-weight must be >= 0 and --decoded-frames positive")
            }
            guard pStd > 0, pMean.isFinite else { throw ValidationError("--p-std must be positive and --p-mean finite") }
            guard condAugStd >= 0, condAugStd.isFinite, condAugMean.isFinite else {
                throw ValidationError("--cond-aug-std must be >= 0 and --cond-aug-mean finite")
            }
            let checkpoints = URL(fileURLWithPath: out).appendingPathComponent("checkpoints")
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path))?.contains { $0.hasPrefix("step-") } ?? false
            if existing && !resume { throw ValidationError("\(out) already holds checkpoints: pass --resume to continue it, or choose another --out") }
        }

        func run() throws {
            memory.apply()
            let folder = URL(fileURLWithPath: out)
            var model: SV3DModel
            if let initFrom {
                model = try SV3DModel.load(URL(fileURLWithPath: initFrom), weightPrecision: .float32)  // trainable
                if let decoderChannels {
                    var architecture = model.config.firstStage
                    architecture.baseChannels = decoderChannels
                    let initialisation: SV3DModel.DecoderInitialisation = decoderInit == .random
                        ? .random(seed: seed) : .widened(perturbation: Self.wideningPerturbation, seed: seed)
                    do { model = try model.replacingDecoder(with: architecture, initialisation: initialisation) } catch {
                        throw ValidationError("--decoder-channels \(decoderChannels) --decoder-init \(decoderInit.rawValue): \(error)")
                    }
                    print("new first-stage decoder (\(decoderInit.rawValue)): ch \(decoderChannels), ch_mult \(architecture.channelMultipliers), \(architecture.resBlockCount + 1) blocks per level")
                }
            } else {
                var config = fresh!.config
                if let latentChannels { config = config.withLatentChannels(latentChannels) }
                model = SV3DModel(config)
                model.initializeRandomly(seed: seed)
                if let autoencoderFrom {
                    let source = try SV3DModel.load(URL(fileURLWithPath: autoencoderFrom), weightPrecision: .float32)
                    do { try model.adoptEncodersAndDecoder(of: source) } catch {
                        let theirs = source.config.firstStage.latentChannels, mine = model.config.firstStage.latentChannels
                        let hint = theirs == mine ? "" : " (its VAE has \(theirs) latent channels, this model \(mine): pass --latent-channels \(theirs))"
                        throw ValidationError("--autoencoder-from \(autoencoderFrom): \(error)\(hint)")
                    }
                }
            }
            let sequences = try loadTrainingSequences(data, size: model.config.imageSize, limit: maxSamples)
            if part == .autoencoder { return try trainAutoencoder(model, sequences: sequences, folder: folder) }
            let objective = try diffusionObjective(model)
            if part == .decoder { return try trainDecoder(model, diffusion: objective, sequences: sequences, folder: folder) }
            var config = trainingConfig
            config.objective = ["p_mean": pMean, "p_std": pStd]
            recordConditioningAugmentation(in: &config)
            if decodedLossWeight > 0 {
                config.objective?["decoded_loss_weight"] = decodedLossWeight
                config.objective?["decoded_frames"] = Float(decodedFrames)
                config.objective?["perceptual_weight"] = perceptualWeight
            }
            let unet = PrefixedModule(SV3DModel.unetPrefix, model.unet)
            let adapters = try lora.map { try LoRAAdapters(for: unet, config: LoRAConfig(rank: $0, alpha: loraAlpha), seed: seed) }
            let trainable: Module = adapters ?? unet
            let run = try openRun(folder: folder, config: config, trainable: trainable)
            let latents = encodeOnce(sequences, objective)
            let progress = ProgressBar(total: steps, done: run.step)
            try run.run(loss: { _, _, generator in
                let pick = Int(generator.nextUInt32() % UInt32(sequences.count))
                let s = sequences[pick]
                return try objective.loss(frames: s.frames, elevationsDeg: s.metadata.elevationsDeg,
                                          azimuthsDeg: s.metadata.azimuthsDeg, latents: latents[pick],
                                          generator: &generator)
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

        /// Other than default conditioning-augmentation levels are part of the run's config (so a
        /// resume keeps them); runs made before the option existed keep their configs.
        func recordConditioningAugmentation(in config: inout TrainingConfig) {
            let defaults = SV3DTrainingSettings()
            guard condAugMean != defaults.conditioningAugmentationLogMean
                || condAugStd != defaults.conditioningAugmentationLogStd else { return }
            config.objective?["cond_aug_log_mean"] = condAugMean
            config.objective?["cond_aug_log_std"] = condAugStd
        }

        func diffusionObjective(_ model: SV3DModel) throws -> SV3DTrainingObjective {
            var settings = SV3DTrainingSettings()
            settings.sigmaSampling = EDMSigmaSampling(pMean: pMean, pStd: pStd)
            settings.conditioningAugmentationLogMean = condAugMean
            settings.conditioningAugmentationLogStd = condAugStd
            settings.decodedLossWeight = part == .unet ? decodedLossWeight : 0
            settings.decodedFrames = decodedFrames
            guard settings.decodedLossWeight > 0 else { return SV3DTrainingObjective(model: model, settings: settings) }
            let imageLoss = try autoencoderObjective(model)
            return SV3DTrainingObjective(model: model, settings: settings, decodedLoss: imageLoss.reconstructionLoss)
        }

        /// The encoder is frozen: encode every video once, not at every step.
        func encodeOnce(_ sequences: [TrainingSequence], _ objective: SV3DTrainingObjective) -> [Tensor] {
            let encoding = ProgressBar(total: sequences.count)
            return sequences.map { s -> Tensor in
                defer { encoding.step("encoding latents") }
                return objective.encoderLatents(s.frames)
            }
        }

        func autoencoderObjective(_ model: SV3DModel) throws -> SV3DAutoencoderObjective {
            var perceptual: ((Tensor, Tensor) -> Tensor)?
            if perceptualWeight > 0 {
                let dir = lpipsWeights.map { URL(fileURLWithPath: $0, isDirectory: true) } ?? LPIPS.defaultWeightsDirectory
                let network = try LPIPS.pretrained(net: lpips, directory: dir)
                perceptual = { network($0, $1) }
            }
            return SV3DAutoencoderObjective(
                model: model, settings: SV3DAutoencoderSettings(perceptualWeight: perceptualWeight, klWeight: klWeight),
                perceptualDistance: perceptual)
        }

        var trainingConfig: TrainingConfig {
            var config = TrainingConfig(steps: steps, optimizer: AdamWConfig(learningRate: learningRate, weightDecay: weightDecay),
                                        warmupSteps: warmup, gradientAccumulation: videosPerStep,
                                        maxGradientNorm: clip > 0 ? clip : nil, checkpointEvery: checkpointEvery,
                                        emaDecay: ema > 0 ? ema : nil, seed: seed)
            config.keepCheckpoints = 2
            config.emaWarmUp = ema > 0 && emaWarmUp ? true : nil
            config.decay = schedule.decay
            return config
        }

        func openRun(folder: URL, config: TrainingConfig, trainable: Module) throws -> TrainingRun {
            let run = try TrainingRun(folder: folder, config: config, trainable: trainable)
            if run.step > 0 { print("resuming \(out) at step \(run.step)") }
            return run
        }

        /// The autoencoder stage: each step reconstructs `imagesPerStep` random frames; at the end
        /// the latent scale factor is set to 1/std of the encoder's latents over (up to) 512
        /// training frames, and the whole model is written with the trained VAE.
        func trainAutoencoder(_ model: SV3DModel, sequences: [TrainingSequence], folder: URL) throws {
            let objective = try autoencoderObjective(model)
            let trainable = objective.trainable
            let run = try openRun(folder: folder, config: trainingConfig, trainable: trainable)
            let frameCount = sequences[0].frames.shape[0]
            func frames(_ picks: [(Int, Int)]) -> Tensor {
                Tensor.concatenated(picks.map { sequences[$0.0].frames.sliced(axis: 0, $0.1..<($0.1 + 1)) }, axis: 0)
            }
            let progress = ProgressBar(total: steps, done: run.step)
            try run.run(loss: { _, _, generator in
                let picks = (0..<imagesPerStep).map { _ in
                    (Int(generator.nextUInt32() % UInt32(sequences.count)), Int(generator.nextUInt32() % UInt32(frameCount)))
                }
                return try objective.loss(images: frames(picks), generator: &generator)
            }, onStep: { record in progress.step(String(format: "loss %.4f", record.loss)) })
            if run.config.emaDecay != nil { try trainable.load(run.evaluationWeights()) }
            var sampler = TorchGenerator(seed: seed)
            let sample = (0..<min(512, sequences.count * frameCount)).map { _ in
                (Int(sampler.nextUInt32() % UInt32(sequences.count)), Int(sampler.nextUInt32() % UInt32(frameCount)))
            }
            let images = frames(sample)
            let scale = objective.latentScaleFactor(images: images)
            model.setLatentScaleFactor(scale)
            print(String(format: "latent scale factor 1/std = %.5f; reconstruction PSNR %.2f dB over %d training frames",
                         scale, objective.reconstructionPSNR(images: images), sample.count))
            try model.save(to: folder.appendingPathComponent("model.safetensors"))
            print("wrote \(folder.appendingPathComponent("model.safetensors").path)")
        }

        /// The decoder stage: each step takes one video, the UNet's one-step estimate of its latents
        /// (or, at --clean-fraction, the encoder's latents), and decodes `imagesPerStep` of its
        /// frames against the true frames. The UNet's estimates carry errors the encoder's latents
        /// never show the decoder (session 5 of Evaluation/default-model.md: they decode to a
        /// mottled texture); this stage teaches the decoder to map them to clean images. The latent
        /// space is unchanged (the encoder is frozen), so the UNet needs no retraining.
        func trainDecoder(_ model: SV3DModel, diffusion: SV3DTrainingObjective, sequences: [TrainingSequence],
                          folder: URL) throws {
            let objective = try autoencoderObjective(model)
            var config = trainingConfig
            config.objective = ["p_mean": pMean, "p_std": pStd, "clean_fraction": cleanFraction, "perceptual_weight": perceptualWeight]
            recordConditioningAugmentation(in: &config)
            // A resume must rebuild the same new decoder before loading its checkpoint.
            if let decoderChannels {
                config.objective?["decoder_channels"] = Float(decoderChannels)
                if decoderInit == .widened { config.objective?["decoder_widened"] = 1 }
            }
            let run = try openRun(folder: folder, config: config, trainable: objective.decoderPart)
            let latents = encodeOnce(sequences, diffusion)
            let frameCount = sequences[0].frames.shape[0]
            let progress = ProgressBar(total: steps, done: run.step)
            try run.run(loss: { _, _, generator in
                let pick = Int(generator.nextUInt32() % UInt32(sequences.count))
                let s = sequences[pick]
                let estimate = diffusion.oneStepEstimate(frames: s.frames, elevationsDeg: s.metadata.elevationsDeg,
                                                         azimuthsDeg: s.metadata.azimuthsDeg, latents: latents[pick],
                                                         cleanProbability: cleanFraction, generator: &generator)
                let frames = (0..<min(imagesPerStep, frameCount)).map { _ in Int(generator.nextUInt32() % UInt32(frameCount)) }
                return try objective.decodingLoss(latents: estimate.rows(frames), images: s.frames.rows(frames))
            }, onStep: { record in progress.step(String(format: "loss %.4f", record.loss)) })
            if run.config.emaDecay != nil { try objective.decoderPart.load(run.evaluationWeights()) }
            try model.save(to: folder.appendingPathComponent("model.safetensors"))
            print("wrote \(folder.appendingPathComponent("model.safetensors").path)")
        }
    }
}

enum DecoderInitOption: String, ExpressibleByArgument, CaseIterable {
    case random, widened
}

enum LearningRateScheduleOption: String, ExpressibleByArgument, CaseIterable {
    case constant, cosine
    var decay: LearningRateDecay? { self == .cosine ? .cosine : nil }
}
