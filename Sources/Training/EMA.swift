// Exponential moving average of trainable weights, sgm's LitEma: after every optimiser step
// ema ← ema − (1 − d)·(ema − w), with d = min(decay, (1 + n)/(10 + n)) at the n-th update when
// the warm-up is on (LitEma's default, `use_num_upates=True`), else d = decay. The warm-up lets a
// short run's average follow the weights early instead of staying near the initial ones for
// ~1/(1 − decay) steps. Kept as named tensors so a checkpoint can store it and sampling use it.

import Foundation
import NN
import Tensor

public final class ExponentialMovingAverage {
    public let decay: Float
    /// LitEma's update-count warm-up of the decay.
    public let warmsUp: Bool
    public private(set) var shadow: [String: Tensor] = [:]

    public init(decay: Float, warmsUp: Bool = true, of module: Module) {
        self.decay = decay
        self.warmsUp = warmsUp
        for (key, w) in module.namedParameters() { shadow[key] = w.detached().copied() }
    }

    /// The decay used at update `n` (1-based: the first update after the initial copy is 1).
    public func decay(atUpdate n: Int) -> Float {
        // LitEma computes (1 + n)/(10 + n) from int tensors: a float32 quotient of exact integers.
        warmsUp ? min(decay, Float(1 + n) / Float(10 + n)) : decay
    }

    /// Update `n` (1-based; a resumed run passes its optimiser step, which LitEma's num_updates equals).
    public func update(from module: Module, updateNumber n: Int) {
        let oneMinusDecay = 1 - decay(atUpdate: n)
        for (key, w) in module.namedParameters() {
            guard let s = shadow[key] else { continue }
            let (sp, wp) = (s.data, w.data)
            // LitEma's order of operations, so the average matches it to the last bit.
            for i in 0..<s.count { sp[i] -= oneMinusDecay * (sp[i] - wp[i]) }
        }
    }

    public func load(_ tensors: [String: Tensor]) {
        for (k, v) in tensors where shadow[k] != nil { shadow[k] = v.copied() }
    }
}
