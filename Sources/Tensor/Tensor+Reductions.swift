// Sums and means over axes, accumulated in Double (as ggml does for norm statistics) so results
// do not depend on the split between threads.

import Foundation

extension Tensor {
    /// Sum over one axis, viewed as [outer, n, inner] -> [outer, inner].
    func summedOverAxis(_ ax: Int) -> Tensor {
        let outer = shape[..<ax].reduce(1, *), n = shape[ax], inner = innerCount(after: ax)
        var outShape = shape
        outShape[ax] = 1
        let out = Tensor(uninitialized: outShape)
        let src = data, dst = out.data
        Parallel.forEach(outer, costPerItem: n * inner) { rr in
            var acc = [Double](repeating: 0, count: inner)
            for o in rr {
                for j in 0..<inner { acc[j] = 0 }
                let base = src + o * n * inner
                for i in 0..<n {
                    let row = base + i * inner
                    for j in 0..<inner { acc[j] += Double(row[j]) }
                }
                for j in 0..<inner { dst[o * inner + j] = Float(acc[j]) }
            }
        }
        return out
    }

    /// Sum over `axes` (all axes when empty... use `sum()` for that).
    public func sum(axes: [Int], keepDims: Bool = false) -> Tensor {
        let axes = Set(axes.map { axis($0) }).sorted()
        var out = self.detached()
        for ax in axes { out = out.summedOverAxis(ax) }
        var kept = shape
        for ax in axes { kept[ax] = 1 }
        let final = keepDims ? kept : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
        out = Tensor(storage: out.storage, shape: final, offset: out.offset)
        let inShape = shape
        return out.recorded("sum", [self]) { g in [g.reshaped(kept).broadcast(to: inShape)] }
    }

    /// Sum of all elements as a 0-d tensor.
    public func sum() -> Tensor {
        var acc: Double = 0
        let p = data
        for i in 0..<count { acc += Double(p[i]) }
        let inShape = shape
        return Tensor(Float(acc)).recorded("sumAll", [self]) { g in [Tensor(shape: inShape, repeating: g.item)] }
    }

    public func mean(axes: [Int], keepDims: Bool = false) -> Tensor {
        let n = axes.map { shape[axis($0)] }.reduce(1, *)
        return sum(axes: axes, keepDims: keepDims) * (1 / Float(n))
    }

    public func mean() -> Tensor { sum() * (1 / Float(max(count, 1))) }
}
