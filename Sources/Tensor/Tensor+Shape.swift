// Shape ops: reshape (a view), permute and transpose (copies), leading-axis and general slices,
// concatenation and splitting, each with its gradient.

import Foundation

extension Tensor {
    /// Same elements under a new shape; one dimension may be -1. Shares storage.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let inferred = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != inferred }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            target[inferred] = count / known
        }
        precondition(target.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        if target == shape { return self }
        let view = Tensor(storage: storage, shape: target, offset: offset)
        let original = shape
        return view.recorded("reshape", [self]) { g in [g.reshaped(original)] }
    }

    public func flattened() -> Tensor { reshaped([count]) }
    public func unsqueezed(axis a: Int) -> Tensor {
        var s = shape
        s.insert(1, at: a < 0 ? a + rank + 1 : a)
        return reshaped(s)
    }
    public func squeezed(axis a: Int) -> Tensor {
        let ax = axis(a)
        precondition(shape[ax] == 1, "squeeze of axis \(a) with size \(shape[ax])")
        var s = shape
        s.remove(at: ax)
        return reshaped(s)
    }

    /// Axes reordered: result axis i is input axis `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "bad permutation \(order) for rank \(rank)")
        if order == Array(0..<rank) { return self }
        let outShape = order.map { shape[$0] }
        let out = Tensor(uninitialized: outShape)
        var inStrides = [Int](repeating: 1, count: rank)
        for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] }
        let strideOfOut = order.map { inStrides[$0] }
        let inner = outShape.last ?? 1
        let innerStride = strideOfOut.last ?? 1
        let rows = count / max(inner, 1)
        let src = data, dst = out.data
        let r = rank
        Parallel.forEach(rows, costPerItem: inner) { range in
            for row in range {
                var rem = row, off = 0
                if r >= 2 {
                    for d in stride(from: r - 2, through: 0, by: -1) {
                        off += (rem % outShape[d]) * strideOfOut[d]
                        rem /= outShape[d]
                    }
                }
                let o = dst + row * inner
                let s = src + off
                if innerStride == 1 {
                    o.update(from: s, count: inner)
                } else {
                    for j in 0..<inner { o[j] = s[j * innerStride] }
                }
            }
        }
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return out.recorded("permute", [self]) { g in [g.permuted(inverse)] }
    }

    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(axis(a), axis(b))
        return permuted(order)
    }

    /// The rows `indices` along the first axis, in that order and with repeats (a random batch of
    /// frames); differentiable, as slices joined.
    public func rows(_ indices: [Int]) -> Tensor {
        Tensor.concatenated(indices.map { sliced(axis: 0, $0..<($0 + 1)) }, axis: 0)
    }

    /// Elements `range` along `axis` (a copy unless `axis` is the first non-unit one: then a view).
    public func sliced(axis a: Int, _ range: Range<Int>) -> Tensor {
        let ax = axis(a)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[ax],
                     "slice \(range) out of bounds for axis \(ax) of \(shape)")
        if range == 0..<shape[ax] { return self }
        var outShape = shape
        outShape[ax] = range.count
        let outer = shape[..<ax].reduce(1, *)
        let inner = innerCount(after: ax)
        let out: Tensor
        if outer == 1 {
            out = Tensor(storage: storage, shape: outShape, offset: offset + range.lowerBound * inner)
        } else {
            out = Tensor(uninitialized: outShape)
            let src = data, dst = out.data
            let n = shape[ax], m = range.count
            Parallel.forEach(outer, costPerItem: m * inner) { rr in
                for o in rr {
                    (dst + o * m * inner).update(from: src + (o * n + range.lowerBound) * inner, count: m * inner)
                }
            }
        }
        let full = shape
        return out.recorded("slice", [self]) { g in
            // Scatter the gradient into zeros of the input's shape.
            let gi = Tensor(zeros: full)
            let outerG = full[..<ax].reduce(1, *)
            let n = full[ax], m = range.count
            for o in 0..<outerG {
                (gi.data + (o * n + range.lowerBound) * inner).update(from: g.data + o * m * inner, count: m * inner)
            }
            return [gi]
        }
    }

    /// Splits along `axis` into pieces of the given sizes.
    public func split(axis a: Int, sizes: [Int]) -> [Tensor] {
        let ax = axis(a)
        precondition(sizes.reduce(0, +) == shape[ax], "split sizes \(sizes) do not add to \(shape[ax])")
        var start = 0
        return sizes.map { n in
            defer { start += n }
            return sliced(axis: ax, start..<(start + n))
        }
    }

    /// `count` equal pieces along `axis` (PyTorch's `chunk` when it divides evenly).
    public func chunked(_ count: Int, axis a: Int) -> [Tensor] {
        let ax = axis(a)
        precondition(shape[ax] % count == 0, "cannot chunk \(shape[ax]) into \(count)")
        return split(axis: ax, sizes: [Int](repeating: shape[ax] / count, count: count))
    }

    /// Concatenation along `axis`; all other dimensions must match.
    public static func concatenated(_ parts: [Tensor], axis a: Int) -> Tensor {
        precondition(!parts.isEmpty, "concatenate of no tensors")
        let ax = parts[0].axis(a)
        var outShape = parts[0].shape
        for p in parts.dropFirst() {
            precondition(p.rank == outShape.count, "concatenate ranks differ")
            for d in 0..<p.rank where d != ax {
                precondition(p.shape[d] == outShape[d], "concatenate: \(p.shape) vs \(parts[0].shape) on axis \(d)")
            }
        }
        outShape[ax] = parts.reduce(0) { $0 + $1.shape[ax] }
        let out = Tensor(uninitialized: outShape)
        let outer = outShape[..<ax].reduce(1, *)
        let inner = out.innerCount(after: ax)
        let total = outShape[ax]
        var start = 0
        for p in parts {
            let m = p.shape[ax]
            let src = p.data, dst = out.data, s0 = start
            Parallel.forEach(outer, costPerItem: m * inner) { rr in
                for o in rr { (dst + (o * total + s0) * inner).update(from: src + o * m * inner, count: m * inner) }
            }
            start += m
        }
        let sizes = parts.map { $0.shape[ax] }
        return out.recorded("concat", parts) { g in
            let pieces = g.split(axis: ax, sizes: sizes)
            return zip(parts, pieces).map { $0.requiresGrad ? $1.copied() : nil }
        }
    }

    /// The tensor repeated along a new or existing axis by broadcasting to `target`.
    public func broadcast(to target: [Int]) -> Tensor {
        if shape == target { return self }
        return self + Tensor(zeros: target)
    }
}
