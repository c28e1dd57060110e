// Modules: final classes holding parameters as stored `Tensor`s, each visited under its checkpoint
// key (PyTorch state-dict names such as "in_layers.2.weight"). Visiting is explicit code, not
// reflection, so the key order is fixed and checked by the compiler; loading, saving, counting,
// gradient collection and optimisers are all written once over `visitParameters`.

import Foundation
import Tensor

public protocol Module: AnyObject {
    /// Calls `body(key, &tensor)` for every parameter and buffer, keys relative to this module.
    func visitParameters(_ body: (String, inout Tensor) -> Void)
}

extension Module {
    /// Visits a child's parameters under `name.`.
    public func visit(_ child: Module?, _ name: String, _ body: (String, inout Tensor) -> Void) {
        child?.visitParameters { key, t in body(name + "." + key, &t) }
    }

    /// Visits a list of children under `name.0.`, `name.1.`, ...
    public func visit(_ children: [Module], _ name: String, _ body: (String, inout Tensor) -> Void) {
        for (i, c) in children.enumerated() { visit(c, "\(name).\(i)", body) }
    }

    /// All parameters by key, in visiting order.
    public func namedParameters() -> [(key: String, value: Tensor)] {
        var out: [(String, Tensor)] = []
        visitParameters { key, t in out.append((key, t)) }
        return out
    }

    /// Marks every parameter as a gradient leaf (for training); returns self for chaining.
    @discardableResult
    public func trainable() -> Self {
        visitParameters { key, t in t = t.requiringGrad(key) }
        return self
    }

    /// Drops gradient history from every parameter (after training, or before inference).
    /// Half-stored layer weights are constants already and are not visited (no widened copies).
    public func frozen() {
        LayerWeightVisit.$current.withValue(LayerWeightVisit(precision: nil, bypass: .half)) {
            visitParameters { _, t in t = t.detached() }
        }
    }

    /// Replaces parameters from `tensors` (already Float32, keys relative to this module).
    /// Strict: every parameter must be present with its exact shape, and every key must be used
    /// (unless listed in `ignoring`); failures list every offending key with both shapes.
    public func load(_ tensors: [String: Tensor], ignoring: Set<String> = []) throws {
        var problems: [String] = []
        var used = Set<String>()
        visitParameters { key, t in
            guard let source = tensors[key] else { problems.append("missing key \(key) \(t.shape)"); return }
            used.insert(key)
            guard source.shape == t.shape else {
                problems.append("shape mismatch for \(key): checkpoint \(source.shape), model \(t.shape)")
                return
            }
            t = source.detached()
        }
        for key in tensors.keys.sorted() where !used.contains(key) && !ignoring.contains(key) {
            problems.append("unexpected key \(key) \(tensors[key]!.shape)")
        }
        if !problems.isEmpty { throw WeightLoadingError(problems: problems) }
    }
}

public struct WeightLoadingError: Error, CustomStringConvertible {
    public let problems: [String]
    /// The checkpoint file, when the weights came from one.
    public let file: String?

    public init(problems: [String], file: String? = nil) {
        self.problems = problems
        self.file = file
    }

    public var description: String {
        let shown = problems.prefix(20).joined(separator: "\n  ")
        let more = problems.count > 20 ? "\n  ... and \(problems.count - 20) more" : ""
        let source = file.map { "weights in \($0)" } ?? "weights"
        return "\(source) do not match the model (\(problems.count) problems):\n  \(shown)\(more)"
    }
}

extension Module {
    /// Fresh random weights in PyTorch's default manner for every parameter of rank ≥ 2
    /// (uniform in ±1/√fan_in, fan_in = the product of all but the first axis); rank-1 tensors
    /// (biases, norm scales, embeddings of one row) keep their constructed values. Deterministic
    /// for a seed (the parameters are visited in key order).
    public func initializeRandomly(seed: UInt64) {
        var generator = TorchGenerator(seed: seed)
        visitParameters { _, t in
            guard t.rank >= 2 else { return }
            let fanIn = t.shape.dropFirst().reduce(1, *)
            let bound = 1 / Float(max(fanIn, 1)).squareRoot()
            t = generator.rand(t.shape) * (2 * bound) - bound
        }
    }
}

/// A module's parameters under a key prefix (e.g. a UNet's under "model.diffusion_model."), so
/// checkpoints of a part keep the full checkpoint keys.
public final class PrefixedModule: Module {
    public let prefix: String
    public let base: Module

    public init(_ prefix: String, _ base: Module) {
        self.prefix = prefix
        self.base = base
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        base.visitParameters { k, t in body(prefix + k, &t) }
    }
}

/// Several modules trained or saved as one (for example a VAE's encoder and decoder, each already
/// under its checkpoint prefix). Keys must not collide between parts.
public final class ModuleGroup: Module {
    public let parts: [Module]

    public init(_ parts: [Module]) { self.parts = parts }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        for part in parts { part.visitParameters(body) }
    }
}
