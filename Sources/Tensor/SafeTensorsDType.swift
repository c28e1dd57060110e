// Every element type a safetensors file can hold (the format's `Dtype` enum in huggingface/
// safetensors, safetensors/src/tensor.rs), and the widening of the float ones to Float32.
//
// A file may hold any of them; the engine computes in Float32 and keeps weights as F32, F16 or
// BF16 (`DType`). So the reader accepts every dtype, gives any tensor's bytes (and integer
// tensors' values), and converts to a Float32 tensor only the real float dtypes:
// - F32, F16, BF16 as DType.swift describes (exact);
// - F64 rounded to nearest even, as torch's `.float()` (overflow to ±inf, NaN keeping sign and the
//   top payload bits);
// - the five 8-bit floats exactly (every value of each is a Float32), NaN with the bit patterns
//   torch 2.15 widens them to. Formats (sign, exponent, mantissa bits, bias):
//   F8_E4M3 (torch float8_e4m3fn: 1,4,3, bias 7, no infinities, NaN S.1111.111),
//   F8_E5M2 (float8_e5m2: 1,5,2, bias 15, IEEE infinities and NaNs: the top byte of an F16),
//   F8_E4M3FNUZ and F8_E5M2FNUZ (bias 8 and 16, no infinities or -0: 0x80 is the only NaN),
//   F8_E8M0 (float8_e8m0fnu: 8 exponent bits, no sign or mantissa, 2^(e − 127), 0xFF NaN).
// Integers, BOOL, complex C64 and the sub-byte F4/F6 formats are read as bytes (integers and BOOL
// also as Int64 values); asking for them as Float32 is an error naming the tensor and its dtype.

/// A safetensors element type, by the name its header uses. Cases are in the format's own order,
/// which its writer sorts tensors by (larger rank first).
public enum SafeTensorsDType: String, CaseIterable, Sendable, CustomStringConvertible {
    case bool = "BOOL"
    /// FP4 E2M1 (OCP microscaling), two per byte.
    case float4 = "F4"
    /// FP6 E2M3 and E3M2 (OCP microscaling), 6 bits each, packed.
    case float6E2M3 = "F6_E2M3"
    case float6E3M2 = "F6_E3M2"
    case uint8 = "U8"
    case int8 = "I8"
    case float8E5M2 = "F8_E5M2"
    case float8E4M3 = "F8_E4M3"
    case float8E8M0 = "F8_E8M0"
    case float8E4M3FNUZ = "F8_E4M3FNUZ"
    case float8E5M2FNUZ = "F8_E5M2FNUZ"
    case int16 = "I16"
    case uint16 = "U16"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case uint32 = "U32"
    case float32 = "F32"
    /// Complex numbers of two F32 parts (real, imaginary).
    case complex64 = "C64"
    case float64 = "F64"
    case int64 = "I64"
    case uint64 = "U64"

    public init(_ dtype: DType) {
        switch dtype {
        case .float32: self = .float32
        case .float16: self = .float16
        case .bfloat16: self = .bfloat16
        }
    }

    public var description: String { rawValue }

    /// Bits per element (4 and 6 for the packed sub-byte floats).
    public var bitCount: Int {
        switch self {
        case .float4: return 4
        case .float6E2M3, .float6E3M2: return 6
        case .bool, .uint8, .int8, .float8E5M2, .float8E4M3, .float8E8M0, .float8E4M3FNUZ, .float8E5M2FNUZ: return 8
        case .int16, .uint16, .float16, .bfloat16: return 16
        case .int32, .uint32, .float32: return 32
        case .complex64, .float64, .int64, .uint64: return 64
        }
    }

    /// Bytes that `count` elements take, or nil when they do not fill a whole number of bytes
    /// (an odd count of F4, say) or overflow.
    public func byteCount(elements count: Int) -> Int? {
        let (bits, overflow) = count.multipliedReportingOverflow(by: bitCount)
        guard !overflow, bits % 8 == 0 else { return nil }
        return bits / 8
    }

    /// The storage dtype of the same name (F32, F16, BF16); nil for the others.
    public var storageDType: DType? {
        switch self {
        case .float32: return .float32
        case .float16: return .float16
        case .bfloat16: return .bfloat16
        default: return nil
        }
    }

    /// Whether tensors of this dtype convert to Float32 (the real float dtypes of whole bytes).
    public var convertsToFloat32: Bool {
        switch self {
        case .float64, .float32, .float16, .bfloat16, .float8E4M3, .float8E5M2, .float8E4M3FNUZ,
             .float8E5M2FNUZ, .float8E8M0:
            return true
        default:
            return false
        }
    }

    /// Whether elements are integers (BOOL included, as 0 and 1) that read exactly as Int64
    /// (U64 values above Int64.max excepted).
    public var isInteger: Bool {
        switch self {
        case .bool, .uint8, .int8, .int16, .uint16, .int32, .uint32, .int64, .uint64: return true
        default: return false
        }
    }

    /// Position in the format's enum; the writer lists tensors by this rank, largest first.
    var writerRank: Int { Self.allCases.firstIndex(of: self)! }
}

// MARK: - Widening to Float32

/// The Float32 value of one 8-bit float of `dtype` (one of the five F8 formats), NaNs with torch's
/// bit patterns.
func float8Value(_ bits: UInt8, _ dtype: SafeTensorsDType) -> Float {
    let negative = bits & 0x80 != 0
    func signed(_ magnitude: Float) -> Float { negative ? -magnitude : magnitude }
    /// mantissa·2^(exponent − mantissaBits − bias), with the implicit leading 1 for normals.
    func finite(exponentBits: Int, mantissaBits: Int, bias: Int) -> Float {
        let exponent = Int(bits >> mantissaBits) & ((1 << exponentBits) - 1)
        let mantissa = Int(bits) & ((1 << mantissaBits) - 1)
        let significand = exponent == 0 ? mantissa : (1 << mantissaBits) | mantissa
        let scale = Float(sign: .plus, exponent: max(exponent, 1) - bias - mantissaBits, significand: 1)
        return signed(Float(significand) * scale)
    }
    switch dtype {
    case .float8E4M3:
        // Only S.1111.111 is NaN; torch shifts the mantissa into the float's payload.
        if bits & 0x7F == 0x7F { return Float(bitPattern: (negative ? 0x8000_0000 : 0) | 0x7FF0_0000) }
        return finite(exponentBits: 4, mantissaBits: 3, bias: 7)
    case .float8E5M2:
        // The top byte of an F16; torch's NaNs come out quiet.
        let value = float(fromFloat16Bits: UInt16(bits) << 8)
        return value.isNaN ? Float(bitPattern: value.bitPattern | 0x0040_0000) : value
    case .float8E4M3FNUZ, .float8E5M2FNUZ:
        if bits == 0x80 { return Float(bitPattern: 0x7F80_0001) }
        return dtype == .float8E4M3FNUZ ? finite(exponentBits: 4, mantissaBits: 3, bias: 8)
            : finite(exponentBits: 5, mantissaBits: 2, bias: 16)
    case .float8E8M0:
        if bits == 0xFF { return Float(bitPattern: 0x7F80_0001) }
        return Float(sign: .plus, exponent: Int(bits) - 127, significand: 1)
    default:
        preconditionFailure("float8Value: \(dtype) is not an 8-bit float")
    }
}

/// Float32 value of every byte of each F8 format (built on first use).
private let float8Tables: [SafeTensorsDType: [Float]] = Dictionary(uniqueKeysWithValues:
    [SafeTensorsDType.float8E4M3, .float8E5M2, .float8E4M3FNUZ, .float8E5M2FNUZ, .float8E8M0].map { dtype in
        (dtype, (0...255).map { float8Value(UInt8($0), dtype) })
    })

/// Converts `count` elements of a dtype that `convertsToFloat32` at `source` (any alignment,
/// little-endian) into Float32 at `destination`.
func widenToFloat(_ destination: UnsafeMutablePointer<Float>, from source: UnsafeRawPointer,
                  dtype: SafeTensorsDType, count: Int) {
    if let storage = dtype.storageDType {
        convertToFloat(destination, from: source, dtype: storage, count: count)
        return
    }
    precondition(dtype.convertsToFloat32, "widenToFloat: \(dtype) does not convert to Float32")
    let table = float8Tables[dtype]
    Parallel.forEach(count, grain: 1 << 16) { range in
        let dst = destination + range.lowerBound
        if dtype == .float64 {
            let base = source + range.lowerBound * 8
            for i in 0..<range.count { dst[i] = Float(base.loadUnaligned(fromByteOffset: 8 * i, as: Double.self)) }
        } else {
            let base = source.assumingMemoryBound(to: UInt8.self) + range.lowerBound
            table!.withUnsafeBufferPointer { t in
                for i in 0..<range.count { dst[i] = t[Int(base[i])] }
            }
        }
    }
}

/// The value of element `i` of an integer (or BOOL) dtype at `source` as Int64, or nil for a U64
/// value above Int64.max.
func integerValue(_ source: UnsafeRawPointer, _ i: Int, _ dtype: SafeTensorsDType) -> Int64? {
    switch dtype {
    case .bool: return source.load(fromByteOffset: i, as: UInt8.self) == 0 ? 0 : 1
    case .uint8: return Int64(source.load(fromByteOffset: i, as: UInt8.self))
    case .int8: return Int64(source.load(fromByteOffset: i, as: Int8.self))
    case .int16: return Int64(source.loadUnaligned(fromByteOffset: 2 * i, as: Int16.self))
    case .uint16: return Int64(source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
    case .int32: return Int64(source.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))
    case .uint32: return Int64(source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
    case .int64: return source.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)
    case .uint64: return Int64(exactly: source.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))
    default: preconditionFailure("integerValue: \(dtype) is not an integer dtype")
    }
}
