// Matrix products through BLAS.sgemm: `matmul` ([.., M, K] x [.., K, N], the batch axes equal or
// one side 2-D) and `linear` (x·Wᵀ + b with PyTorch's [out, in] weight layout), with gradients.

import Foundation

extension Tensor {
    /// Batched matrix product. `a` is [..., M, K] (or [M, K]); `b` is [..., K, N] or [K, N].
    /// Batch axes must be equal, or one operand 2-D (broadcast over the other's batch).
    public static func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool = false,
                              transposeB: Bool = false) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs rank >= 2: \(a.shape) x \(b.shape)")
        let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        precondition(k == kb, "matmul inner sizes differ: \(a.shape) x \(b.shape)")
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch: [Int]
        if batchA == batchB || batchB.isEmpty { batch = batchA } else if batchA.isEmpty { batch = batchB } else {
            preconditionFailure("matmul batch axes differ: \(a.shape) x \(b.shape)")
        }
        let count = batch.reduce(1, *)
        let out = Tensor(uninitialized: batch + [m, n])
        let strideA = batchA.isEmpty ? 0 : a.shape[a.rank - 2] * a.shape[a.rank - 1]
        let strideB = batchB.isEmpty ? 0 : b.shape[b.rank - 2] * b.shape[b.rank - 1]
        let lda = a.shape[a.rank - 1], ldb = b.shape[b.rank - 1]
        if strideA != 0 && strideB == 0 && !transposeA {
            // A batch of rows times one matrix: a single GEMM with M·batch rows.
            BLAS.sgemm(transB: transposeB, m: m * count, n: n, k: k, a: a.data, lda: lda,
                       b: b.data, ldb: ldb, c: out.data, ldc: n)
        } else {
            for i in 0..<count {
                BLAS.sgemm(transA: transposeA, transB: transposeB, m: m, n: n, k: k,
                           a: a.data + i * strideA, lda: lda, b: b.data + i * strideB, ldb: ldb,
                           c: out.data + i * m * n, ldc: n)
            }
        }
        return out.recorded("matmul", [a, b]) { g in
            // dA = g·op(B)ᵀ (transposed back if A was), dB = op(A)ᵀ·g likewise.
            var ga: Tensor? = nil, gb: Tensor? = nil
            if a.requiresGrad {
                ga = transposeA ? matmul(b, g, transposeA: transposeB, transposeB: true)
                                : matmul(g, b, transposeB: !transposeB)
                ga = ga!.summed(toShape: a.shape)
            }
            if b.requiresGrad {
                gb = transposeB ? matmul(g, a, transposeA: true, transposeB: transposeA)
                                : matmul(a, g, transposeA: !transposeA)
                gb = gb!.summed(toShape: b.shape)
            }
            return [ga, gb]
        }
    }

    /// x·Wᵀ + b over the last axis: x [..., in], weight [out, in], bias [out].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let inFeatures = weight.shape[1], outFeatures = weight.shape[0]
        precondition(x.shape.last == inFeatures, "linear: input \(x.shape) vs weight \(weight.shape)")
        let rows = x.count / inFeatures
        let out = Tensor(uninitialized: Array(x.shape.dropLast()) + [outFeatures])
        if let bias {
            precondition(bias.shape == [outFeatures], "linear: bias \(bias.shape) vs \(outFeatures)")
            for r in 0..<rows { (out.data + r * outFeatures).update(from: bias.data, count: outFeatures) }
        }
        BLAS.sgemm(transB: true, m: rows, n: outFeatures, k: inFeatures, a: x.data, lda: inFeatures,
                   b: weight.data, ldb: inFeatures, beta: bias == nil ? 0 : 1, c: out.data, ldc: outFeatures)
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return out.recorded("linear", inputs) { g in
            let g2 = g.reshaped([rows, outFeatures])
            var grads: [Tensor?] = [nil, nil]
            if x.requiresGrad {
                grads[0] = matmul(g2, weight).reshaped(x.shape)
            }
            if weight.requiresGrad {
                grads[1] = matmul(g2, x.reshaped([rows, inFeatures]), transposeA: true)
            }
            if bias != nil { grads.append(g2.sum(axes: [0])) }
            return grads
        }
    }
}
