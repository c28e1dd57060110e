// Reverse-mode automatic differentiation, recorded eagerly as in PyTorch. An op whose inputs
// carry a `GradNode` (and while `GradMode.isEnabled`) attaches a node to its output holding the
// input nodes and a closure from the output's gradient to each input's gradient. `backward()`
// walks the graph in reverse topological order, summing gradients into the nodes; leaves
// (parameters made with `requiringGrad()`) keep theirs in `grad`.

import Foundation

public final class GradNode {
    let inputs: [GradNode?]
    /// Output gradient -> gradient per input (nil where the input needs none).
    let backwardFn: ((Tensor) -> [Tensor?])?
    public let name: String
    /// Accumulated gradient. Leaves keep it after backward; inner nodes drop it once used.
    public internal(set) var grad: Tensor?

    init(name: String, inputs: [GradNode?], backward: ((Tensor) -> [Tensor?])?) {
        self.name = name
        self.inputs = inputs
        self.backwardFn = backward
    }

    public var isLeaf: Bool { backwardFn == nil }

    func accumulate(_ g: Tensor) {
        if let existing = grad {
            grad = existing.detached() + g.detached()
        } else {
            grad = g.detached()
        }
    }

    public func zeroGrad() { grad = nil }

    /// Replaces a leaf's gradient (gradient accumulation across micro-batches).
    public func setGradient(_ g: Tensor) { grad = g.detached() }
}

/// Whether ops record gradients. Off inside `GradMode.withoutGradients` (inference, optimiser steps).
public enum GradMode {
    nonisolated(unsafe) public static var isEnabled = true

    public static func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
        let saved = isEnabled
        isEnabled = false
        defer { isEnabled = saved }
        return try body()
    }
}

extension Tensor {
    /// A leaf that collects gradients (a trainable parameter).
    public func requiringGrad(_ name: String = "leaf") -> Tensor {
        var t = detached()
        t.gradNode = GradNode(name: name, inputs: [], backward: nil)
        return t
    }

    public var requiresGrad: Bool { gradNode != nil }

    /// The gradient collected by the last `backward()` for a leaf tensor.
    public var grad: Tensor? { gradNode?.grad }

    /// Attaches a backward closure to `self` (an op's fresh output) if any input records gradients.
    public func recorded(_ name: String, _ inputs: [Tensor],
                         _ backward: @escaping (Tensor) -> [Tensor?]) -> Tensor {
        guard GradMode.isEnabled, inputs.contains(where: { $0.gradNode != nil }) else { return self }
        var out = self
        out.gradNode = GradNode(name: name, inputs: inputs.map(\.gradNode), backward: backward)
        return out
    }

    /// Back-propagates from this tensor. `seed` defaults to ones (so a scalar loss gets 1).
    public func backward(_ seed: Tensor? = nil) {
        guard let root = gradNode else { preconditionFailure("backward() on a tensor without gradient history") }
        let start = seed ?? Tensor.ones(shape)
        precondition(start.shape == shape, "backward seed shape \(start.shape) != \(shape)")
        // Reverse topological order by iterative DFS (graphs of a UNet are thousands deep).
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradNode, Bool)] = [(root, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if visited.contains(ObjectIdentifier(node)) { continue }
            visited.insert(ObjectIdentifier(node))
            stack.append((node, true))
            for case let input? in node.inputs where !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        root.accumulate(start)
        GradMode.withoutGradients {
            for node in order.reversed() {
                guard let fn = node.backwardFn, let g = node.grad else { continue }
                let inputGrads = fn(g)
                precondition(inputGrads.count == node.inputs.count, "\(node.name): gradient count")
                for (input, ig) in zip(node.inputs, inputGrads) {
                    if let input, let ig { input.accumulate(ig) }
                }
                node.grad = nil  // inner gradients are not kept
            }
        }
    }
}
