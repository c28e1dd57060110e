// Weights of tiny reference models that the fixture scripts do not store: parameter i of a model
// (in state-dict order) is torch.rand(shape) from a generator seeded `seed + i`, mapped by its
// kind — the `init_rule` of Scripts/fixtures/make_unet_fixtures.py and make_generation_fixtures.py.
// TorchGenerator reproduces torch.rand bit-exactly, so the Swift side rebuilds the same weights.

import Tensor

public enum SeededWeights {
    /// The weights for `parameters` (all, or only `keys`), keyed as given.
    public static func generate(_ parameters: [(key: String, shape: [Int])], seed: UInt64,
                                only keys: Set<String>? = nil) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, p) in parameters.enumerated() where keys?.contains(p.key) ?? true {
            var generator = TorchGenerator(seed: seed + UInt64(i))
            let u = generator.rand(p.shape)
            if p.key.hasSuffix("mix_factor") {
                out[p.key] = u.mapped { ($0 * 2 - 1) * 2 }
            } else if p.shape.count == 1 && p.key.hasSuffix("weight") {
                out[p.key] = u.mapped { ($0 * 2 - 1) * 0.25 + 1 }
            } else if p.shape.count == 1 {
                out[p.key] = u.mapped { ($0 * 2 - 1) * 0.1 }
            } else {
                let scale = Float((3.0 / Double(p.shape.dropFirst().reduce(1, *))).squareRoot())
                out[p.key] = u.mapped { ($0 * 2 - 1) * scale }
            }
        }
        return out
    }
}
