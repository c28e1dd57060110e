// Pointwise nonlinearities, softmax and GEGLU, with gradients. GELU defaults to the exact erf
// form (sgm, diffusers and open_clip all use it); the tanh form is there for configs that ask.

import Foundation

public enum GELUApproximation: String, Sendable { case none, tanh }

@inline(__always) func sigmoidScalar(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

@inline(__always) func geluScalar(_ x: Float, _ approx: GELUApproximation) -> Float {
    switch approx {
    case .none: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
    case .tanh:
        let inner = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        return 0.5 * x * (1 + tanhf(inner))
    }
}

@inline(__always) func geluDerivative(_ x: Float, _ approx: GELUApproximation) -> Float {
    switch approx {
    case .none:
        let cdf = 0.5 * (1 + erff(x * 0.70710678118654752))
        let pdf = expf(-0.5 * x * x) * 0.3989422804014327
        return cdf + x * pdf
    case .tanh:
        let k: Float = 0.7978845608028654
        let inner = k * (x + 0.044715 * x * x * x)
        let t = tanhf(inner)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
    }
}

extension Tensor {
    public func silu() -> Tensor {
        let x = self
        return mapped { $0 * sigmoidScalar($0) }.recorded("silu", [self]) { g in
            [g.zipped(x) { gv, xv in let s = sigmoidScalar(xv); return gv * s * (1 + xv * (1 - s)) }]
        }
    }

    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        let x = self
        return mapped { geluScalar($0, approximate) }.recorded("gelu", [self]) { g in
            [g.zipped(x) { gv, xv in gv * geluDerivative(xv, approximate) }]
        }
    }

    public func sigmoid() -> Tensor {
        let y = mapped(sigmoidScalar)
        return y.recorded("sigmoid", [self]) { g in [g.zipped(y) { gv, yv in gv * yv * (1 - yv) }] }
    }

    public func tanh() -> Tensor {
        let y = mapped(tanhf)
        return y.recorded("tanh", [self]) { g in [g.zipped(y) { gv, yv in gv * (1 - yv * yv) }] }
    }

    public func exp() -> Tensor {
        let y = mapped(expf)
        return y.recorded("exp", [self]) { g in [g * y] }
    }

    public func log() -> Tensor {
        let x = self
        return mapped(logf).recorded("log", [self]) { g in [g / x] }
    }

    public func sqrt() -> Tensor {
        let y = mapped(sqrtf)
        return y.recorded("sqrt", [self]) { g in [g.zipped(y) { gv, yv in gv * 0.5 / yv }] }
    }

    public func squared() -> Tensor {
        let x = self
        return mapped { $0 * $0 }.recorded("square", [self]) { g in [g.zipped(x) { gv, xv in 2 * gv * xv }] }
    }

    public func relu() -> Tensor {
        let x = self
        return mapped { max($0, 0) }.recorded("relu", [self]) { g in [g.zipped(x) { gv, xv in xv > 0 ? gv : 0 }] }
    }

    /// Softmax over the last axis (max-subtracted).
    public func softmax() -> Tensor {
        let d = shape[rank - 1], rows = count / max(d, 1)
        let out = Tensor(uninitialized: shape)
        let src = data, dst = out.data
        Parallel.forEach(rows, costPerItem: d) { r in
            for row in r { softmaxRow(dst + row * d, src + row * d, d) }
        }
        return out.recorded("softmax", [self]) { g in
            let dx = Tensor(uninitialized: out.shape)
            let gp = g.data, yp = out.data, dp = dx.data
            Parallel.forEach(rows, costPerItem: d) { r in
                for row in r {
                    let gy = gp + row * d, y = yp + row * d, o = dp + row * d
                    var dot: Float = 0
                    for i in 0..<d { dot += gy[i] * y[i] }
                    for i in 0..<d { o[i] = y[i] * (gy[i] - dot) }
                }
            }
            return [dx]
        }
    }

    /// GEGLU on the last axis: halves (h, gate) -> h · gelu(gate) (sgm/diffusers `GEGLU` after its
    /// projection).
    public func geglu() -> Tensor {
        let halves = chunked(2, axis: -1)
        return halves[0] * halves[1].gelu()
    }
}
