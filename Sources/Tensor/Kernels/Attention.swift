// Scaled dot-product attention that never holds the full score matrix: queries are processed in
// chunks of `queryChunk` rows, so memory is queryChunk·Nk floats per worker instead of Nq·Nk
// (5184² floats = 107 MB per head at 576x576). Softmax is exact per row, so chunking changes no
// result. The backward pass recomputes each chunk's probabilities (flash-attention style).
//
// Shapes: q [BH, Nq, D], k [BH, Nk, D], v [BH, Nk, Dv], out [BH, Nq, Dv] (BH = batch · heads).

import Dispatch
import Foundation

public enum AttentionKernel {
    /// Rows of queries per chunk.
    nonisolated(unsafe) public static var queryChunk = 256

    /// Runs `perHead(h, scratch)` over heads: in parallel with single-threaded BLAS when there
    /// are enough heads to feed every core, otherwise serially with BLAS's own threads.
    static func forEachHead(_ heads: Int, scratchCount: Int,
                            _ perHead: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let workers = min(Parallel.threadCount, heads)
        if workers > 1 && heads >= 2 * workers {
            BLAS.singleThreaded {
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                    defer { scratch.deallocate() }
                    var h = w
                    while h < heads { perHead(h, scratch); h += workers }
                }
            }
        } else {
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
            defer { scratch.deallocate() }
            for h in 0..<heads { perHead(h, scratch) }
        }
    }

    static func forward(out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                        k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        heads: Int, nq: Int, nk: Int, d: Int, dv: Int, scale: Float) {
        let chunk = min(queryChunk, nq)
        forEachHead(heads, scratchCount: chunk * nk) { h, scores in
            let qh = q + h * nq * d, kh = k + h * nk * d, vh = v + h * nk * dv, oh = out + h * nq * dv
            var q0 = 0
            while q0 < nq {
                let rows = min(chunk, nq - q0)
                BLAS.sgemm(transB: true, m: rows, n: nk, k: d, alpha: scale, a: qh + q0 * d, lda: d,
                           b: kh, ldb: d, c: scores, ldc: nk)
                for r in 0..<rows { softmaxRow(scores + r * nk, scores + r * nk, nk) }
                BLAS.sgemm(m: rows, n: dv, k: nk, a: scores, lda: nk, b: vh, ldb: dv,
                           c: oh + q0 * dv, ldc: dv)
                q0 += rows
            }
        }
    }

    /// Gradients of `forward` given dOut; dq, dk, dv must be zeroed by the caller.
    static func backward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                         dvOut: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                         q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         heads: Int, nq: Int, nk: Int, d: Int, dv: Int, scale: Float) {
        let chunk = min(queryChunk, nq)
        forEachHead(heads, scratchCount: 2 * chunk * nk) { h, scratch in
            let p = scratch, dp = scratch + chunk * nk
            let qh = q + h * nq * d, kh = k + h * nk * d, vh = v + h * nk * dv
            let goh = dOut + h * nq * dv
            let dqh = dq + h * nq * d, dkh = dk + h * nk * d, dvh = dvOut + h * nk * dv
            var q0 = 0
            while q0 < nq {
                let rows = min(chunk, nq - q0)
                BLAS.sgemm(transB: true, m: rows, n: nk, k: d, alpha: scale, a: qh + q0 * d, lda: d,
                           b: kh, ldb: d, c: p, ldc: nk)
                for r in 0..<rows { softmaxRow(p + r * nk, p + r * nk, nk) }
                // dV += Pᵀ · dO
                BLAS.sgemm(transA: true, m: nk, n: dv, k: rows, a: p, lda: nk, b: goh + q0 * dv,
                           ldb: dv, beta: 1, c: dvh, ldc: dv)
                // dP = dO · Vᵀ ; dS = P ∘ (dP − rowsum(dP ∘ P))
                BLAS.sgemm(transB: true, m: rows, n: nk, k: dv, a: goh + q0 * dv, lda: dv, b: vh,
                           ldb: dv, c: dp, ldc: nk)
                for r in 0..<rows {
                    let pr = p + r * nk, dr = dp + r * nk
                    var dot: Float = 0
                    for j in 0..<nk { dot += pr[j] * dr[j] }
                    for j in 0..<nk { dr[j] = pr[j] * (dr[j] - dot) }
                }
                // dQ = scale · dS · K ; dK += scale · dSᵀ · Q
                BLAS.sgemm(m: rows, n: d, k: nk, alpha: scale, a: dp, lda: nk, b: kh, ldb: d,
                           c: dqh + q0 * d, ldc: d)
                BLAS.sgemm(transA: true, m: nk, n: d, k: rows, alpha: scale, a: dp, lda: nk,
                           b: qh + q0 * d, ldb: d, beta: 1, c: dkh, ldc: d)
                q0 += rows
            }
        }
    }
}

/// Reference attention: materialises softmax(scale · q·kᵀ)·v per head in Double.
public func attentionNaive(q: [Float], k: [Float], v: [Float], heads: Int, nq: Int, nk: Int,
                           d: Int, dv: Int, scale: Float) -> [Float] {
    var out = [Float](repeating: 0, count: heads * nq * dv)
    for h in 0..<heads {
        for i in 0..<nq {
            var s = [Double](repeating: 0, count: nk)
            for j in 0..<nk {
                var acc = 0.0
                for c in 0..<d { acc += Double(q[(h * nq + i) * d + c]) * Double(k[(h * nk + j) * d + c]) }
                s[j] = acc * Double(scale)
            }
            let m = s.max() ?? 0
            let e = s.map { Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            for c in 0..<dv {
                var acc = 0.0
                for j in 0..<nk { acc += e[j] / z * Double(v[(h * nk + j) * dv + c]) }
                out[(h * nq + i) * dv + c] = Float(acc)
            }
        }
    }
    return out
}
