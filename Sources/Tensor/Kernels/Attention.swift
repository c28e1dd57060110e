// Scaled dot-product attention that never holds the full score matrix: queries are processed in
// chunks of `queryChunk` rows and keys in blocks of `keyBlock` with an online softmax (flash
// attention), so memory is queryChunk·keyBlock floats per worker instead of Nq·Nk (5184² floats =
// 107 MB per head at 576x576). The backward pass recomputes each query chunk's probabilities.
// The op passes both sizes from `KernelConfiguration` (Kernels/Configuration.swift).
//
// Shapes: q [BH, Nq, D], k [BH, Nk, D], v [BH, Nk, Dv], out [BH, Nq, Dv] (BH = batch · heads).

import CKernels
import Dispatch
import Foundation

enum AttentionKernel {
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

    /// out = softmax(scale · q·kᵀ)·v per head, `queryChunk` queries per work unit and `keyBlock`
    /// keys per block of the online softmax.
    static func forward(out: UnsafeMutablePointer<Float>, q: UnsafePointer<Float>,
                        k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                        heads: Int, nq: Int, nk: Int, d: Int, dv: Int, scale: Float,
                        queryChunk: Int, keyBlock: Int) {
        if nk <= smallSequence && nq <= smallSequence {
            Parallel.forEach(heads, costPerItem: nq * nk * (d + dv)) { range in
                let scratch = UnsafeMutablePointer<Float>.allocate(capacity: nk * d + nk)
                defer { scratch.deallocate() }
                for h in range {
                    ck_attention_head(out + h * nq * dv, q + h * nq * d, k + h * nk * d, v + h * nk * dv,
                                      nq, nk, d, dv, scale, scratch)
                }
            }
            return
        }
        // Work units are (head, query chunk) pairs, so a few long heads still spread over every
        // core. Within a unit, keys are taken in blocks of `keyBlock` with an online softmax
        // (running max and sum per row, the accumulator rescaled when the max grows), so the
        // score tile stays in cache instead of spanning all Nk keys.
        let chunk = min(queryChunk, nq), block = min(keyBlock, nk)
        let chunksPerHead = (nq + chunk - 1) / chunk
        forEachUnit(heads * chunksPerHead, scratchCount: chunk * block + 2 * chunk) { unit, scratch in
            let h = unit / chunksPerHead, q0 = (unit % chunksPerHead) * chunk
            let rows = min(chunk, nq - q0)
            let qc = q + (h * nq + q0) * d, kh = k + h * nk * d, vh = v + h * nk * dv
            let o = out + (h * nq + q0) * dv
            let scores = scratch, maxes = scratch + chunk * block, sums = maxes + chunk
            var k0 = 0
            while k0 < nk {
                let cols = min(block, nk - k0)
                BLAS.sgemm(transB: true, m: rows, n: cols, k: d, alpha: scale, a: qc, lda: d,
                           b: kh + k0 * d, ldb: d, c: scores, ldc: cols)
                for r in 0..<rows {
                    let row = scores + r * cols
                    let blockMax = rowMax(row, cols)
                    if k0 == 0 {
                        maxes[r] = blockMax
                        sums[r] = expShiftedRow(row, row, cols, shift: blockMax)
                    } else {
                        let newMax = max(maxes[r], blockMax)
                        let correction = expf(maxes[r] - newMax)
                        sums[r] = sums[r] * correction + expShiftedRow(row, row, cols, shift: newMax)
                        maxes[r] = newMax
                        if correction != 1 { ck_scale(o + r * dv, dv, correction) }
                    }
                }
                BLAS.sgemm(m: rows, n: dv, k: cols, a: scores, lda: cols, b: vh + k0 * dv, ldb: dv,
                           beta: k0 == 0 ? 0 : 1, c: o, ldc: dv)
                k0 += cols
            }
            for r in 0..<rows { ck_scale(o + r * dv, dv, 1 / sums[r]) }
        }
    }

    /// Gradients of `forward` given dOut, recomputing `queryChunk` rows of probabilities at a
    /// time; dq, dk, dv must be zeroed by the caller.
    static func backward(dq: UnsafeMutablePointer<Float>, dk: UnsafeMutablePointer<Float>,
                         dvOut: UnsafeMutablePointer<Float>, dOut: UnsafePointer<Float>,
                         q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                         heads: Int, nq: Int, nk: Int, d: Int, dv: Int, scale: Float, queryChunk: Int) {
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
