// The cascade on hand-made score records: absolute and percentile thresholds (over the survivors
// and over the corpus), stage order and the first dropping stage, missing scores, a stage skipped
// for want of its score, near-duplicates, unscored items; the configuration's checks and the
// checked-in default files.

@testable import Curation
import Foundation
import XCTest

final class CascadeTests: XCTestCase {
    typealias Stage = CurationConfiguration.Stage

    func record(_ id: String, _ scores: [String: Double], phash: UInt64? = nil, error: String? = nil) -> ScoreRecord {
        var r = ScoreRecord(id: id, source: .renders, path: "/x/\(id)")
        r.scores = scores
        r.phash = phash.map { PerceptualHash(bits: $0).description }
        r.error = error
        return r
    }

    /// Ten items with motion 1...10: "keep the top 75 % by motion" keeps motion >= the 25th
    /// percentile (3.25): items 4...10.
    func testPercentileStageKeepsTheTopShare() {
        let records = (1...10).map { record("m\($0)", ["motion": Double($0)]) }
        let config = CurationConfiguration(source: .mvimgnet, stages: [Stage(name: "motion", score: "motion", keep: .above, percentile: 25)])
        let result = Cascade.apply(config, to: records)
        XCTAssertEqual(result.kept, (4...10).map { "m\($0)" })
        XCTAssertEqual(result.dropped.map(\.id), ["m1", "m2", "m3"])
        XCTAssertEqual(result.stages[0].resolvedThreshold, 3.25)
        XCTAssertEqual(result.stages[0].reached, 10)
        XCTAssertEqual(result.stages[0].dropped, 3)
        XCTAssertTrue(result.dropped[0].reason.contains("motion 1 < 3.25 (percentile 25 of 10 items reaching this stage)"), result.dropped[0].reason)
    }

    /// Stages run in order on what the previous ones kept: a survivors percentile is taken after
    /// the first stage, a corpus percentile over everything; each item is reported at the first
    /// stage that drops it.
    func testStagesRunInOrderAndReportTheFirstDroppingStage() {
        // a: value 1...8; b: 8...1.
        let records = (1...8).map { record("i\($0)", ["a": Double($0), "b": Double(9 - $0)]) }
        let survivors = CurationConfiguration(source: .renders, stages: [
            Stage(name: "first", score: "a", keep: .above, threshold: 3),          // drops i1, i2
            Stage(name: "second", score: "b", keep: .above, percentile: 50),       // over b = 6...1: median 3.5, drops b 3,2,1 (i6...i8)
        ])
        let r1 = Cascade.apply(survivors, to: records)
        XCTAssertEqual(r1.kept, ["i3", "i4", "i5"])
        XCTAssertEqual(r1.dropped.map { "\($0.id):\($0.stage)" }, ["i1:first", "i2:first", "i6:second", "i7:second", "i8:second"])
        XCTAssertEqual(r1.stages[1].resolvedThreshold, 3.5)
        XCTAssertEqual(r1.stages[1].reached, 6)
        var corpus = survivors
        corpus.stages[1].population = .corpus                                       // over b = 8...1: median 4.5
        let r2 = Cascade.apply(corpus, to: records)
        XCTAssertEqual(r2.stages[1].resolvedThreshold, 4.5)
        XCTAssertEqual(r2.kept, ["i3", "i4"])
        // Reversed order: i1 and i2 now pass the percentile stage first, then fall at the threshold.
        let reversed = CurationConfiguration(source: .renders, stages: survivors.stages.reversed())
        let r3 = Cascade.apply(reversed, to: records)
        XCTAssertEqual(r3.dropped.map { "\($0.id):\($0.stage)" },
                       ["i1:first", "i2:first", "i5:second", "i6:second", "i7:second", "i8:second"])
    }

    func testKeepBelowAndMissingScores() {
        let records = [record("a", ["x": 1]), record("b", ["x": 5]), record("c", [:])]
        var withAbsent = records
        withAbsent[2].absent = ["x": "cameras.json does not record x"]
        let drop = CurationConfiguration(source: .renders, stages: [Stage(name: "s", score: "x", keep: .below, threshold: 2)])
        let r1 = Cascade.apply(drop, to: withAbsent)
        XCTAssertEqual(r1.kept, ["a"])
        XCTAssertEqual(r1.dropped, [CascadeDrop(id: "b", stage: "s", reason: "x 5 > 2 (the threshold)"),
                                    CascadeDrop(id: "c", stage: "s", reason: "x absent: cameras.json does not record x")])
        var keep = drop
        keep.stages[0].missing = .keep
        XCTAssertEqual(Cascade.apply(keep, to: withAbsent).kept, ["a", "c"])
    }

    /// A learned score nobody computed (no weights): the stage is skipped and says why.
    func testStageOnAScoreNoItemHasIsSkipped() {
        var r = record("a", ["x": 1])
        r.absent = ["clip_similarity": "no CLIP weights given"]
        let config = CurationConfiguration(source: .renders, stages: [Stage(name: "clip", score: "clip_similarity", keep: .above, threshold: 0.2)])
        let result = Cascade.apply(config, to: [r])
        XCTAssertEqual(result.kept, ["a"])
        XCTAssertEqual(result.stages[0].skipped, "no item reaching this stage has clip_similarity (e.g. no CLIP weights given)")
        XCTAssertNil(result.stages[0].resolvedThreshold)
    }

    func testNearDuplicateStageAndUnscoredItems() {
        let records = [record("a", [:], phash: 0), record("b", [:], phash: 0b11), record("c", [:], phash: ~0),
                       record("d", [:], error: "corrupt.png: not a PNG")]
        let config = CurationConfiguration(source: .renders, stages: [Stage(nearDuplicatesNamed: "dup", maxHamming: 4)])
        let result = Cascade.apply(config, to: records)
        XCTAssertEqual(result.kept, ["a", "c"])
        XCTAssertEqual(result.dropped, [
            CascadeDrop(id: "b", stage: "dup", reason: "near-duplicate of a (pHash Hamming distance 2, linked at <= 4)"),
            CascadeDrop(id: "d", stage: Cascade.unscoredStage, reason: "corrupt.png: not a PNG"),
        ])
    }

    /// A failed item dropped by a threshold stage carries its error in the reason.
    func testDropReasonsOfFailedItemsSayWhy() {
        var failed = record("f", ["render_failed": 1], error: "render failed (error: bad mesh)")
        failed.absent = [:]
        let config = CurationConfiguration(source: .renders, stages: [
            Stage(name: "render-failed", score: "render_failed", keep: .below, threshold: 0.5),
            Stage(name: "coverage", score: "coverage_min", keep: .above, threshold: 0.01)])
        XCTAssertEqual(Cascade.apply(config, to: [failed]).dropped,
                       [CascadeDrop(id: "f", stage: "render-failed", reason: "render_failed 1 > 0.5 (the threshold); render failed (error: bad mesh)")])
        // Without the first stage, the missing score's reason is the error itself, not repeated.
        let later = CurationConfiguration(source: .renders, stages: [config.stages[1]])
        XCTAssertEqual(Cascade.apply(later, to: [failed, record("ok", ["coverage_min": 0.3])]).dropped,
                       [CascadeDrop(id: "f", stage: "coverage", reason: "coverage_min absent: render failed (error: bad mesh)")])
    }

    func testConfigurationChecks() {
        var config = CurationConfiguration(source: .renders, stages: [Stage(name: "s", score: "x", keep: .above, threshold: 1)])
        XCTAssertNil(config.problem())
        config.stages[0].percentile = 10
        XCTAssertEqual(config.problem(), "stage s: give exactly one of \"threshold\" and \"percentile\"")
        config.stages[0].threshold = nil
        config.stages[0].percentile = 101
        XCTAssertEqual(config.problem(), "stage s: percentile must be in 0...100")
        config.stages = [Stage(name: "a", score: "x", keep: .above, threshold: 1), Stage(name: "a", score: "y", keep: .above, threshold: 1)]
        XCTAssertEqual(config.problem(), "two stages are named a")
        config.stages = [Stage(nearDuplicatesNamed: "d", maxHamming: 65)]
        XCTAssertEqual(config.problem(), "stage d: needs \"max_hamming\" in 0...64")
        config.stages = []
        config.version = 2
        XCTAssertEqual(config.problem(), "version 2, this svdmv reads 1")
        XCTAssertNil(CurationConfiguration.defaultRenders.problem())
        XCTAssertNil(CurationConfiguration.defaultMVImgNet.problem())
    }

    func testReadingABadConfigurationNamesTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("curation-config-\(UUID())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("c.json")
        try Data(#"{"format": "svdmv-curation-config", "version": 1, "source": "renders", "stages": [{"name": "s", "score": "x", "keep": "sideways", "threshold": 1}]}"#.utf8).write(to: file)
        XCTAssertThrowsError(try CurationConfiguration.read(file)) { error in
            XCTAssertTrue("\(error)".hasPrefix(file.path + ": "), "\(error)")
            XCTAssertTrue("\(error)".contains("stages.0.keep"), "\(error)")
        }
        try Data(#"{"format": "svdmv-curation-config", "version": 1, "source": "renders", "stages": [{"name": "s", "keep": "above", "threshold": 1}]}"#.utf8).write(to: file)
        XCTAssertThrowsError(try CurationConfiguration.read(file)) { error in
            XCTAssertEqual("\(error)", "\(file.path): stage s: needs \"score\"")
        }
        XCTAssertThrowsError(try CurationConfiguration.read(folder.appendingPathComponent("none.json"))) { error in
            XCTAssertEqual("\(error)", "\(folder.path)/none.json: cannot read file")
        }
    }

    /// Datasets/curation/*.json are the built-in defaults, and a written configuration reads back.
    func testCheckedInDefaultsAreTheBuiltInOnes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for (name, config) in [("renders", CurationConfiguration.defaultRenders), ("mvimgnet", CurationConfiguration.defaultMVImgNet)] {
            let file = root.appendingPathComponent("Datasets/curation/\(name).json")
            if ProcessInfo.processInfo.environment["SVDMV_RECORD_SNAPSHOTS"] == "1" {
                try config.encoded().write(to: file)
                XCTFail("recorded \(file.path); unset SVDMV_RECORD_SNAPSHOTS and review the diff")
                continue
            }
            XCTAssertEqual(try CurationConfiguration.read(file), config, name)
            XCTAssertEqual(String(decoding: try Data(contentsOf: file), as: UTF8.self),
                           String(decoding: try config.encoded(), as: UTF8.self), "\(name).json differs from the built-in default; record it")
        }
    }
}
