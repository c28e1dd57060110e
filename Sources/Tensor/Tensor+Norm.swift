// Normalisation ops with gradients. Statistics accumulate in Double (sgm upcasts GroupNorm32 to
// fp32; Double keeps us at least as exact). Variance is the biased one, as in PyTorch.
//
// Group norm over [N, C, *]: statistics per (n, group) over C/G channels and every trailing
// position, so a video laid out [B, C, T, H, W] gets statistics over all its frames, as sgm's
// temporal resblocks need, while (B·T, C, H, W) gets per-frame statistics. The backward
// kernels and their twin are in Kernels/Norm.swift.

import CKernels
import Foundation

extension Tensor {
    /// GroupNorm: x [N, C, *], weight/bias [C] (either optional).
    public func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        groupNorm(groups: groups, weight: weight, bias: bias, eps: eps, thenSiLU: false)
    }

    /// silu(groupNorm(x)), the norm-then-activation every ResBlock opens with, in one pass: the
    /// normalised tensor is neither written out nor kept, and the backward recomputes it from the
    /// saved statistics. Values and gradients are those of `groupNorm(...).silu()` to the bit.
    public func groupNormSiLU(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        groupNorm(groups: groups, weight: weight, bias: bias, eps: eps, thenSiLU: true)
    }

    private func groupNorm(groups: Int, weight: Tensor?, bias: Tensor?, eps: Float, thenSiLU: Bool) -> Tensor {
        precondition(rank >= 2 && shape[1] % groups == 0, "groupNorm: \(shape) with \(groups) groups")
        let n = shape[0], c = shape[1], spatial = count / (n * c), cpg = c / groups
        let groupSize = cpg * spatial
        let out = Tensor(uninitialized: shape)
        var means = [Float](repeating: 0, count: n * groups), rstds = means
        let src = data, dst = out.data
        let w = weight?.data, b = bias?.data
        /// Channel `ch`'s affine map from x to the normalised value, given its group's statistics.
        func affine(_ ch: Int, mean: Float, rstd: Float) -> (scale: Float, shift: Float) {
            let scale = rstd * (w?[ch] ?? 1)
            return (scale, (b?[ch] ?? 0) - mean * scale)
        }
        means.withUnsafeMutableBufferPointer { meanBuf in
            rstds.withUnsafeMutableBufferPointer { rstdBuf in
                let mp = meanBuf.baseAddress!, rp = rstdBuf.baseAddress!
                Parallel.forEach(n * groups, costPerItem: groupSize) { range in
                    for ng in range {
                        let base = src + ng * groupSize
                        let (s, s2) = moments(base, groupSize)
                        let mean = s / Double(groupSize)
                        let variance = max(0, s2 / Double(groupSize) - mean * mean)
                        let rstd = 1 / (variance + Double(eps)).squareRoot()
                        mp[ng] = Float(mean); rp[ng] = Float(rstd)
                        let gi = ng % groups
                        for cc in 0..<cpg {
                            let (scale, shift) = affine(gi * cpg + cc, mean: Float(mean), rstd: Float(rstd))
                            let row = base + cc * spatial, o = dst + ng * groupSize + cc * spatial
                            for i in 0..<spatial { o[i] = row[i] * scale + shift }
                            if thenSiLU { ck_silu(o, o, spatial) }
                        }
                    }
                }
            }
        }
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let x = self
        return out.recorded(thenSiLU ? "groupNormSiLU" : "groupNorm", inputs) { g in
            var upstream = g
            if thenSiLU {
                // Through the SiLU first, at the normalised values recomputed exactly as above.
                upstream = Tensor(uninitialized: x.shape)
                let xs = x.data, gs = g.data, dz = upstream.data
                Parallel.forEach(n * groups, costPerItem: 2 * groupSize) { range in
                    let z = UnsafeMutablePointer<Float>.allocate(capacity: spatial)
                    defer { z.deallocate() }
                    for ng in range {
                        for cc in 0..<cpg {
                            let (scale, shift) = affine((ng % groups) * cpg + cc, mean: means[ng], rstd: rstds[ng])
                            let offset = ng * groupSize + cc * spatial, row = xs + offset
                            for i in 0..<spatial { z[i] = row[i] * scale + shift }
                            ck_silu_backward(dz + offset, gs + offset, z, spatial)
                        }
                    }
                }
            }
            let grads = normBackward(upstream, x: x, layout: NormLayout.groupNorm(shape: x.shape, groups: groups),
                                     means: means, rstds: rstds, weight: weight, inputGradient: x.requiresGrad)
            return grads.inputOrder(weight: weight, hasBias: bias != nil)
        }
    }

    /// LayerNorm over the last axis: x [..., D], weight/bias [D] (either optional).
    public func layerNorm(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let d = shape[rank - 1], rows = count / d
        let out = Tensor(uninitialized: shape)
        var means = [Float](repeating: 0, count: rows), rstds = means
        let src = data, dst = out.data
        let w = weight?.data, b = bias?.data
        means.withUnsafeMutableBufferPointer { meanBuf in
            rstds.withUnsafeMutableBufferPointer { rstdBuf in
                let mp = meanBuf.baseAddress!, rp = rstdBuf.baseAddress!
                Parallel.forEach(rows, costPerItem: d) { range in
                    for r in range {
                        let row = src + r * d, o = dst + r * d
                        let (s, s2) = moments(row, d)
                        let mean = s / Double(d)
                        let rstd = Float(1 / (max(0, s2 / Double(d) - mean * mean) + Double(eps)).squareRoot())
                        mp[r] = Float(mean); rp[r] = rstd
                        let m = Float(mean)
                        // The affine cases apart, so each loop is a plain vector loop.
                        if let w, let b {
                            for i in 0..<d { o[i] = (row[i] - m) * rstd * w[i] + b[i] }
                        } else if let w {
                            for i in 0..<d { o[i] = (row[i] - m) * rstd * w[i] }
                        } else if let b {
                            for i in 0..<d { o[i] = (row[i] - m) * rstd + b[i] }
                        } else {
                            for i in 0..<d { o[i] = (row[i] - m) * rstd }
                        }
                    }
                }
            }
        }
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let x = self
        return out.recorded("layerNorm", inputs) { g in
            normBackward(g, x: x, layout: NormLayout.layerNorm(shape: x.shape), means: means, rstds: rstds,
                         weight: weight, inputGradient: x.requiresGrad)
                .inputOrder(weight: weight, hasBias: bias != nil)
        }
    }
}

extension NormGradients {
    /// The gradients in the order of the op's inputs: x, then weight and bias where the op had them
    /// (nil for a weight that needs no gradient).
    func inputOrder(weight: Tensor?, hasBias: Bool) -> [Tensor?] {
        var grads: [Tensor?] = [dx]
        if let weight { grads.append(weight.requiresGrad ? dw : nil) }
        if hasBias { grads.append(db) }
        return grads
    }
}
