// safetensors reading and writing against files written by safetensors.torch.save_file
// (Fixtures/st_*.safetensors, from Scripts/fixtures/make_safetensors_fixtures.py), plus hand-made
// malformed headers and a seeded header fuzzer.

import Foundation
@testable import Tensor
import TestSupport
import XCTest

/// A safetensors image from a header string, data bytes and optionally a lying length field.
func safetensorsImage(_ header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> Data {
    let json = Array(header.utf8)
    var out = Data()
    withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: json)
    out.append(contentsOf: data)
    return out
}

func temporaryURL(_ name: String) -> URL {
    FileManager.default.temporaryDirectory
        .appendingPathComponent("svdmv-st-\(ProcessInfo.processInfo.processIdentifier)-\(name)")
}

final class SafeTensorsTests: XCTestCase {
    // MARK: reading

    func testReadsTorchFileWithEveryDTypeAndSpecialValue() throws {
        let file = try SafeTensorsFile(url: fixtureURL("st_mixed.safetensors"))
        let expected = try fixtureJSON("st_mixed.json")
        let tensors = try XCTUnwrap(expected["tensors"] as? [String: [String: Any]])
        XCTAssertEqual(file.keys, tensors.keys.sorted())
        XCTAssertEqual(file.metadata, expected["metadata"] as? [String: String])
        for (name, spec) in tensors {
            let info = try file.info(name)
            XCTAssertEqual(info.dtype.rawValue, spec["dtype"] as? String, name)
            XCTAssertEqual(info.shape, spec["shape"] as? [Int], name)
            let t = try file.tensor(name)
            XCTAssertEqual(t.shape, info.shape, name)
            XCTAssertEqual(t.scalars.map(\.bitPattern), try bitArray(spec["f32_bits"], as: UInt32.self), name)
            let stored = try file.stored(name)
            XCTAssertEqual(SafeTensorsDType(stored.dtype), info.dtype)
            XCTAssertEqual(stored.float().scalars.map(\.bitPattern), t.scalars.map(\.bitPattern), name)
        }
        XCTAssertEqual(try file.tensor("scalar").shape, [])
        XCTAssertEqual(try file.tensor("scalar").item, 3.25)
        XCTAssertEqual(try file.tensor("empty.f16").shape, [0, 3])
        XCTAssertEqual(try file.tensors().count, tensors.count)
    }

    func testAlignedFloat32IsAZeroCopyViewThatOutlivesTheFile() throws {
        var t: Tensor
        var first: UnsafeMutablePointer<Float>
        do {
            let file = try SafeTensorsFile(url: fixtureURL("st_mixed.safetensors"))
            t = try file.tensor("random.f32")
            first = try file.tensor("random.f32").data
            XCTAssertTrue(file.contains("random.f32"))
        }
        XCTAssertEqual(t.data, first, "both reads view the same mapped bytes")
        // the mapping is private copy-on-write: writing is harmless to the file and does not fault
        let old = t.data[0]
        t.data[0] = 42
        XCTAssertEqual(t.data[0], 42)
        let again = try SafeTensorsFile(url: fixtureURL("st_mixed.safetensors")).tensor("random.f32")
        XCTAssertEqual(again.data[0], old)
    }

    func testUnalignedFloat32IsCopiedAndHalvesConvertAtAnyOffset() throws {
        // F32 at data offset 2 (unaligned), F16 at offset 1, BF16 at offset 11: gaps are allowed.
        var data = [UInt8](repeating: 0, count: 16)
        withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { data.replaceSubrange(2..<6, with: $0) }
        withUnsafeBytes(of: float16Bits(-0.25).littleEndian) { data.replaceSubrange(8..<10, with: $0) }
        withUnsafeBytes(of: bfloat16Bits(3).littleEndian) { data.replaceSubrange(11..<13, with: $0) }
        let header = #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[2,6]},"#
            + #""h":{"dtype":"F16","shape":[],"data_offsets":[8,10]},"#
            + #""b":{"dtype":"BF16","shape":[1,1],"data_offsets":[11,13]}}"#  // length 147: odd
        let file = try SafeTensorsFile(data: safetensorsImage(header, data: data))
        XCTAssertEqual(try file.tensor("a").scalars, [1.5])
        XCTAssertEqual(try file.tensor("h").item, -0.25)
        XCTAssertEqual(try file.tensor("b").scalars, [3])
        XCTAssertNil(file.metadata)
    }

    func testStoredTensorStaysInFileDType() throws {
        let stored: HalfTensor
        do {
            let file = try SafeTensorsFile(url: fixtureURL("st_mixed.safetensors"))
            stored = try file.stored("random.f16")
        }
        XCTAssertEqual(stored.dtype, .float16)
        XCTAssertEqual(stored.shape, [3, 7])
        XCTAssertEqual(stored.byteCount, 42)
        let expected = try fixtureJSON("st_mixed.json")
        let spec = try XCTUnwrap((expected["tensors"] as? [String: [String: Any]])?["random.f16"])
        XCTAssertEqual(stored.float().scalars.map(\.bitPattern), try bitArray(spec["f32_bits"], as: UInt32.self))
    }

    // MARK: writing

    func testWriterReproducesTorchFileByteForByte() throws {
        let reference = try Data(contentsOf: fixtureURL("st_reference.safetensors"))
        let spec = try fixtureJSON("st_reference.json")
        let sources = try XCTUnwrap(spec["tensors"] as? [[String: Any]])
        var entries = [SafeTensors.Entry]()
        for source in sources.reversed() {  // input order must not matter
            let shape = try XCTUnwrap(source["shape"] as? [Int])
            let values = try bitArray(source["f32_bits"], as: UInt32.self).map(Float.init(bitPattern:))
            let dtype = try XCTUnwrap(DType(rawValue: try XCTUnwrap(source["dtype"] as? String)))
            entries.append(.init(try XCTUnwrap(source["name"] as? String), Tensor(shape: shape, scalars: values),
                                 dtype: dtype))
        }
        let metadata = spec["metadata"] as? [String: String]
        let encoded = try SafeTensors.encode(entries, metadata: metadata)
        XCTAssertEqual(encoded.count, reference.count)
        XCTAssertEqual(encoded, reference, firstDifference(encoded, reference))

        let url = temporaryURL("reference.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(entries, metadata: metadata, to: url)
        XCTAssertEqual(try Data(contentsOf: url), reference)
    }

    func testWriteThenReadRoundTripsEveryDType() throws {
        let values = (0..<30).map { Float($0) * 0.37 - 5 }
        let t = Tensor(shape: [2, 3, 5], scalars: values)
        let url = temporaryURL("roundtrip.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors.write(["w32": t, "w16": t, "wbf": t, "s": Tensor(7), "e": Tensor(zeros: [3, 0])],
                              dtypes: ["w16": .float16, "wbf": .bfloat16, "e": .float16],
                              metadata: ["format": "pt", "note": "a \"quoted\"\nline"], to: url)
        let file = try SafeTensorsFile(url: url)
        XCTAssertEqual(file.keys, ["e", "s", "w16", "w32", "wbf"])
        XCTAssertEqual(file.metadata, ["format": "pt", "note": "a \"quoted\"\nline"])
        XCTAssertEqual(try file.info("w16").dtype, .float16)
        XCTAssertEqual(try file.tensor("w32").scalars, values)
        XCTAssertEqual(try file.tensor("w16").scalars, values.map { float(fromFloat16Bits: float16Bits($0)) })
        XCTAssertEqual(try file.tensor("wbf").scalars, values.map { float(fromBFloat16Bits: bfloat16Bits($0)) })
        assertClose(try file.tensor("w16"), t, rtol: 1e-3, atol: 1e-3, "f16 within half precision")
        XCTAssertEqual(try file.tensor("s").item, 7)
        XCTAssertEqual(try file.tensor("e").shape, [3, 0])
        // stored tensors are written back unchanged
        let copy = temporaryURL("copy.safetensors")
        defer { try? FileManager.default.removeItem(at: copy) }
        try SafeTensors.write(try file.keys.map { SafeTensors.Entry($0, try file.stored($0)) },
                              metadata: file.metadata, to: copy)
        XCTAssertEqual(try Data(contentsOf: copy), try Data(contentsOf: url))
    }

    func testWriterRejectsDuplicateAndReservedNames() {
        let t = Tensor(1)
        assertThrows(try SafeTensors.encode([.init("x", t), .init("x", t, dtype: .float16)]), .name, tensor: "x")
        assertThrows(try SafeTensors.encode([.init("__metadata__", t)]), .name, tensor: "__metadata__")
    }

    func testMissingFileAndMissingTensor() throws {
        assertThrows(try SafeTensorsFile(url: temporaryURL("nope.safetensors")), .io, contains: "cannot open")
        assertThrows(try SafeTensorsFile(url: FileManager.default.temporaryDirectory), .io,
                     contains: "is not a regular file")
        let file = try SafeTensorsFile(url: fixtureURL("st_mixed.safetensors"))
        assertThrows(try file.tensor("nope"), .missingTensor, tensor: "nope", contains: "st_mixed.safetensors")
    }

    // MARK: every dtype of the format

    /// Every dtype torch and safetensors share, as safetensors.torch.save_file writes them: each
    /// tensor's header entry and bytes, the Float32 values torch's `.float()` gives for the float
    /// dtypes (all 256 patterns of each F8 format, NaNs included, to the bit), the exact values of
    /// the integer ones, and an error naming the tensor and dtype for any other read.
    func testReadsTorchFileWithEveryDType() throws {
        let url = try fixtureURL("st_dtypes.safetensors")
        let file = try SafeTensorsFile(url: url)
        let tensors = try XCTUnwrap(try fixtureJSON("st_dtypes.json")["tensors"] as? [String: [String: Any]])
        XCTAssertEqual(file.keys, tensors.keys.sorted())
        var seen = Set<SafeTensorsDType>()
        for (name, spec) in tensors {
            let info = try file.info(name)
            seen.insert(info.dtype)
            XCTAssertEqual(info.dtype.rawValue, spec["dtype"] as? String, name)
            XCTAssertEqual(info.shape, spec["shape"] as? [Int], name)
            let bytes = try file.bytes(name)
            XCTAssertEqual(bytes.map { String(format: "%02x", $0) }.joined(), spec["bytes"] as? String, name)
            XCTAssertEqual(info.byteCount, bytes.count, name)
            if let bits = spec["f32_bits"] {
                XCTAssertEqual(try file.tensor(name).scalars.map(\.bitPattern), try bitArray(bits, as: UInt32.self), name)
                XCTAssertEqual(try file.tensor(name).shape, info.shape, name)
            } else {
                assertThrows(try file.tensor(name), .unusableDType, tensor: name,
                             contains: "\(url.path): tensor '\(name)': dtype \(info.dtype) cannot be used as a Float32 tensor")
            }
            if let values = spec["values"] as? [String] {
                let expected = values.map { Int64($0) }  // nil: a U64 value above Int64.max
                if let first = expected.firstIndex(of: nil) {
                    assertThrows(try file.integers(name), .unusableDType, tensor: name,
                                 contains: "element \(first) (\(values[first])) of dtype U64 does not fit in Int64")
                } else {
                    XCTAssertEqual(try file.integers(name), expected.map { $0! }, name)
                }
            } else {
                assertThrows(try file.integers(name), .unusableDType, tensor: name,
                             contains: "dtype \(info.dtype) cannot be used as integers")
            }
        }
        XCTAssertEqual(seen, Set(SafeTensorsDType.allCases).subtracting([.float6E2M3, .float6E3M2]),
                       "every dtype but F6 (torch has no 6-bit floats)")
        XCTAssertEqual(try file.integers("bn.num_batches_tracked"), [1234])
        // every Float32 tensor at once asks for the first integer one too
        assertThrows(try file.tensors(), .unusableDType, tensor: "bn.num_batches_tracked",
                     contains: "dtype I64 cannot be used as a Float32 tensor")
    }

    func testWriterReproducesTorchFileOfEveryDTypeFromItsBytes() throws {
        let url = try fixtureURL("st_dtypes.safetensors")
        let file = try SafeTensorsFile(url: url)
        let entries = try file.keys.reversed().map { key in  // input order must not matter
            let info = try file.info(key)
            return SafeTensors.Entry(key, dtype: info.dtype, shape: info.shape, bytes: try file.bytes(key))
        }
        let reference = try Data(contentsOf: url)
        let encoded = try SafeTensors.encode(entries, metadata: file.metadata)
        XCTAssertEqual(encoded, reference, firstDifference(encoded, reference))
    }

    func testEveryDTypeHasItsElementSizeAndTheFormatsOrder() {
        let bits: [SafeTensorsDType: Int] = [
            .bool: 8, .float4: 4, .float6E2M3: 6, .float6E3M2: 6, .uint8: 8, .int8: 8, .float8E5M2: 8,
            .float8E4M3: 8, .float8E8M0: 8, .float8E4M3FNUZ: 8, .float8E5M2FNUZ: 8, .int16: 16, .uint16: 16,
            .float16: 16, .bfloat16: 16, .int32: 32, .uint32: 32, .float32: 32, .complex64: 64, .float64: 64,
            .int64: 64, .uint64: 64,
        ]
        XCTAssertEqual(Set(bits.keys), Set(SafeTensorsDType.allCases))
        for (dtype, n) in bits {
            XCTAssertEqual(dtype.bitCount, n, "\(dtype)")
            XCTAssertEqual(dtype.byteCount(elements: 8), n, "\(dtype)")
            XCTAssertEqual(dtype.byteCount(elements: 0), 0, "\(dtype)")
        }
        XCTAssertNil(SafeTensorsDType.float4.byteCount(elements: 3), "12 bits")
        XCTAssertEqual(SafeTensorsDType.float6E2M3.byteCount(elements: 4), 3)
        XCTAssertNil(SafeTensorsDType.float6E3M2.byteCount(elements: 2), "12 bits")
        XCTAssertNil(SafeTensorsDType.int64.byteCount(elements: Int.max / 4), "overflow")
        // huggingface/safetensors tensor.rs `enum Dtype`, whose order the writer sorts by
        XCTAssertEqual(SafeTensorsDType.allCases.map(\.rawValue),
                       ["BOOL", "F4", "F6_E2M3", "F6_E3M2", "U8", "I8", "F8_E5M2", "F8_E4M3", "F8_E8M0", "F8_E4M3FNUZ",
                        "F8_E5M2FNUZ", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "C64", "F64", "I64", "U64"])
        XCTAssertEqual(DType.allCases.map { SafeTensorsDType($0).storageDType }, DType.allCases)
    }

    /// A file of every dtype (the F6 ones included), written from bytes, reads back each tensor's
    /// dtype, shape and bytes.
    func testEveryDTypeRoundTripsItsBytes() throws {
        let shape = [2, 4]  // 8 elements: whole bytes for every dtype, F4 and F6 included
        let entries = SafeTensorsDType.allCases.enumerated().map { i, dtype in
            SafeTensors.Entry("t.\(dtype)", dtype: dtype, shape: shape,
                              bytes: Data((0..<dtype.byteCount(elements: 8)!).map { UInt8(truncatingIfNeeded: 37 * $0 + i) }))
        }
        let file = try SafeTensorsFile(data: try SafeTensors.encode(entries))
        XCTAssertEqual(file.keys.count, SafeTensorsDType.allCases.count)
        for (i, dtype) in SafeTensorsDType.allCases.enumerated() {
            let info = try file.info("t.\(dtype)")
            XCTAssertEqual(info.dtype, dtype)
            XCTAssertEqual(info.shape, shape)
            XCTAssertEqual(info.byteCount, dtype.bitCount)
            XCTAssertEqual([UInt8](try file.bytes("t.\(dtype)")),
                           (0..<dtype.bitCount).map { UInt8(truncatingIfNeeded: 37 * $0 + i) }, "\(dtype)")
            XCTAssertEqual(try file.withUnsafeBytes(of: "t.\(dtype)") { $0.count }, dtype.bitCount)
        }
    }

    func testIntegerBoolAndF64TensorsBesideF32OnesRead() throws {
        func bytes<T>(_ values: [T]) -> Data { values.withUnsafeBytes { Data($0) } }
        let image = try SafeTensors.encode([
            .init("w", Tensor(shape: [3], scalars: [1, 2, 3])),
            .init("step", dtype: .int64, shape: [2], bytes: bytes([Int64(-5), 1 << 40])),
            .init("mask", dtype: .bool, shape: [2, 2], bytes: Data([1, 0, 1, 1])),
            .init("ids", dtype: .uint8, shape: [2], bytes: Data([3, 255])),
            .init("x64", dtype: .float64, shape: [3], bytes: bytes([1.5, -1e300, 1.0 / 3])),
        ])
        let file = try SafeTensorsFile(data: image, name: "mixed.safetensors")
        XCTAssertEqual(file.keys, ["ids", "mask", "step", "w", "x64"])
        XCTAssertEqual(try file.info("step").dtype, .int64)
        XCTAssertEqual(try file.info("mask").shape, [2, 2])
        XCTAssertEqual(try file.tensor("w").scalars, [1, 2, 3])
        // F64 rounds to the nearest Float32 (overflowing to -inf)
        XCTAssertEqual(try file.tensor("x64").scalars, [1.5, -.infinity, Float(1.0 / 3)])
        XCTAssertEqual(try file.storedDType("x64"), .float32)
        XCTAssertEqual(try file.stored("x64").dtype, .float32)
        XCTAssertEqual(try file.integers("step"), [-5, 1 << 40])
        XCTAssertEqual(try file.integers("mask"), [1, 0, 1, 1])
        XCTAssertEqual(try file.integers("ids"), [3, 255])
        assertThrows(try file.tensor("mask"), .unusableDType, tensor: "mask",
                     contains: "mixed.safetensors: tensor 'mask': dtype BOOL cannot be used as a Float32 tensor")
        assertThrows(try file.storedDType("step"), .unusableDType, tensor: "step",
                     contains: "dtype I64 cannot be used as a Float32 tensor")
        assertThrows(try file.integers("x64"), .unusableDType, tensor: "x64", contains: "dtype F64 cannot be used as integers")
        assertThrows(try SafeTensors.encode([.init("bad", dtype: .int64, shape: [2], bytes: Data(count: 12))]),
                     .sizeMismatch, tensor: "bad", contains: "12 bytes are not the elements of shape [2] of I64")
        assertThrows(try SafeTensors.encode([.init("odd", dtype: .float4, shape: [3], bytes: Data(count: 2))]),
                     .sizeMismatch, tensor: "odd", contains: "shape [3] of F4")
    }

    /// The 8-bit floats from their definitions, worked by hand (sign, exponent, mantissa): F8_E4M3
    /// and F8_E5M2 as the OCP 8-bit floating point specification defines them, the FNUZ variants
    /// with biases 8 and 16 and 0x80 their only NaN, F8_E8M0 a bare exponent with bias 127.
    func testFloat8PatternsWorkedByHand() {
        let cases: [(SafeTensorsDType, UInt8, Float)] = [
            (.float8E4M3, 0x00, 0), (.float8E4M3, 0x80, -0.0), (.float8E4M3, 0x01, 0x1p-9),
            (.float8E4M3, 0x07, 7 * 0x1p-9), (.float8E4M3, 0x08, 0x1p-6), (.float8E4M3, 0x38, 1),
            (.float8E4M3, 0x3D, 1.625), (.float8E4M3, 0x78, 256), (.float8E4M3, 0x7E, 448), (.float8E4M3, 0xFE, -448),
            (.float8E5M2, 0x01, 0x1p-16), (.float8E5M2, 0x04, 0x1p-14), (.float8E5M2, 0x3C, 1),
            (.float8E5M2, 0xC1, -2.5), (.float8E5M2, 0x7B, 57344), (.float8E5M2, 0x7C, .infinity),
            (.float8E5M2, 0xFC, -.infinity),
            (.float8E4M3FNUZ, 0x00, 0), (.float8E4M3FNUZ, 0x01, 0x1p-10), (.float8E4M3FNUZ, 0x40, 1),
            (.float8E4M3FNUZ, 0x7F, 240), (.float8E4M3FNUZ, 0xFF, -240),
            (.float8E5M2FNUZ, 0x01, 0x1p-17), (.float8E5M2FNUZ, 0x40, 1), (.float8E5M2FNUZ, 0x7F, 57344),
            (.float8E5M2FNUZ, 0xFF, -57344),
            (.float8E8M0, 0x00, 0x1p-127), (.float8E8M0, 0x7F, 1), (.float8E8M0, 0x80, 2), (.float8E8M0, 0xFE, 0x1p127),
        ]
        for (dtype, bits, expected) in cases {
            XCTAssertEqual(float8Value(bits, dtype).bitPattern, expected.bitPattern,
                           "\(dtype) 0x\(String(bits, radix: 16)): \(float8Value(bits, dtype)), expected \(expected)")
        }
        let nans: [(SafeTensorsDType, [UInt8])] = [
            (.float8E4M3, [0x7F, 0xFF]), (.float8E5M2, [0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF]),
            (.float8E4M3FNUZ, [0x80]), (.float8E5M2FNUZ, [0x80]), (.float8E8M0, [0xFF]),
        ]
        for (dtype, patterns) in nans {
            XCTAssertEqual((0...255).filter { float8Value(UInt8($0), dtype).isNaN }.map(UInt8.init), patterns, "\(dtype)")
        }
    }

    // MARK: malformed input

    func testMalformedHeadersGiveErrorsNamingTheTensor() {
        let ok = #"{"dtype":"F32","shape":[2],"data_offsets":[0,8]}"#
        let eight = [UInt8](repeating: 0, count: 8)
        typealias Case = (label: String, image: Data, kind: SafeTensorsError.Kind, tensor: String?, text: String)
        let cases: [Case] = [
            ("short file", Data([1, 2, 3]), .headerLength, nil, "too short"),
            ("length past end", safetensorsImage("{}", declaredLength: 50), .headerLength, nil, "runs past the end"),
            ("huge length", safetensorsImage("{}", declaredLength: .max), .headerLength, nil, "exceeds"),
            ("not an object", safetensorsImage("[1, 2]"), .headerJSON, nil, "does not start with '{'"),
            ("bad JSON", safetensorsImage(#"{"w": {"dtype": "F32""#), .headerJSON, nil, "not valid JSON"),
            ("bad UTF-8", safetensorsImage("{\"w\u{FFFD}\":1}").replacing(0xEF, with: 0xFF), .headerJSON, nil,
             "not valid JSON"),
            ("entry not object", safetensorsImage(#"{"w": 3}"#), .field, "w", "not a JSON object"),
            ("no dtype", safetensorsImage(#"{"w": {"shape": [], "data_offsets": [0, 4]}}"#, data: eight),
             .field, "w", "missing field 'dtype'"),
            ("dtype number", safetensorsImage(#"{"w": {"dtype": 5, "shape": [], "data_offsets": [0, 4]}}"#),
             .field, "w", "'dtype' is not a string"),
            ("unknown dtype", safetensorsImage(#"{"w": {"dtype": "Q8", "shape": [1], "data_offsets": [0, 1]}}"#,
                                               data: eight),
             .unsupportedDType, "w", "dtype Q8 is not a safetensors dtype (BOOL, F4, F6_E2M3,"),
            ("lower-case dtype", safetensorsImage(#"{"w": {"dtype": "i64", "shape": [1], "data_offsets": [0, 8]}}"#,
                                                  data: eight),
             .unsupportedDType, "w", "dtype i64 is not a safetensors dtype"),
            ("no shape", safetensorsImage(#"{"w": {"dtype": "F32", "data_offsets": [0, 4]}}"#, data: eight),
             .field, "w", "missing field 'shape'"),
            ("shape not array", safetensorsImage(#"{"w": {"dtype": "F32", "shape": 2, "data_offsets": [0, 8]}}"#,
                                                 data: eight), .field, "w", "'shape' is not an array"),
            ("negative dim", safetensorsImage(#"{"w": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}"#,
                                              data: eight), .shape, "w", "non-negative integer"),
            ("fractional dim", safetensorsImage(#"{"w": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 8]}}"#,
                                                data: eight), .shape, "w", "non-negative integer"),
            ("boolean dim", safetensorsImage(#"{"w": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}"#,
                                             data: eight), .shape, "w", "non-negative integer"),
            ("overflowing shape",
             safetensorsImage(#"{"w": {"dtype": "F32", "shape": [4294967296, 4294967296, 4], "data_offsets": [0, 8]}}"#,
                              data: eight), .shape, "w", "too many elements"),
            ("no offsets", safetensorsImage(#"{"w": {"dtype": "F32", "shape": [2]}}"#, data: eight),
             .field, "w", "missing field 'data_offsets'"),
            ("one offset", safetensorsImage(#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [8]}}"#,
                                            data: eight), .field, "w", "not two non-negative integers"),
            ("huge offset",
             safetensorsImage(#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 18446744073709551615]}}"#,
                              data: eight), .field, "w", "not two non-negative integers"),
            ("reversed offsets", safetensorsImage(#"{"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}"#,
                                                  data: eight), .offsets, "w", "end before they begin"),
            ("offsets past data", safetensorsImage(#"{"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}"#,
                                                   data: eight), .offsets, "w", "past the data section (8 bytes)"),
            ("size mismatch", safetensorsImage(#"{"w": {"dtype": "F16", "shape": [3], "data_offsets": [0, 8]}}"#,
                                               data: eight), .sizeMismatch, "w", "needs 6 bytes"),
            ("I64 size mismatch", safetensorsImage(#"{"w": {"dtype": "I64", "shape": [2], "data_offsets": [0, 8]}}"#,
                                                   data: eight), .sizeMismatch, "w", "shape [2] of I64 needs 16 bytes"),
            ("partial byte", safetensorsImage(#"{"w": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}}"#,
                                              data: eight), .sizeMismatch, "w",
             "shape [3] of F4 is 12 bits, not a whole number of bytes"),
            ("overlap", safetensorsImage(#"{"a": \#(ok), "b": {"dtype": "F16", "shape": [2], "data_offsets": [6, 10]}}"#,
                                         data: eight + eight), .overlap, "b", "overlap tensor 'a' [0, 8]"),
            ("metadata not object", safetensorsImage(#"{"__metadata__": [1], "w": \#(ok)}"#, data: eight),
             .field, "__metadata__", "not a JSON object"),
            ("metadata value", safetensorsImage(#"{"__metadata__": {"k": 1}, "w": \#(ok)}"#, data: eight),
             .field, "__metadata__", "value of 'k' is not a string"),
        ]
        for c in cases {
            do {
                let file = try SafeTensorsFile(data: c.image, name: "case.safetensors")
                XCTFail("\(c.label): accepted, keys \(file.keys)")
            } catch let error as SafeTensorsError {
                XCTAssertEqual(error.kind, c.kind, "\(c.label): \(error)")
                XCTAssertEqual(error.tensor, c.tensor, "\(c.label): \(error)")
                XCTAssertTrue(error.description.contains(c.text), "\(c.label): '\(error)' lacks '\(c.text)'")
                XCTAssertTrue(error.description.hasPrefix("case.safetensors"), "\(c.label): \(error)")
                if let t = c.tensor { XCTAssertTrue(error.description.contains("tensor '\(t)'"), "\(error)") }
            } catch {
                XCTFail("\(c.label): unexpected error type \(error)")
            }
        }
    }

    func testMalformedFileOnDiskNamesThePath() throws {
        let url = temporaryURL("bad.safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try safetensorsImage(#"{"x": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}"#,
                             data: [UInt8](repeating: 0, count: 16)).write(to: url)
        assertThrows(try SafeTensorsFile(url: url), .unsupportedDType, tensor: "x",
                     contains: "\(url.path): tensor 'x': dtype F128 is not a safetensors dtype")
        try Data([1, 0]).write(to: url)
        assertThrows(try SafeTensorsFile(url: url), .headerLength, contains: "too short")
    }

    // MARK: helpers

    private func assertThrows<T>(_ body: @autoclosure () throws -> T, _ kind: SafeTensorsError.Kind,
                                 tensor: String? = nil, contains text: String = "",
                                 file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try body()
            XCTFail("no error thrown", file: file, line: line)
        } catch let error as SafeTensorsError {
            XCTAssertEqual(error.kind, kind, "\(error)", file: file, line: line)
            if let tensor { XCTAssertEqual(error.tensor, tensor, "\(error)", file: file, line: line) }
            XCTAssertTrue(text.isEmpty || error.description.contains(text), "'\(error)' lacks '\(text)'",
                          file: file, line: line)
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    private func firstDifference(_ a: Data, _ b: Data) -> String {
        let x = [UInt8](a), y = [UInt8](b)
        guard let i = zip(x, y).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset else {
            return "lengths \(x.count) vs \(y.count)"
        }
        let lo = max(0, i - 40)
        return "first difference at byte \(i): ours '\(String(decoding: x[lo..<min(x.count, i + 40)], as: UTF8.self))'"
            + " reference '\(String(decoding: y[lo..<min(y.count, i + 40)], as: UTF8.self))'"
    }
}

extension Data {
    /// Replaces the first byte equal to `old` with `new`.
    func replacing(_ old: UInt8, with new: UInt8) -> Data {
        var copy = self
        if let i = copy.firstIndex(of: old) { copy[i] = new }
        return copy
    }
}
