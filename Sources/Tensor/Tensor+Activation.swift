// Pointwise nonlinearities, softmax and GEGLU, with gradients. GELU defaults to the exact erf
// form (sgm, diffusers and open_clip all use it); the tanh form is there for configs that ask.

import CKernels
import Foundation

public enum GELUApproximation: String, Sendable { case none, tanh }

@inline(__always) func sigmoidScalar(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

/// The tanh approximation of GELU and its derivative (the exact form runs in CKernels).
@inline(__always) func geluTanhScalar(_ x: Float) -> Float {
    0.5 * x * (1 + tanhf(0.7978845608028654 * (x + 0.044715 * x * x * x)))
}

@inline(__always) func geluTanhDerivative(_ x: Float) -> Float {
    let k: Float = 0.7978845608028654
    let t = tanhf(k * (x + 0.044715 * x * x * x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k * (1 + 3 * 0.044715 * x * x)
}

extension Tensor {
    /// y = kernel(x) over contiguous chunks in parallel (no gradient).
    func chunkedKernel(_ kernel: (UnsafeMutablePointer<Float>, UnsafePointer<Float>, Int) -> Void) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let src = data, dst = out.data
        Parallel.forEach((count + 4095) / 4096, costPerItem: 4096) { r in
            let lo = r.lowerBound * 4096, hi = min(count, r.upperBound * 4096)
            kernel(dst + lo, src + lo, hi - lo)
        }
        return out
    }

    /// dx = kernel(self as upstream gradient, x) over contiguous chunks in parallel.
    func chunkedKernel(_ x: Tensor, _ kernel: (UnsafeMutablePointer<Float>, UnsafePointer<Float>,
                                                UnsafePointer<Float>, Int) -> Void) -> Tensor {
        precondition(shape == x.shape, "gradient shape \(shape) vs input \(x.shape)")
        let out = Tensor(uninitialized: shape)
        let g = data, xs = x.data, dst = out.data
        Parallel.forEach((count + 4095) / 4096, costPerItem: 4096) { r in
            let lo = r.lowerBound * 4096, hi = min(count, r.upperBound * 4096)
            kernel(dst + lo, g + lo, xs + lo, hi - lo)
        }
        return out
    }

    public func silu() -> Tensor {
        let x = self
        return chunkedKernel { y, x, n in ck_silu(y, x, n) }.recorded("silu", [self]) { g in
            [g.chunkedKernel(x) { dx, g, x, n in ck_silu_backward(dx, g, x, n) }]
        }
    }

    /// GELU. The exact form uses PyTorch's vectorised erf (Abramowitz & Stegun 7.1.26), as the
    /// reference's CPU kernel does.
    public func gelu(approximate: GELUApproximation = .none) -> Tensor {
        let x = self
        if approximate == .none {
            return chunkedKernel { y, x, n in ck_gelu(y, x, n) }.recorded("gelu", [self]) { g in
                [g.chunkedKernel(x) { dx, g, x, n in ck_gelu_backward(dx, g, x, n) }]
            }
        }
        return mapped(geluTanhScalar).recorded("geluTanh", [self]) { g in
            [g.zipped(x) { gv, xv in gv * geluTanhDerivative(xv) }]
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

    /// |x|, with torch's subgradient 0 at 0 (sign(x)·g); for L1 losses.
    public func absolute() -> Tensor {
        let x = self
        return mapped { Swift.abs($0) }.recorded("abs", [self]) { g in
            [g.zipped(x) { gv, xv in xv > 0 ? gv : (xv < 0 ? -gv : 0) }]
        }
    }

    /// torch.clamp: values limited to [lower, upper]; the gradient passes where x is inside
    /// (bounds included, as torch) and is 0 where it was clamped.
    public func clamped(_ lower: Float, _ upper: Float) -> Tensor {
        let x = self
        return mapped { Swift.min(Swift.max($0, lower), upper) }.recorded("clamp", [self]) { g in
            [g.zipped(x) { gv, xv in xv >= lower && xv <= upper ? gv : 0 }]
        }
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
    /// projection). One pass over each row, forward and backward, so neither half is copied out
    /// and no h·g or gelu(gate) tensor is kept; the values and gradients are those of
    /// `gegluComposed` to the bit (the same kernels on the same numbers).
    public func geglu() -> Tensor {
        let width = shape[rank - 1]
        precondition(width % 2 == 0, "geglu needs an even last axis, got \(shape)")
        let half = width / 2, rows = count / max(width, 1)
        var outShape = shape
        outShape[rank - 1] = half
        let out = Tensor(uninitialized: outShape)
        let x = self, xp = data, yp = out.data
        Parallel.forEach(rows, costPerItem: 8 * half) { r in
            for row in r {
                let h = xp + row * width, y = yp + row * half
                ck_gelu(y, h + half, half)
                for i in 0..<half { y[i] = h[i] * y[i] }
            }
        }
        return out.recorded("geglu", [self]) { g in
            let dx = Tensor(uninitialized: x.shape)
            let gp = g.data, xp = x.data, dp = dx.data
            Parallel.forEach(rows, costPerItem: 16 * half) { r in
                let upstream = UnsafeMutablePointer<Float>.allocate(capacity: half)
                defer { upstream.deallocate() }
                for row in r {
                    let h = xp + row * width, gy = gp + row * half
                    let dh = dp + row * width, dgate = dh + half
                    // d gate = gelu'(gate) · (g · h); d h = g · gelu(gate).
                    for i in 0..<half { upstream[i] = gy[i] * h[i] }
                    ck_gelu_backward(dgate, upstream, h + half, half)
                    ck_gelu(dh, h + half, half)
                    for i in 0..<half { dh[i] = gy[i] * dh[i] }
                }
            }
            return [dx]
        }
    }

    /// GEGLU from the engine's own ops (split, gelu, product): the readable twin of `geglu()`.
    public func gegluComposed() -> Tensor {
        let halves = chunked(2, axis: -1)
        return halves[0] * halves[1].gelu()
    }
}
