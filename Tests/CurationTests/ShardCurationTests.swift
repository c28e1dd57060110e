// Curating a training-shard set: a render-made sample scores as the same views in a render folder
// (over white), with what only the folder records absent; an MVImgNet-made sample gets its image
// and trajectory scores from its frames and cameras, the COLMAP scores absent; detection of shard
// sets and their source, and a set mixing sources refused naming a key of each; and `svdmv curate`
// on a folder of shards, one of them cut short, then `svdmv dataset renders --only kept.txt`
// rebuilding exactly the kept samples.

@testable import Curation
import Foundation
import Imaging
import MultiViewData
import TestSupport
import XCTest

/// A shard sample of `frames` made from `source`: cameras at `poses` (default: round the origin at
/// elevation 10), the last frame conditioning.
func shardSequence(_ frames: [Image8], source: SequenceMetadata.Source, poses: [RigidPose]? = nil) -> TrainingSequence {
    let n = frames.count, w = frames[0].width, h = frames[0].height
    let cameras = (poses ?? (0..<n).map { k in
        let az = 2 * Double.pi * Double(k) / Double(n)
        return RigidPose(lookingFrom: Vec3(2 * cos(az), 2 * sin(az), 0.35), at: Vec3(0, 0, 0), up: Vec3(0, 0, 1))
    }).map { FrameCamera(K: [[50, 0, Double(w) / 2], [0, 50, Double(h) / 2], [0, 0, 1]], worldToCamera: $0.matrix3x4) }
    let metadata = SequenceMetadata(source: source, objectID: "object", width: w, height: h, conditioningIndex: n - 1,
                                    elevationsDeg: Array(repeating: 10, count: n),
                                    azimuthsDeg: (0..<n).map { 360 * Double($0) / Double(n) },
                                    distances: Array(repeating: 2, count: n), cameras: cameras,
                                    frameNames: (0..<n).map { String(format: "%03d.png", $0) })
    return TrainingSequence(metadata: metadata, images: frames)
}

/// Writes `samples` into shards `<prefix>-NNNNNN.tar` in `directory`.
func writeShards(_ directory: URL, prefix: String = "shard", maxSamples: Int = 1000,
                 _ samples: [(key: String, sequence: TrainingSequence)]) throws -> [URL] {
    let writer = ShardWriter(directory: directory, prefix: prefix, maxSamples: maxSamples)
    for s in samples { try writer.write(s.sequence, key: s.key) }
    return try writer.finish()
}

final class ShardCurationTests: XCTestCase {
    /// Six views, RGB over white: a green box with a red patch moving right; the last one also
    /// covers the top-left corner (clipped).
    func orbitViews(size: Int = 24) -> [Image8] {
        (0..<6).map { k in
            var image = Image8(width: size, height: size, channels: 3)
            for y in 0..<size {
                for x in 0..<size {
                    var rgb: (UInt8, UInt8, UInt8) = (255, 255, 255)
                    if (4 + k..<12 + k).contains(x) && (6..<18).contains(y) { rgb = (30, 160, 60) }
                    if (6 + k..<9 + k).contains(x) && (8..<11).contains(y) { rgb = (200, 40, 40) }
                    if k == 5 && x < 3 && y < 3 { rgb = (30, 160, 60) }
                    let i = 3 * (y * size + x)
                    image.pixels[i] = rgb.0; image.pixels[i + 1] = rgb.1; image.pixels[i + 2] = rgb.2
                }
            }
            return image
        }
    }

    func testRenderMadeSampleScoresAsTheSameViewsInARenderFolder() throws {
        let work = try temporaryFolder("shard-renders")
        defer { try? FileManager.default.removeItem(at: work) }
        let views = orbitViews()
        let folder = work.appendingPathComponent("renders/card")
        try writeOrbit(folder, id: "card", views: views)
        let shards = try writeShards(work.appendingPathComponent("shards"), [("renders-card", shardSequence(views, source: .renders))])
        let same = [ScoreName.views, ScoreName.coverageMin, ScoreName.coverageMean, ScoreName.coverageMax,
                    ScoreName.clippedViewShare, ScoreName.borderCoverageMax, ScoreName.silhouetteAreaRatio,
                    ScoreName.silhouetteAspectMin, ScoreName.colourStd, ScoreName.hueBins]
        for stride in [1, 2] {
            var configuration = CurationConfiguration.defaultRenders
            configuration.scoring.viewStride = stride
            var scorer = OrbitScorer()
            scorer.viewStride = stride
            let fromFolder = scorer.score(folder: folder, id: "card")
            let records = try CurationRun.scoreShards(shards, source: .renders, configuration: configuration, workers: 1)
            XCTAssertEqual(records.count, 1)
            let r = records[0]
            XCTAssertNil(fromFolder.error)
            XCTAssertNil(r.error)
            XCTAssertEqual(r.id, "renders-card")
            XCTAssertEqual(r.source, .renders)
            XCTAssertEqual(r.path, shards[0].path + "#renders-card")
            for name in same {
                XCTAssertNotNil(r.scores[name], name)
                XCTAssertEqual(r.scores[name], fromFolder.scores[name], "\(name) at view stride \(stride)")
            }
            XCTAssertEqual(r.phash, fromFolder.phash)
            XCTAssertNotNil(r.phash)
            XCTAssertEqual(r.scores[ScoreName.renderFailed], 0)
            for name in [ScoreName.renderWarnings, ScoreName.nonFiniteSamples, ScoreName.triangles, ScoreName.backFacingShare] {
                XCTAssertNil(r.scores[name], name)
                XCTAssertEqual(r.absent[name], "shards do not carry the renderer's cameras.json", name)
            }
            XCTAssertNil(r.scores[ScoreName.translucentShare])
            XCTAssertEqual(r.absent[ScoreName.translucentShare], "shard frames are composited over white, without alpha")
        }
        // The views are not trivial: one is clipped, the colours differ.
        let r = try CurationRun.scoreShards(shards, source: .renders, configuration: .defaultRenders, workers: 1)[0]
        XCTAssertEqual(r.scores[ScoreName.clippedViewShare]!, 1.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(r.scores[ScoreName.hueBins], 2)
    }

    func testMVImgNetMadeSampleGetsImageAndTrajectoryScores() throws {
        let work = try temporaryFolder("shard-mvimgnet")
        defer { try? FileManager.default.removeItem(at: work) }
        // 24 frames on a half circle of radius 2 at elevation 20°, level cameras; the picture
        // slides 2 px per frame.
        let n = 24
        var frames: [Image8] = [], poses: [RigidPose] = []
        for k in 0..<n {
            let grey = texture(width: 96, height: 64, seed: 9, shiftX: 2 * k)
            frames.append(Image8(width: 96, height: 64, channels: 3, pixels: grey.values.flatMap { v -> [UInt8] in
                let b = UInt8(max(0, min(255, v.rounded())))
                return [b, b, b]
            }))
            let az = Double(k) / Double(n - 1) * .pi, el = 20 * Double.pi / 180
            poses.append(RigidPose(lookingFrom: Vec3(2 * cos(el) * cos(az), 2 * cos(el) * sin(az), 2 * sin(el)),
                                   at: Vec3(0, 0, 0), up: Vec3(0, 0, 1)))
        }
        let shards = try writeShards(work, [("mvimgnet-7-capture", shardSequence(frames, source: .mvimgnet, poses: poses))])
        XCTAssertEqual(CurationRun.detectSource(work), .mvimgnet)
        var configuration = CurationConfiguration.defaultMVImgNet
        configuration.scoring.capture.sharpnessSize = 64
        let records = try CurationRun.scoreShards(shards, source: .mvimgnet, configuration: configuration, workers: 1)
        XCTAssertEqual(records.map(\.id), ["mvimgnet-7-capture"])
        let r = records[0]
        XCTAssertNil(r.error)
        XCTAssertEqual(r.source, .mvimgnet)
        XCTAssertEqual(r.scores[ScoreName.frames], 24)
        XCTAssertGreaterThan(r.scores[ScoreName.sharpnessMedian]!, 0)
        XCTAssertGreaterThan(r.scores[ScoreName.sharpnessP10]!, 0)
        XCTAssertEqual(r.scores[ScoreName.motion]!, 2, accuracy: 0.35)
        XCTAssertEqual(r.scores[ScoreName.cuts], 0)
        XCTAssertEqual(r.scores[ScoreName.azimuthSpanDeg]!, 180, accuracy: 0.5)
        XCTAssertEqual(r.scores[ScoreName.elevationRangeDeg]!, 0, accuracy: 0.5)
        XCTAssertEqual(r.scores[ScoreName.cameraStepJump]!, 1, accuracy: 1e-6)
        XCTAssertEqual(r.scores[ScoreName.upResidual]!, 0, accuracy: 1e-9)
        for name in [ScoreName.registeredFrames, ScoreName.registeredShare, ScoreName.reprojectionError, ScoreName.points3D] {
            XCTAssertNil(r.scores[name], name)
            XCTAssertEqual(r.absent[name], "shards hold the chosen frames without the COLMAP model", name)
        }
        // The stages on COLMAP scores are skipped, the others run.
        let result = Cascade.apply(configuration, to: records)
        XCTAssertNotNil(result.stages.first { $0.name == "registered" }?.skipped)
        XCTAssertNil(result.stages.first { $0.name == "azimuth-span" }?.skipped)
        XCTAssertEqual(result.kept, ["mvimgnet-7-capture"])
    }

    func testShardSetDetectionAndMixedSources() throws {
        let work = try temporaryFolder("shard-detect")
        defer { try? FileManager.default.removeItem(at: work) }
        let views = orbitViews()
        let renders = try writeShards(work, prefix: "a", [("renders-card", shardSequence(views, source: .renders))])
        let captures = try writeShards(work, prefix: "b", [("mvimgnet-7-x", shardSequence(views, source: .mvimgnet))])
        XCTAssertEqual(CurationRun.shardSet(work), renders + captures)
        XCTAssertEqual(CurationRun.shardSet(captures[0]), captures)
        XCTAssertEqual(CurationRun.detectSource(captures[0]), .mvimgnet)
        XCTAssertEqual(CurationRun.detectSource(work), .renders, "the first sample's source")
        XCTAssertThrowsError(try CurationRun.scoreShards(renders + captures, source: .renders, configuration: .defaultRenders)) { error in
            XCTAssertEqual("\(error)", "\(captures[0].path)#mvimgnet-7-x: the shard set mixes sources: renders-card is a renders sample, mvimgnet-7-x a mvimgnet one")
        }
        XCTAssertThrowsError(try CurationRun.scoreShards(captures, source: .renders, configuration: .defaultRenders)) { error in
            XCTAssertTrue("\(error)".contains("mvimgnet-7-x: a mvimgnet sample; this run scores renders samples"), "\(error)")
        }
        // A render folder is not a shard set, even with a .tar beside its objects.
        let folder = work.appendingPathComponent("renders")
        try writeOrbit(folder.appendingPathComponent("card"), id: "card", views: views)
        try FileManager.default.copyItem(at: renders[0], to: folder.appendingPathComponent("x.tar"))
        XCTAssertNil(CurationRun.shardSet(folder))
        XCTAssertNil(CurationRun.shardSet(folder.appendingPathComponent("card/000.png")))
    }

    /// `svdmv dataset renders` shards three orbits (two samples each, three samples per shard), the
    /// second shard is cut short in its fifth sample; `svdmv curate` scores what can be read, and
    /// `svdmv dataset renders --only kept.txt` rebuilds exactly the kept samples.
    func testCurateAShardFolderWithACorruptShard() throws {
        let work = try temporaryFolder("curate-shards")
        defer { try? FileManager.default.removeItem(at: work) }
        let renders = work.appendingPathComponent("renders"), shards = work.appendingPathComponent("shards")
        for (n, (id, colour)) in [("a", (200, 50, 50)), ("b", (40, 90, 210)), ("c", (230, 200, 40))].enumerated() {
            let views = (0..<8).map { k in
                rgbaImage(width: 32, height: 32, colour: (UInt8(colour.0), UInt8(colour.1), UInt8(colour.2))) { x, y in
                    (8 + k % 4..<20 + n + k % 4).contains(x) && (9 - n..<22).contains(y) && (x + y + k) % 7 != 0
                }
            }
            try writeOrbit(renders.appendingPathComponent(id), id: id, views: views)
        }
        let dataset = try runSVDMV(["dataset", "renders", renders.path, "--out", shards.path, "--frames", "4",
                                    "--samples-per-orbit", "2", "--max-samples", "3"])
        XCTAssertEqual(dataset.status, 0, dataset.output)
        let second = shards.appendingPathComponent("shard-000001.tar")
        let members = try Tar.read(try Data(contentsOf: second), path: second.path)
        XCTAssertEqual(Set(shardSamples(members).map(\.key)), ["renders-b-s1", "renders-c", "renders-c-s1"])
        // Cut in the middle of renders-c's third member.
        let kept = members.prefix { $0.name.hasPrefix("renders-b-s1.") }.count + 2
        let cut = try members.prefix(kept).reduce(0) { $0 + (try Tar.memberBytes($1)).count } + 700
        try Data(contentsOf: second).prefix(cut).write(to: second)

        let out = work.appendingPathComponent("curated")
        let curate = try runSVDMV(["curate", shards.path, "--out", out.path, "--jobs", "2"])
        XCTAssertEqual(curate.status, 0, curate.output)
        XCTAssertTrue(curate.output.contains("6 renders item(s) from 2 shard(s)"), curate.output)
        let records = try String(contentsOf: out.appendingPathComponent("scores.jsonl"), encoding: .utf8).split(separator: "\n")
            .map { try JSONDecoder().decode(ScoreRecord.self, from: Data($0.utf8)) }
        XCTAssertEqual(records.map(\.id), ["renders-a", "renders-a-s1", "renders-b", "renders-b-s1", "renders-c", "shard-000001.tar"])
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        for id in ["renders-a", "renders-a-s1", "renders-b"] {
            XCTAssertEqual(byID[id]?.path, shards.appendingPathComponent("shard-000000.tar").path + "#" + id)
        }
        for id in ["renders-a", "renders-a-s1", "renders-b", "renders-b-s1"] {
            XCTAssertNil(byID[id]?.error, id)
            XCTAssertEqual(byID[id]?.scores[ScoreName.views], 4, id)
        }
        XCTAssertEqual(byID["renders-c"]?.path, second.path + "#renders-c")
        XCTAssertEqual(byID["renders-c"]?.error, "\(second.path) sample renders-c: no .json member")
        XCTAssertEqual(byID["shard-000001.tar"]?.path, second.path)
        XCTAssertTrue(byID["shard-000001.tar"]?.error?.hasPrefix("\(second.path): truncated at byte \(cut)") == true,
                      byID["shard-000001.tar"]?.error ?? "no error")

        let keptIDs = try CurationRun.readKeptList(out.appendingPathComponent("kept.txt"))
        let dropped = try String(contentsOf: out.appendingPathComponent("dropped.tsv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(dropped.first, "id\tstage\treason")
        let droppedIDs = Set(dropped.dropFirst().map { String($0.split(separator: "\t")[0]) })
        XCTAssertFalse(keptIDs.isEmpty)
        XCTAssertTrue(keptIDs.isDisjoint(with: droppedIDs))
        XCTAssertEqual(keptIDs.union(droppedIDs), Set(byID.keys))
        XCTAssertTrue(droppedIDs.isSuperset(of: ["renders-c", "shard-000001.tar"]))
        XCTAssertTrue(dropped.contains { $0.hasPrefix("shard-000001.tar\t") && $0.contains(second.path) }, "\(dropped)")
        XCTAssertEqual(try CurationConfiguration.read(out.appendingPathComponent("curation-config.json")).source, .renders)
        // The report shows shard samples by their first frame.
        let html = try String(contentsOf: out.appendingPathComponent(CurationReport.fileName), encoding: .utf8)
        let links = html.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertFalse(links.isEmpty)
        for link in links { XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(link).path), link) }
        XCTAssertFalse(html.contains("<div class=\"nopicture\""), html)

        // A rerun reuses every record without an error.
        let rerun = try runSVDMV(["curate", shards.path, "--out", out.path])
        XCTAssertEqual(rerun.status, 0, rerun.output)
        XCTAssertTrue(rerun.output.contains("reused the scores of 4 item(s)"), rerun.output)

        // kept.txt's keys select exactly those samples from the renders.
        let rebuilt = work.appendingPathComponent("rebuilt")
        let only = try runSVDMV(["dataset", "renders", renders.path, "--out", rebuilt.path, "--frames", "4",
                                 "--samples-per-orbit", "2", "--only", out.appendingPathComponent("kept.txt").path])
        XCTAssertEqual(only.status, 0, only.output)
        let index = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: rebuilt.appendingPathComponent("shard.index.json")))
        XCTAssertEqual(Set(index.keys), keptIDs)
    }

    /// `svdmv dataset mvimgnet --only` takes a capture by its sample key too.
    func testDatasetOnlyTakesCaptureSampleKeys() throws {
        let work = try temporaryFolder("only-mvimgnet-keys")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("mvimgnet")
        _ = try ScorerTests.writeCapture(root: root, name: "7/good")
        _ = try ScorerTests.writeCapture(root: root, name: "8/other")
        let list = work.appendingPathComponent("kept.txt")
        try Data("mvimgnet-7-good\nmvimgnet-9-gone\n".utf8).write(to: list)
        let shards = work.appendingPathComponent("shards")
        let dataset = try runSVDMV(["dataset", "mvimgnet", root.path, "--out", shards.path, "--size", "32", "--only", list.path])
        XCTAssertEqual(dataset.status, 0, dataset.output)
        XCTAssertTrue(dataset.output.contains("--only \(list.path): 1 of 2 item(s); 1 listed id(s) not found"), dataset.output)
        let index = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: shards.appendingPathComponent("shard.index.json")))
        XCTAssertEqual(index.keys.sorted(), ["mvimgnet-7-good"])
    }
}
