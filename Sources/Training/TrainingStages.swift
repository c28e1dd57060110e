// The three training stages of an SV3D-structured model on orbit sequences, each a resumable
// `TrainingRun` in its own folder that ends by writing the whole model as `model.safetensors`:
//
//  - `trainUNet`: the diffusion UNet (full or LoRA on the temporal attention) with the SV3D
//    objective; VAE and CLIP frozen, so each video is encoded once, not at every step.
//  - `trainAutoencoder`: a small model's conditioning encoder and first-stage decoder as a KL
//    autoencoder (sgm's loss without the GAN); at the end the latent scale factor is set to
//    1/std of the encoder's latents over (up to) 512 training frames, as chosen for Stable
//    Diffusion's VAE.
//  - `trainDecoder`: the first-stage decoder alone, decoding the UNet's one-step estimates of the
//    training latents (or, at `cleanFraction`, the encoder's own), so that it learns to map the
//    errors those estimates carry, which the encoder's latents never show it, to clean images.
//    The encoder is frozen, so the latent space and the UNet stay as they are.

import FileSupport
import Foundation
import Generation
import Models
import MultiViewData
import NN
import Tensor

public struct TrainingStages {
    public var model: StableVideoModel
    public var sequences: [TrainingSequence]
    /// The run folder.
    public var folder: URL
    /// Called once per video encoded, then after each optimiser step.
    public var encoded: () -> Void = {}
    public var stepped: (StepRecord) -> Void = { _ in }
    /// Called with the run once it is open (e.g. to report a resume).
    public var opened: (TrainingRun) -> Void = { _ in }
    /// A folder keeping the frozen encoder's latents between stages on the same data (nil: none),
    /// and what identifies the data beyond the sequences themselves (e.g. the shard files).
    public var latentCache: URL?
    public var dataKey = ""
    /// Held-out orbits the UNet stage is measured on while it trains; nil: none.
    public var validation: Validation?
    /// Called with each validation's result and its step.
    public var validated: (Int, DenoisingProbe.Result) -> Void = { _, _ in }

    /// Validation during the UNet stage: every `every` steps and at the last, the one-step probe
    /// (`DenoisingProbe`, no full samples) of held-out orbits with the weights the run exports (the
    /// EMA's when it keeps one), one row per σ in `validation.csv` of the run folder: the curve
    /// of held-out error against steps. Rows of later steps, left by an interrupted run, are
    /// replaced when it resumes.
    public struct Validation {
        public var sequences: [TrainingSequence]
        public var every: Int
        public var sigmas: [Float]
        /// LPIPS or another perceptual distance [N] of image batches in [-1, 1]; nil: PSNR only.
        public var perceptual: ((Tensor, Tensor) -> Tensor)?
        public var seed: UInt64

        public init(sequences: [TrainingSequence], every: Int, sigmas: [Float],
                    perceptual: ((Tensor, Tensor) -> Tensor)? = nil, seed: UInt64 = 0) {
            self.sequences = sequences
            self.every = every
            self.sigmas = sigmas
            self.perceptual = perceptual
            self.seed = seed
        }

        static let header = "step,sigma,latent_mse,psnr,lpips,baseline_psnr,baseline_lpips,sequences"
    }

    public var validationFile: URL { folder.appendingPathComponent("validation.csv") }

    public init(model: StableVideoModel, sequences: [TrainingSequence], folder: URL) {
        self.model = model
        self.sequences = sequences
        self.folder = folder
    }

    public var modelFile: URL { folder.appendingPathComponent("model.safetensors") }

    func openRun(config: TrainingConfig, trainable: Module) throws -> TrainingRun {
        let run = try TrainingRun(folder: folder, config: config, trainable: trainable)
        opened(run)
        return run
    }

    /// Latents of every training video (the encoder is frozen, so once, not at every step). With
    /// `latentCache`, they are read from there when an earlier stage on the same data and encoder
    /// wrote them, and written there otherwise.
    func encodedLatents(_ objective: SV3DTrainingObjective) throws -> [Tensor] {
        let cached = latentCache.map { $0.appendingPathComponent("latents-\(latentCacheKey()).safetensors") }
        if let cached, FileManager.default.fileExists(atPath: cached.path) {
            let tensors = try SafeTensorsFile(url: cached).tensors()
            let latents = sequences.indices.compactMap { tensors[String($0)] }
            guard latents.count == sequences.count, tensors.count == sequences.count else {
                throw TrainingError.badCheckpoint("latent cache \(cached.path) holds \(tensors.count) latents for \(sequences.count) sequences (delete it to encode again)")
            }
            for _ in latents { encoded() }
            return latents
        }
        let latents = sequences.map { s -> Tensor in
            defer { encoded() }
            return objective.encoderLatents(s.frames)
        }
        if let cached {
            try FileManager.default.createDirectory(at: cached.deletingLastPathComponent(), withIntermediateDirectories: true)
            try writeAtomically(to: cached) { url in
                try SafeTensors.write(Dictionary(uniqueKeysWithValues: latents.enumerated().map { (String($0.offset), $0.element) }),
                                      metadata: ["svdmv.latent_cache": dataKey], to: url)
            }
        }
        return latents
    }

    /// The latent cache's key: a 64-bit FNV-1a hash of `dataKey`, the sequences' ids, frame counts
    /// and sizes, and the encoder's weights, so that other data or another encoder miss the cache.
    func latentCacheKey() -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix<T>(_ value: T) { withUnsafeBytes(of: value) { for b in $0 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 } } }
        func mix(_ text: String) { for b in text.utf8 { hash = (hash ^ UInt64(b)) &* 0x100_0000_01b3 } }
        mix(dataKey)
        for s in sequences { mix(s.metadata.objectID); mix(s.frames.shape.count); for d in s.frames.shape { mix(d) } }
        model.conditioningEncoder.visitParameters { name, t in
            mix(name)
            for x in t.scalars { mix(x.bitPattern) }
        }
        return String(format: "%016llx", hash)
    }

    /// The UNet stage; with `lora`, adapters are trained, saved as `lora.safetensors` and merged
    /// into the exported model. The export carries the EMA weights when the run keeps an EMA.
    public func trainUNet(objective: SV3DTrainingObjective, config: TrainingConfig, lora: LoRAConfig?) throws {
        let unet = PrefixedModule(StableVideoModel.unetPrefix, model.unet)
        let adapters = try lora.map { try LoRAAdapters(for: unet, config: $0, seed: config.seed) }
        let trainable: Module = adapters ?? unet
        let run = try openRun(config: config, trainable: trainable)
        let latents = try encodedLatents(objective)
        var validationError: Error?
        try run.run(loss: { _, _, generator in
            let pick = Int(generator.nextUInt32() % UInt32(sequences.count))
            let s = sequences[pick]
            return try objective.loss(frames: s.frames, elevationsDeg: s.metadata.elevationsDeg,
                                      azimuthsDeg: s.metadata.azimuthsDeg, latents: latents[pick],
                                      generator: &generator)
        }, beforeForward: { adapters?.apply(to: unet) }, afterBackward: { adapters?.restore(unet) },
        onStep: { record in
            stepped(record)
            guard let validation, adapters == nil, validationError == nil,
                  record.step % validation.every == 0 || record.step == config.steps else { return }
            do { try validate(validation, step: record.step, unetWeights: run.evaluationWeights()) } catch { validationError = error }
        })
        if let adapters {
            try adapters.save(to: folder.appendingPathComponent("lora.safetensors"))
            adapters.merge(into: unet)
        } else if config.emaDecay != nil {
            try unet.load(run.evaluationWeights())
        }
        try model.save(to: modelFile)
        // A failed validation ends the run with its error once the trained model is saved.
        if let validationError { throw validationError }
    }

    /// One validation: the probe on a model holding the frozen parts of `model` and `unetWeights`
    /// (a second copy of the model's structure, sharing the frozen weights' storage).
    func validate(_ v: Validation, step: Int, unetWeights: [String: Tensor]) throws {
        let evaluated = StableVideoModel(model.config)
        try evaluated.load(Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.key, $0.value) }))
        try PrefixedModule(StableVideoModel.unetPrefix, evaluated.unet).load(unetWeights)
        var probe = DenoisingProbe(model: evaluated, sigmas: v.sigmas, seed: v.seed)
        probe.perceptual = v.perceptual
        probe.measuresNoisyInput = false
        let result = GradMode.withoutGradients { probe.run(v.sequences) }
        var lines = [Validation.header]
        if let old = try? String(contentsOf: validationFile, encoding: .utf8) {
            lines += old.split(separator: "\n").dropFirst().map(String.init).filter { line in
                Int(line.prefix { $0 != "," }).map { $0 < step } ?? false
            }
        }
        func number(_ x: Double?) -> String { x.map { String(format: "%.6g", $0) } ?? "" }
        for (i, sigma) in result.sigmas.enumerated() {
            lines.append([String(step), String(format: "%g", sigma), number(result.latentError[i]), number(result.estimatePSNR[i]),
                          number(result.estimatePerceptual?[i]), number(result.baselinePSNR), number(result.baselinePerceptual),
                          String(result.sequences)].joined(separator: ","))
        }
        try writeAtomically(Data((lines.joined(separator: "\n") + "\n").utf8), to: validationFile)
        validated(step, result)
    }

    /// What the autoencoder stage measured at its end.
    public struct AutoencoderSummary: Sendable {
        public var latentScaleFactor: Float
        public var reconstructionPSNR: Double
        public var frames: Int
    }

    /// The autoencoder stage: each step reconstructs `imagesPerStep` random frames of random
    /// sequences; the latent scale factor is then estimated and written with the model.
    public func trainAutoencoder(objective: AutoencoderObjective, config: TrainingConfig,
                                 imagesPerStep: Int) throws -> AutoencoderSummary {
        let trainable = objective.trainable
        let run = try openRun(config: config, trainable: trainable)
        let frameCount = sequences[0].frames.shape[0]
        func frames(_ picks: [(Int, Int)]) -> Tensor {
            Tensor.concatenated(picks.map { sequences[$0.0].frames.sliced(axis: 0, $0.1..<($0.1 + 1)) }, axis: 0)
        }
        try run.run(loss: { _, _, generator in
            let picks = (0..<imagesPerStep).map { _ in
                (Int(generator.nextUInt32() % UInt32(sequences.count)), Int(generator.nextUInt32() % UInt32(frameCount)))
            }
            return try objective.loss(images: frames(picks), generator: &generator)
        }, onStep: stepped)
        if run.config.emaDecay != nil { try trainable.load(run.evaluationWeights()) }
        var sampler = TorchGenerator(seed: config.seed)
        let sample = (0..<min(512, sequences.count * frameCount)).map { _ in
            (Int(sampler.nextUInt32() % UInt32(sequences.count)), Int(sampler.nextUInt32() % UInt32(frameCount)))
        }
        let images = frames(sample)
        let scale = objective.latentScaleFactor(images: images)
        model.setLatentScaleFactor(scale)
        let summary = AutoencoderSummary(latentScaleFactor: scale, reconstructionPSNR: objective.reconstructionPSNR(images: images),
                                         frames: sample.count)
        try model.save(to: modelFile)
        return summary
    }

    /// The decoder stage: each step takes one video, the UNet's one-step estimate of its latents
    /// (or, with probability `cleanFraction`, the encoder's latents), and decodes `imagesPerStep`
    /// of its frames against the true frames.
    public func trainDecoder(objective: AutoencoderObjective, diffusion: SV3DTrainingObjective, config: TrainingConfig,
                             imagesPerStep: Int, cleanFraction: Float) throws {
        let run = try openRun(config: config, trainable: objective.decoderPart)
        let latents = try encodedLatents(diffusion)
        let frameCount = sequences[0].frames.shape[0]
        try run.run(loss: { _, _, generator in
            let pick = Int(generator.nextUInt32() % UInt32(sequences.count))
            let s = sequences[pick]
            let estimate = diffusion.oneStepEstimate(frames: s.frames, elevationsDeg: s.metadata.elevationsDeg,
                                                     azimuthsDeg: s.metadata.azimuthsDeg, latents: latents[pick],
                                                     cleanProbability: cleanFraction, generator: &generator)
            let frames = (0..<min(imagesPerStep, frameCount)).map { _ in Int(generator.nextUInt32() % UInt32(frameCount)) }
            return try objective.decodingLoss(latents: estimate.rows(frames), images: s.frames.rows(frames))
        }, onStep: stepped)
        if run.config.emaDecay != nil { try objective.decoderPart.load(run.evaluationWeights()) }
        try model.save(to: modelFile)
    }
}
