// `svdmv train --data SHARDS --out RUN`: one stage of training an SV3D-structured model on orbit
// shards (the UNet, full or LoRA; a small model's autoencoder; or its decoder), resumable after a
// kill (`--resume`), with metrics.csv and loss.png in RUN. The stages are the Training library's
// (`TrainingStages`); this command builds the model and the objective from its options.

import ArgumentParser
import Foundation
import Generation
import Metrics
import MultiViewData
import NN
import Tensor
import Training

enum InitialModel: String, ExpressibleByArgument, CaseIterable {
    /// A fresh random model of the tiny SV3D_p structure (64x64 images, 8x8 latents; tests).
    case tiny
    /// A fresh random model of the bundled default model's structure (64x64 images, 16x16 latents).
    case small
    /// `small` with a UNet twice as wide (64 channels).
    case wide

    var config: StableVideoModelConfig {
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

enum DecoderInitOption: String, ExpressibleByArgument, CaseIterable {
    case random, widened
}

enum LearningRateScheduleOption: String, ExpressibleByArgument, CaseIterable {
    case constant, cosine
    var decay: LearningRateDecay? { self == .cosine ? .cosine : nil }
}

/// `svdmv train`'s default conditioning-augmentation distribution, "-3, 0.5²", for help texts
/// (`generate --cond-aug` quotes it too).
let trainingCondAugDistribution: String = {
    let settings = SV3DTrainingSettings()
    return String(format: "%g, %g²", settings.conditioningAugmentationLogMean, settings.conditioningAugmentationLogStd)
}()

extension SVDMV.Train {
    struct ModelOptions: ParsableArguments {
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
        @Flag(help: "UNet: stage I of the SVD paper's staged training, image pretraining of the spatial layers: every frame an independent image at its own noise level, the temporal blocks off (image_only_indicator = 1), no input view and no cameras, only the frame's own CLIP tokens; a later run without it (--init-from this one's model) is the multi-view stage.")
        var imageOnly = false

        func validate() throws {
            if imageOnly, part != .unet { throw ValidationError("--image-only trains the UNet: it does not apply to --part \(part.rawValue)") }
            guard (initFrom == nil) != (fresh == nil) else { throw ValidationError("give exactly one of --init-from and --fresh") }
            if let latentChannels {
                guard fresh != nil else { throw ValidationError("--latent-channels shapes a fresh model: it goes with --fresh (--init-from keeps its checkpoint's)") }
                guard latentChannels >= 1 else { throw ValidationError("--latent-channels must be positive") }
            }
            if let autoencoderFrom {
                guard fresh != nil else { throw ValidationError("--autoencoder-from goes with --fresh (--init-from already brings its own VAE)") }
                guard FileManager.default.isReadableFile(atPath: autoencoderFrom) else { throw ValidationError("cannot read --autoencoder-from \(autoencoderFrom)") }
            }
            if part == .decoder, fresh != nil {
                throw ValidationError("--part decoder adapts the decoder to a trained UNet: give --init-from (a fresh model's UNet is random)")
            }
        }
    }

    struct OptimizerOptions: ParsableArguments {
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

        func validate() throws {
            guard steps >= 1, videosPerStep >= 1 else { throw ValidationError("--steps and --videos-per-step must be positive") }
            guard ema == 0 || (ema > 0 && ema < 1) else { throw ValidationError("--ema must be in [0, 1)") }
        }
    }

    struct NoiseOptions: ParsableArguments {
        @Option(parsing: .unconditional, help: "UNet and decoder: mean of ln σ of the training noise levels (default: SV3D's finetuning value, see SV3DTrainingObjective.swift).")
        var pMean: Float = SV3DTrainingSettings().sigmaSampling.pMean
        @Option(help: "UNet and decoder: standard deviation of ln σ.")
        var pStd: Float = SV3DTrainingSettings().sigmaSampling.pStd
        @Option(parsing: .unconditional, help: "UNet and decoder: mean of ln σ_aug, the noise added to the conditioning frame (and fed to the UNet as cond_aug); the default is the community SVD scripts' (see SV3DTrainingObjective.swift).")
        var condAugMean: Float = SV3DTrainingSettings().conditioningAugmentationLogMean
        @Option(help: "UNet and decoder: standard deviation of ln σ_aug.")
        var condAugStd: Float = SV3DTrainingSettings().conditioningAugmentationLogStd

        func validate() throws {
            guard pStd > 0, pMean.isFinite else { throw ValidationError("--p-std must be positive and --p-mean finite") }
            guard condAugStd >= 0, condAugStd.isFinite, condAugMean.isFinite else {
                throw ValidationError("--cond-aug-std must be >= 0 and --cond-aug-mean finite")
            }
        }
    }

    struct ImageLossOptions: ParsableArguments {
        @Option(help: "UNet: weight of an image-space term (not in sgm; 0, the default, is sgm's objective): --decoded-frames frames of the estimate D decoded by the frozen decoder, against the true frames with the autoencoder's L1 + LPIPS (--lpips, --perceptual-weight).")
        var decodedLossWeight: Float = 0
        @Option(help: "UNet: frames per video decoded for --decoded-loss-weight.")
        var decodedFrames = 4
        @Option(help: "Autoencoder, decoder and the UNet's image-space term: weight of the LPIPS term (sgm's kl-f8 configs: 1; 0 turns it off).")
        var perceptualWeight: Float = 1

        func validate() throws {
            guard decodedLossWeight >= 0, decodedFrames >= 1, perceptualWeight >= 0 else {
                throw ValidationError("--decoded-loss-weight and --perceptual-weight must be >= 0 and --decoded-frames positive")
            }
        }
    }

    struct AutoencoderOptions: ParsableArguments {
        @Option(help: "Autoencoder: images per step (random frames of random sequences; decoder: random frames of one sequence).")
        var imagesPerStep = 8
        @Option(help: "Autoencoder: weight of the KL term (sgm's kl-f8 configs: 1e-6).")
        var klWeight: Float = 1e-6
        @Option(help: "Decoder: fraction of steps that decode the encoder's own latents instead of the UNet's estimates, so reconstruction is kept.")
        var cleanFraction: Float = 0.25
        @Option(help: "Decoder: start a new first-stage decoder with this base width (sgm's ch; its ch_mult and block count are the checkpoint's) instead of the checkpoint's decoder. The latents are unchanged, so a wider decoder can be trained for a trained encoder and UNet.")
        var decoderChannels: Int?
        @Option(help: "Decoder, with --decoder-channels: random weights, or the checkpoint's decoder widened so that it decodes as before (Net2WiderNet; the width a whole multiple of the checkpoint's; weights then perturbed by \(SVDMV.Train.wideningPerturbation) of their RMS so the copies can diverge).")
        var decoderInit: DecoderInitOption = .random

        func validate() throws {
            guard imagesPerStep >= 1 else { throw ValidationError("--images-per-step must be positive") }
            guard klWeight >= 0 else { throw ValidationError("--kl-weight must be >= 0") }
            guard cleanFraction >= 0, cleanFraction <= 1 else { throw ValidationError("--clean-fraction must be in [0, 1]") }
            if let decoderChannels { guard decoderChannels >= 1 else { throw ValidationError("--decoder-channels must be positive") } }
            else if decoderInit != .random { throw ValidationError("--decoder-init goes with --decoder-channels") }
        }
    }

    struct RunOptions: ParsableArguments {
        @Option(help: "Folder of .tar shards (svdmv dataset ...) or one shard.")
        var data: String
        @Option(help: "Run folder: checkpoints, metrics.csv, loss.png, model.safetensors.")
        var out: String
        @Flag(help: "Continue the run in --out from its last checkpoint.")
        var resume = false
        @Option(help: "Steps between checkpoints.")
        var checkpointEvery = 100
        @Option(help: "Random seed (data order, noise, dropout).")
        var seed: UInt64 = 0
        @Option(help: "Sequences loaded from the shards at most (they are held in memory).")
        var maxSamples = 100_000
        @Option(help: ArgumentHelp("UNet and decoder stages: keep the frozen encoder's latents of the training data in this folder, so a later stage on the same shards and encoder reads them instead of encoding again (keyed by the shard files' paths, sizes and modification times, the sequences and the encoder's weights).", valueName: "dir"))
        var latentCache: String?

        func validate() throws {
            guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be positive") }
            let checkpoints = URL(fileURLWithPath: out).appendingPathComponent("checkpoints")
            let existing = (try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path))?.contains { $0.hasPrefix("step-") } ?? false
            if existing && !resume { throw ValidationError("\(out) already holds checkpoints: pass --resume to continue it, or choose another --out") }
        }
    }

    struct ValidationOptions: ParsableArguments {
        @Option(help: ArgumentHelp("UNet: held-out orbit shards (e.g. the validation split's) measured while the UNet trains, with the weights the run exports, into validation.csv of the run folder: per σ the one-step estimate's latent error, decoded PSNR and LPIPS (the --lpips trunk), beside the repeat-the-input baseline's.", valueName: "shards"))
        var validationData: String?
        @Option(help: "Steps between validations (and one at the last step).")
        var validateEvery = 100
        @Option(help: "Held-out sequences measured (the first ones in the shards).")
        var validationSequences = 32
        @Option(parsing: .upToNextOption, help: "Noise levels σ of the validation's one-step estimates (700: the estimate from pure noise, what a 2-step sampler returns).")
        var validationSigmas: [Float] = [700, 5, 1]

        func validate() throws {
            guard validateEvery >= 1, validationSequences >= 1 else { throw ValidationError("--validate-every and --validation-sequences must be positive") }
            guard !validationSigmas.isEmpty, validationSigmas.allSatisfy({ $0 > 0 && $0.isFinite }) else {
                throw ValidationError("--validation-sigmas must be positive numbers")
            }
        }
    }

    struct LoRAOptions: ParsableArguments {
        @Option(help: "Train LoRA adapters of this rank on the temporal attention instead of the whole UNet.")
        var lora: Int?
        @Option(help: "LoRA alpha (default: the rank).")
        var loraAlpha: Float?

        func validate() throws {
            if let lora, lora < 1 { throw ValidationError("--lora must be a positive rank") }
        }

        var config: LoRAConfig? { lora.map { LoRAConfig(rank: $0, alpha: loraAlpha) } }
    }
}

extension SVDMV {
    struct Train: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Finetune (full or LoRA) an SV3D-structured model on orbit shards; resumable.")
        /// Relative noise on a widened decoder's weights (`--decoder-init widened`): small enough
        /// to start from the narrow decoder's output, large enough for Adam to separate the copies.
        static let wideningPerturbation: Float = 0.01

        @OptionGroup(title: "Run") var runOptions: RunOptions
        @OptionGroup(title: "Model") var model: ModelOptions
        @OptionGroup(title: "Optimiser") var optimizer: OptimizerOptions
        @OptionGroup(title: "Noise levels (UNet and decoder stages)") var noise: NoiseOptions
        @OptionGroup(title: "Image-space terms") var imageLoss: ImageLossOptions
        @OptionGroup(title: "LPIPS (perceptual terms)") var lpips: LPIPSOptions
        @OptionGroup(title: "Autoencoder and decoder stages") var autoencoder: AutoencoderOptions
        @OptionGroup(title: "LoRA (UNet stage)") var lora: LoRAOptions
        @OptionGroup(title: "Validation (UNet stage)") var validation: ValidationOptions
        @OptionGroup var memory: MemoryOptions

        func validate() throws {
            if model.imageOnly, imageLoss.decodedLossWeight > 0 {
                throw ValidationError("--image-only has no orbit to decode: it does not go with --decoded-loss-weight")
            }
            if validation.validationData != nil, model.part != .unet || lora.lora != nil {
                throw ValidationError("--validation-data measures the whole UNet while it trains: it goes with --part unet without --lora")
            }
            if model.part != .unet, lora.lora != nil {
                throw ValidationError("--lora trains the UNet; it does not apply to --part \(model.part.rawValue)")
            }
            if autoencoder.decoderChannels != nil, model.part != .decoder {
                throw ValidationError("--decoder-channels starts a new decoder: it goes with --part decoder")
            }
        }

        func run() throws {
            memory.apply()
            let network = try startingModel()
            let sequences = try loadTrainingSequences(runOptions.data, size: network.config.imageSize, limit: runOptions.maxSamples)
            var stages = TrainingStages(model: network, sequences: sequences, folder: URL(fileURLWithPath: runOptions.out))
            if let cache = runOptions.latentCache {
                stages.latentCache = URL(fileURLWithPath: cache)
                stages.dataKey = try shardsKey(runOptions.data, limit: runOptions.maxSamples)
            }
            let encoding = ProgressBar(total: sequences.count)
            var progress: ProgressBar?
            stages.opened = { run in
                if run.step > 0 { print("resuming \(runOptions.out) at step \(run.step)") }
                progress = ProgressBar(total: optimizer.steps, done: run.step)
            }
            stages.encoded = { encoding.step("encoding latents") }
            stages.stepped = { record in progress?.step(String(format: "loss %.4f", record.loss)) }
            if let data = validation.validationData {
                let held = try loadTrainingSequences(data, size: network.config.imageSize, limit: validation.validationSequences)
                stages.validation = TrainingStages.Validation(sequences: held, every: validation.validateEvery,
                                                              sigmas: validation.validationSigmas,
                                                              perceptual: try lpips.network().callAsFunction, seed: runOptions.seed)
                stages.validated = { step, result in
                    let rows = result.sigmas.indices.map { i in
                        String(format: "σ %g: PSNR %.2f dB", result.sigmas[i], result.estimatePSNR[i])
                            + (result.estimatePerceptual.map { String(format: ", LPIPS %.4f", $0[i]) } ?? "")
                    }
                    print("\nvalidation at step \(step) (\(result.sequences) sequences): \(rows.joined(separator: "; "))")
                }
            }
            switch model.part {
            case .autoencoder:
                let summary = try stages.trainAutoencoder(objective: try autoencoderObjective(network), config: trainingConfig(),
                                                          imagesPerStep: autoencoder.imagesPerStep)
                print(String(format: "latent scale factor 1/std = %.5f; reconstruction PSNR %.2f dB over %d training frames",
                             summary.latentScaleFactor, summary.reconstructionPSNR, summary.frames))
            case .decoder:
                try stages.trainDecoder(objective: try autoencoderObjective(network), diffusion: try diffusionObjective(network),
                                        config: trainingConfig(objective: decoderObjectiveSettings),
                                        imagesPerStep: autoencoder.imagesPerStep, cleanFraction: autoencoder.cleanFraction)
            case .unet:
                try stages.trainUNet(objective: try diffusionObjective(network), config: trainingConfig(objective: unetObjectiveSettings),
                                     lora: lora.config)
            }
            print("wrote \(stages.modelFile.path)")
        }

        /// The model a run starts from: a checkpoint (optionally with a new decoder), or a fresh one.
        func startingModel() throws -> StableVideoModel {
            if let initFrom = model.initFrom {
                var network = try StableVideoModel.load(URL(fileURLWithPath: initFrom), weightPrecision: .float32)  // trainable
                if let decoderChannels = autoencoder.decoderChannels {
                    var architecture = network.config.firstStage
                    architecture.baseChannels = decoderChannels
                    let initialisation: StableVideoModel.DecoderInitialisation = autoencoder.decoderInit == .random
                        ? .random(seed: runOptions.seed) : .widened(perturbation: Self.wideningPerturbation, seed: runOptions.seed)
                    do { network = try network.replacingDecoder(with: architecture, initialisation: initialisation) } catch {
                        throw CommandError("--decoder-channels \(decoderChannels) --decoder-init \(autoencoder.decoderInit.rawValue): \(error)")
                    }
                    print("new first-stage decoder (\(autoencoder.decoderInit.rawValue)): ch \(decoderChannels), ch_mult \(architecture.channelMultipliers), \(architecture.resBlockCount + 1) blocks per level")
                }
                return network
            }
            var config = model.fresh!.config
            if let latentChannels = model.latentChannels { config = config.withLatentChannels(latentChannels) }
            let network = StableVideoModel(config)
            network.initializeRandomly(seed: runOptions.seed)
            if let autoencoderFrom = model.autoencoderFrom {
                let source = try StableVideoModel.load(URL(fileURLWithPath: autoencoderFrom), weightPrecision: .float32)
                do { try network.adoptEncodersAndDecoder(of: source) } catch {
                    let theirs = source.config.firstStage.latentChannels, mine = network.config.firstStage.latentChannels
                    let hint = theirs == mine ? "" : " (its VAE has \(theirs) latent channels, this model \(mine): pass --latent-channels \(theirs))"
                    throw CommandError("--autoencoder-from \(autoencoderFrom): \(error)\(hint)")
                }
            }
            return network
        }

        /// The noise levels, and the conditioning augmentation where it differs from the default
        /// (runs that use the default record none, and resume either way).
        var noiseObjectiveSettings: ObjectiveSettings {
            var settings = ObjectiveSettings(pMean: noise.pMean, pStd: noise.pStd)
            let defaults = SV3DTrainingSettings()
            if noise.condAugMean != defaults.conditioningAugmentationLogMean
                || noise.condAugStd != defaults.conditioningAugmentationLogStd {
                settings.condAugLogMean = noise.condAugMean
                settings.condAugLogStd = noise.condAugStd
            }
            return settings
        }

        var unetObjectiveSettings: ObjectiveSettings {
            var settings = noiseObjectiveSettings
            if model.imageOnly { settings.imageOnly = true }
            if imageLoss.decodedLossWeight > 0 {
                settings.decodedLossWeight = imageLoss.decodedLossWeight
                settings.decodedFrames = imageLoss.decodedFrames
                settings.perceptualWeight = imageLoss.perceptualWeight
            }
            return settings
        }

        /// A resume must rebuild the same new decoder before loading its checkpoint, so its width
        /// and initialisation are part of the run's settings.
        var decoderObjectiveSettings: ObjectiveSettings {
            var settings = noiseObjectiveSettings
            settings.cleanFraction = autoencoder.cleanFraction
            settings.perceptualWeight = imageLoss.perceptualWeight
            if let decoderChannels = autoencoder.decoderChannels {
                settings.decoderChannels = decoderChannels
                if autoencoder.decoderInit == .widened { settings.decoderWidened = true }
            }
            return settings
        }

        func diffusionObjective(_ network: StableVideoModel) throws -> SV3DTrainingObjective {
            var settings = SV3DTrainingSettings()
            settings.sigmaSampling = EDMSigmaSampling(pMean: noise.pMean, pStd: noise.pStd)
            settings.conditioningAugmentationLogMean = noise.condAugMean
            settings.conditioningAugmentationLogStd = noise.condAugStd
            settings.decodedLossWeight = model.part == .unet ? imageLoss.decodedLossWeight : 0
            settings.decodedFrames = imageLoss.decodedFrames
            settings.imageOnly = model.part == .unet && model.imageOnly
            guard settings.decodedLossWeight > 0 else { return SV3DTrainingObjective(model: network, settings: settings) }
            let imageObjective = try autoencoderObjective(network)
            return SV3DTrainingObjective(model: network, settings: settings, decodedLoss: imageObjective.reconstructionLoss)
        }

        func autoencoderObjective(_ network: StableVideoModel) throws -> AutoencoderObjective {
            var perceptual: ((Tensor, Tensor) -> Tensor)?
            if imageLoss.perceptualWeight > 0 {
                let distance = try lpips.network()
                perceptual = { distance($0, $1) }
            }
            return AutoencoderObjective(
                model: network,
                settings: AutoencoderObjectiveSettings(perceptualWeight: imageLoss.perceptualWeight, klWeight: autoencoder.klWeight),
                perceptualDistance: perceptual)
        }

        func trainingConfig(objective: ObjectiveSettings? = nil) -> TrainingConfig {
            let o = optimizer
            var config = TrainingConfig(steps: o.steps, optimizer: AdamWConfig(learningRate: o.learningRate, weightDecay: o.weightDecay),
                                        warmupSteps: o.warmup, gradientAccumulation: o.videosPerStep,
                                        maxGradientNorm: o.clip > 0 ? o.clip : nil, checkpointEvery: runOptions.checkpointEvery,
                                        emaDecay: o.ema > 0 ? o.ema : nil, seed: runOptions.seed)
            config.keepCheckpoints = 2
            config.emaWarmUp = o.ema > 0 && o.emaWarmUp ? true : nil
            config.decay = o.schedule.decay
            config.objective = objective
            return config
        }
    }
}
