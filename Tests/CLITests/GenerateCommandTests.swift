// `svdmv generate` with no --checkpoint runs the bundled default model on the bundled example
// image (the README's main job), and writes the whole orbit.

import Foundation
import Generation
import MultiViewData
import XCTest

final class GenerateCommandTests: XCTestCase {
    var resources: URL { Bundle.main.bundleURL.appendingPathComponent("SVDMV_svdmv.resources") }

    func testBundledDefaultModelGeneratesAnOrbitFromTheBundledImage() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-generate-\(UUID())")
        addTeardownBlock { try? FileManager.default.removeItem(at: out) }
        // The bundled model is an SV3D_p-structured checkpoint of ours (config in its metadata).
        let model = try SV3DModel.load(resources.appendingPathComponent("default-model.safetensors"))
        XCTAssertEqual(model.config.variant, .sv3dP)
        XCTAssertEqual(model.config.imageSize, 64)

        let (status, output) = try runSVDMV(["generate", resources.appendingPathComponent("example-input.png").path,
                                             "--out", out.path, "--steps", "2", "--elevation", "28.4"])
        XCTAssertEqual(status, 0, output)
        for name in (0..<21).map({ String(format: "%03d.png", $0) }) + ["contact-sheet.png", "orbit.png", "orbit.json", "input.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(name).path), name)
        }
        let record = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("orbit.json"))) as? [String: Any]
        XCTAssertEqual(record?["checkpoint"] as? String, "bundled default model")
        // The sampler settings are recorded, the reference's by default.
        XCTAssertEqual(record?["sigma_max"] as? Double, 700)
        XCTAssertEqual(record?["starts_from_input"] as? Bool, false)
        XCTAssertEqual(record?["sampler"] as? String, "euler")
        let cameras = try RenderCameras.read(out.appendingPathComponent("cameras.json"))
        XCTAssertEqual(cameras.views.count, 21)
        XCTAssertEqual(cameras.width, 64)
    }
}
