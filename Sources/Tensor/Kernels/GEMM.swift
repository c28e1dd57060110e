// The one door to OpenBLAS: every matrix product in the engine goes through `BLAS.sgemm`
// (row-major C = alpha·op(A)·op(B) + beta·C), with `gemmNaive` as its readable twin for tests.

import CBLAS
import Foundation

public enum BLAS {
    /// OpenBLAS's build string, core and threads (e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH ... Haswell
    /// threads=2 spin=2^17").
    public static var configuration: String {
        configureOnce()
        let config = openblas_get_config().map { String(cString: $0) } ?? "unknown"
        let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
        let spin = workerSpinExponent.map { "2^\($0)" } ?? "unknown"
        return "\(config) core=\(core) threads=\(openblas_get_num_threads()) spin=\(spin)"
    }

    /// Swift runs a static's initialiser once, under a lock, so two threads that issue their
    /// first product together do not restart OpenBLAS's workers under each other.
    private static let oneTimeSetup: Void = {
        shortenWorkerSpin()
        openblas_set_num_threads(Int32(Parallel.threadCount))
    }()
    @inline(__always) static func configureOnce() { oneTimeSetup }

    /// How long an idle OpenBLAS worker spins before it sleeps, as log2 of CPU cycles, unless
    /// OPENBLAS_THREAD_TIMEOUT says otherwise. OpenBLAS's default, 2^28 cycles (about 0.1 s), keeps
    /// its worker calling sched_yield between products, and between products our own parallel
    /// loops (norms, attention, im2col, pointwise kernels) want both cores: on the 2-core machine
    /// that worker took a third of its samples spinning, and the `wide` UNet's sampling step ran
    /// about 10% slower (Evaluation/benchmarks.md, "OpenBLAS's workers sleep sooner"). 2^17 cycles
    /// (~50 µs) still covers the gap between back-to-back products of one layer.
    public static let defaultWorkerSpinExponent = 17

    /// The spin OpenBLAS's workers use (OPENBLAS_THREAD_TIMEOUT as OpenBLAS read it), or nil
    /// where this OpenBLAS has no pthread thread server to ask.
    public static var workerSpinExponent: Int? {
        guard let read = openBLASSymbol("openblas_thread_timeout", as: OpenBLASIntFunction.self) else { return nil }
        let exponent = Int(read())
        return exponent == 0 ? 28 : min(max(exponent, 4), 30)
    }

    private typealias OpenBLASIntFunction = @convention(c) () -> Int32
    private typealias OpenBLASVoidFunction = @convention(c) () -> Void

    private static func openBLASSymbol<F>(_ name: String, as type: F.Type) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, name) else { return nil }
        return unsafeBitCast(symbol, to: type)
    }

    /// OpenBLAS reads the spin when it starts its workers, at load; so set the variable (the
    /// user's own setting wins), make OpenBLAS read its environment again, and restart the
    /// workers. These are exported by the pthread build (Debian's default); an OpenMP or other
    /// build lacks them and keeps its own policy.
    private static func shortenWorkerSpin() {
        guard let readEnvironment = openBLASSymbol("openblas_read_env", as: OpenBLASVoidFunction.self),
              let stopWorkers = openBLASSymbol("blas_thread_shutdown_", as: OpenBLASIntFunction.self),
              let startWorkers = openBLASSymbol("blas_thread_init", as: OpenBLASIntFunction.self)
        else { return }
        setenv("OPENBLAS_THREAD_TIMEOUT", String(defaultWorkerSpinExponent), 0)
        readEnvironment()
        _ = stopWorkers()
        _ = startWorkers()
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
