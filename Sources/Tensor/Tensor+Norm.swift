// Normalisation ops with gradients. Statistics accumulate in Double (sgm upcasts GroupNorm32 to
// fp32; Double keeps us at least as exact). Variance is the biased one, as in PyTorch.
//
// Group norm over [N, C, *]: statistics per (n, group) over C/G channels and every trailing
// position, so a video laid out [B, C, T, H, W] gets statistics over all its frames, as sgm's
// temporal resblocks need, while (B·T, C, H, W) gets per-frame statistics.

import CKernels
import Dispatch
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
            return normBackward(upstream, x: x, rows: n * groups, segments: cpg, segmentLength: spatial,
                                firstChannel: { row in (row % groups) * cpg }, channels: c, means: means,
                                rstds: rstds, weight: weight, hasBias: bias != nil)
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
            normBackward(g, x: x, rows: rows, segments: d, segmentLength: 1,
                         firstChannel: { _ in 0 }, channels: d,
                         means: means, rstds: rstds, weight: weight, hasBias: bias != nil)
        }
    }
}

/// Which backward the norms use: the vectorised C kernels (default), or the readable Swift loops
/// they replaced, kept as their twin for tests.
public enum NormBackwardKernel {
    nonisolated(unsafe) public static var useReference = false
}

/// Shared backward of group and layer norm. Each normalised row has its mean and rstd and is
/// `segments` runs of `segmentLength` elements; run s of row r has affine channel
/// `firstChannel(r) + s` (group norm: a run per channel of the group; layer norm: a run per element).
/// dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = g·w; dw = Σ g·x̂; db = Σ g.
private func normBackward(_ g: Tensor, x: Tensor, rows: Int, segments: Int, segmentLength: Int,
                          firstChannel: @escaping (Int) -> Int, channels: Int,
                          means: [Float], rstds: [Float], weight: Tensor?, hasBias: Bool) -> [Tensor?] {
    let rowSize = segments * segmentLength
    let dx = x.requiresGrad ? Tensor(uninitialized: x.shape) : nil
    // One dw/db accumulator per worker, summed at the end (no write races, bounded memory).
    let workers = max(1, min(Parallel.threadCount, rows))
    var dwPartial = [Double](repeating: 0, count: workers * channels)
    var dbPartial = [Double](repeating: 0, count: workers * channels)
    let xs = x.data, gs = g.data, w = weight?.data
    let reference = NormBackwardKernel.useReference
    dwPartial.withUnsafeMutableBufferPointer { dwBuf in
        dbPartial.withUnsafeMutableBufferPointer { dbBuf in
            let dwAll = dwBuf.baseAddress!, dbAll = dbBuf.baseAddress!
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let dwp = dwAll + worker * channels, dbp = dbAll + worker * channels
                for r in (worker * rows / workers)..<((worker + 1) * rows / workers) {
                    let mean = means[r], rstd = rstds[r], c0 = firstChannel(r)
                    let xr = xs + r * rowSize, gr = gs + r * rowSize
                    let o = dx.map { $0.data + r * rowSize }
                    if reference {
                        normRowBackwardReference(o, dwp, dbp, gr, xr, w, segments: segments,
                                                 segmentLength: segmentLength, firstChannel: c0,
                                                 mean: mean, rstd: rstd)
                    } else if segmentLength == 1 {
                        // Layer norm: the row is one run per channel, all of it in one kernel call.
                        ck_layer_norm_row_backward(o, dwp + c0, dbp + c0, gr, xr, w.map { $0 + c0 },
                                                   rowSize, mean, rstd)
                    } else {
                        var sumD: Double = 0, sumDX: Double = 0
                        for s in 0..<segments {
                            let ch = c0 + s, wc = w?[ch] ?? 1
                            var sumG: Float = 0, sumGXhat: Float = 0
                            ck_norm_run_sums(gr + s * segmentLength, xr + s * segmentLength, segmentLength,
                                             mean, rstd, &sumG, &sumGXhat)
                            dwp[ch] += Double(sumGXhat); dbp[ch] += Double(sumG)
                            sumD += Double(sumG * wc); sumDX += Double(sumGXhat * wc)
                        }
                        guard let o else { continue }
                        normRowInputGradient(o, gr, xr, w, segments: segments, segmentLength: segmentLength,
                                             firstChannel: c0, mean: mean, rstd: rstd, sumD: sumD, sumDX: sumDX)
                    }
                }
            }
        }
    }
    func reduce(_ partial: [Double]) -> Tensor {
        var acc = [Double](repeating: 0, count: channels)
        for k in 0..<workers { for ch in 0..<channels { acc[ch] += partial[k * channels + ch] } }
        return Tensor(shape: [channels], scalars: acc.map { Float($0) })
    }
    var grads: [Tensor?] = [dx]
    if let weight { grads.append(weight.requiresGrad ? reduce(dwPartial) : nil) }
    if hasBias { grads.append(reduce(dbPartial)) }
    return grads
}

/// The readable twin of the norm backward kernels: one row, Float sums per run in order.
private func normRowBackwardReference(_ o: UnsafeMutablePointer<Float>?, _ dwp: UnsafeMutablePointer<Double>,
                                      _ dbp: UnsafeMutablePointer<Double>, _ gr: UnsafePointer<Float>,
                                      _ xr: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, segments: Int,
                                      segmentLength: Int, firstChannel c0: Int, mean: Float, rstd: Float) {
    var sumD: Double = 0, sumDX: Double = 0
    for s in 0..<segments {
        let ch = c0 + s, wc = w?[ch] ?? 1
        var segDW: Float = 0, segDB: Float = 0, segD: Float = 0, segDX: Float = 0
        for i in (s * segmentLength)..<((s + 1) * segmentLength) {
            let xhat = (xr[i] - mean) * rstd
            segDW += gr[i] * xhat
            segDB += gr[i]
            segD += gr[i] * wc
            segDX += gr[i] * wc * xhat
        }
        dwp[ch] += Double(segDW); dbp[ch] += Double(segDB)
        sumD += Double(segD); sumDX += Double(segDX)
    }
    guard let o else { return }
    normRowInputGradient(o, gr, xr, w, segments: segments, segmentLength: segmentLength,
                         firstChannel: c0, mean: mean, rstd: rstd, sumD: sumD, sumDX: sumDX)
}

/// dx of one row from its sums Σ g·w and Σ g·w·x̂ (shared by group norm and the twin; each
/// element on its own, so the loops vectorise as they are).
private func normRowInputGradient(_ o: UnsafeMutablePointer<Float>, _ gr: UnsafePointer<Float>,
                                  _ xr: UnsafePointer<Float>, _ w: UnsafePointer<Float>?, segments: Int,
                                  segmentLength: Int, firstChannel c0: Int, mean: Float, rstd: Float,
                                  sumD: Double, sumDX: Double) {
    let rowSize = segments * segmentLength
    let mD = Float(sumD / Double(rowSize)), mDX = Float(sumDX / Double(rowSize))
    for s in 0..<segments {
        let wc = w?[c0 + s] ?? 1
        for i in (s * segmentLength)..<((s + 1) * segmentLength) {
            let xhat = (xr[i] - mean) * rstd
            o[i] = rstd * (gr[i] * wc - mD - xhat * mDX)
        }
    }
}
