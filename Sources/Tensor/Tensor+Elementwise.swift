// Broadcasting elementwise arithmetic (NumPy/PyTorch rules) and its gradients, plus scalar
// arithmetic. Gradients of a broadcast input are summed back to its shape (`summed(toShape:)`).

import Foundation

/// The broadcast of two shapes, or nil if they are incompatible.
public func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
    let r = max(a.count, b.count)
    var out = [Int](repeating: 1, count: r)
    for i in 0..<r {
        let da = i < r - a.count ? 1 : a[i - (r - a.count)]
        let db = i < r - b.count ? 1 : b[i - (r - b.count)]
        guard da == db || da == 1 || db == 1 else { return nil }
        out[i] = da == 1 ? db : da
    }
    return out
}

public protocol BinaryScalarOp { static func apply(_ a: Float, _ b: Float) -> Float }
public enum AddOp: BinaryScalarOp { @inlinable public static func apply(_ a: Float, _ b: Float) -> Float { a + b } }
public enum SubOp: BinaryScalarOp { @inlinable public static func apply(_ a: Float, _ b: Float) -> Float { a - b } }
public enum MulOp: BinaryScalarOp { @inlinable public static func apply(_ a: Float, _ b: Float) -> Float { a * b } }
public enum DivOp: BinaryScalarOp { @inlinable public static func apply(_ a: Float, _ b: Float) -> Float { a / b } }

/// out = Op(a, b) with broadcasting. Adjacent axes that broadcast alike are merged so the inner
/// loop runs over the longest contiguous stretch.
@inlinable
func broadcastBinary<Op: BinaryScalarOp>(_ a: Tensor, _ b: Tensor, _ op: Op.Type) -> Tensor {
    if a.shape == b.shape {
        let out = Tensor(uninitialized: a.shape)
        let pa = a.data, pb = b.data, po = out.data
        Parallel.forEach(out.count) { r in for i in r { po[i] = Op.apply(pa[i], pb[i]) } }
        return out
    }
    guard let shape = broadcastShape(a.shape, b.shape) else {
        preconditionFailure("cannot broadcast \(a.shape) with \(b.shape)")
    }
    let out = Tensor(uninitialized: shape)
    let r = shape.count
    // Per-axis strides of a and b in the output's index space (0 on broadcast axes).
    func strides(_ s: [Int]) -> [Int] {
        var st = [Int](repeating: 0, count: r)
        var acc = 1
        for i in stride(from: s.count - 1, through: 0, by: -1) {
            st[i + r - s.count] = s[i] == 1 ? 0 : acc
            acc *= s[i]
        }
        return st
    }
    var sa = strides(a.shape), sb = strides(b.shape)
    // Merge axis i into i+1 when both inputs are contiguous across the pair.
    var dims = shape
    var i = r - 2
    while i >= 0 {
        if sa[i] == sa[i + 1] * dims[i + 1] && sb[i] == sb[i + 1] * dims[i + 1] {
            dims[i + 1] *= dims[i]
            dims.remove(at: i); sa.remove(at: i); sb.remove(at: i)
        }
        i -= 1
    }
    let rank = dims.count
    let inner = rank > 0 ? dims[rank - 1] : 1
    let ia = rank > 0 ? sa[rank - 1] : 0, ib = rank > 0 ? sb[rank - 1] : 0
    let rows = out.count / max(inner, 1)
    let pa = a.data, pb = b.data, po = out.data
    Parallel.forEach(rows, costPerItem: inner) { range in
        for row in range {
            var rem = row, offA = 0, offB = 0
            if rank >= 2 {
                for d in stride(from: rank - 2, through: 0, by: -1) {
                    let idx = rem % dims[d]
                    rem /= dims[d]
                    offA += idx * sa[d]
                    offB += idx * sb[d]
                }
            }
            let o = po + row * inner
            let xa = pa + offA, xb = pb + offB
            if ia == 1 && ib == 1 {
                for j in 0..<inner { o[j] = Op.apply(xa[j], xb[j]) }
            } else if ia == 1 {
                for j in 0..<inner { o[j] = Op.apply(xa[j], xb[j * ib]) }
            } else if ib == 1 {
                for j in 0..<inner { o[j] = Op.apply(xa[j * ia], xb[j]) }
            } else {
                for j in 0..<inner { o[j] = Op.apply(xa[j * ia], xb[j * ib]) }
            }
        }
    }
    return out
}

extension Tensor {
    /// Sums a broadcast gradient back to `target` (drops leading axes, sums axes of size 1).
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        var t = self
        let lead = rank - target.count
        if lead > 0 { t = t.sum(axes: Array(0..<lead), keepDims: false) }
        let ones = target.indices.filter { target[$0] == 1 && t.shape[$0] != 1 }
        if !ones.isEmpty { t = t.sum(axes: ones, keepDims: true) }
        return t.reshaped(target)
    }

    public static func + (a: Tensor, b: Tensor) -> Tensor {
        broadcastBinary(a, b, AddOp.self).recorded("add", [a, b]) { g in
            [a.requiresGrad ? g.summed(toShape: a.shape) : nil,
             b.requiresGrad ? g.summed(toShape: b.shape) : nil]
        }
    }

    public static func - (a: Tensor, b: Tensor) -> Tensor {
        broadcastBinary(a, b, SubOp.self).recorded("sub", [a, b]) { g in
            [a.requiresGrad ? g.summed(toShape: a.shape) : nil,
             b.requiresGrad ? (-g).summed(toShape: b.shape) : nil]
        }
    }

    public static func * (a: Tensor, b: Tensor) -> Tensor {
        broadcastBinary(a, b, MulOp.self).recorded("mul", [a, b]) { g in
            [a.requiresGrad ? (g * b).summed(toShape: a.shape) : nil,
             b.requiresGrad ? (g * a).summed(toShape: b.shape) : nil]
        }
    }

    public static func / (a: Tensor, b: Tensor) -> Tensor {
        broadcastBinary(a, b, DivOp.self).recorded("div", [a, b]) { g in
            [a.requiresGrad ? (g / b).summed(toShape: a.shape) : nil,
             b.requiresGrad ? (-(g * a) / (b * b)).summed(toShape: b.shape) : nil]
        }
    }

    public static prefix func - (a: Tensor) -> Tensor { a * -1 }

    public static func * (a: Tensor, s: Float) -> Tensor {
        a.mapped { $0 * s }.recorded("mulScalar", [a]) { g in [g * s] }
    }
    public static func * (s: Float, a: Tensor) -> Tensor { a * s }
    public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }
    public static func + (a: Tensor, s: Float) -> Tensor {
        a.mapped { $0 + s }.recorded("addScalar", [a]) { g in [g] }
    }
    public static func + (s: Float, a: Tensor) -> Tensor { a + s }
    public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }
    public static func - (s: Float, a: Tensor) -> Tensor { (-a) + s }

    /// Elementwise map without gradient (the building block of unary kernels).
    @inlinable
    public func mapped(_ f: (Float) -> Float) -> Tensor {
        let out = Tensor(uninitialized: shape)
        let src = data, dst = out.data
        Parallel.forEach(count) { r in for i in r { dst[i] = f(src[i]) } }
        return out
    }

    /// Elementwise combination of two same-shape tensors without gradient.
    @inlinable
    public func zipped(_ other: Tensor, _ f: (Float, Float) -> Float) -> Tensor {
        precondition(shape == other.shape, "zipped: \(shape) vs \(other.shape)")
        let out = Tensor(uninitialized: shape)
        let a = data, b = other.data, dst = out.data
        Parallel.forEach(count) { r in for i in r { dst[i] = f(a[i], b[i]) } }
        return out
    }
}
