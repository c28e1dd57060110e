// cameras.json, the one orbit-camera format: every writer's value round-trips through the one
// reader, version-1 files and old generated folders' orbit.json still read, and a bad file names
// its field.

import Cameras
import Foundation
import XCTest

final class OrbitCamerasTests: XCTestCase {
    var folder: URL!

    override func setUpWithError() throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-cameras-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: folder) }

    func orbit(views: Int = 4) -> OrbitCameras {
        OrbitCameras(objectID: "box", width: 64, height: 64, fovDeg: 33.8, views: (0..<views).map { k in
            OrbitCameras.View(index: k, file: String(format: "%03d.png", k),
                              pose: OrbitPose(elevationDegrees: 12.5, azimuthDegrees: 90 * Double(k), distance: 2.5))
        })
    }

    func testEveryOptionalSectionRoundTrips() throws {
        var cameras = orbit()
        cameras.source = "/meshes/box.glb"
        cameras.distance = 2.5; cameras.elevationDeg = 12.5; cameras.azimuthStartDeg = 0
        cameras.samplesPerPixel = 16; cameras.background = "transparent"; cameras.seed = 7
        cameras.triangles = 12; cameras.nonFiniteSamples = 0
        cameras.conventions = ["world": "+Z up"]
        cameras.normalization = .init(scale: 0.5, offset: [0.1, -0.2, 0.3], yUpToZUp: true, rule: "box")
        cameras.lighting = "studio"; cameras.warnings = ["a warning"]
        cameras.depth = .init(file: "NNN-depth.png", encoding: "16-bit", near: 1, far: 4)
        cameras.normals = .init(file: "NNN-normal.png", encoding: "16-bit RGB")
        cameras.backgroundColor = [12, 200, 255]
        cameras.onWhite = .init(file: "NNN-white.png", encoding: "8-bit sRGB RGB over white")
        cameras.generation = .init(checkpoint: "model.safetensors", variant: "sv3d_p", frames: 4, steps: 2, seed: 23,
                                   sampler: "euler", sigmaMax: 700, churn: 0, condAug: 1e-5, startsFromInput: false,
                                   guider: "triangle", inputView: 3, inputFraming: "as given")
        let url = folder.appendingPathComponent(OrbitCameras.fileName)
        try cameras.write(to: url)
        let read = try OrbitCameras.read(url)
        XCTAssertEqual(read, cameras)
        XCTAssertEqual(read.schemaVersion, OrbitCameras.currentVersion)
        XCTAssertEqual(try read.encoded(), try Data(contentsOf: url), "re-encoding a read file gives the same bytes")
    }

    func testTheWrittenFileUsesTheDocumentedKeys() throws {
        let url = folder.appendingPathComponent(OrbitCameras.fileName)
        try orbit().write(to: url)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertEqual(json["format"] as? String, "svdmv-orbit-cameras")
        XCTAssertEqual(json["version"] as? Int, 2)
        for key in ["object_id", "width", "height", "fov_deg", "K", "views"] { XCTAssertNotNil(json[key], key) }
        let view = try XCTUnwrap((json["views"] as? [[String: Any]])?.first)
        for key in ["index", "file", "elevation_deg", "azimuth_deg", "distance", "position",
                    "world_to_camera_opencv", "world_to_camera_opengl"] { XCTAssertNotNil(view[key], key) }
    }

    /// A random-colour background's record: `background_color` and `on_white` under their keys,
    /// absent (and so absent on re-encoding) in files that have none; a colour out of range is
    /// refused.
    func testBackgroundColorRecord() throws {
        let url = folder.appendingPathComponent(OrbitCameras.fileName)
        try orbit().write(to: url)
        let plain = try Data(contentsOf: url)
        XCTAssertFalse(String(decoding: plain, as: UTF8.self).contains("background_color"))
        XCTAssertEqual(try OrbitCameras.read(url).encoded(), plain)
        var cameras = orbit()
        cameras.background = "random-color"
        cameras.backgroundColor = [0, 128, 255]
        cameras.onWhite = .init(file: "NNN-white.png", encoding: "8-bit sRGB RGB over white")
        try cameras.write(to: url)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        XCTAssertEqual(json["background_color"] as? [Int], [0, 128, 255])
        XCTAssertEqual((json["on_white"] as? [String: Any])?["file"] as? String, "NNN-white.png")
        cameras.backgroundColor = [0, 256, 1]
        XCTAssertThrowsError(try OrbitCameras.decode(try cameras.encoded(), path: "bad.json")) { error in
            XCTAssertTrue("\(error)".contains("background_color"), "\(error)")
        }
    }

    /// The renderer's `orbit` section (a dynamic orbit's draws, the recorded sample) round-trips
    /// under its documented keys; a sample that does not tile the views is refused.
    func testOrbitSectionRoundTrips() throws {
        var cameras = orbit(views: 8)
        cameras.orbit = .init(kind: "dynamic", seed: 3, sampleViews: 4, sampleStride: 2, meanElevationDeg: 12.5,
                              elevationTerms: [.init(cycles: 2, amplitudeDeg: 4.5, drawnAmplitudeDeg: 5, phaseDeg: 90),
                                               .init(cycles: 5, amplitudeDeg: 0.25, phaseDeg: 0)],
                              smoothingSigmaOrbits: 1.0 / 42, elevationLimitsDeg: [-10, 40], azimuthNoiseDeg: 2,
                              law: "elevation_deg(k) = ...")
        let url = folder.appendingPathComponent(OrbitCameras.fileName)
        try cameras.write(to: url)
        let read = try OrbitCameras.read(url)
        XCTAssertEqual(read, cameras)
        XCTAssertEqual(try read.encoded(), try Data(contentsOf: url))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        let section = try XCTUnwrap(json["orbit"] as? [String: Any])
        XCTAssertEqual(Set(section.keys), ["kind", "seed", "sample_views", "sample_stride", "mean_elevation_deg", "elevation_terms",
                                           "smoothing_sigma_orbits", "elevation_limits_deg", "azimuth_noise_deg", "law"])
        let term = try XCTUnwrap((section["elevation_terms"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(term.keys), ["cycles", "amplitude_deg", "drawn_amplitude_deg", "phase_deg"])
        // A static orbit's section may be just its kind; files without the section still read.
        cameras.orbit = .init(kind: "static")
        XCTAssertEqual(try OrbitCameras.decode(cameras.encoded(), path: "x").orbit?.kind, "static")
        cameras.orbit = nil
        XCTAssertNil(try OrbitCameras.decode(cameras.encoded(), path: "x").orbit)
        cameras.orbit = .init(kind: "static", sampleViews: 3, sampleStride: 2)
        XCTAssertThrowsError(try OrbitCameras.decode(cameras.encoded(), path: "x")) { error in
            XCTAssertEqual((error as? OrbitCamerasError)?.reason,
                           "orbit.sample_views times orbit.sample_stride must be the number of views (8)")
        }
    }

    func testVersionOneFilesStillRead() throws {
        // As the renderer wrote them before the version field: the version in the format name.
        let text = """
            {"format": "svdmv-orbit-cameras/1", "object_id": "old", "width": 32, "height": 32, "fov_deg": 33.8,
             "K": [[53.2, 0, 16], [0, 53.2, 16], [0, 0, 1]], "distance": 2.0, "lighting": "studio",
             "views": [{"index": 0, "file": "000.png", "elevation_deg": 10, "azimuth_deg": 0, "distance": 2.0,
                        "position": [1.97, 0, 0.35],
                        "world_to_camera_opencv": [[0, 1, 0, 0], [0.17, 0, -0.98, 0], [-0.98, 0, -0.17, 2]],
                        "world_to_camera_opengl": [[0, 1, 0, 0], [-0.17, 0, 0.98, 0], [0.98, 0, 0.17, -2]]}]}
            """
        let cameras = try OrbitCameras.decode(Data(text.utf8), path: "old/cameras.json")
        XCTAssertEqual(cameras.schemaVersion, 1)
        XCTAssertNil(cameras.version)
        XCTAssertEqual(cameras.views.first?.elevationDeg, 10)
        XCTAssertEqual(cameras.lighting, "studio")
    }

    func testBadFilesNameTheirField() throws {
        func reason(_ mutate: (inout [String: Any]) -> Void) throws -> String {
            var json = try XCTUnwrap(try JSONSerialization.jsonObject(with: orbit().encoded()) as? [String: Any])
            mutate(&json)
            let data = try JSONSerialization.data(withJSONObject: json)
            do {
                _ = try OrbitCameras.decode(data, path: "x/cameras.json")
                XCTFail("accepted")
                return ""
            } catch let error as OrbitCamerasError {
                XCTAssertEqual(error.path, "x/cameras.json")
                return error.reason
            }
        }
        XCTAssertEqual(try reason { $0["fov_deg"] = nil }, "missing field fov_deg")
        XCTAssertEqual(try reason { $0["version"] = 3 }, "version 3 is newer than this svdmv reads (up to 2)")
        XCTAssertEqual(try reason { $0["format"] = "other" }, "format other, expected svdmv-orbit-cameras")
        XCTAssertEqual(try reason { $0["K"] = [[1, 0, 0], [0, 1, 0]] }, "K is not 3x3")
        XCTAssertEqual(try reason { json in
            var views = json["views"] as! [[String: Any]]
            views[1]["world_to_camera_opencv"] = [[1, 0, 0, 0]]
            json["views"] = views
        }, "views.1.world_to_camera_opencv is not 3x4")
        XCTAssertEqual(try reason { json in
            var views = json["views"] as! [[String: Any]]
            views[2]["azimuth_deg"] = "east"
            json["views"] = views
        }, "wrong type at views.2.azimuth_deg")
    }

    func testOldGeneratedOrbitRecordsRead() throws {
        let url = folder.appendingPathComponent(GeneratedOrbitRecord.fileName)
        try Data("""
            {"format": "svdmv-generated-orbit", "version": 1, "checkpoint": "m", "steps": 2,
             "elevation_deg": [10, 10, 10], "azimuth_deg": [120, 240, 0], "files": ["000.png", "001.png", "002.png"]}
            """.utf8).write(to: url)
        let record = try GeneratedOrbitRecord.read(url)
        XCTAssertEqual(record.elevationDeg, [10, 10, 10])
        XCTAssertEqual(record.azimuthDeg, [120, 240, 0])
        try Data(#"{"format": "svdmv-generated-orbit", "version": 1, "elevation_deg": [10], "azimuth_deg": [0, 1]}"#.utf8).write(to: url)
        XCTAssertThrowsError(try GeneratedOrbitRecord.read(url)) { error in
            XCTAssertEqual((error as? OrbitCamerasError)?.reason,
                           "elevation_deg and azimuth_deg must be non-empty lists of the same length")
        }
    }

    func testViewsAreOrderedByTheirNumberedFiles() {
        var cameras = orbit()
        cameras.views.reverse()
        XCTAssertEqual(cameras.viewsInFileOrder.map(\.file), ["000.png", "001.png", "002.png", "003.png"])
    }

    /// The geometry every writer shares: the OpenGL extrinsics are the OpenCV ones with y and z
    /// negated, the camera centre -Rᵀt is the orbit position, and the origin lies straight ahead.
    func testOrbitPoseConventions() {
        for (elevation, azimuth) in [(10.0, 0.0), (-5.0, 137.0), (30.0, 300.0)] {
            let pose = OrbitPose(elevationDegrees: elevation, azimuthDegrees: azimuth, distance: 2)
            let cv = pose.worldToCameraOpenCV, gl = pose.worldToCameraOpenGL
            XCTAssertEqual(gl.matrix[0], cv.matrix[0])
            XCTAssertEqual(gl.matrix[1], cv.matrix[1].map { -$0 })
            XCTAssertEqual(gl.matrix[2], cv.matrix[2].map { -$0 })
            let centre = cv.centre, position = pose.position
            for i in 0..<3 { XCTAssertEqual(centre[i], position[i], accuracy: 1e-12) }
            let origin = cv.apply(.zero)
            XCTAssertEqual(origin.x, 0, accuracy: 1e-12)
            XCTAssertEqual(origin.y, 0, accuracy: 1e-12)
            XCTAssertEqual(origin.z, 2, accuracy: 1e-12)
            // Image-up is world +Z: the camera's y axis (down) points below the horizon.
            XCTAssertLessThan(cv.rows[1].z, 0)
        }
        XCTAssertEqual(PinholeIntrinsics.matrix(width: 256, height: 256, fovDegrees: 2 * atan(128.0 / 280) * 180 / .pi)[0][0],
                       280, accuracy: 1e-9)
    }
}
