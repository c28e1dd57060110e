// Float16 / BFloat16 bit conversions (DType.swift): exhaustive round trips over every half
// pattern, and rounding against numpy and torch on values around ties, subnormal and overflow
// boundaries (Fixtures/st_conversions.json, from Scripts/fixtures/make_safetensors_fixtures.py).

import Foundation
@testable import Tensor
import XCTest

func fixtureURL(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> URL {
    guard let dir = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
        XCTFail("Fixtures folder missing from the test bundle", file: file, line: line)
        throw CocoaError(.fileNoSuchFile)
    }
    return dir.appendingPathComponent(name)
}

func fixtureJSON(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: fixtureURL(name))
    return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
}

func bitArray<T: FixedWidthInteger>(_ value: Any?, as type: T.Type) throws -> [T] {
    let items = try XCTUnwrap(value as? [Any], "not an array: \(String(describing: value))")
    return try items.map { T(truncatingIfNeeded: try XCTUnwrap($0 as? NSNumber, "\($0)").int64Value) }
}

final class DTypeTests: XCTestCase {
    func testEveryFloat16PatternRoundTripsThroughFloat() {
        var failures = [String]()
        for h in 0...0xFFFF {
            let bits = UInt16(h)
            let back = float16Bits(float(fromFloat16Bits: bits))
            if back != bits { failures.append(String(format: "0x%04x -> 0x%04x", h, back)) }
        }
        XCTAssertEqual(failures.count, 0, "first failures: \(failures.prefix(8))")
    }

    func testFloat16ValuesMatchTheDefinition() {
        for h in 0...0xFFFF {
            let sign: Double = h & 0x8000 != 0 ? -1 : 1
            let e = (h >> 10) & 0x1F, m = Double(h & 0x3FF)
            let v = float(fromFloat16Bits: UInt16(h))
            switch e {
            case 0x1F where m == 0: XCTAssertEqual(Double(v), sign * .infinity)
            case 0x1F:
                XCTAssertTrue(v.isNaN, "0x\(String(h, radix: 16))")
                XCTAssertEqual(v.bitPattern & 0x7FFFFF, UInt32(h & 0x3FF) << 13, "NaN payload kept")
            case 0: XCTAssertEqual(Double(v), sign * m * 0x1p-24)
            default: XCTAssertEqual(Double(v), sign * (1 + m / 1024) * pow(2, Double(e - 15)))
            }
            XCTAssertEqual(v.sign == .minus, h & 0x8000 != 0)
        }
    }

    func testBufferConversionMatchesScalarForEveryHalfPattern() {
        let halves = (0...0xFFFF).map { UInt16($0) }
        var floats = [Float](repeating: 0, count: halves.count)
        halves.withUnsafeBytes { src in
            floats.withUnsafeMutableBufferPointer {
                convertToFloat($0.baseAddress!, from: src.baseAddress!, dtype: .float16, count: halves.count)
            }
        }
        var back = [UInt16](repeating: 0, count: halves.count)
        floats.withUnsafeBufferPointer { src in
            back.withUnsafeMutableBytes {
                convertFromFloat($0.baseAddress!, dtype: .float16, from: src.baseAddress!, count: halves.count)
            }
        }
        for h in 0...0xFFFF {
            XCTAssertEqual(floats[h].bitPattern, float(fromFloat16Bits: UInt16(h)).bitPattern)
        }
        XCTAssertEqual(back, halves)
    }

    func testEveryNonNaNBFloat16PatternRoundTrips() {
        for b in 0...0xFFFF {
            let bits = UInt16(b)
            let v = float(fromBFloat16Bits: bits)
            if v.isNaN {
                XCTAssertEqual(bfloat16Bits(v), 0x7FC0)
            } else {
                XCTAssertEqual(bfloat16Bits(v), bits, "0x\(String(b, radix: 16))")
            }
        }
    }

    func testRoundingMatchesNumpyAndTorch() throws {
        let fixture = try fixtureJSON("st_conversions.json")
        let inputs = try bitArray(fixture["float32_bits"], as: UInt32.self)
        let numpyHalf = try bitArray(fixture["numpy_f16_bits"], as: UInt16.self)
        let torchHalf = try bitArray(fixture["torch_f16_bits"], as: UInt16.self)
        let torchBF16 = try bitArray(fixture["torch_bf16_bits"], as: UInt16.self)
        XCTAssertGreaterThan(inputs.count, 10_000)
        var mismatches = [String]()
        for (i, bits) in inputs.enumerated() {
            let x = Float(bitPattern: bits)
            let h = float16Bits(x), b = bfloat16Bits(x)
            if x.isNaN {
                XCTAssertTrue(float(fromFloat16Bits: h).isNaN && float(fromBFloat16Bits: b).isNaN)
                XCTAssertTrue(float(fromBFloat16Bits: torchBF16[i]).isNaN, "torch gives some NaN too")
                continue
            }
            if h != numpyHalf[i] || h != torchHalf[i] || b != torchBF16[i] {
                mismatches.append("\(x) (0x\(String(bits, radix: 16))): f16 0x\(String(h, radix: 16)) "
                    + "numpy 0x\(String(numpyHalf[i], radix: 16)) torch 0x\(String(torchHalf[i], radix: 16)); "
                    + "bf16 0x\(String(b, radix: 16)) torch 0x\(String(torchBF16[i], radix: 16))")
            }
        }
        XCTAssertEqual(mismatches.count, 0, "first mismatches:\n" + mismatches.prefix(8).joined(separator: "\n"))
    }

    func testSpecialValues() {
        XCTAssertEqual(float16Bits(65504), 0x7BFF)
        XCTAssertEqual(float16Bits(65519.996), 0x7BFF)
        XCTAssertEqual(float16Bits(65520), 0x7C00, "tie above max rounds to even: inf")
        XCTAssertEqual(float16Bits(-.infinity), 0xFC00)
        XCTAssertEqual(float16Bits(0x1p-25), 0x0000, "tie between 0 and the smallest subnormal")
        XCTAssertEqual(float16Bits(0x1.8p-25), 0x0001)
        XCTAssertEqual(float16Bits(0x1.8p-24), 0x0002, "tie 1.5 ulp rounds to even")
        XCTAssertEqual(float16Bits(-0.0), 0x8000)
        XCTAssertEqual(float16Bits(.nan), 0x7E00)
        XCTAssertEqual(float16Bits(Float(bitPattern: 0x7F80_0001)), 0x7E00, "payload below half precision")
        XCTAssertEqual(bfloat16Bits(Float(bitPattern: 0x3F80_8000)), 0x3F80, "tie to even (down)")
        XCTAssertEqual(bfloat16Bits(Float(bitPattern: 0x3F81_8000)), 0x3F82, "tie to even (up)")
        XCTAssertEqual(bfloat16Bits(.greatestFiniteMagnitude), 0x7F80)
        XCTAssertEqual(DType.float16.byteCount, 2)
        XCTAssertEqual(DType(rawValue: "BF16"), .bfloat16)
    }

    func testHalfTensorStoresAndConverts() {
        let values: [Float] = [1, -2.5, 0.1, 1e-6, 70000, -0.0]
        let t = Tensor(shape: [2, 3], scalars: values)
        let h = HalfTensor(t, dtype: .float16)
        XCTAssertEqual(h.shape, [2, 3])
        XCTAssertEqual(h.byteCount, 12)
        let back = h.float()
        XCTAssertEqual(back.shape, [2, 3])
        XCTAssertEqual(back.scalars.map(\.bitPattern),
                       values.map { float(fromFloat16Bits: float16Bits($0)).bitPattern })
        let b = HalfTensor(t, dtype: .bfloat16).float()
        XCTAssertEqual(b.scalars.map(\.bitPattern), values.map { float(fromBFloat16Bits: bfloat16Bits($0)).bitPattern })
        XCTAssertEqual(HalfTensor(t, dtype: .float32).float().scalars, values)
        XCTAssertEqual(HalfTensor(Tensor(zeros: [0, 4]), dtype: .float16).float().shape, [0, 4])
    }
}
