// Parallel loops for the non-GEMM kernels. GEMM threads are OpenBLAS's own (BLAS.swift); the two
// pools are never active at once because kernels call sgemm outside `parallelFor` bodies, or set
// OpenBLAS to one thread inside them (see `BLAS.singleThreaded`).

import Dispatch
import Foundation

public enum Parallel {
    /// Worker count: SVDMV_THREADS if set, else every core.
    nonisolated(unsafe) public static var threadCount: Int = {
        if let s = ProcessInfo.processInfo.environment["SVDMV_THREADS"], let n = Int(s), n > 0 { return n }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// Runs `body` over `0..<count` split into contiguous ranges, one per worker, when the work is
    /// large enough (`count * costPerItem` >= `grain`); serially otherwise.
    @inlinable
    public static func forEach(_ count: Int, costPerItem: Int = 1, grain: Int = 32_768,
                               _ body: (Range<Int>) -> Void) {
        let workers = min(threadCount, count)
        if workers <= 1 || count * costPerItem < grain {
            if count > 0 { body(0..<count) }
            return
        }
        let chunk = (count + workers - 1) / workers
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            let lo = w * chunk, hi = min(count, lo + chunk)
            if lo < hi { body(lo..<hi) }
        }
    }
}
