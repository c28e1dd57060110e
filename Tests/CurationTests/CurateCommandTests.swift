// `svdmv curate` end to end through the built binary: tiny orbits rendered by `svdmv render` from
// assimp's test models (two copies of one box: near-duplicates; a file that is not a mesh: a
// render failure), curated with the default cascade, then `svdmv dataset renders --only kept.txt`
// building shards of the kept objects only; report.html beside the other outputs; the learned CLIP
// score with --clip-weights (a small seeded tower, LearnedScoreTests); and bad input failing with
// the file named.

import Cameras
@testable import Curation
import Foundation
import Tensor
import TestSupport
import XCTest

final class CurateCommandTests: XCTestCase {
    let models = URL(fileURLWithPath: "/usr/share/assimp/models")

    func testCurateRendersThenBuildShardsOfTheKeptOnes() throws {
        let box = models.appendingPathComponent("OBJ/box.obj"), textured = models.appendingPathComponent("glTF2/BoxTextured-glTF-Binary/BoxTextured.glb")
        guard FileManager.default.fileExists(atPath: box.path), FileManager.default.fileExists(atPath: textured.path) else {
            XCTFail("assimp's test models are missing: Scripts/setup installs the Debian package assimp-testmodels")
            return
        }
        let work = try temporaryFolder("curate-cli")
        defer { try? FileManager.default.removeItem(at: work) }
        let meshes = work.appendingPathComponent("meshes"), renders = work.appendingPathComponent("renders")
        try FileManager.default.createDirectory(at: meshes, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: box, to: meshes.appendingPathComponent("box-a.obj"))
        try FileManager.default.copyItem(at: box, to: meshes.appendingPathComponent("box-b.obj"))
        try FileManager.default.copyItem(at: textured, to: meshes.appendingPathComponent("textured.glb"))
        try Data("ply\nformat nonsense\n".utf8).write(to: meshes.appendingPathComponent("broken.ply"))
        let render = try runSVDMV(["render", meshes.path, "--out", renders.path, "--views", "4", "--size", "32",
                                   "--samples", "1", "--elevation", "15", "--jobs", "1"])
        XCTAssertEqual(render.status, 0, render.output)
        XCTAssertTrue(render.output.contains("rendered 3, failed 1"), render.output)

        let out = work.appendingPathComponent("curated")
        let curate = try runSVDMV(["curate", renders.path, "--out", out.path, "--jobs", "2"])
        XCTAssertEqual(curate.status, 0, curate.output)
        XCTAssertTrue(curate.output.contains("4 renders item(s)"), curate.output)

        // A rerun reuses the scores (all but the failed render's, which is scored again).
        let rerun = try runSVDMV(["curate", renders.path, "--out", out.path])
        XCTAssertEqual(rerun.status, 0, rerun.output)
        XCTAssertTrue(rerun.output.contains("reused the scores of 3 item(s)"), rerun.output)
        let rescored = try runSVDMV(["curate", renders.path, "--out", out.path, "--rescore"])
        XCTAssertEqual(rescored.status, 0, rescored.output)
        XCTAssertFalse(rescored.output.contains("reused"), rescored.output)

        let lines = try String(contentsOf: out.appendingPathComponent("scores.jsonl"), encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONDecoder().decode(ScoreRecord.self, from: Data($0.utf8)) }
        XCTAssertEqual(records.map(\.id), ["box-a.obj", "box-b.obj", "broken.ply", "textured.glb"])
        let byID = Dictionary(uniqueKeysWithValues: records.map { ($0.id, $0) })
        XCTAssertEqual(byID["broken.ply"]?.scores[ScoreName.renderFailed], 1)
        XCTAssertEqual(byID["box-a.obj"]?.scores[ScoreName.renderFailed], 0)
        XCTAssertEqual(byID["box-a.obj"]?.scores[ScoreName.views], 4)
        XCTAssertEqual(byID["box-a.obj"]?.phash, byID["box-b.obj"]?.phash, "two copies of one mesh at one elevation render alike")
        XCTAssertNotNil(byID["textured.glb"]?.scores[ScoreName.triangles])

        let kept = try CurationRun.readKeptList(out.appendingPathComponent("kept.txt"))
        let droppedLines = try String(contentsOf: out.appendingPathComponent("dropped.tsv"), encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(droppedLines.first, "id\tstage\treason")
        let dropped = Dictionary(uniqueKeysWithValues: droppedLines.dropFirst().map { line -> (String, [String]) in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return (f[0], f)
        })
        XCTAssertEqual(kept.union(dropped.keys), Set(records.map(\.id)))
        XCTAssertTrue(kept.isDisjoint(with: dropped.keys))
        XCTAssertEqual(dropped["broken.ply"]?[1], "render-failed")
        XCTAssertEqual(dropped["broken.ply"]?[2].contains("render_failed 1 > 0.5 (the threshold); render failed (error: "), true, "\(dropped)")
        XCTAssertEqual(dropped["box-b.obj"]?[1], "near-duplicates", "\(dropped)")
        XCTAssertEqual(dropped["box-b.obj"]?[2].hasPrefix("near-duplicate of box-a.obj"), true)

        // The configuration used reads back as one, with the resolved thresholds.
        let used = try CurationConfiguration.read(out.appendingPathComponent("curation-config.json"))
        XCTAssertEqual(used.stages.map(\.unresolved), CurationConfiguration.defaultRenders.stages)
        XCTAssertEqual(used.stages.first?.reached, 4)
        XCTAssertNotNil(used.stages.first { $0.name == "flat-colour" }?.resolvedThreshold)
        // The report: every stage with its counts, pictures beside it that exist.
        let html = try String(contentsOf: out.appendingPathComponent(CurationReport.fileName), encoding: .utf8)
        for stage in used.stages {
            XCTAssertTrue(html.contains("data-stage=\"\(stage.name)\" data-reached=\"\(stage.reached ?? -1)\" data-dropped=\"\(stage.dropped ?? -1)\""),
                          stage.name)
        }
        XCTAssertTrue(html.contains("learned scores (CLIP similarity, aesthetics): <strong>absent</strong>"))
        let links = html.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertFalse(links.isEmpty)
        for link in links { XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(link).path), link) }
        XCTAssertTrue(curate.output.contains("report.html"), curate.output)
        // No temporary files are left.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path).sorted(),
                       ["curation-config.json", "dropped.tsv", "kept.txt", "report-pictures", "report.html", "scores.jsonl"])
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("report-pictures").path)
            .contains { $0.hasPrefix(".") })

        // Shards of the kept objects only.
        let shards = work.appendingPathComponent("shards")
        let dataset = try runSVDMV(["dataset", "renders", renders.path, "--out", shards.path, "--frames", "4",
                                    "--only", out.appendingPathComponent("kept.txt").path])
        XCTAssertEqual(dataset.status, 0, dataset.output)
        let index = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: shards.appendingPathComponent("shard.index.json")))
        XCTAssertEqual(index.count, kept.count, "\(index.keys.sorted()) vs \(kept.sorted())")
        XCTAssertTrue(index.keys.allSatisfy { key in kept.contains { key.contains($0.replacingOccurrences(of: ".", with: "_")) || key.contains($0) } },
                      "\(index.keys.sorted()) vs \(kept.sorted())")
    }

    /// Three captures: one good, one with too few registered frames, one whose poses jump; the
    /// default cascade keeps the good one and `dataset mvimgnet --only` shards it alone.
    func testCurateMVImgNetThenBuildShardsOfTheKeptOnes() throws {
        let work = try temporaryFolder("curate-mvimgnet")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("mvimgnet")
        _ = try ScorerTests.writeCapture(root: root, name: "7/good")
        _ = try ScorerTests.writeCapture(root: root, name: "7/short", unregistered: 10)
        _ = try ScorerTests.writeCapture(root: root, name: "8/jump", jumpAt: 12)
        let out = work.appendingPathComponent("curated")
        let curate = try runSVDMV(["curate", root.path, "--out", out.path])
        XCTAssertEqual(curate.status, 0, curate.output)
        XCTAssertTrue(curate.output.contains("3 mvimgnet item(s): 1 kept, 2 dropped"), curate.output)
        XCTAssertEqual(try String(contentsOf: out.appendingPathComponent("kept.txt"), encoding: .utf8), "7/good\n")
        let dropped = try String(contentsOf: out.appendingPathComponent("dropped.tsv"), encoding: .utf8).split(separator: "\n")
            .dropFirst().map { $0.split(separator: "\t").prefix(2).joined(separator: ":") }
        XCTAssertEqual(dropped, ["7/short:registered", "8/jump:pose-jump"])
        let used = try CurationConfiguration.read(out.appendingPathComponent("curation-config.json"))
        XCTAssertEqual(used.source, .mvimgnet)
        XCTAssertEqual(used.stages.last?.name, "motion")
        XCTAssertEqual(used.stages.last?.reached, 1)
        // The report shows each capture by a frame.
        let html = try String(contentsOf: out.appendingPathComponent(CurationReport.fileName), encoding: .utf8)
        XCTAssertTrue(html.contains("data-stage=\"registered\" data-reached=\"3\" data-dropped=\"1\""), html)
        XCTAssertTrue(html.contains("<img src=\"report-pictures/"), html)

        let shards = work.appendingPathComponent("shards")
        let dataset = try runSVDMV(["dataset", "mvimgnet", root.path, "--out", shards.path, "--size", "32",
                                    "--only", out.appendingPathComponent("kept.txt").path])
        XCTAssertEqual(dataset.status, 0, dataset.output)
        XCTAssertTrue(dataset.output.contains("--only \(out.path)/kept.txt: 1 of 3 item(s)"), dataset.output)
        let index = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: shards.appendingPathComponent("shard.index.json")))
        XCTAssertEqual(index.keys.sorted(), ["mvimgnet-7-good"])
    }

    func testBadInputIsRefusedNamingTheFile() throws {
        let work = try temporaryFolder("curate-bad")
        defer { try? FileManager.default.removeItem(at: work) }
        let missing = try runSVDMV(["curate", "/nonexistent-curation-input", "--out", work.path])
        XCTAssertEqual(missing.status, 64, missing.output)
        XCTAssertTrue(missing.output.contains("INPUT /nonexistent-curation-input is not a folder"), missing.output)
        // A folder that is neither renders nor MVImgNet.
        let empty = work.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let neither = try runSVDMV(["curate", empty.path, "--out", work.appendingPathComponent("o").path])
        XCTAssertEqual(neither.status, 1, neither.output)
        XCTAssertTrue(neither.output.contains("Error: \(empty.path): neither rendered orbits"), neither.output)
        // Forced to a source it does not hold: no items, nothing written.
        let none = try runSVDMV(["curate", empty.path, "--source", "mvimgnet", "--out", work.appendingPathComponent("o").path])
        XCTAssertEqual(none.status, 1, none.output)
        XCTAssertTrue(none.output.contains("Error: no mvimgnet items under \(empty.path)"), none.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work.appendingPathComponent("o").path))
        // A broken configuration names its file; nothing is written.
        let renders = work.appendingPathComponent("renders")
        try writeOrbit(renders.appendingPathComponent("obj"), id: "obj",
                       views: [rgbaImage(width: 8, height: 8) { x, y in (2..<6).contains(x) && (2..<6).contains(y) }])
        let config = work.appendingPathComponent("bad.json")
        try Data(#"{"format": "svdmv-curation-config", "version": 1, "source": "renders", "stages": [{"name": "s", "score": "x", "keep": "above"}]}"#.utf8).write(to: config)
        let out = work.appendingPathComponent("out")
        let bad = try runSVDMV(["curate", renders.path, "--out", out.path, "--config", config.path])
        XCTAssertEqual(bad.status, 1, bad.output)
        XCTAssertTrue(bad.output.contains("Error: \(config.path): stage s: give exactly one of \"threshold\" and \"percentile\""), bad.output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
        // A configuration for the other source.
        let other = work.appendingPathComponent("mvimgnet.json")
        try CurationConfiguration.defaultMVImgNet.encoded().write(to: other)
        let wrong = try runSVDMV(["curate", renders.path, "--out", out.path, "--config", other.path])
        XCTAssertEqual(wrong.status, 1, wrong.output)
        XCTAssertTrue(wrong.output.contains("is for mvimgnet, INPUT holds renders"), wrong.output)
    }

    /// `--clip-weights`: the learned score runs on every orbit and a rerun without the weights
    /// scores again (the score is absent then, the stage skipped); a missing or mismatched weights
    /// file, or MVImgNet input, is refused naming the file (and the key).
    func testCLIPWeightsRunTheLearnedScoreAndItsStage() throws {
        let work = try temporaryFolder("curate-clip")
        defer { try? FileManager.default.removeItem(at: work) }
        let renders = work.appendingPathComponent("renders")
        let colours: [(UInt8, UInt8, UInt8)] = [(200, 50, 50), (30, 160, 60), (40, 60, 200), (220, 200, 40), (120, 40, 160)]
        for (n, colour) in colours.enumerated() {
            var views = (0..<4).map { k in
                rgbaImage(width: 32, height: 32, colour: colour) { x, y in (8 + k..<24 - k).contains(x) && (8..<24).contains(y) }
            }
            if n == 4 { views[2] = rgbaImage(width: 32, height: 32) { _, _ in false } }   // an empty render among its views
            try writeOrbit(renders.appendingPathComponent("obj\(n)"), id: "obj\(n)", views: views)
        }
        let weights = work.appendingPathComponent("clip.safetensors")
        try LearnedScoreTests.writeCLIPWeights(weights)
        let out = work.appendingPathComponent("out")
        func records() throws -> [ScoreRecord] {
            try String(contentsOf: out.appendingPathComponent("scores.jsonl"), encoding: .utf8).split(separator: "\n")
                .map { try JSONDecoder().decode(ScoreRecord.self, from: Data($0.utf8)) }
        }

        let run = try runSVDMV(["curate", renders.path, "--out", out.path, "--clip-weights", weights.path, "--jobs", "2"])
        XCTAssertEqual(run.status, 0, run.output)
        let scored = try records()
        XCTAssertEqual(scored.count, 5)
        XCTAssertTrue(scored.allSatisfy { $0.scores[ScoreName.clipViewConsistency].map { (-1...1.000001).contains($0) } ?? false },
                      "\(scored.map(\.scores))")
        var used = try CurationConfiguration.read(out.appendingPathComponent("curation-config.json"))
        XCTAssertEqual(used.scoring.learned?.keys.sorted(), [ScoreName.clipViewConsistency])
        XCTAssertTrue(used.scoring.learned?[ScoreName.clipViewConsistency]?.contains(weights.path) ?? false, "\(used.scoring)")
        var stage = try XCTUnwrap(used.stages.first { $0.name == "view-consistency" })
        XCTAssertNil(stage.skipped)
        XCTAssertNotNil(stage.resolvedThreshold)
        var html = try String(contentsOf: out.appendingPathComponent(CurationReport.fileName), encoding: .utf8)
        XCTAssertTrue(html.contains("learned scores (CLIP similarity, aesthetics): computed: <code>clip_view_consistency</code>"), html)

        // With the same weights a rerun reuses the scores; without them nothing is reused (the scores
        // were made with them) and the score is absent.
        let again = try runSVDMV(["curate", renders.path, "--out", out.path, "--clip-weights", weights.path])
        XCTAssertEqual(again.status, 0, again.output)
        XCTAssertTrue(again.output.contains("reused the scores of 5 item(s)"), again.output)
        let plain = try runSVDMV(["curate", renders.path, "--out", out.path])
        XCTAssertEqual(plain.status, 0, plain.output)
        XCTAssertFalse(plain.output.contains("reused"), plain.output)
        XCTAssertTrue(plain.output.contains("view-consistency: skipped: no item reaching this stage has clip_view_consistency "
                                            + "(e.g. no CLIP weights given (--clip-weights FILE))"), plain.output)
        let unscored = try records()
        XCTAssertEqual(unscored.count, 5)
        XCTAssertTrue(unscored.allSatisfy { $0.scores[ScoreName.clipViewConsistency] == nil
            && $0.absent[ScoreName.clipViewConsistency] == "no CLIP weights given (--clip-weights FILE)" }, "\(unscored)")
        used = try CurationConfiguration.read(out.appendingPathComponent("curation-config.json"))
        XCTAssertNil(used.scoring.learned)
        stage = try XCTUnwrap(used.stages.first { $0.name == "view-consistency" })
        XCTAssertNotNil(stage.skipped)
        html = try String(contentsOf: out.appendingPathComponent(CurationReport.fileName), encoding: .utf8)
        XCTAssertTrue(html.contains("learned scores (CLIP similarity, aesthetics): <strong>absent</strong>"), html)
        XCTAssertTrue(html.contains("<code>clip_view_consistency</code> <strong>absent</strong> from every item: no CLIP weights given"), html)

        // Refused, naming the file: missing, not a CLIP image tower; and for captures.
        let missing = work.appendingPathComponent("no-such-clip.safetensors")
        var refused = try runSVDMV(["curate", renders.path, "--out", out.path, "--clip-weights", missing.path])
        XCTAssertEqual(refused.status, 64, refused.output)
        XCTAssertTrue(refused.output.contains("--clip-weights: no file at \(missing.path)"), refused.output)
        let bad = work.appendingPathComponent("bad-clip.safetensors")
        try SafeTensors.write(["visual.conv1.weight": Tensor(zeros: [64, 3, 32, 32])], to: bad)
        refused = try runSVDMV(["curate", renders.path, "--out", out.path, "--clip-weights", bad.path, "--clip-activation", "gelu"])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("CLIP weights \(bad.path): key positional_embedding: missing"), refused.output)
        refused = try runSVDMV(["curate", renders.path, "--out", out.path, "--clip-weights", bad.path],
                               environment: ["SVDMV_CLIP_ACTIVATION": ""])
        XCTAssertEqual(refused.status, 64, refused.output)
        XCTAssertTrue(refused.output.contains("--clip-activation is required with CLIP weights"), refused.output)
        let captures = work.appendingPathComponent("mvimgnet")
        _ = try ScorerTests.writeCapture(root: captures, name: "7/good")
        refused = try runSVDMV(["curate", captures.path, "--out", work.appendingPathComponent("o").path, "--clip-weights", weights.path])
        XCTAssertEqual(refused.status, 1, refused.output)
        XCTAssertTrue(refused.output.contains("--clip-weights: the learned score clip_view_consistency is computed for rendered orbits"),
                      refused.output)
    }
}
