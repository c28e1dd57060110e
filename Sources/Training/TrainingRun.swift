// A resumable training run in a folder:
//
//   RUN/config.json                  the TrainingConfig the run was started with
//   RUN/checkpoints/step-000100/     trainable.safetensors (checkpoint keys), optimizer.safetensors,
//                                    ema.safetensors (if EMA), state.json (step, RNG state),
//                                    metrics.csv (the rows up to this step)
//   RUN/metrics.csv                  step, loss, learning rate, gradient norm, seconds
//   RUN/loss.png                     the loss curve, redrawn at every checkpoint
//
// Every file is written atomically and a checkpoint folder appears under its final name only
// when complete (written as a hidden temporary folder, then renamed). The loss at step s depends
// only on the weights, the optimiser state and the random generator's state, all of which the
// checkpoint holds, so a run killed at any moment and resumed from its last checkpoint repeats
// exactly the losses of a run never stopped (the metrics rows after that checkpoint are dropped).

import FileSupport
import Foundation
import NN
import Tensor

public struct TrainingConfig: Codable, Equatable, Sendable {
    public var steps: Int
    public var optimizer = AdamWConfig()
    /// Linear warm-up of the learning rate over this many steps.
    public var warmupSteps = 0
    /// Micro-batches whose gradients are summed (and averaged) before each optimiser step.
    public var gradientAccumulation = 1
    /// Gradient-norm clipping; nil for none.
    public var maxGradientNorm: Float? = 1
    public var checkpointEvery = 100
    /// Checkpoints kept on disk (older ones are deleted); at least 1.
    public var keepCheckpoints = 2
    /// EMA decay of the weights; nil for none.
    public var emaDecay: Float?
    /// true: the EMA's decay warms up as sgm's LitEma does by default (`ExponentialMovingAverage`);
    /// nil: a constant decay (LitEma's `use_num_upates=False`; also what a run folder without this
    /// setting records, so it resumes with the constant decay it ran with).
    public var emaWarmUp: Bool?
    public var seed: UInt64 = 0
    /// The learning rate after the warm-up; nil: constant (sgm's video finetuning default).
    public var decay: LearningRateDecay?
    /// Settings of the loss (e.g. the noise-level distribution) that a resumed run must repeat to
    /// continue the same curve; nil in run folders that record none, which use the defaults.
    public var objective: ObjectiveSettings?

    public init(steps: Int, optimizer: AdamWConfig = AdamWConfig(), warmupSteps: Int = 0,
                gradientAccumulation: Int = 1, maxGradientNorm: Float? = 1, checkpointEvery: Int = 100,
                keepCheckpoints: Int = 2, emaDecay: Float? = nil, seed: UInt64 = 0) {
        self.steps = steps; self.optimizer = optimizer; self.warmupSteps = warmupSteps
        self.gradientAccumulation = gradientAccumulation; self.maxGradientNorm = maxGradientNorm
        self.checkpointEvery = checkpointEvery; self.keepCheckpoints = keepCheckpoints
        self.emaDecay = emaDecay; self.seed = seed
    }

    /// Learning rate at optimiser step `step` (1-based): linear warm-up, then constant or
    /// decaying as `decay` says.
    public func learningRate(atStep step: Int) -> Float {
        let peak = optimizer.learningRate
        if warmupSteps > 0 && step < warmupSteps { return peak * Float(step) / Float(warmupSteps) }
        switch decay {
        case nil: return peak
        case .cosine?:
            // Half a cosine from the peak at the warm-up's end to zero at the last step.
            let span = max(1, steps - warmupSteps)
            let progress = min(1, Float(max(0, step - warmupSteps)) / Float(span))
            return peak * 0.5 * (1 + cos(Float.pi * progress))
        }
    }
}

/// The loss's settings as a run records them in config.json under "objective" (snake_case keys);
/// a field is present only where the run set it, so a run that used a default resumes whether or
/// not the default is spelled out.
public struct ObjectiveSettings: Codable, Equatable, Sendable {
    /// ln σ ~ N(pMean, pStd²) for the UNet's and decoder's noise levels.
    public var pMean: Float?
    public var pStd: Float?
    /// ln σ_aug ~ N(condAugLogMean, condAugLogStd²) for the conditioning frame's noise.
    public var condAugLogMean: Float?
    public var condAugLogStd: Float?
    /// The UNet's image-space term: its weight, the frames decoded per video, the LPIPS weight.
    public var decodedLossWeight: Float?
    public var decodedFrames: Int?
    public var perceptualWeight: Float?
    /// The decoder stage: share of steps decoding the encoder's own latents.
    public var cleanFraction: Float?
    /// The decoder stage's new decoder: its base width and whether it was widened from the old one.
    public var decoderChannels: Int?
    public var decoderWidened: Bool?
    /// The UNet's image-only stage (stage I of staged training).
    public var imageOnly: Bool?

    public init(pMean: Float? = nil, pStd: Float? = nil) {
        self.pMean = pMean
        self.pStd = pStd
    }

    /// The settings present, by their config.json names (`p_mean`: "1.0").
    public var recordedValues: [String: String] {
        var out: [String: String] = [:]
        func put(_ key: CodingKeys, _ value: Any?) { if let value { out[key.rawValue] = "\(value)" } }
        put(.pMean, pMean); put(.pStd, pStd)
        put(.condAugLogMean, condAugLogMean); put(.condAugLogStd, condAugLogStd)
        put(.decodedLossWeight, decodedLossWeight); put(.decodedFrames, decodedFrames)
        put(.perceptualWeight, perceptualWeight); put(.cleanFraction, cleanFraction)
        put(.decoderChannels, decoderChannels); put(.decoderWidened, decoderWidened)
        put(.imageOnly, imageOnly)
        return out
    }

    enum CodingKeys: String, CodingKey {
        case pMean = "p_mean", pStd = "p_std"
        case condAugLogMean = "cond_aug_log_mean", condAugLogStd = "cond_aug_log_std"
        case decodedLossWeight = "decoded_loss_weight", decodedFrames = "decoded_frames"
        case perceptualWeight = "perceptual_weight", cleanFraction = "clean_fraction"
        case decoderChannels = "decoder_channels", decoderWidened = "decoder_widened"
        case imageOnly = "image_only"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        pMean = try c.decodeIfPresent(Float.self, forKey: .pMean)
        pStd = try c.decodeIfPresent(Float.self, forKey: .pStd)
        condAugLogMean = try c.decodeIfPresent(Float.self, forKey: .condAugLogMean)
        condAugLogStd = try c.decodeIfPresent(Float.self, forKey: .condAugLogStd)
        decodedLossWeight = try c.decodeIfPresent(Float.self, forKey: .decodedLossWeight)
        decodedFrames = try c.decodeIfPresent(Int.self, forKey: .decodedFrames)
        perceptualWeight = try c.decodeIfPresent(Float.self, forKey: .perceptualWeight)
        cleanFraction = try c.decodeIfPresent(Float.self, forKey: .cleanFraction)
        decoderChannels = try c.decodeIfPresent(Int.self, forKey: .decoderChannels)
        // Runs that stored every setting as a number wrote this flag as 1.
        if let flag = try? c.decodeIfPresent(Bool.self, forKey: .decoderWidened) {
            decoderWidened = flag
        } else {
            decoderWidened = try c.decodeIfPresent(Float.self, forKey: .decoderWidened).map { $0 != 0 }
        }
        imageOnly = try c.decodeIfPresent(Bool.self, forKey: .imageOnly)
    }
}

/// The value inside an optional (nested optionals too), or nil for none; other values as they are.
func unwrappedOptional(_ value: Any) -> Any? {
    let mirror = Mirror(reflecting: value)
    guard mirror.displayStyle == .optional else { return value }
    return mirror.children.first.map { unwrappedOptional($0.value) } ?? nil
}

/// How the learning rate falls after the warm-up.
public enum LearningRateDecay: String, Codable, Sendable, CaseIterable {
    /// Half a cosine to zero at the run's last step (Loshchilov & Hutter's SGDR without restarts).
    case cosine
}

public struct StepRecord: Equatable, Sendable {
    public var step: Int
    public var loss: Float
    public var learningRate: Float
    public var gradientNorm: Float
    public var seconds: Double
}

public enum TrainingError: Error, CustomStringConvertible {
    case configMismatch(String)
    case badCheckpoint(String)
    case nonFiniteLoss(step: Int)
    case lossWithoutGradient
    public var description: String {
        switch self {
        case .configMismatch(let m): return "cannot resume: \(m)"
        case .badCheckpoint(let m): return "bad checkpoint: \(m)"
        case .nonFiniteLoss(let s): return "loss is not finite at step \(s); stopping (the last checkpoint is intact)"
        case .lossWithoutGradient: return "the loss does not depend on the trainable parameters"
        }
    }
}

/// The state a checkpoint carries besides tensors.
struct CheckpointState: Codable {
    var step: Int
    var generator: TorchGenerator
}

public final class TrainingRun {
    public let folder: URL
    public let config: TrainingConfig
    /// The trainable parameters (the model for full finetuning, or LoRA adapters).
    public let trainable: Module
    public private(set) var step = 0
    public private(set) var history: [StepRecord] = []
    public var generator: TorchGenerator
    let optimizer: AdamW
    let ema: ExponentialMovingAverage?

    /// Opens `folder`: resumes from its newest checkpoint if there is one (the saved config must
    /// equal `config` except for `steps`, which may grow), else starts at step 0.
    public init(folder: URL, config: TrainingConfig, trainable: Module) throws {
        self.folder = folder
        self.config = config
        self.trainable = trainable
        optimizer = AdamW(config.optimizer)
        generator = TorchGenerator(seed: config.seed)
        ema = config.emaDecay.map { ExponentialMovingAverage(decay: $0, warmsUp: config.emaWarmUp == true, of: trainable) }
        try FileManager.default.createDirectory(at: checkpointsFolder, withIntermediateDirectories: true)
        let configURL = folder.appendingPathComponent("config.json")
        if let saved = try? JSONDecoder().decode(TrainingConfig.self, from: Data(contentsOf: configURL)) {
            var comparable = saved
            comparable.steps = config.steps
            if saved.objective == nil { comparable.objective = config.objective }
            guard comparable == config else {
                let fields = Self.differingFields(comparable, config)
                throw TrainingError.configMismatch("\(configURL.path) differs from the requested settings in \(fields.joined(separator: ", ")): resume with the options the run was started with")
            }
        }
        try writeAtomically(try Self.encoder.encode(config), to: configURL)
        if let latest = checkpointSteps().last { try restore(step: latest) }
    }

    /// The settings in which two configs differ (nested ones as `optimizer.learningRate` or
    /// `objective.p_mean`), each as `name (run: X, requested: Y)`, so a refused resume says what
    /// to repeat.
    static func differingFields(_ saved: TrainingConfig, _ requested: TrainingConfig) -> [String] {
        func fields(_ c: TrainingConfig) -> [String: String] {
            var out: [String: String] = [:]
            for child in Mirror(reflecting: c).children {
                guard let label = child.label, let value = unwrappedOptional(child.value) else { continue }
                if let objective = value as? ObjectiveSettings {
                    for (name, v) in objective.recordedValues { out["\(label).\(name)"] = v }
                } else if Mirror(reflecting: value).displayStyle == .struct {
                    for field in Mirror(reflecting: value).children {
                        if let name = field.label { out["\(label).\(name)"] = "\(field.value)" }
                    }
                } else {
                    out[label] = "\(value)"
                }
            }
            return out
        }
        let (a, b) = (fields(saved), fields(requested))
        return Set(a.keys).union(b.keys).sorted().compactMap { key in
            a[key] == b[key] ? nil : "\(key) (run: \(a[key] ?? "unset"), requested: \(b[key] ?? "unset"))"
        }
    }

    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return e
    }()

    var checkpointsFolder: URL { folder.appendingPathComponent("checkpoints") }

    func checkpointFolder(_ step: Int) -> URL {
        checkpointsFolder.appendingPathComponent(String(format: "step-%06d", step))
    }

    /// Steps of the complete checkpoints on disk, oldest first.
    public func checkpointSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsFolder.path)) ?? []
        return names.compactMap { $0.hasPrefix("step-") ? Int($0.dropFirst(5)) : nil }.sorted()
    }

    /// Runs optimiser steps until `config.steps`. `loss(step, microBatch, &generator)` returns a
    /// scalar loss with gradient history to `trainable` (drawing its randomness from the
    /// generator); `beforeForward`/`afterBackward` let LoRA swap adapted weights in and out.
    public func run(loss: (Int, Int, inout TorchGenerator) throws -> Tensor,
                    beforeForward: () -> Void = {}, afterBackward: () -> Void = {},
                    onStep: (StepRecord) -> Void = { _ in }) throws {
        trainable.trainable()
        while step < config.steps {
            let started = Date()
            let nextStep = step + 1
            var total: Float = 0
            var accumulated: [String: Tensor] = [:]
            for micro in 0..<config.gradientAccumulation {
                trainable.trainable()  // fresh leaves: gradients of this micro-batch only
                beforeForward()
                let l = try loss(nextStep, micro, &generator)
                guard l.item.isFinite else { throw TrainingError.nonFiniteLoss(step: nextStep) }
                guard l.requiresGrad else { throw TrainingError.lossWithoutGradient }
                (l * (1 / Float(config.gradientAccumulation))).backward()
                afterBackward()
                total += l.item
                trainable.visitParameters { key, p in
                    guard let g = p.grad else { return }
                    accumulated[key] = accumulated[key].map { $0 + g } ?? g
                }
            }
            // The summed gradients become the leaves' gradients for clipping and the update.
            trainable.visitParameters { key, p in
                if let g = accumulated[key], let node = p.gradNode { node.setGradient(g) }
            }
            let norm = config.maxGradientNorm.map { clipGradientNorm(trainable, maxNorm: $0) } ?? gradientNorm()
            let lr = config.learningRate(atStep: nextStep)
            GradMode.withoutGradients { optimizer.update(trainable, learningRate: lr) }
            ema?.update(from: trainable, updateNumber: nextStep)
            step = nextStep
            let record = StepRecord(step: step, loss: total / Float(config.gradientAccumulation), learningRate: lr,
                                    gradientNorm: norm, seconds: Date().timeIntervalSince(started))
            history.append(record)
            onStep(record)
            if step % config.checkpointEvery == 0 || step == config.steps { try checkpoint() }
        }
        trainable.frozen()
    }

    func gradientNorm() -> Float {
        var s: Double = 0
        trainable.visitParameters { _, p in
            guard let g = p.grad else { return }
            for i in 0..<g.count { s += Double(g.data[i]) * Double(g.data[i]) }
        }
        return Float(s.squareRoot())
    }

    /// Writes the checkpoint for the current step, the metrics and the loss curve.
    public func checkpoint() throws {
        let final = checkpointFolder(step)
        let temporary = checkpointsFolder.appendingPathComponent(".step-\(step).\(ProcessInfo.processInfo.processIdentifier).tmp")
        try? FileManager.default.removeItem(at: temporary)
        try FileManager.default.createDirectory(at: temporary, withIntermediateDirectories: true)
        var weights: [String: Tensor] = [:]
        trainable.visitParameters { key, t in weights[key] = t.detached() }
        try SafeTensors.write(weights, to: temporary.appendingPathComponent("trainable.safetensors"))
        try SafeTensors.write(optimizer.state(), to: temporary.appendingPathComponent("optimizer.safetensors"))
        if let ema { try SafeTensors.write(ema.shadow, to: temporary.appendingPathComponent("ema.safetensors")) }
        let state = CheckpointState(step: step, generator: generator)
        try writeAtomically(try Self.encoder.encode(state), to: temporary.appendingPathComponent("state.json"))
        // The metrics so far travel with the checkpoint, so a kill between the rename below and
        // the run-level metrics.csv loses no row.
        try writeAtomically(Data(metricsCSV().utf8), to: temporary.appendingPathComponent("metrics.csv"))
        try? FileManager.default.removeItem(at: final)
        try FileManager.default.moveItem(at: temporary, to: final)
        try writeMetrics()
        for old in checkpointSteps().dropLast(max(1, config.keepCheckpoints)) {
            try? FileManager.default.removeItem(at: checkpointFolder(old))
        }
    }

    func restore(step saved: Int) throws {
        let dir = checkpointFolder(saved)
        do {
            let state = try JSONDecoder().decode(CheckpointState.self,
                                                 from: Data(contentsOf: dir.appendingPathComponent("state.json")))
            try trainable.load(try SafeTensorsFile(url: dir.appendingPathComponent("trainable.safetensors")).tensors())
            optimizer.load(state: try SafeTensorsFile(url: dir.appendingPathComponent("optimizer.safetensors")).tensors())
            if let ema {
                ema.load(try SafeTensorsFile(url: dir.appendingPathComponent("ema.safetensors")).tensors())
            }
            step = state.step
            generator = state.generator
        } catch {
            throw TrainingError.badCheckpoint("\(dir.path): \(error)")
        }
        history = readMetrics(dir.appendingPathComponent("metrics.csv")).filter { $0.step <= step }
    }

    var metricsURL: URL { folder.appendingPathComponent("metrics.csv") }

    func metricsCSV() -> String {
        var csv = "step,loss,learning_rate,gradient_norm,seconds\n"
        for r in history { csv += "\(r.step),\(r.loss),\(r.learningRate),\(r.gradientNorm),\(r.seconds)\n" }
        return csv
    }

    func writeMetrics() throws {
        try writeAtomically(Data(metricsCSV().utf8), to: metricsURL)
        try writeAtomically(try LossCurve.png(losses: history.map { ($0.step, $0.loss) }),
                            to: folder.appendingPathComponent("loss.png"))
    }

    func readMetrics(_ url: URL) -> [StepRecord] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: ",")
            guard f.count == 5, let s = Int(f[0]), let l = Float(f[1]), let lr = Float(f[2]),
                  let g = Float(f[3]), let t = Double(f[4]) else { return nil }
            return StepRecord(step: s, loss: l, learningRate: lr, gradientNorm: g, seconds: t)
        }
    }

    /// The EMA weights (or the current ones without EMA), for sampling.
    public func evaluationWeights() -> [String: Tensor] {
        if let ema { return ema.shadow }
        return Dictionary(uniqueKeysWithValues: trainable.namedParameters().map { ($0.key, $0.value) })
    }
}
