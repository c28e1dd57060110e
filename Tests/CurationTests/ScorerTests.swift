// The two scorers on folders written here: a hand-made orbit (PNG views of a bar that turns edge-on,
// cameras.json with warnings and triangles), its failures (manifest error, missing view, corrupt
// PNG), and an MVImgNet-layout capture (COLMAP binary model of a known circular trajectory, JPEG
// frames of a moving texture) whose trajectory, registration and image scores are known.

import Cameras
@testable import Curation
import Foundation
import Imaging
import MultiViewData
import XCTest

func temporaryFolder(_ name: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("curation-\(name)-\(UUID())")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Writes an orbit folder: views 000.png ... and a cameras.json at elevation 10.
func writeOrbit(_ folder: URL, id: String, views: [Image8], triangles: Int? = 12, warnings: [String] = []) throws {
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    var cameraViews: [OrbitCameras.View] = []
    for (k, image) in views.enumerated() {
        let file = String(format: "%03d.png", k)
        try PNG.write(image, to: folder.appendingPathComponent(file))
        cameraViews.append(OrbitCameras.View(index: k, file: file, pose: OrbitPose(
            elevationDegrees: 10, azimuthDegrees: 360 * Double(k) / Double(views.count), distance: 2)))
    }
    var cameras = OrbitCameras(objectID: id, width: views[0].width, height: views[0].height, fovDeg: 33.8, views: cameraViews)
    cameras.triangles = triangles
    cameras.warnings = warnings
    try cameras.write(to: folder.appendingPathComponent(OrbitCameras.fileName))
}

final class ScorerTests: XCTestCase {
    /// Four views of a bar 8 px high whose width goes 16, 12, 8, 2 (a flat card turning edge-on).
    func barViews(size: Int = 24) -> [Image8] {
        [16, 12, 8, 2].map { w in
            rgbaImage(width: size, height: size, colour: (30, 160, 60)) { x, y in
                (size / 2 - w / 2..<size / 2 - w / 2 + w).contains(x) && (8..<16).contains(y)
            }
        }
    }

    func testOrbitScoresOfAKnownObject() throws {
        let root = try temporaryFolder("orbit")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("card")
        try writeOrbit(folder, id: "card", views: barViews(), triangles: 2, warnings: ["1 line dropped"])
        let r = OrbitScorer().score(folder: folder, id: "card", manifestStatus: "ok")
        XCTAssertNil(r.error)
        XCTAssertEqual(r.scores[ScoreName.renderFailed], 0)
        XCTAssertEqual(r.scores[ScoreName.renderWarnings], 1)
        XCTAssertEqual(r.scores[ScoreName.triangles], 2)
        XCTAssertEqual(r.scores[ScoreName.views], 4)
        XCTAssertEqual(r.scores[ScoreName.coverageMin]!, 16.0 / 576, accuracy: 1e-12)
        XCTAssertEqual(r.scores[ScoreName.coverageMax]!, 128.0 / 576, accuracy: 1e-12)
        XCTAssertEqual(r.scores[ScoreName.silhouetteAreaRatio]!, 16.0 / 128, accuracy: 1e-12)
        XCTAssertEqual(r.scores[ScoreName.silhouetteAspectMin]!, 2.0 / 8, accuracy: 1e-12)   // the 2x8 bar
        XCTAssertEqual(r.scores[ScoreName.clippedViewShare], 0)
        XCTAssertEqual(r.scores[ScoreName.colourStd], 0)
        XCTAssertEqual(r.scores[ScoreName.hueBins], 1)
        XCTAssertEqual(r.scores[ScoreName.translucentShare], 0)
        XCTAssertNil(r.scores[ScoreName.backFacingShare])
        XCTAssertEqual(r.absent[ScoreName.backFacingShare], "the renderer does not record back-facing faces")
        XCTAssertNil(r.scores[ScoreName.nonFiniteSamples])
        XCTAssertEqual(r.phash, PerceptualHash(GreyImage(barViews()[0].rgb())).description)
        // The record is one line of JSON that reads back.
        let line = try r.jsonLine()
        XCTAssertFalse(line.contains("\n"))
        XCTAssertEqual(try JSONDecoder().decode(ScoreRecord.self, from: Data(line.utf8)), r)
    }

    /// Views over a recorded background colour (the renderer's random-color background, no
    /// alpha): the mask is what differs from that colour; `view_stride` scores every other view.
    func testOrbitOverARecordedBackgroundColourAndViewStride() throws {
        let root = try temporaryFolder("orbit-colour")
        defer { try? FileManager.default.removeItem(at: root) }
        let views = barViews().map { view -> Image8 in
            var rgb = Image8(width: view.width, height: view.height, channels: 3)
            for i in 0..<(view.width * view.height) {
                let covered = view.pixels[i * 4 + 3] > 0
                rgb.pixels[i * 3] = covered ? 30 : 10; rgb.pixels[i * 3 + 1] = covered ? 160 : 120; rgb.pixels[i * 3 + 2] = covered ? 60 : 240
            }
            return rgb
        }
        let folder = root.appendingPathComponent("card")
        try writeOrbit(folder, id: "card", views: views)
        var cameras = try OrbitCameras.read(folder.appendingPathComponent(OrbitCameras.fileName))
        cameras.backgroundColor = [10, 120, 240]
        try cameras.write(to: folder.appendingPathComponent(OrbitCameras.fileName))
        let all = OrbitScorer().score(folder: folder, id: "card")
        XCTAssertEqual(all.scores[ScoreName.coverageMin]!, 16.0 / 576, accuracy: 1e-12)
        XCTAssertEqual(all.scores[ScoreName.coverageMax]!, 128.0 / 576, accuracy: 1e-12)
        XCTAssertEqual(all.scores[ScoreName.hueBins], 1)
        var scorer = OrbitScorer()
        scorer.viewStride = 2                                   // views 0 and 2: widths 16 and 8
        let strided = scorer.score(folder: folder, id: "card")
        XCTAssertEqual(strided.scores[ScoreName.coverageMin]!, 64.0 / 576, accuracy: 1e-12)
        XCTAssertEqual(strided.scores[ScoreName.views], 4)
    }

    func testOrbitFailuresBecomeErrorsNotCrashes() throws {
        let root = try temporaryFolder("orbit-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        // The manifest says the render failed.
        let failed = OrbitScorer().score(folder: root.appendingPathComponent("gone"), id: "gone", manifestStatus: "error: cannot import")
        XCTAssertEqual(failed.scores[ScoreName.renderFailed], 1)
        XCTAssertEqual(failed.error, "render failed (error: cannot import)")
        // A view listed in cameras.json is missing.
        let missing = root.appendingPathComponent("missing")
        try writeOrbit(missing, id: "missing", views: barViews())
        try FileManager.default.removeItem(at: missing.appendingPathComponent("002.png"))
        let m = OrbitScorer().score(folder: missing, id: "missing")
        XCTAssertEqual(m.error, "\(missing.path)/002.png: view listed in cameras.json is missing")
        XCTAssertEqual(m.scores[ScoreName.renderFailed], 0)
        // A corrupt view names the file.
        let corrupt = root.appendingPathComponent("corrupt")
        try writeOrbit(corrupt, id: "corrupt", views: barViews())
        try Data("not a png".utf8).write(to: corrupt.appendingPathComponent("001.png"))
        let c = OrbitScorer().score(folder: corrupt, id: "corrupt")
        XCTAssertTrue(c.error?.contains("\(corrupt.path)/001.png") == true, c.error ?? "no error")
        // No cameras.json: a render cut short.
        let partial = root.appendingPathComponent("partial")
        try FileManager.default.createDirectory(at: partial, withIntermediateDirectories: true)
        XCTAssertEqual(OrbitScorer().score(folder: partial, id: "partial").scores[ScoreName.renderFailed], 1)
    }

    /// A capture on a circle of radius 2 at elevation 20°, sweeping 180° in 24 frames, level
    /// cameras, in a rotated and scaled COLMAP world; frames are a texture sliding 2 px per frame.
    /// From frame `jumpAt` on, the cameras are 5 steps further round and the pictures brighter and
    /// flatter (another scene: a cut).
    static func writeCapture(root: URL, name: String = "7/capture", frames: Int = 24, unregistered: Int = 0,
                             jumpAt: Int? = nil) throws -> MVImgNetCapture {
        let q = Mat3.rotation(axis: Vec3(0.3, -0.5, 0.8) / (0.09 + 0.25 + 0.64).squareRoot(), angle: 0.7)
        var points: [COLMAPPoint3D] = []
        for i in 0..<20 {
            let offset: Vec3 = Vec3(Double(i % 3), Double(i % 5), Double(i % 7)) * 0.1
            let error: Double = 0.5 + Double(i % 2)
            points.append(COLMAPPoint3D(id: UInt64(i + 1), xyz: Vec3(1, 2, 3) + offset, rgb: [0, 0, 0], error: error))
        }
        let camera = COLMAPCamera(id: 1, model: .pinhole, width: 96, height: 64, params: [80, 80, 48, 32])
        return try MVImgNetCapture.write(root: root, name: name, frameCount: frames, quality: 98, camera: camera,
                                         points: points) { k in
            let jumped = jumpAt.map { k >= $0 } ?? false
            let grey = texture(width: 96, height: 64, seed: 9, shiftX: 2 * k)
            let rgb = Image8(width: 96, height: 64, channels: 3, pixels: grey.values.flatMap { v -> [UInt8] in
                let b = UInt8(max(0, min(255, (jumped ? 180 + v * 0.25 : v).rounded())))
                return [b, b, b]
            })
            guard k < frames - unregistered else { return MVImgNetCapture.SyntheticFrame(image: rgb, pose: nil) }
            let az = Double(k + (jumped ? 5 : 0)) / Double(frames - 1) * .pi, el = 20 * Double.pi / 180
            let c = Vec3(2 * cos(el) * cos(az), 2 * cos(el) * sin(az), 2 * sin(el))
            let pose = RigidPose(lookingFrom: c, at: Vec3(0, 0, 0), up: Vec3(0, 0, 1)).inWorld(scale: 3, rotation: q, shift: Vec3(1, 2, 3))
            return MVImgNetCapture.SyntheticFrame(image: rgb, pose: pose)
        }
    }

    func testCaptureScoresOfAKnownTrajectory() throws {
        let root = try temporaryFolder("capture")
        defer { try? FileManager.default.removeItem(at: root) }
        let capture = try Self.writeCapture(root: root, unregistered: 4)
        var settings = CaptureScoreSettings()
        settings.sharpnessSize = 64
        let r = CaptureScorer(settings: settings).score(capture)
        XCTAssertNil(r.error)
        XCTAssertEqual(r.scores[ScoreName.frames], 24)
        XCTAssertEqual(r.scores[ScoreName.registeredFrames], 20)
        XCTAssertEqual(r.scores[ScoreName.registeredShare]!, 20.0 / 24, accuracy: 1e-12)
        XCTAssertEqual(r.scores[ScoreName.reprojectionError]!, 1.0, accuracy: 1e-12)   // errors 0.5 and 1.5, ten each
        XCTAssertEqual(r.scores[ScoreName.points3D], 20)
        // 20 registered frames of 24 on the half circle: 19 steps of 180/23 degrees.
        XCTAssertEqual(r.scores[ScoreName.azimuthSpanDeg]!, 19 * 180.0 / 23, accuracy: 0.5)
        XCTAssertEqual(r.scores[ScoreName.elevationRangeDeg]!, 0, accuracy: 0.5)
        XCTAssertEqual(r.scores[ScoreName.cameraStepJump]!, 1, accuracy: 1e-6)
        XCTAssertEqual(r.scores[ScoreName.upResidual]!, 0, accuracy: 1e-9)
        // 2 px per frame at 96x64 is 2 px at the 64-pixel analysis size (the shorter side is 64).
        XCTAssertEqual(r.scores[ScoreName.motion]!, 2, accuracy: 0.35)
        XCTAssertEqual(r.scores[ScoreName.cuts], 0)
        XCTAssertGreaterThan(r.scores[ScoreName.sharpnessP10]!, 0)
    }

    func testCaptureJumpsAndUnreadableFiles() throws {
        let root = try temporaryFolder("capture-bad")
        defer { try? FileManager.default.removeItem(at: root) }
        // A jump at frame 12: the poses step 6 times the usual step, the pictures cut.
        let capture = try Self.writeCapture(root: root, jumpAt: 12)
        let r = CaptureScorer().score(capture)
        XCTAssertNil(r.error)
        XCTAssertEqual(r.scores[ScoreName.cameraStepJump]!, sin(6 * .pi / 46) / sin(.pi / 46), accuracy: 1e-6)   // chords of 6 and 1 steps
        XCTAssertEqual(r.scores[ScoreName.cuts], 1)
        // A corrupt frame drops the capture, naming the file.
        try Data("garbage".utf8).write(to: capture.imagesDirectory.appendingPathComponent("005.jpg"))
        let corrupt = CaptureScorer().score(capture)
        XCTAssertTrue(corrupt.error?.contains("005.jpg") == true, corrupt.error ?? "no error")
        // An unreadable COLMAP model: the image scores remain, the pose scores are absent.
        let fresh = try Self.writeCapture(root: try temporaryFolder("capture-colmap"))
        defer { try? FileManager.default.removeItem(at: fresh.directory.deletingLastPathComponent().deletingLastPathComponent()) }
        try Data([1, 2, 3]).write(to: fresh.sparseDirectory.appendingPathComponent("images.bin"))
        let broken = CaptureScorer().score(fresh)
        XCTAssertTrue(broken.error?.contains("images.bin") == true, broken.error ?? "no error")
        XCTAssertNotNil(broken.scores[ScoreName.motion])
        XCTAssertEqual(broken.absent[ScoreName.azimuthSpanDeg], "COLMAP model unreadable")
    }
}
