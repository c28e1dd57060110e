// The learned score clip_view_consistency (LearnedScores.ClipViewConsistency) on constructed views,
// through a small CLIP image tower of the evaluator's architecture (open_clip ViT: width 64, patch
// 32, 64 px input, 2 blocks, -> 16; GELU) with seeded weights, built as the evaluator's CLIP tests
// build theirs (SeededWeights over the tower's parameters): identical views score 1, one very
// different view (an empty render) lowers the score to exactly the leave-one-out value, the order
// of the views does not matter; the orbit scorer runs it only when given it and otherwise records
// it absent with the reason, and the default cascade's stage on it is skipped then.

@testable import Curation
import Evaluation
import Foundation
import Imaging
import LearnedScores
import Models
import Tensor
import TestSupport
import XCTest

final class LearnedScoreTests: XCTestCase {
    static let towerConfig = VisionTransformerConfig(imageSize: 64, patchSize: 32, width: 64, layerCount: 2, headCount: 1,
                                                     outputWidth: 16, activation: .gelu)

    /// The small tower's parameters (state-dict keys) with seeded values.
    static func towerWeights(seed: UInt64 = 9) -> [String: Tensor] {
        var parameters: [(key: String, shape: [Int])] = []
        VisionTransformer(config: towerConfig, allocation: .placeholder).visitParameters { key, t in parameters.append((key, t.shape)) }
        return SeededWeights.generate(parameters, seed: seed)
    }

    static func clipScore() throws -> ClipViewConsistency {
        let tower = VisionTransformer(config: towerConfig)
        try tower.load(towerWeights())
        tower.frozen()
        return ClipViewConsistency(scorer: CLIPScorer(tower: tower, model: towerConfig.openCLIPArchitectureName, weights: "seeded"))
    }

    /// The tower as a weights file under open_clip's `visual.` keys, its activation in the metadata
    /// (as Scripts/export-clip-weights.py writes it), for `svdmv curate --clip-weights`.
    static func writeCLIPWeights(_ url: URL) throws {
        let stored = towerWeights().reduce(into: [String: Tensor]()) { $0["visual." + $1.key] = $1.value }
        try SafeTensors.write(stored, metadata: ["svdmv_clip_activation": "gelu"], to: url)
    }

    /// A 48x40 view of seeded random colours: an object with texture everywhere.
    static func texture(seed: UInt64) -> Image8 {
        var g = TorchGenerator(seed: seed)
        let values = g.rand([48 * 40 * 3]).scalars.map { UInt8(($0 * 255).rounded()) }
        return Image8(width: 48, height: 40, channels: 3, pixels: values)
    }

    static let empty = Image8(width: 48, height: 40, channels: 3, fill: 255)

    func testIdenticalViewsScoreOne() throws {
        let clip = try Self.clipScore()
        XCTAssertEqual(clip.name, "clip_view_consistency")
        let view = Self.texture(seed: 1)
        XCTAssertEqual(try clip.score(Array(repeating: view, count: 4)), 1, accuracy: 1e-5)
        XCTAssertEqual(try clip.score([Self.empty, Self.empty]), 1, accuracy: 1e-5)
    }

    /// Three views of the object and an empty one: each view against the mean of the others, with
    /// a, b the unit embeddings of the two pictures and c = a·b, is (2 + c)/|2a + b| for the
    /// object's views and c for the empty one.
    func testOneVeryDifferentViewLowersTheScoreToTheLeaveOneOutValue() throws {
        let clip = try Self.clipScore()
        let (view, odd) = (Self.texture(seed: 1), Self.empty)
        let c = CLIPScorer.cosineSimilarities(clip.scorer.embeddings([viewTensor(view)]), clip.scorer.embeddings([viewTensor(odd)]))[0]
        XCTAssertLessThan(c, 0.99, "the tower must tell the two pictures apart for this test to mean anything")
        let expected = (3 * (2 + c) / (5 + 4 * c).squareRoot() + c) / 4
        let score = try clip.score([view, view, view, odd])
        XCTAssertEqual(score, expected, accuracy: 1e-5)
        XCTAssertLessThan(score, 1 - 1e-3)
        // Whichever view is the odd one, the score is the same (not a comparison with view 0), and
        // it is the same every time.
        XCTAssertEqual(try clip.score([odd, view, view, view]), score, accuracy: 1e-6)
        XCTAssertEqual(try clip.score([view, view, view, odd]), score)
    }

    func testOrbitScorerRunsTheScoreOnlyWhenGivenIt() throws {
        let root = try temporaryFolder("learned")
        defer { try? FileManager.default.removeItem(at: root) }
        let views = [16, 12, 8, 4].map { w in
            rgbaImage(width: 32, height: 32, colour: (30, 160, 60)) { x, y in (16 - w / 2..<16 + w / 2).contains(x) && (8..<24).contains(y) }
        }
        try writeOrbit(root.appendingPathComponent("bar"), id: "bar", views: views)
        let clip = try Self.clipScore()
        var scorer = OrbitScorer()
        scorer.learned = [clip]
        let scored = scorer.score(folder: root.appendingPathComponent("bar"), id: "bar")
        XCTAssertNil(scored.error)
        XCTAssertEqual(scored.scores[ScoreName.clipViewConsistency]!, try clip.score(views.map { $0.rgb() }), accuracy: 1e-12,
                       "the views over white")
        scorer.viewStride = 2
        let strided = scorer.score(folder: root.appendingPathComponent("bar"), id: "bar")
        XCTAssertEqual(strided.scores[ScoreName.clipViewConsistency]!, try clip.score([views[0].rgb(), views[2].rgb()]), accuracy: 1e-12)
        scorer.viewStride = 4
        let one = scorer.score(folder: root.appendingPathComponent("bar"), id: "bar")
        XCTAssertNil(one.scores[ScoreName.clipViewConsistency])
        XCTAssertEqual(one.absent[ScoreName.clipViewConsistency], "needs at least 2 scored views, got 1")

        let plain = OrbitScorer().score(folder: root.appendingPathComponent("bar"), id: "bar")
        XCTAssertNil(plain.scores[ScoreName.clipViewConsistency], "never a made-up value")
        XCTAssertEqual(plain.absent[ScoreName.clipViewConsistency], "no CLIP weights given (--clip-weights FILE)")
        var withoutClip = plain
        withoutClip.absent[ScoreName.clipViewConsistency] = nil
        var withClip = scored
        withClip.scores[ScoreName.clipViewConsistency] = nil
        XCTAssertEqual(withClip, withoutClip, "the learned score changes nothing else")

        // A shard sample's frames (RGB over white) run it too.
        let frames = scorer.score(frames: views.map { $0.rgb() }, id: "bar", path: "x.tar#bar")
        XCTAssertNil(frames.scores[ScoreName.clipViewConsistency], "view stride 4 of 4 frames: one view")
        scorer.viewStride = 1
        XCTAssertEqual(scorer.score(frames: views.map { $0.rgb() }, id: "bar", path: "x.tar#bar").scores[ScoreName.clipViewConsistency]!,
                       scored.scores[ScoreName.clipViewConsistency]!, accuracy: 1e-12)
    }

    /// The default renders cascade's stage on the score: skipped, saying why, when no item has the
    /// score (no weights); with it, the bottom 5 % over every scored item dropped and an item
    /// without it passed on.
    func testDefaultStageIsSkippedWithoutTheScoreAndDropsTheBottomFivePercentWithIt() throws {
        let stage = try XCTUnwrap(CurationConfiguration.defaultRenders.stages.first { $0.score == ScoreName.clipViewConsistency })
        let config = CurationConfiguration(source: .renders, stages: [stage])
        var unscored = ScoreRecord(id: "a", source: .renders, path: "/a")
        for (name, reason) in ScoreName.learnedRenderScores { unscored.set(name, nil, absentBecause: reason) }
        let skipped = Cascade.apply(config, to: [unscored])
        XCTAssertEqual(skipped.kept, ["a"])
        XCTAssertEqual(skipped.stages[0].skipped,
                       "no item reaching this stage has clip_view_consistency (e.g. no CLIP weights given (--clip-weights FILE))")
        XCTAssertNil(skipped.stages[0].resolvedThreshold)

        var records = (0..<20).map { i -> ScoreRecord in
            var r = ScoreRecord(id: String(format: "o%02d", i), source: .renders, path: "/o\(i)")
            r.set(ScoreName.clipViewConsistency, 0.5 + 0.02 * Double(i))
            return r
        }
        var oneView = ScoreRecord(id: "z", source: .renders, path: "/z")
        oneView.set(ScoreName.clipViewConsistency, nil, absentBecause: "needs at least 2 scored views, got 1")
        records.append(oneView)
        let result = Cascade.apply(config, to: records)
        XCTAssertNil(result.stages[0].skipped)
        XCTAssertEqual(result.stages[0].resolvedThreshold!, 0.519, accuracy: 1e-12, "numpy percentile 5 of 0.50, 0.52, ..., 0.88")
        XCTAssertEqual(result.dropped.map(\.id), ["o00"])
        XCTAssertTrue(result.kept.contains("z"))
    }
}
