// Storage dtypes and exact Float32 <-> Float16 / BFloat16 bit conversions. Arithmetic in this
// engine is always Float32; half types exist only in files (safetensors) and in `HalfTensor`, a
// weight kept in its file dtype that converts to a Float32 `Tensor` on demand.
//
// Conversions work on bit patterns (Swift's `Float16` is not available on every x86 Linux build):
// - Float32 -> Float16: IEEE 754 binary16, round to nearest even, gradual underflow to subnormals,
//   overflow to infinity (|x| >= 65520 rounds up to inf, as numpy and torch do). NaN keeps its sign
//   and the top 10 payload bits (as x86 F16C does); a payload that would vanish becomes 0x7E00.
// - Float16 -> Float32: exact (every half value is a float), NaN payload shifted into place, so all
//   65536 half patterns survive Float16 -> Float32 -> Float16 unchanged.
// - Float32 -> BFloat16: torch's `round_to_nearest_even` (c10/util/BFloat16.h): add 0x7FFF plus the
//   lowest kept bit and truncate; every NaN becomes 0x7FC0 (torch's vectorized CPU path writes
//   0xFFFF instead; both are NaN).
// - BFloat16 -> Float32: the 16 bits become the high half of the float (exact).
// All multi-byte values in files are little-endian; this code assumes a little-endian host.

import CKernels

#if _endian(big)
#error("safetensors I/O assumes a little-endian host")
#endif

/// Element types the engine stores tensors in: Float32, and Float16/BFloat16 for weights kept in
/// half precision (safetensors dtype strings as raw values; a file may hold others, see
/// SafeTensorsDType.swift).
public enum DType: String, CaseIterable, Sendable, CustomStringConvertible {
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"

    /// Bytes per element.
    @inlinable public var byteCount: Int {
        switch self {
        case .float32: return 4
        case .float16, .bfloat16: return 2
        }
    }

    public var description: String { rawValue }
}

// MARK: - Scalar conversions

/// IEEE binary16 bits nearest to `value` (round to nearest even).
@inlinable
public func float16Bits(_ value: Float) -> UInt16 {
    let x = value.bitPattern
    let sign = UInt16(truncatingIfNeeded: (x >> 16) & 0x8000)
    let magnitude = x & 0x7FFF_FFFF
    if magnitude >= 0x7F80_0000 {  // inf or NaN
        if magnitude == 0x7F80_0000 { return sign | 0x7C00 }
        let payload = UInt16(truncatingIfNeeded: (magnitude >> 13) & 0x3FF)
        return sign | (payload == 0 ? 0x7E00 : 0x7C00 | payload)
    }
    if magnitude >= 0x477F_F000 { return sign | 0x7C00 }  // >= 65520 rounds to inf
    if magnitude < 0x3880_0000 {  // below 2^-14: half subnormal or zero
        // Adding 0.5 puts the value in [0.5, 1) whose float ulp is 2^-24, the half subnormal step,
        // so the FPU's own round-to-nearest-even does the rounding; the low bits are the result.
        let shifted = Float(bitPattern: magnitude) + 0.5
        return sign | UInt16(truncatingIfNeeded: shifted.bitPattern &- 0x3F00_0000)
    }
    // Normal: rebias the exponent (127 -> 15), then round the 13 dropped bits to nearest even;
    // a carry out of the mantissa correctly bumps the exponent.
    let lowestKept = (magnitude >> 13) & 1
    let rounded = magnitude &- 0x3800_0000 &+ 0x0FFF &+ lowestKept
    return sign | UInt16(truncatingIfNeeded: rounded >> 13)
}

/// The Float32 value of IEEE binary16 bits (exact).
@inlinable
public func float(fromFloat16Bits h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
    if exponent == 0 {
        // zero or subnormal: mantissa * 2^-24, exact in Float32
        let m = Float(mantissa) * 0x1p-24
        return Float(bitPattern: sign | m.bitPattern)
    }
    return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
}

/// bfloat16 bits nearest to `value` (torch's round to nearest even; NaN -> 0x7FC0).
@inlinable
public func bfloat16Bits(_ value: Float) -> UInt16 {
    if value.isNaN { return 0x7FC0 }
    let x = value.bitPattern
    let bias = 0x7FFF &+ ((x >> 16) & 1)
    return UInt16(truncatingIfNeeded: (x &+ bias) >> 16)
}

/// The Float32 value of bfloat16 bits (exact).
@inlinable
public func float(fromBFloat16Bits b: UInt16) -> Float {
    Float(bitPattern: UInt32(b) << 16)
}

// MARK: - Buffer conversions

/// Converts `count` elements stored as `dtype` at `source` (any alignment, little-endian) into
/// Float32 at `destination`. Plain loops, split across workers for large buffers.
public func convertToFloat(_ destination: UnsafeMutablePointer<Float>,
                           from source: UnsafeRawPointer, dtype: DType, count: Int) {
    Parallel.forEach(count, grain: 1 << 16) { range in
        let dst = destination + range.lowerBound
        let n = range.count
        let base = source + range.lowerBound * dtype.byteCount
        switch dtype {
        case .float32:
            UnsafeMutableRawPointer(dst).copyMemory(from: base, byteCount: n * 4)
        case .float16 where Int(bitPattern: base) % 2 == 0:
            // C loop (optimised in debug builds too): weights are widened before every GEMM
            ck_float16_to_float(dst, base.assumingMemoryBound(to: UInt16.self), n)
        case .float16:
            let table = float16Table
            for i in 0..<n { dst[i] = table[Int(base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))] }
        case .bfloat16:
            for i in 0..<n {
                dst[i] = float(fromBFloat16Bits: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
            }
        }
    }
}

/// Converts `count` Float32 values at `source` into `dtype` storage at `destination`
/// (little-endian, any alignment).
public func convertFromFloat(_ destination: UnsafeMutableRawPointer, dtype: DType,
                             from source: UnsafePointer<Float>, count: Int) {
    Parallel.forEach(count, grain: 1 << 16) { range in
        let src = source + range.lowerBound
        let n = range.count
        let base = destination + range.lowerBound * dtype.byteCount
        switch dtype {
        case .float32:
            base.copyMemory(from: src, byteCount: n * 4)
        case .float16:
            for i in 0..<n { base.storeBytes(of: float16Bits(src[i]), toByteOffset: 2 * i, as: UInt16.self) }
        case .bfloat16:
            for i in 0..<n { base.storeBytes(of: bfloat16Bits(src[i]), toByteOffset: 2 * i, as: UInt16.self) }
        }
    }
}

/// Float32 value of every binary16 pattern (256 KiB, built on first use): a table lookup is the
/// fastest exact F16 -> F32 conversion without hardware F16C.
let float16Table: UnsafeMutablePointer<Float> = {
    let table = UnsafeMutablePointer<Float>.allocate(capacity: 1 << 16)
    for h in 0..<(1 << 16) { table[h] = float(fromFloat16Bits: UInt16(h)) }
    return table
}()

// MARK: - HalfTensor

/// A weight kept in its storage dtype (F32, F16 or BF16 bytes, row-major, little-endian) with its
/// shape; `float()` gives the Float32 `Tensor` on demand, so a large checkpoint can stay in half
/// precision in memory. Bytes either live in a mapped safetensors file (kept alive by this value)
/// or in a buffer this value owns.
public struct HalfTensor: @unchecked Sendable, CustomStringConvertible {
    public let dtype: DType
    public let shape: [Int]
    /// First byte of the elements (no alignment guaranteed).
    let bytes: UnsafeRawPointer
    /// Keeps `bytes` alive (a mapped file or an owned buffer).
    let owner: ByteRegion

    init(dtype: DType, shape: [Int], bytes: UnsafeRawPointer, owner: ByteRegion) {
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
        self.owner = owner
    }

    /// Stores `tensor` as `dtype` (rounding to nearest even for F16/BF16).
    public init(_ tensor: Tensor, dtype: DType) {
        let count = tensor.count
        let region = ByteRegion(allocating: count * dtype.byteCount)
        convertFromFloat(region.base, dtype: dtype, from: tensor.data, count: count)
        self.init(dtype: dtype, shape: tensor.shape, bytes: region.base, owner: region)
    }

    /// `count` elements of `dtype` written by `fill` into a new owned buffer.
    public init(dtype: DType, shape: [Int], filling fill: (UnsafeMutableRawPointer) -> Void) {
        let region = ByteRegion(allocating: shape.reduce(1, *) * dtype.byteCount)
        fill(region.base)
        self.init(dtype: dtype, shape: shape, bytes: region.base, owner: region)
    }

    public var count: Int { shape.reduce(1, *) }
    public var byteCount: Int { count * dtype.byteCount }
    public var description: String { "HalfTensor(\(dtype), \(shape))" }

    /// The stored bytes (`byteCount` of them, little-endian elements).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: bytes, count: byteCount))
    }

    /// The elements as a Float32 tensor. For F32 bytes aligned to 4 this is a zero-copy view that
    /// shares (and keeps alive) the stored bytes, so it must not be written to (the usual rule for
    /// tensors one did not just make); otherwise the elements are converted into a new tensor.
    public func float() -> Tensor {
        let n = count
        if dtype == .float32, n > 0, Int(bitPattern: bytes) % MemoryLayout<Float>.alignment == 0 {
            let pointer = UnsafeMutableRawPointer(mutating: bytes).bindMemory(to: Float.self, capacity: n)
            return Tensor(storage: TensorStorage(borrowing: pointer, count: n, owner: owner), shape: shape)
        }
        let out = Tensor(uninitialized: shape)
        convertToFloat(out.data, from: bytes, dtype: dtype, count: n)
        return out
    }
}
