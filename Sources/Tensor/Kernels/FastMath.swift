// Vectorised exp for softmax: Cephes' expf polynomial on eight lanes (about 1 ulp, the accuracy
// class of the SLEEF routines PyTorch uses), so attention is not bound by scalar libm calls.

import Foundation

/// e^x on eight lanes; inputs below -87.3 return ≈ 2^-126 (softmax inputs are ≤ 0 here).
/// Rounding and 2^n use the 1.5·2^23 "magic number" so every step is a plain vector instruction.
@inline(__always)
func exp8(_ x0: SIMD8<Float>) -> SIMD8<Float> {
    let x = pointwiseMin(pointwiseMax(x0, SIMD8(repeating: -87.33654)), SIMD8(repeating: 88.72283))
    let magic = SIMD8<Float>(repeating: 12_582_912)  // 1.5·2^23: adding it rounds to an integer
    let t = x * 1.44269504088896341 + magic
    let n = t - magic
    // r = x - n·ln2 in two steps (Cody-Waite) to keep r exact.
    var r = x - n * 0.693359375
    r = r - n * -2.12194440e-4
    let r2 = r * r
    var p = SIMD8<Float>(repeating: 1.9875691500E-4)
    p = p * r + 1.3981999507E-3
    p = p * r + 8.3334519073E-3
    p = p * r + 4.1665795894E-2
    p = p * r + 1.6666665459E-1
    p = p * r + 5.0000001201E-1
    let y = p * r2 + r + 1
    // The low mantissa bits of t hold n (two's complement); 2^n has exponent field n + 127.
    let nBits = unsafeBitCast(t, to: SIMD8<UInt32>.self) &- unsafeBitCast(magic, to: SIMD8<UInt32>.self)
    let scale = unsafeBitCast((nBits &+ 127) &<< 23, to: SIMD8<Float>.self)
    return y * scale
}

@inline(__always) func horizontalSum(_ v: SIMD8<Float>) -> Float {
    let a = v.lowHalf + v.highHalf
    return (a[0] + a[2]) + (a[1] + a[3])
}

@inline(__always) func horizontalMax(_ v: SIMD8<Float>) -> Float {
    let a = pointwiseMax(v.lowHalf, v.highHalf)
    return max(max(a[0], a[1]), max(a[2], a[3]))
}

/// y = softmax(x) over n contiguous values (y may alias x).
@inline(__always)
func softmaxRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) {
    let inv = 1 / expRow(y, x, n)
    let ry = UnsafeMutableRawPointer(y)
    var i = 0
    while i + 8 <= n {
        let v = ry.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) * inv
        ry.storeBytes(of: v, toByteOffset: i * 4, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { y[i] *= inv; i += 1 }
}

/// y = exp(x − max(x)) over n contiguous values (y may alias x); returns Σ y, so the caller can
/// normalise later (attention divides its output rows instead of every probability).
@inline(__always)
func expRow(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
    let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
    var i = 0
    var mv = SIMD8<Float>(repeating: -.infinity)
    while i + 8 <= n { mv = pointwiseMax(mv, rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self)); i += 8 }
    var m = horizontalMax(mv)
    while i < n { m = max(m, x[i]); i += 1 }
    var sv = SIMD8<Float>(repeating: 0)
    i = 0
    while i + 8 <= n {
        let e = exp8(rx.loadUnaligned(fromByteOffset: i * 4, as: SIMD8<Float>.self) - m)
        ry.storeBytes(of: e, toByteOffset: i * 4, as: SIMD8<Float>.self)
        sv += e
        i += 8
    }
    var s = horizontalSum(sv)
    while i < n { let e = expf(x[i] - m); y[i] = e; s += e; i += 1 }
    return s
}
