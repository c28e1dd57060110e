// Function-preserving widening of a first-stage decoder (Net2WiderNet, Chen et al. 2016, "Net2Net:
// Accelerating Learning via Knowledge Transfer"), so a wider decoder starts from a trained one
// instead of from random weights: trained from scratch, a 64-channel decoder is still far behind
// the trained 32-channel one after 200 steps (Evaluation/journal/2026-11-default-model.md).
//
// Every hidden channel c of the narrow decoder becomes channels c·k ..< c·k + k of the wide one
// (k = new width / old width, the same at every level because ch_mult is unchanged):
// - outputs: weights and biases are copied to each of the k copies;
// - inputs: a weight reading a widened input is divided by k, since that input now arrives k
//   times;
// - GroupNorm: with copies kept adjacent, wide group g holds exactly the copies of narrow
//   group g, so its mean and variance are the narrow group's;
// - attention: q·k over k copies is k times the narrow product while the scale C^-1/2 shrinks
//   by √k, so q is further divided by √k to keep the logits.
// The latent input (conv_in's) and the image output (conv_out's) are not widened.

import Tensor

public enum DecoderWidening {
    /// The wide decoder's parameters from the narrow decoder's (`narrow`, by key), for the wide
    /// decoder's keys and shapes (`wideShapes`). Every wide key must exist in `narrow`, with
    /// dimensions 0 and 1 equal or whole multiples of the narrow ones and the rest equal. With
    /// `perturbation` > 0, every widened weight of rank >= 2 gets Gaussian noise of that size
    /// relative to its RMS, so the copies can drift apart in training (identical copies get
    /// identical gradients and would stay copies); with 0 the wide decoder computes exactly
    /// what the narrow one does.
    public static func widen(_ narrow: [String: Tensor], to wideShapes: [String: [Int]], perturbation: Float,
                             seed: UInt64) throws -> [String: Tensor] {
        var generator = TorchGenerator(seed: seed)
        var wide: [String: Tensor] = [:]
        for key in wideShapes.keys.sorted() {
            let shape = wideShapes[key]!
            guard let old = narrow[key] else { throw WideningError.missing(key) }
            guard old.rank == shape.count, old.rank >= 1 else { throw WideningError.shape(key, old.shape, shape) }
            let outFactor = try factor(key, old.shape, shape, dimension: 0)
            let inFactor = old.rank >= 2 ? try factor(key, old.shape, shape, dimension: 1) : 1
            if old.rank > 2, Array(old.shape.dropFirst(2)) != Array(shape.dropFirst(2)) {
                throw WideningError.shape(key, old.shape, shape)
            }
            var scale = 1 / Float(inFactor)
            // sgm AttnBlock: the q projection (weight and bias) of a widened attention.
            if key.hasSuffix(".q.weight") || key.hasSuffix(".q.bias"), outFactor > 1 {
                scale /= Float(outFactor).squareRoot()
            }
            var tensor = expand(old, outFactor: outFactor, inFactor: inFactor, scale: scale)
            if perturbation > 0, old.rank >= 2, outFactor > 1 || inFactor > 1 {
                let values = old.scalars
                let rms = (values.reduce(Float(0)) { $0 + $1 * $1 } / Float(max(values.count, 1))).squareRoot() * scale
                tensor = tensor + generator.randn(shape) * (perturbation * rms)
            }
            wide[key] = tensor
        }
        return wide
    }

    private static func factor(_ key: String, _ old: [Int], _ new: [Int], dimension: Int) throws -> Int {
        guard old[dimension] > 0, new[dimension] % old[dimension] == 0 else { throw WideningError.shape(key, old, new) }
        return new[dimension] / old[dimension]
    }

    /// Copies element [o, i, rest...] of `old` to [o·outFactor + a, i·inFactor + b, rest...] for
    /// every a < outFactor, b < inFactor, times `scale`.
    private static func expand(_ old: Tensor, outFactor: Int, inFactor: Int, scale: Float) -> Tensor {
        let shape = old.shape
        let outCount = shape[0], inCount = shape.count >= 2 ? shape[1] : 1
        let inner = shape.dropFirst(2).reduce(1, *)
        let source = old.scalars
        var result = [Float](repeating: 0, count: source.count * outFactor * inFactor)
        let wideIn = inCount * inFactor
        for o in 0..<outCount {
            for a in 0..<outFactor {
                let wideO = o * outFactor + a
                for i in 0..<inCount {
                    let from = (o * inCount + i) * inner
                    for b in 0..<inFactor {
                        let to = (wideO * wideIn + i * inFactor + b) * inner
                        for r in 0..<inner { result[to + r] = source[from + r] * scale }
                    }
                }
            }
        }
        var wideShape = shape
        wideShape[0] *= outFactor
        if shape.count >= 2 { wideShape[1] *= inFactor }
        return Tensor(shape: wideShape, scalars: result)
    }
}

public enum WideningError: Error, CustomStringConvertible {
    case missing(String)
    case shape(String, [Int], [Int])
    public var description: String {
        switch self {
        case .missing(let key): return "the narrow decoder has no \(key)"
        case .shape(let key, let old, let new):
            return "\(key): \(old) cannot be widened to \(new) (dimensions 0 and 1 must be equal or whole multiples, the rest equal)"
        }
    }
}
