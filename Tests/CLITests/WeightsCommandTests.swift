// `svdmv weights convert`: a Float32 model written as F16 keeps every key, the config metadata
// and each value to F16 rounding, at half the size, and loads with its layer weights kept half;
// the bundled model (F16) widened to F32 keeps every value exactly.

import Foundation
import Generation
import Tensor
import XCTest

final class WeightsCommandTests: XCTestCase {
    var resources: URL { Bundle.main.bundleURL.appendingPathComponent("SVDMV_svdmv.resources") }

    func temporaryFile() -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-convert-\(UUID()).safetensors")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testConvertToFloat16KeepsKeysMetadataAndValues() throws {
        let source = temporaryFile(), out = temporaryFile()
        let float32Model = SV3DModel(.tinySV3DP)
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
        let model = try SV3DModel.load(out)
        XCTAssertEqual(model.config, try SV3DModel.load(source).config)
        XCTAssertEqual(try SV3DModel.storedPrecision(of: converted), .float16)

        // Widening the bundled F16 model is exact.
        let bundled = resources.appendingPathComponent("default-model.safetensors"), widened = temporaryFile()
        XCTAssertEqual(try runSVDMV(["weights", "convert", bundled.path, "--out", widened.path, "--dtype", "F32"]).status, 0)
        let half = try SafeTensorsFile(url: bundled), full = try SafeTensorsFile(url: widened)
        XCTAssertEqual(full.metadata, half.metadata)
        for key in half.keys {
            XCTAssertEqual(try full.info(key).dtype, .float32, key)
            XCTAssertEqual(try full.tensor(key).scalars, try half.tensor(key).scalars, key)
        }

        let (same, message) = try runSVDMV(["weights", "convert", source.path, "--out", source.path, "--dtype", "f16"])
        XCTAssertNotEqual(same, 0)
        XCTAssertTrue(message.contains("--out must differ"), message)
    }
}
