// Weights of reference models that the fixture scripts do not store: parameter i of a model (in
// state-dict order) is torch.rand(shape) from a generator seeded `seed + i`, mapped by its kind —
// the `init_rule` of Scripts/fixtures/make_unet_fixtures.py, make_generation_fixtures.py and
// make_unet_full_width_fixture.py. The C kernel behind `TorchGenerator.uniform` reproduces
// torch.rand bit-exactly (and is fast in debug builds), so the Swift side rebuilds the same weights.

import NN
import Tensor

public enum SeededWeights {
    /// The affine map u -> (2u − 1)·scale + shift of a parameter's kind (init_rule).
    public static func rule(key: String, shape: [Int]) -> (scale: Float, shift: Float) {
        if key.hasSuffix("mix_factor") { return (2, 0) }
        if shape.count == 1 && key.hasSuffix("weight") { return (0.25, 1) }  // norm scales
        if shape.count == 1 { return (0.1, 0) }  // biases
        return (Float((3.0 / Double(shape.dropFirst().reduce(1, *))).squareRoot()), 0)  // variance 1/fan_in
    }

    /// The weights for `parameters` (all, or only `keys`), keyed as given.
    public static func generate(_ parameters: [(key: String, shape: [Int])], seed: UInt64,
                                only keys: Set<String>? = nil) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (i, p) in parameters.enumerated() where keys?.contains(p.key) ?? true {
            let (scale, shift) = rule(key: p.key, shape: p.shape)
            out[p.key] = TorchGenerator.uniform(p.shape, seed: seed + UInt64(i), scale: scale, shift: shift)
        }
        return out
    }

    /// Sets every parameter of `module` (visited in state-dict order, which must be the order the
    /// script enumerated) to its seeded value rounded to float16, one tensor at a time: layer
    /// weights are kept as Float16 (no Float32 copy of a 1.5B-parameter network is ever made),
    /// the rest as Float32 holding the rounded values. Returns the number of parameters visited.
    @discardableResult
    public static func loadFloat16(into module: Module, seed: UInt64) -> Int {
        var index: UInt64 = 0
        let context = LayerWeightVisit(precision: .float16)
        LayerWeightVisit.$current.withValue(context) {
            module.visitParameters { key, t in
                let (scale, shift) = rule(key: key, shape: t.shape)
                let half = TorchGenerator.uniformFloat16(t.shape, seed: seed + index, scale: scale, shift: shift)
                if context.layerWeightDType != nil { context.replacement = half } else { t = half.float() }
                index += 1
            }
        }
        return Int(index)
    }
}
