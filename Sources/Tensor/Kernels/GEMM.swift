// The one door to OpenBLAS: every matrix product in the engine goes through `BLAS.sgemm`
// (row-major C = alpha·op(A)·op(B) + beta·C), with `gemmNaive` as its readable twin for tests.

import CBLAS
import Foundation

public enum BLAS {
    /// OpenBLAS's build string and core (e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell").
    public static var configuration: String {
        let config = openblas_get_config().map { String(cString: $0) } ?? "unknown"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        return "\(config) core=\(core) threads=\(openblas_get_num_threads())"
    }

    /// OpenBLAS's own worker count (set from `Parallel.threadCount` on first use).
    public static func setThreadCount(_ n: Int) { openblas_set_num_threads(Int32(n)) }

    nonisolated(unsafe) static var configured = false
    @inline(__always) static func configureOnce() {
        if !configured {
            configured = true
            openblas_set_num_threads(Int32(Parallel.threadCount))
        }
    }

    /// Row-major single-precision GEMM: C[m,n] = alpha · op(A)[m,k] · op(B)[k,n] + beta · C.
    /// `lda`, `ldb`, `ldc` are row strides of A, B, C as stored (before transposition).
    public static func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                             alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                             b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                             c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0, n > 0 else { return }
        if k == 0 {
            if beta == 0 { for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) } }
            return
        }
        configureOnce()
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// Reference GEMM with the same contract as `BLAS.sgemm`, accumulating in Double.
public func gemmNaive(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                      alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                      b: UnsafePointer<Float>, ldb: Int, beta: Float = 0,
                      c: UnsafeMutablePointer<Float>, ldc: Int) {
    for i in 0..<m {
        for j in 0..<n {
            var acc: Double = 0
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                acc += Double(av) * Double(bv)
            }
            let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            c[i * ldc + j] = Float(Double(alpha) * acc + prior)
        }
    }
}

extension BLAS {
    /// Runs `body` with OpenBLAS limited to one thread, for GEMMs issued from inside our own
    /// parallel loops (one pool of workers at a time, no oversubscription).
    public static func singleThreaded<R>(_ body: () throws -> R) rethrows -> R {
        configureOnce()
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(Parallel.threadCount)) }
        return try body()
    }
}
