// Ground truth rendered from GSO-layout meshes (Evaluation.MeshGroundTruth) and the protocol files
// (Evaluation/protocols/*.json). Meshes come from assimp's test corpus (Debian package
// assimp-testmodels, installed by Scripts/setup): box.obj and the textured spider.obj.
// Rendering the generated views with the same renderer at the same cameras must give identical
// ground truth (PSNR = inf, LPIPS = 0), so "the same cameras" is checked exactly.

import Evaluation
import Foundation
import Imaging
import Metrics
import Render
import TestSupport
import XCTest

final class MeshGroundTruthTests: XCTestCase {
    static let protocolsFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Evaluation/protocols").standardizedFileURL
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-meshgt-\(UUID())")
        try MeshCorpus.writeGSOLayout(at: root.appendingPathComponent("gso"))
    }

    override func tearDownWithError() throws { if let root { try? FileManager.default.removeItem(at: root) } }

    func testGeneratedCamerasAreUsedAndRendersAreCached() throws {
        let gso = root.appendingPathComponent("gso"), gen = root.appendingPathComponent("gen")
        XCTAssertTrue(MeshGroundTruth.isMeshLayout(gso))
        XCTAssertEqual(MeshGroundTruth.objects(in: gso), ["box", "spider"])
        // Generated views: the renderer's own orbit (3 views at 12 degrees, 48 px) with cameras.json.
        for object in ["box", "spider"] {
            var options = RenderOptions()
            (options.views, options.size, options.elevation, options.azimuthStart) = (3, 48, .fixed(12), 40)
            options.background = .white
            try RenderJob(input: MeshGroundTruth.meshFile(root: gso, object: object), objectID: object,
                          outputFolder: gen.appendingPathComponent(object), options: options).run()
        }
        let evaluator = FolderEvaluator(options: EvaluationOptions(lpipsNet: .alex), lpips: randomLPIPS(.alex, seed: 3))
        let cache = root.appendingPathComponent("cache")
        var lines: [String] = []
        let report = try evaluator.evaluate(generated: gen, groundTruth: gso, renderCache: cache, progress: { lines.append($0) })
        XCTAssertEqual(report.groundTruthRenders, cache.path)
        XCTAssertEqual(report.objects.map { $0.views.count }, [3, 3])
        XCTAssertEqual(report.overall.psnr, .infinity, "same renderer, same cameras: identical views")
        XCTAssertEqual(report.overall.lpips, 0)
        XCTAssertTrue(lines.contains { $0.contains("box: ground truth rendered") && $0.contains("cameras.json") }, "\(lines)")
        let first = try PNG.read(cache.appendingPathComponent("spider/000.png"))
        XCTAssertEqual([first.width, first.height, first.channels], [48, 48, 3], "white background, RGB")

        // A second run reuses the cache and scores only the mesh folder's objects, not a stale
        // object left in the cache by an earlier run.
        try FileManager.default.createDirectory(at: cache.appendingPathComponent("stale"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: cache.appendingPathComponent("box/000.png"),
                                         to: cache.appendingPathComponent("stale/000.png"))
        lines = []
        let rerun = try evaluator.evaluate(generated: gen, groundTruth: gso, renderCache: cache, progress: { lines.append($0) })
        XCTAssertEqual(lines.filter { $0.contains("reused from cache") }.count, 2, "\(lines)")
        XCTAssertEqual(rerun.objects.map(\.name), ["box", "spider"])
        try FileManager.default.removeItem(at: cache.appendingPathComponent("stale"))
        let protocolFile = try EvaluationProtocol.named("test-corpus", in: [Self.protocolsFolder])
        for object in ["box", "spider"] {
            try FileManager.default.removeItem(at: gen.appendingPathComponent("\(object)/cameras.json"))
        }
        lines = []
        XCTAssertThrowsError(try evaluator.evaluate(generated: gen, groundTruth: gso, renderCache: cache)) { error in
            XCTAssertEqual(error as? EvaluationError, .noCameras(path: gen.appendingPathComponent("box").path))
        }
        // With the protocol (4 views at 64 px) the 48 px, 3-view generated folders are incomplete.
        XCTAssertThrowsError(try evaluator.evaluate(generated: gen, groundTruth: gso, protocol: protocolFile,
                                                    renderCache: cache)) { error in
            guard case .missingView(let path, _)? = error as? EvaluationError else { return XCTFail("\(error)") }
            XCTAssertEqual(path, gen.appendingPathComponent("box/003.png").path)
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: cache.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(leftovers, [], "no partial render folders")
    }

    /// A hand-written cameras.json (angles, distances, size and fov only; no K, extrinsics or
    /// view indices) reads: views are ordered by file name, distances per view.
    func testCamerasOfGeneratedOrbitsAreReadByFileName() throws {
        let folder = root.appendingPathComponent("generated-object")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let views: [[String: Any]] = [("002.png", 10.0, 40.0, 2.5), ("000.png", 12.0, 0.0, 2.0), ("001.png", 11.0, 20.0, 2.0)]
            .map { ["file": $0.0, "elevation_deg": $0.1, "azimuth_deg": $0.2, "distance": $0.3] }
        let json: [String: Any] = ["format": "svdmv-orbit-cameras/1", "object_id": "x", "width": 96, "height": 96,
                                   "fov_deg": 30.0, "views": views]
        try JSONSerialization.data(withJSONObject: json).write(to: folder.appendingPathComponent("cameras.json"))
        let cameras = try XCTUnwrap(try ViewCameras.stored(in: folder, fallback: nil))
        XCTAssertEqual(cameras.elevationsDegrees, [12, 11, 10])
        XCTAssertEqual(cameras.azimuthsDegrees, [0, 20, 40])
        XCTAssertEqual(cameras.distances, [2, 2, 2.5])
        XCTAssertEqual([cameras.size, Int(cameras.fovDegrees)], [96, 30])
        var broken = json
        broken["views"] = [["file": "000.png", "elevation_deg": "high", "azimuth_deg": 0, "distance": 2]]
        try JSONSerialization.data(withJSONObject: broken).write(to: folder.appendingPathComponent("cameras.json"))
        XCTAssertThrowsError(try ViewCameras.stored(in: folder, fallback: nil)) { error in
            XCTAssertEqual(error as? EvaluationError, .badCameras(path: folder.appendingPathComponent("cameras.json").path,
                                                                  reason: "wrong type at views.0.elevation_deg"))
        }
    }

    /// Generated folders from before cameras.json carried the sampling record hold orbit.json
    /// (angles only): its views read, with fov, distance and size from the protocol.
    func testOldGeneratedOrbitJSONStillReads() throws {
        let folder = root.appendingPathComponent("old-generated-object")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("""
            {"format": "svdmv-generated-orbit", "version": 1, "checkpoint": "bundled default model",
             "elevation_deg": [12, 12, 12], "azimuth_deg": [120, 240, 0], "files": ["000.png", "001.png", "002.png"]}
            """.utf8).write(to: folder.appendingPathComponent("orbit.json"))
        let svd = try EvaluationProtocol.named("svd-mv-gso", in: [Self.protocolsFolder])
        let cameras = try XCTUnwrap(try ViewCameras.stored(in: folder, fallback: svd))
        XCTAssertEqual(cameras.elevationsDegrees, [12, 12, 12])
        XCTAssertEqual(cameras.azimuthsDegrees, [120, 240, 0])
        XCTAssertEqual(cameras.fovDegrees, svd.fovDegrees)
        XCTAssertEqual(cameras.size, svd.resolution)
        XCTAssertEqual(cameras.distance, svd.distance)
        XCTAssertEqual(cameras.source, folder.appendingPathComponent("orbit.json").path)
    }

    /// The protocols ship with the program: found beside the running executable without
    /// $SVDMV_PROTOCOLS_DIR or a checkout above the working folder.
    func testProtocolsAreBundledWithTheProgram() throws {
        let bundled = try XCTUnwrap(EvaluationProtocol.bundledFolder, "no SVDMV_Evaluation.resources/Protocols beside the executable")
        XCTAssertEqual(EvaluationProtocol.knownNames(in: [bundled]), EvaluationProtocol.knownNames(in: [Self.protocolsFolder]))
        XCTAssertEqual(try EvaluationProtocol.named("svd-mv-gso", in: [bundled]).views, 21)
    }

    func testRepositoryProtocolsLoadWithTheirSettings() throws {
        let folders = [Self.protocolsFolder]
        XCTAssertEqual(EvaluationProtocol.knownNames(in: folders), ["real-objects", "svd-mv-gso", "syncdreamer-gso", "test-corpus"])
        let svd = try EvaluationProtocol.named("svd-mv-gso", in: folders)
        XCTAssertEqual([svd.views, svd.resolution, svd.inputView], [21, 576, 20])
        XCTAssertEqual(svd.elevationRangeDegrees, [-5, 30])
        XCTAssertEqual(svd.fovDegrees, 33.8)
        // View 20 (the input) sits at azimuth 0, as SV3D's default orbit.
        let orbit = ViewCameras(protocol: svd, object: "alarm")
        XCTAssertEqual(orbit.azimuthsDegrees[20], 0, accuracy: 1e-9)
        XCTAssertEqual(orbit.azimuthsDegrees[0], 360.0 / 21, accuracy: 1e-9)
        XCTAssertTrue((-5...30).contains(orbit.elevationsDegrees[0]))
        let sync = try EvaluationProtocol.named("syncdreamer-gso", in: folders)
        XCTAssertEqual([sync.views, sync.resolution, sync.inputView], [16, 256, 0])
        XCTAssertEqual(sync.elevationDegrees, 30)
        XCTAssertEqual(sync.excludedViews, [], "SyncDreamer scores the input view")
        XCTAssertEqual(sync.lpips, .vgg)
        let small = try EvaluationProtocol.named("test-corpus", in: folders)
        XCTAssertEqual(small.objects, ["box", "spider"])
        XCTAssertEqual(small.excludedViews, [0])
    }

    func testUnknownAndBadProtocolsAreClearErrors() throws {
        let folders = [Self.protocolsFolder]
        XCTAssertThrowsError(try EvaluationProtocol.named("gso-2025", in: folders)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("unknown protocol \"gso-2025\"") && text.contains("svd-mv-gso, syncdreamer-gso, test-corpus"), text)
        }
        let bad = root.appendingPathComponent("bad.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.protocolsFolder.appendingPathComponent("test-corpus.json"))) as! [String: Any]
        json["views"] = nil
        try JSONSerialization.data(withJSONObject: json).write(to: bad)
        XCTAssertThrowsError(try EvaluationProtocol.named(bad.path)) { error in
            XCTAssertEqual(error as? EvaluationError, .badProtocol(path: bad.path, reason: "missing key views"))
        }
        json["views"] = 4
        json["input_view"] = 9
        try JSONSerialization.data(withJSONObject: json).write(to: bad)
        XCTAssertThrowsError(try EvaluationProtocol.named(bad.path)) { error in
            XCTAssertEqual(error as? EvaluationError, .badProtocol(path: bad.path, reason: "input_view 9 is not in 0..<4"))
        }
    }
}
