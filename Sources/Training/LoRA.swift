// Low-rank adapters (LoRA) over any module's 2-D weights, chosen by checkpoint key. An adapter
// adds ΔW = (alpha/rank)·B·A to a frozen weight W [out, in], with A [rank, in] and B [out, rank]
// (B starts at zero, so an untrained adapter changes nothing). Adapters live outside the model:
// for a training step `applied(to:)` swaps W + ΔW into the module (a tensor whose gradient flows
// to A and B only) and `restore` puts W back, so model code and checkpoint keys stay untouched.
// Adapter files use PEFT's names: "<module>.lora_A.weight", "<module>.lora_B.weight", with
// rank and alpha in the safetensors metadata.

import Foundation
import NN
import Tensor

public struct LoRAConfig: Codable, Equatable, Sendable {
    public var rank: Int
    public var alpha: Float
    /// A 2-D weight is adapted when its key, less ".weight", ends with one of these paths.
    /// Default: SVD's temporal attention projections (time_stack attention q/k/v/out).
    public var targets: [String]

    public init(rank: Int, alpha: Float? = nil, targets: [String] = LoRAConfig.temporalAttention) {
        self.rank = rank
        self.alpha = alpha ?? Float(rank)
        self.targets = targets
    }

    public static let temporalAttention = [
        "time_stack.0.attn1.to_q", "time_stack.0.attn1.to_k", "time_stack.0.attn1.to_v", "time_stack.0.attn1.to_out.0",
        "time_stack.0.attn2.to_q", "time_stack.0.attn2.to_k", "time_stack.0.attn2.to_v", "time_stack.0.attn2.to_out.0",
    ]

    public var scale: Float { alpha / Float(rank) }

    func isTarget(_ key: String, shape: [Int]) -> Bool {
        shape.count == 2 && targets.contains { key == $0 + ".weight" || key.hasSuffix("." + $0 + ".weight") }
    }
}

public enum LoRAError: Error, CustomStringConvertible {
    case noTargets([String])
    case adapterMismatch(String)
    public var description: String {
        switch self {
        case .noTargets(let t): return "LoRA: no 2-D weight of the model matches the targets \(t)"
        case .adapterMismatch(let m): return "LoRA adapter file does not fit the model: \(m)"
        }
    }
}

/// The adapters of one model, one (A, B) pair per adapted weight key.
public final class LoRAAdapters: Module {
    public let config: LoRAConfig
    /// Module path (weight key without ".weight") -> (A, B).
    public private(set) var pairs: [(path: String, a: Tensor, b: Tensor)] = []
    private var saved: [String: Tensor] = [:]

    /// Adapters for every targeted weight of `model`; A drawn like PEFT's default (Kaiming-uniform
    /// bound 1/√in), B zero.
    public init(for model: Module, config: LoRAConfig, seed: UInt64 = 0) throws {
        self.config = config
        var generator = TorchGenerator(seed: seed)
        for (key, w) in model.namedParameters() where config.isTarget(key, shape: w.shape) {
            let (out, inFeatures) = (w.shape[0], w.shape[1])
            let bound = 1 / Float(inFeatures).squareRoot()
            let a = generator.rand([config.rank, inFeatures]) * (2 * bound) - bound
            pairs.append((String(key.dropLast(".weight".count)), a, Tensor(zeros: [out, config.rank])))
        }
        if pairs.isEmpty { throw LoRAError.noTargets(config.targets) }
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        for i in pairs.indices {
            body(pairs[i].path + ".lora_A.weight", &pairs[i].a)
            body(pairs[i].path + ".lora_B.weight", &pairs[i].b)
        }
    }

    /// ΔW for pair i, with gradient to A and B.
    func delta(_ i: Int) -> Tensor {
        Tensor.matmul(pairs[i].b, pairs[i].a) * config.scale
    }

    /// Puts W + ΔW into `model` for a forward/backward pass; call `restore(model)` afterwards.
    public func apply(to model: Module) {
        let deltas = Dictionary(uniqueKeysWithValues: pairs.indices.map { (pairs[$0].path + ".weight", $0) })
        saved = [:]
        model.visitParameters { key, w in
            guard let i = deltas[key] else { return }
            saved[key] = w
            w = w.detached() + delta(i)
        }
    }

    /// Puts the frozen weights back after `apply`.
    public func restore(_ model: Module) {
        model.visitParameters { key, w in if let original = saved[key] { w = original } }
        saved = [:]
    }

    /// Folds the adapters into the base weights permanently (W ← W + ΔW).
    public func merge(into model: Module) {
        GradMode.withoutGradients {
            let deltas = Dictionary(uniqueKeysWithValues: pairs.indices.map { (pairs[$0].path + ".weight", $0) })
            model.visitParameters { key, w in
                if let i = deltas[key] { w = (w.detached() + delta(i)).copied() }
            }
        }
    }

    public func save(to url: URL) throws {
        var tensors: [String: Tensor] = [:]
        visitParameters { key, t in tensors[key] = t }
        try SafeTensors.write(tensors, metadata: ["lora_rank": "\(config.rank)", "lora_alpha": "\(config.alpha)",
                                                  "lora_targets": config.targets.joined(separator: ",")], to: url)
    }

    /// Loads adapters saved by `save`, checking they fit `model`.
    public static func load(from url: URL, for model: Module) throws -> LoRAAdapters {
        let file = try SafeTensorsFile(url: url)
        guard let rank = file.metadata?["lora_rank"].flatMap(Int.init),
              let alpha = file.metadata?["lora_alpha"].flatMap(Float.init) else {
            throw LoRAError.adapterMismatch("\(url.path) has no lora_rank/lora_alpha metadata")
        }
        let targets = file.metadata?["lora_targets"]?.split(separator: ",").map(String.init) ?? LoRAConfig.temporalAttention
        let adapters = try LoRAAdapters(for: model, config: LoRAConfig(rank: rank, alpha: alpha, targets: targets))
        do {
            try adapters.load(try file.tensors())
        } catch {
            throw LoRAError.adapterMismatch("\(url.path): \(error)")
        }
        return adapters
    }
}
