// What a generated orbit records: its cameras in the one cameras.json format (the input view last
// at azimuth 0, the renderer's field of view and fitted distance) with the settings that reproduce
// it, and a checkpoint's sampling recommendation read back from its metadata.

import Cameras
import Diffusion
import Foundation
import Generation
import Imaging
import Tensor
import XCTest

final class GeneratedOrbitTests: XCTestCase {
    func testCamerasRecordTheOrbitAndTheSettings() throws {
        var settings = StableVideoSamplingSettings()
        settings.frames = 4
        settings.steps = 3
        settings.elevationsDegrees = [12.5]
        settings.guider = GuidanceSchedule.linear.guider(minScale: 1, maxScale: 2)
        let cameras = GeneratedOrbitFiles.cameras(objectID: "chair", size: 64, settings: settings, checkpoint: "model.safetensors",
                                                  variant: .sv3dP, inputFraming: "as given")
        XCTAssertEqual(cameras.views.map(\.file), ["000.png", "001.png", "002.png", "003.png"])
        XCTAssertEqual(cameras.views.map(\.azimuthDeg), [90, 180, 270, 0], "the input view last, at azimuth 0")
        XCTAssertEqual(cameras.views.map(\.elevationDeg), Array(repeating: 12.5, count: 4))
        XCTAssertEqual(cameras.fovDeg, 33.8)
        // The distance at which the unit box's bounding sphere (radius √3/2) fills 33.8°.
        XCTAssertEqual(cameras.views[0].distance, 0.75.squareRoot() / sin(33.8 * .pi / 360), accuracy: 1e-12)
        let generation = try XCTUnwrap(cameras.generation)
        XCTAssertEqual([generation.frames, generation.steps, generation.inputView], [4, 3, 3])
        XCTAssertEqual(generation.variant, "sv3d_p")
        XCTAssertTrue(generation.guider.contains("linear"), generation.guider)
        // What the files hold reads back as written.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-orbit-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let views = (0..<4).map { _ in Image8(width: 8, height: 8, channels: 3, fill: 200) }
        try GeneratedOrbitFiles.write(views: views, prepared: views[0], cameras: cameras, to: folder)
        XCTAssertEqual(try OrbitCameras.read(folder.appendingPathComponent(OrbitCameras.fileName)), cameras)
        for name in ["000.png", "003.png", "input.png", "contact-sheet.png", "orbit.png"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent(name).path), name)
        }
    }

    func testSamplingRecommendationsRoundTripThroughMetadata() throws {
        let recommendation = SamplingRecommendation(steps: 2, guider: GuidanceSchedule.none)
        let value = try recommendation.metadataValue()
        XCTAssertEqual(value, #"{"guider":"none","steps":2}"#)
        XCTAssertEqual(try SamplingRecommendation.read(metadata: [SamplingRecommendation.metadataKey: value], path: "m"), recommendation)
        XCTAssertNil(try SamplingRecommendation.read(metadata: nil, path: "m"))
        XCTAssertThrowsError(try SamplingRecommendation.read(metadata: [SamplingRecommendation.metadataKey: #"{"steps":"two"}"#],
                                                             path: "m.safetensors")) { error in
            XCTAssertTrue("\(error)".hasPrefix("m.safetensors: metadata svdmv.sampling is not a sampling recommendation"), "\(error)")
        }
        XCTAssertEqual(GuidanceSchedule.vanilla.guider(minScale: 1, maxScale: 3), .vanilla(scale: 3))
        XCTAssertEqual(GuidanceSchedule.none.guider(minScale: 1, maxScale: 3), .identity)
    }
}
