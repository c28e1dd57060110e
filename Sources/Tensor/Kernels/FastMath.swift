// Row kernels for softmax and attention. The fast versions are C (CKernels: a Cephes exp
// polynomial of about 1 ulp, the accuracy class of the SLEEF routines PyTorch uses, vectorised
// for AVX2 or baseline x86-64); Swift's generic SIMD types did not vectorise here (3.5 ns per exp,
// against well under 1 ns in C). The scalar libm twins below are what the tests compare against.

import CKernels
import Foundation

/// max over n contiguous values.
@inline(__always)
func rowMax(_ x: UnsafePointer<Float>, _ n: Int) -> Float { ck_row_max(x, n) }

/// y = exp(x − shift) over n contiguous values (y may alias x); returns Σ y.
@inline(__always)
func expShiftedRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int,
                   shift: Float) -> Float {
    ck_exp_shifted(y, x, n, shift)
}

/// y = exp(x − max(x)) (y may alias x); returns Σ y, so a caller can normalise later.
@inline(__always)
func expRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    expShiftedRow(y, x, n, shift: rowMax(x, n))
}

/// y = softmax(x) over n contiguous values (y may alias x).
@inline(__always)
func softmaxRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    ck_scale(y, n, 1 / expRow(y, x, n))
}

/// Σx and Σx² over n contiguous values, in Double (group and layer norm statistics).
@inline(__always)
func moments(_ x: UnsafePointer<Float>, _ n: Int) -> (sum: Double, sumSquares: Double) {
    var sum: Double = 0, sumSquares: Double = 0
    ck_moments(x, n, &sum, &sumSquares)
    return (sum, sumSquares)
}

/// Readable twin of `moments`: one sequential Double accumulation, for tests.
public func momentsReference(_ x: [Float]) -> (sum: Double, sumSquares: Double) {
    var sum: Double = 0, sumSquares: Double = 0
    for v in x.map(Double.init) { sum += v; sumSquares += v * v }
    return (sum, sumSquares)
}

/// `moments` on an array, for tests.
public func momentsFast(_ x: [Float]) -> (sum: Double, sumSquares: Double) {
    x.withUnsafeBufferPointer { moments($0.baseAddress!, $0.count) }
}

/// Readable twin of `expShiftedRow` with libm's expf, for tests.
public func expShiftedRowReference(_ x: [Float], shift: Float) -> (values: [Float], sum: Float) {
    let values = x.map { expf($0 - shift) }
    return (values, values.reduce(0, +))
}

/// `expShiftedRow` on an array, for tests.
public func expShiftedRowFast(_ x: [Float], shift: Float) -> (values: [Float], sum: Float) {
    var y = x
    let sum = x.withUnsafeBufferPointer { xs in
        y.withUnsafeMutableBufferPointer { expShiftedRow($0.baseAddress!, xs.baseAddress!, x.count, shift: shift) }
    }
    return (y, sum)
}
