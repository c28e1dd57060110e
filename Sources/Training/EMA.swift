// Exponential moving average of trainable weights (sgm's LitEma without its warm-up:
// ema ← decay·ema + (1 − decay)·w after every optimiser step), kept as named tensors so a
// checkpoint can store it and sampling can use it.

import Foundation
import NN
import Tensor

public final class ExponentialMovingAverage {
    public let decay: Float
    public private(set) var shadow: [String: Tensor] = [:]

    public init(decay: Float, of module: Module) {
        self.decay = decay
        for (key, w) in module.namedParameters() { shadow[key] = w.detached().copied() }
    }

    public func update(from module: Module) {
        for (key, w) in module.namedParameters() {
            guard let s = shadow[key] else { continue }
            let (sp, wp) = (s.data, w.data)
            for i in 0..<s.count { sp[i] = decay * sp[i] + (1 - decay) * wp[i] }
        }
    }

    public func load(_ tensors: [String: Tensor]) {
        for (k, v) in tensors where shadow[k] != nil { shadow[k] = v.copied() }
    }
}
