import Foundation
import Imaging
@testable import MultiViewData
import TestSupport
import XCTest

final class MVImgNetTests: XCTestCase {
    struct Truth: Decodable {
        struct Frame: Decodable { var elevation_deg: Double; var azimuth_deg: Double; var distance: Double }
        var frames: [Frame]; var centre: [Double]; var up: [Double]; var scale: Double; var names: [String]
    }

    func truth() throws -> Truth {
        try JSONDecoder().decode(Truth.self, from: Data(contentsOf: Fixtures.root.appendingPathComponent("capture0_truth.json")))
    }

    func testDiscoverFindsCaptures() throws {
        let captures = try MVImgNetCapture.discover(root: Fixtures.root.appendingPathComponent("mvimgnet"))
        XCTAssertEqual(captures.map(\.id), ["7/capture0"])
    }

    func testEvenlySpacedPicksSpanTheArc() {
        XCTAssertEqual(evenlySpaced(arc: (0..<84).map(Double.init), count: 21).first, 0)
        XCTAssertEqual(evenlySpaced(arc: (0..<84).map(Double.init), count: 21).last, 83)
        XCTAssertEqual(evenlySpaced(arc: (0..<21).map(Double.init), count: 21), Array(0..<21))
        // Slow start (many frames close together) then fast: picks follow distance, not index.
        let arc = (0..<10).map { Double($0) * 0.01 } + (1...20).map { 0.1 + Double($0) }
        let picks = evenlySpaced(arc: arc, count: 5)
        XCTAssertEqual(picks.first, 0)
        XCTAssertEqual(picks.count, Set(picks).count)
        XCTAssertEqual(picks.last, 29)
        XCTAssertTrue(picks.dropFirst().allSatisfy { $0 >= 10 }, "\(picks)")
    }

    func testPlanRecoversElevationAndAzimuthWithinOneDegree() throws {
        let capture = MVImgNetCapture(directory: Fixtures.capture)
        let plan = try MVImgNetLoader().plan(capture)
        let truth = try truth()
        XCTAssertEqual(plan.frames.count, 21)
        let reference = truth.names.firstIndex(of: plan.frames.last!.name)!
        var worstElevation = 0.0, worstAzimuth = 0.0
        defer { print("fixture capture: max elevation error \(worstElevation) deg, max azimuth error \(worstAzimuth) deg") }
        for frame in plan.frames {
            let i = truth.names.firstIndex(of: frame.name)!
            XCTAssertEqual(frame.elevation, truth.frames[i].elevation_deg, accuracy: 1.0, frame.name)
            var expected = (truth.frames[i].azimuth_deg - truth.frames[reference].azimuth_deg).truncatingRemainder(dividingBy: 360)
            if expected < 0 { expected += 360 }
            XCTAssertLessThan(angleDifference(frame.azimuth, expected), 1.0, frame.name)
            worstElevation = max(worstElevation, abs(frame.elevation - truth.frames[i].elevation_deg))
            worstAzimuth = max(worstAzimuth, angleDifference(frame.azimuth, expected))
            XCTAssertEqual(frame.distance / truth.scale, truth.frames[i].distance, accuracy: 0.05, frame.name)
        }
        let up = Vec3(truth.up[0], truth.up[1], truth.up[2])
        XCTAssertGreaterThan(dot(plan.geometry.up, up), cos(1.0 * .pi / 180))
        // Frames are in capture order and span it: first and last registered frames are used.
        XCTAssertEqual(plan.frames.first?.name, "001.jpg")
        XCTAssertEqual(plan.frames.last?.name, "024.jpg")
    }

    /// Projects the true object centre with a sample's cameras; it must land near the frame middle.
    private func assertCentred(_ sequence: TrainingSequence, tolerance: Double, file: StaticString = #filePath, line: UInt = #line) throws {
        let t = try truth()
        let centre = Vec3(t.centre[0], t.centre[1], t.centre[2])
        for camera in sequence.metadata.cameras {
            let m = camera.worldToCamera, k = camera.K
            let c = Vec3(m[0][0] * centre.x + m[0][1] * centre.y + m[0][2] * centre.z + m[0][3],
                         m[1][0] * centre.x + m[1][1] * centre.y + m[1][2] * centre.z + m[1][3],
                         m[2][0] * centre.x + m[2][1] * centre.y + m[2][2] * centre.z + m[2][3])
            let x = k[0][0] * c.x / c.z + k[0][2], y = k[1][1] * c.y / c.z + k[1][2]
            let size = Double(sequence.metadata.width)
            XCTAssertEqual(x / size, 0.5, accuracy: tolerance, file: file, line: line)
            XCTAssertEqual(y / size, 0.5, accuracy: tolerance, file: file, line: line)
        }
    }

    func testLoadWithMasksCropsAroundTheObject() throws {
        var options = MVImgNetOptions()
        options.size = 64
        options.masksRoot = Fixtures.root.appendingPathComponent("masks")
        let sequence = try MVImgNetLoader(options: options).load(MVImgNetCapture(directory: Fixtures.capture))
        XCTAssertEqual(sequence.frames.shape, [21, 3, 64, 64])
        XCTAssertEqual(sequence.metadata.conditioningIndex, 20)
        XCTAssertEqual(sequence.metadata.azimuthsDeg.last, 0)
        XCTAssertEqual(sequence.conditioning.shape, [3, 64, 64])
        XCTAssertEqual(sequence.conditioning.scalars, Array(sequence.frames.scalars.suffix(3 * 64 * 64)))
        let values = sequence.frames.scalars
        XCTAssertGreaterThanOrEqual(values.min()!, -1)
        XCTAssertLessThanOrEqual(values.max()!, 1)
        try assertCentred(sequence, tolerance: 0.12)
    }

    func testLoadWithoutMasksUsesProjectedPoints() throws {
        var options = MVImgNetOptions()
        options.size = 64
        let sequence = try MVImgNetLoader(options: options).load(MVImgNetCapture(directory: Fixtures.capture))
        try assertCentred(sequence, tolerance: 0.12)
    }

    func testScaledDecodingMatchesFullDecode() throws {
        var options = MVImgNetOptions()
        options.size = 24   // under half the ~60 px crop: decodes at 1/2 scale
        XCTAssertEqual(ScaledJPEG.factor(atLeast: 24.0 / 60), 4)
        options.masksRoot = Fixtures.root.appendingPathComponent("masks")
        let capture = MVImgNetCapture(directory: Fixtures.capture)
        let scaled = try MVImgNetLoader(options: options).load(capture)
        options.scaledDecoding = false
        let full = try MVImgNetLoader(options: options).load(capture)
        XCTAssertEqual(scaled.metadata, full.metadata)
        let a = scaled.frames.scalars, b = full.frames.scalars
        var mse = 0.0
        for i in 0..<a.count { let d = Double(a[i] - b[i]) / 2; mse += d * d }
        let psnr = 10 * log10(1 / (mse / Double(a.count)))
        XCTAssertGreaterThan(psnr, 28, "scaled vs full decode PSNR \(psnr) dB")
    }

    func testRegionDecodingMatchesFullDecodeAtFullScale() throws {
        // Crop ~60 px to 64: full scale, so only the region logic differs from decode-then-crop.
        var options = MVImgNetOptions()
        options.size = 64
        let capture = MVImgNetCapture(directory: Fixtures.capture)
        let region = try MVImgNetLoader(options: options).load(capture)
        options.scaledDecoding = false
        let full = try MVImgNetLoader(options: options).load(capture)
        // With a margin around the region, libjpeg's output inside the crop is bit-identical.
        XCTAssertEqual(region.frames.scalars, full.frames.scalars)
        XCTAssertEqual(region.metadata, full.metadata)
    }

    /// A JPEG whose stored pixels are `display` turned 90° counter-clockwise, with EXIF
    /// orientation 6 ("rotate 90° clockwise to display"), as phones write portrait frames.
    func rotatedWithExif(_ display: Image8) throws -> Data {
        let stored = display.oriented(8)
        XCTAssertEqual(stored.oriented(6), display)
        var jpeg = [UInt8](try JPEG.encode(stored, quality: 98))
        let app1: [UInt8] = [0xFF, 0xE1, 0x00, 34] + Array("Exif\0\0".utf8) + [0x49, 0x49, 0x2A, 0x00, 8, 0, 0, 0, 1, 0,
                             0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0]
        jpeg.insert(contentsOf: app1, at: 2)
        return Data(jpeg)
    }

    func testExifRotatedFramesGiveTheSameSequence() throws {
        // Copy the capture, store every frame sideways with an EXIF rotation: same sequence.
        let root = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: root) }
        let copy = root.appendingPathComponent("7/capture0")
        try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Fixtures.capture, to: copy)
        let images = copy.appendingPathComponent("images")
        for name in try FileManager.default.contentsOfDirectory(atPath: images.path) {
            let url = images.appendingPathComponent(name)
            let data = try rotatedWithExif(try JPEG.read(url))
            XCTAssertEqual(JPEG.exifOrientation(data), 6)
            try data.write(to: url)
        }
        var options = MVImgNetOptions()
        options.size = 48
        let original = try MVImgNetLoader(options: options).load(MVImgNetCapture(directory: Fixtures.capture))
        let rotated = try MVImgNetLoader(options: options).load(MVImgNetCapture(directory: copy))
        XCTAssertEqual(rotated.metadata.elevationsDeg, original.metadata.elevationsDeg)
        let a = rotated.frames.scalars, b = original.frames.scalars
        var mse = 0.0
        for i in 0..<a.count { let d = Double(a[i] - b[i]) / 2; mse += d * d }
        let psnr = 10 * log10(1 / (mse / Double(a.count)))
        XCTAssertGreaterThan(psnr, 30, "EXIF-rotated vs original PSNR \(psnr) dB")
    }

    func testTooFewFramesIsAnError() throws {
        var options = MVImgNetOptions()
        options.frameCount = 30
        XCTAssertThrowsError(try MVImgNetLoader(options: options).plan(MVImgNetCapture(directory: Fixtures.capture))) { error in
            XCTAssertEqual(error as? SequenceError, .notEnoughFrames(Fixtures.capture.path, have: 24, need: 30))
        }
    }

    func testCropAndResizeAveragesAndPads() {
        // A 4x4 checkerboard reduced to 1x1 averages to the mean; a box half outside pads with fill.
        var image = Image8(width: 4, height: 4, channels: 3)
        for y in 0..<4 { for x in 0..<4 { for c in 0..<3 { image[x, y, c] = (x + y) % 2 == 0 ? 200 : 0 } } }
        let mean = cropAndResize(image, box: CropBox(x: 0, y: 0, width: 4, height: 4), width: 1, height: 1)
        XCTAssertEqual(mean.pixels, [100, 100, 100])
        let padded = cropAndResize(image, box: CropBox(x: 4, y: 0, width: 4, height: 4), width: 2, height: 2,
                                   fill: (10, 20, 30))
        XCTAssertEqual(Array(padded.pixels.suffix(3)), [10, 20, 30])
        let same = cropAndResize(image, box: CropBox(x: 0, y: 0, width: 4, height: 4), width: 4, height: 4)
        XCTAssertEqual(same, image)
    }

    func testCameraEmbeddingMatchesSgmReference() throws {
        struct Reference: Decodable {
            var elevations_deg: [Double]; var polar_rad: [Float]; var polar_512: [Float]; var polar_256: [Float]
            var azimuths_deg: [Double]; var azimuth_rad: [Float]; var azimuth_512: [Float]
        }
        let r = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Fixtures.root.appendingPathComponent("embedding.json")))
        XCTAssertEqual(r.elevations_deg.map(TrainingSequence.polarRadians), r.polar_rad)
        let n = r.elevations_deg.count
        let metadata = SequenceMetadata(source: .renders, objectID: "x", width: 1, height: 1, conditioningIndex: n - 1,
                                        elevationsDeg: r.elevations_deg, azimuthsDeg: r.azimuths_deg,
                                        distances: Array(repeating: 1, count: n),
                                        cameras: Array(repeating: FrameCamera(K: [], worldToCamera: []), count: n),
                                        frameNames: Array(repeating: "", count: n))
        let sequence = TrainingSequence(metadata: metadata, frames: .init(shape: [n, 3, 1, 1], repeating: 0))
        assertClose(sequence.polarEmbedding(dim: 512).scalars, r.polar_512, rtol: 1e-5, atol: 2e-6, "polar 512")
        assertClose(sequence.polarEmbedding(dim: 256).scalars, r.polar_256, rtol: 1e-5, atol: 2e-6, "polar 256")
        assertClose(sequence.azimuthEmbedding(dim: 512).scalars, r.azimuth_512, rtol: 1e-5, atol: 2e-6, "azimuth 512")
        let both = sequence.cameraEmbedding(dim: 512)
        XCTAssertEqual(both.shape, [n, 1024])
        assertClose(Array(both.scalars[512..<1024]), Array(r.azimuth_512[0..<512]), rtol: 1e-5, atol: 2e-6, "camera embedding azimuth half")
    }
}
