// `svdmv weights convert`: a Float32 model written as F16 keeps every key, the config metadata
// and each value to F16 rounding, at half the size, and loads with its layer weights kept half;
// the bundled model (F16) widened to F32 keeps every value exactly.

import Foundation
import Generation
import Tensor
import TestSupport
import XCTest

final class WeightsCommandTests: XCTestCase {
    var resources: URL { get throws { try svdmvResources() } }

    func temporaryFile() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-convert-\(UUID()).safetensors")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testConvertToFloat16KeepsKeysMetadataAndValues() throws {
        let source = temporaryFile(), out = temporaryFile()
        let float32Model = StableVideoModel(.tinySV3DP)
        float32Model.initializeRandomly(seed: 7)
        try float32Model.save(to: source)
        let (status, output) = try runSVDMV(["weights", "convert", source.path, "--out", out.path, "--dtype", "f16"])
        XCTAssertEqual(status, 0, output)
        let original = try SafeTensorsFile(url: source), converted = try SafeTensorsFile(url: out)
        XCTAssertEqual(Set(converted.keys), Set(original.keys))
        XCTAssertEqual(converted.metadata, original.metadata)
        for key in original.keys {
            XCTAssertEqual(try converted.info(key).dtype, .float16, key)
            let a = try original.tensor(key).scalars, b = try converted.tensor(key).scalars
            for (x, y) in zip(a, b) where abs(x - y) > max(abs(x) * 1e-3, 1e-7) {
                XCTFail("\(key): \(x) became \(y), more than F16 rounding"); break
            }
        }
        let sizes = try [source, out].map { try XCTUnwrap(FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) }
        XCTAssertLessThan(Double(sizes[1]), 0.51 * Double(sizes[0]))
        let model = try StableVideoModel.load(out)
        XCTAssertEqual(model.config, try StableVideoModel.load(source).config)
        XCTAssertEqual(try StableVideoModel.storedPrecision(of: converted), .float16)

        // Widening the bundled F16 model is exact.
        let bundled = try resources.appendingPathComponent("default-model.safetensors"), widened = temporaryFile()
        XCTAssertEqual(try runSVDMV(["weights", "convert", bundled.path, "--out", widened.path, "--dtype", "F32"]).status, 0)
        let half = try SafeTensorsFile(url: bundled), full = try SafeTensorsFile(url: widened)
        XCTAssertEqual(full.metadata, half.metadata)
        for key in half.keys {
            XCTAssertEqual(try full.info(key).dtype, .float32, key)
            XCTAssertEqual(try full.tensor(key).scalars, try half.tensor(key).scalars, key)
        }

        // Tensors that are not floating point (a BatchNorm's I64 counter, a BOOL mask) are copied
        // byte for byte; the float ones are converted.
        let mixed = temporaryFile(), mixedOut = temporaryFile()
        let counter = withUnsafeBytes(of: Int64(12345).littleEndian) { Data($0) }
        try SafeTensors.write([SafeTensors.Entry("w", Tensor(shape: [2], scalars: [0.5, -1.25])),
                               SafeTensors.Entry("bn.num_batches_tracked", dtype: .int64, shape: [], bytes: counter),
                               SafeTensors.Entry("mask", dtype: .bool, shape: [3], bytes: Data([1, 0, 1]))], to: mixed)
        let (mixedStatus, mixedOutput) = try runSVDMV(["weights", "convert", mixed.path, "--out", mixedOut.path, "--dtype", "bf16"])
        XCTAssertEqual(mixedStatus, 0, mixedOutput)
        XCTAssertTrue(mixedOutput.contains("1 tensors as BF16, 2 non-float tensors copied as they were"), mixedOutput)
        let mixedFile = try SafeTensorsFile(url: mixedOut)
        XCTAssertEqual(try mixedFile.info("w").dtype, .bfloat16)
        XCTAssertEqual(try mixedFile.tensor("w").scalars, [0.5, -1.25])
        XCTAssertEqual(try mixedFile.integers("bn.num_batches_tracked"), [12345])
        XCTAssertEqual(try mixedFile.bytes("mask"), Data([1, 0, 1]))

        let (same, message) = try runSVDMV(["weights", "convert", source.path, "--out", source.path, "--dtype", "f16"])
        XCTAssertNotEqual(same, 0)
        XCTAssertTrue(message.contains("--out must differ"), message)
    }
}
