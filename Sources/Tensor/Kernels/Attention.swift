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
    nonisolated(unsafe) public static var queryChunk: Int = {
        if let s = ProcessInfo.processInfo.environment["SVDMV_ATTENTION_CHUNK"], let n = Int(s), n > 0 { return n }
        return 256
    }()

    /// Runs `perUnit(i, scratch)` for i in 0..<units: in parallel with single-threaded BLAS when
    /// there are enough units to feed every core, otherwise serially with BLAS's own threads.
    /// Workers take units round-robin; each has its own scratch buffer.
    static func forEachUnit(_ units: Int, scratchCount: Int,
                            _ perUnit: (Int, UnsafeMutablePointer<Float>) -> Void) {
        let workers = min(Parallel.threadCount, units)
        if workers > 1 && units >= 4 * workers {
            BLAS.singleThreaded {
                DispatchQueue.concurrentPerform(iterations: workers) { w in
                    let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                    defer { scratch.deallocate() }
                    var u = w
                    while u < units { perUnit(u, scratch); u += workers }
                }
            }
        } else {
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
            defer { scratch.deallocate() }
            for u in 0..<units { perUnit(u, scratch) }
        }
    }

    /// Longest key sequence handled by the direct small-sequence path (temporal attention over
    /// 21 frames has thousands of 21x21 heads, where per-call GEMM overhead would dominate).
    static let smallSequence = 64

    static func forward(out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                        k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        heads: Int, nq: Int, nk: Int, d: Int, dv: Int, scale: Float) {
        if nk <= smallSequence && nq <= smallSequence {
            Parallel.forEach(heads, costPerItem: nq * nk * (d + dv)) { range in
                var scores = [Float](repeating: 0, count: nk)
                scores.withUnsafeMutableBufferPointer { sb in
                    let s = sb.baseAddress!
                    for h in range {
                        smallHeadForward(out + h * nq * dv, q + h * nq * d, k + h * nk * d, v + h * nk * dv,
                                         nq: nq, nk: nk, d: d, dv: dv, scale: scale, scores: s)
                    }
                }
            }
            return
        }
        // Work units are (head, query chunk) pairs, so a few long heads still spread over every core.
        let chunk = min(queryChunk, nq)
        let chunksPerHead = (nq + chunk - 1) / chunk
        forEachUnit(heads * chunksPerHead, scratchCount: chunk * nk) { unit, scores in
            let h = unit / chunksPerHead, q0 = (unit % chunksPerHead) * chunk
            let rows = min(chunk, nq - q0)
            let qh = q + h * nq * d, kh = k + h * nk * d, vh = v + h * nk * dv, oh = out + h * nq * dv
            BLAS.sgemm(transB: true, m: rows, n: nk, k: d, alpha: scale, a: qh + q0 * d, lda: d,
                       b: kh, ldb: d, c: scores, ldc: nk)
            // Unnormalised probabilities; each output row is divided by its sum after P·V.
            var sums = [Float](repeating: 0, count: rows)
            for r in 0..<rows { sums[r] = expRow(scores + r * nk, scores + r * nk, nk) }
            let o = oh + q0 * dv
            BLAS.sgemm(m: rows, n: dv, k: nk, a: scores, lda: nk, b: vh, ldb: dv, c: o, ldc: dv)
            for r in 0..<rows {
                let inv = 1 / sums[r]
                for c in 0..<dv { o[r * dv + c] *= inv }
            }
        }
    }

    /// Gradients of `forward` given dOut; dq, dk, dv must be zeroed by the caller.
    static func backward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                         dvOut: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                         q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         heads: Int, nq: Int, nk: Int, d: Int, dv: Int, scale: Float) {
        let chunk = min(queryChunk, nq)
        // Per head (dK and dV accumulate over the head's query chunks).
        forEachUnit(heads, scratchCount: 2 * chunk * nk) { h, scratch in
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

/// One head of attention by direct loops: for each query row, scores by dot products, softmax,
/// then a weighted sum of value rows.
@inline(__always)
func smallHeadForward(_ out: UnsafeMutablePointer<Float>, _ q: UnsafePointer<Float>,
                      _ k: UnsafePointer<Float>, _ v: UnsafePointer<Float>, nq: Int, nk: Int,
                      d: Int, dv: Int, scale: Float, scores: UnsafeMutablePointer<Float>) {
    for i in 0..<nq {
        let qi = q + i * d
        for j in 0..<nk { scores[j] = scale * dotProduct(qi, k + j * d, d) }
        softmaxRow(scores, scores, nk)
        let o = out + i * dv
        o.update(repeating: 0, count: dv)
        for j in 0..<nk {
            let p = scores[j], vj = v + j * dv
            for c in 0..<dv { o[c] += p * vj[c] }
        }
    }
}

/// Σ a[i]·b[i] with eight-wide partial sums (vectorised by the compiler).
@inline(__always)
func dotProduct(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ n: Int) -> Float {
    var acc = SIMD8<Float>(repeating: 0)
    var i = 0
    let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
    while i + 8 <= n {
        acc += ra.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
            * rb.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    var total = horizontalSum(acc)
    while i < n { total += a[i] * b[i]; i += 1 }
    return total
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
