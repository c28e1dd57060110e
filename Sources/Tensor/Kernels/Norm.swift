// Backward kernels of group and layer norm (Tensor+Norm.swift). `normBackward` runs the
// vectorised C row kernels (CKernels: ck_norm_run_sums, ck_layer_norm_row_backward) over rows split
// between workers; `normBackwardReference` is its readable twin, plain Swift loops over the same
// sums, that the tests compare it against.
//
// Per row with statistics mean, rstd and x̂ = (x − mean)·rstd:
// dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)) with dx̂ = g·w; dw = Σ g·x̂; db = Σ g.

import CKernels
import Dispatch
import Foundation

/// How a normalisation's elements form rows, each normalised with its own mean and rstd: `rows`
/// rows of `segments` runs of `segmentLength` contiguous elements, run s of row r scaled by affine
/// channel (r mod groups)·segments + s.
public struct NormLayout: Sendable, Equatable {
    public let rows: Int, groups: Int, segments: Int, segmentLength: Int

    public init(rows: Int, groups: Int, segments: Int, segmentLength: Int) {
        self.rows = rows; self.groups = groups; self.segments = segments; self.segmentLength = segmentLength
    }

    /// Group norm of x [N, C, *] with `groups` groups: a row per (image, group), a run per channel
    /// of the group over every trailing position.
    public static func groupNorm(shape: [Int], groups: Int) -> NormLayout {
        let n = shape[0], c = shape[1], spatial = shape.dropFirst(2).reduce(1, *)
        return NormLayout(rows: n * groups, groups: groups, segments: c / groups, segmentLength: spatial)
    }

    /// Layer norm of x [..., D] over its last axis: a row per vector, a run per element.
    public static func layerNorm(shape: [Int]) -> NormLayout {
        let d = shape[shape.count - 1]
        return NormLayout(rows: shape.reduce(1, *) / d, groups: 1, segments: d, segmentLength: 1)
    }

    /// Affine channels (the length of weight and bias).
    public var channels: Int { groups * segments }
    public var rowSize: Int { segments * segmentLength }
    /// Affine channel of run 0 of row `r`.
    func firstChannel(ofRow r: Int) -> Int { (r % groups) * segments }
}

/// The gradients of a norm: of its input (nil when not asked for), weight and bias.
public struct NormGradients {
    public var dx: Tensor?
    public var dw: Tensor
    public var db: Tensor
}

/// Gradients of a group or layer norm given the upstream gradient `g` and the forward's
/// per-row `means` and `rstds` (weight nil: no affine scale). dx only when `inputGradient`. Rows are
/// split between workers, each with its own Double dw/db accumulators (no write races, bounded
/// memory), summed in worker order at the end.
public func normBackward(_ g: Tensor, x: Tensor, layout: NormLayout, means: [Float], rstds: [Float],
                         weight: Tensor?, inputGradient: Bool = true) -> NormGradients {
    let rows = layout.rows, channels = layout.channels, rowSize = layout.rowSize
    let segments = layout.segments, segmentLength = layout.segmentLength
    let dx = inputGradient ? Tensor(uninitialized: x.shape) : nil
    let workers = max(1, min(Parallel.threadCount, rows))
    var dwPartial = [Double](repeating: 0, count: workers * channels)
    var dbPartial = [Double](repeating: 0, count: workers * channels)
    let xs = x.data, gs = g.data, w = weight?.data
    dwPartial.withUnsafeMutableBufferPointer { dwBuf in
        dbPartial.withUnsafeMutableBufferPointer { dbBuf in
            let dwAll = dwBuf.baseAddress!, dbAll = dbBuf.baseAddress!
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                let dwp = dwAll + worker * channels, dbp = dbAll + worker * channels
                for r in (worker * rows / workers)..<((worker + 1) * rows / workers) {
                    let mean = means[r], rstd = rstds[r], c0 = layout.firstChannel(ofRow: r)
                    let xr = xs + r * rowSize, gr = gs + r * rowSize
                    let o = dx.map { $0.data + r * rowSize }
                    if segmentLength == 1 {
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
    return NormGradients(dx: dx, dw: reduce(dwPartial), db: reduce(dbPartial))
}

/// The readable twin of `normBackward`: one row after another, Float sums per run in element
/// order, Double sums per channel.
public func normBackwardReference(_ g: Tensor, x: Tensor, layout: NormLayout, means: [Float], rstds: [Float],
                                  weight: Tensor?, inputGradient: Bool = true) -> NormGradients {
    let segments = layout.segments, segmentLength = layout.segmentLength, rowSize = layout.rowSize
    let dx = inputGradient ? Tensor(uninitialized: x.shape) : nil
    var dw = [Double](repeating: 0, count: layout.channels), db = dw
    let w = weight?.data
    for r in 0..<layout.rows {
        let mean = means[r], rstd = rstds[r], c0 = layout.firstChannel(ofRow: r)
        let xr = x.data + r * rowSize, gr = g.data + r * rowSize
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
            dw[ch] += Double(segDW); db[ch] += Double(segDB)
            sumD += Double(segD); sumDX += Double(segDX)
        }
        guard let dx else { continue }
        normRowInputGradient(dx.data + r * rowSize, gr, xr, w, segments: segments, segmentLength: segmentLength,
                             firstChannel: c0, mean: mean, rstd: rstd, sumD: sumD, sumDX: sumDX)
    }
    return NormGradients(dx: dx, dw: Tensor(shape: [layout.channels], scalars: dw.map { Float($0) }),
                         db: Tensor(shape: [layout.channels], scalars: db.map { Float($0) }))
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
