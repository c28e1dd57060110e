// The scores of one rendered orbit (the renderer's folder per object: NNN.png views, RGBA or over a
// recorded background colour, and cameras.json; `Sources/Cameras/OrbitCameras.swift`; or the
// frames of a training-shard sample made from one), pooled over its views: render failure and
// warnings, coverage and clipping, degenerate silhouettes, colour richness, transparency, mesh
// size, and the perceptual hash of the canonical view (view 0 over white) for the near-duplicate
// stage.

import Cameras
import Foundation
import Imaging

/// A score computed by a learned model (CLIP similarity, an aesthetics predictor) from an item's
/// views. `svdmv curate` runs such scores only when the user gives the model's weights; without
/// them the score is absent from every record (`ScoreName.learnedRenderScores` says why) and a
/// cascade stage on it is skipped. Orbits (folders and render shards) run them; MVImgNet captures
/// do not (`CaptureScorer` has no learned scores).
public protocol LearnedScore: Sendable {
    /// The score's name in scores.jsonl.
    var name: String { get }
    /// What computes it (the model and its weights file), recorded in curation-config.json
    /// (`scoring.learned`) so that a rerun reuses scores only when the same model made them.
    var model: String { get }
    /// The score of an object's views (RGB over white) or a capture's frames.
    func score(_ views: [Image8]) throws -> Double
}

public struct OrbitScorer: Sendable {
    /// Views scored: every `viewStride`-th view in file order (1: all).
    public var viewStride = 1
    /// Learned scores to run on the scored views.
    public var learned: [any LearnedScore] = []

    public init() {}

    /// Scores the object folder `folder`. `manifestStatus` is the renderer's last manifest status
    /// for the object (`ok`, `error: ...`), if a manifest mentions it. Never throws: a problem
    /// becomes the record's `error` and absent scores.
    public func score(folder: URL, id: String, manifestStatus: String? = nil) -> ScoreRecord {
        var record = ScoreRecord(id: id, source: .renders, path: folder.path)
        let camerasURL = folder.appendingPathComponent(OrbitCameras.fileName)
        let failure = manifestStatus.flatMap { $0.hasPrefix("error") ? $0 : nil }
        let hasCameras = FileManager.default.fileExists(atPath: camerasURL.path)
        record.set(ScoreName.renderFailed, failure != nil || !hasCameras ? 1 : 0)
        guard failure == nil, hasCameras else {
            record.error = failure.map { "render failed (\($0))" } ?? "no \(OrbitCameras.fileName) in \(folder.path)"
            return record
        }
        do {
            try fill(&record, folder: folder, cameras: try OrbitCameras.read(camerasURL))
        } catch {
            record.error = "\(error)"
        }
        return record
    }

    func fill(_ record: inout ScoreRecord, folder: URL, cameras: OrbitCameras) throws {
        record.set(ScoreName.renderWarnings, Double(cameras.warnings?.count ?? 0))
        record.set(ScoreName.nonFiniteSamples, cameras.nonFiniteSamples.map(Double.init),
                   absentBecause: "cameras.json does not record non_finite_samples")
        record.set(ScoreName.triangles, cameras.triangles.map(Double.init), absentBecause: "cameras.json does not record triangles")
        record.set(ScoreName.backFacingShare, nil, absentBecause: "the renderer does not record back-facing faces")
        let views = cameras.viewsInFileOrder
        try fillViewScores(&record, viewCount: views.count, background: Self.background(cameras), translucencyAbsentBecause: nil) { k in
            try Self.loadView(views[k], folder: folder, cameras: cameras)
        }
    }

    /// The colour the views were rendered over: cameras.json's `background_color`, else white.
    public static func background(_ cameras: OrbitCameras) -> (UInt8, UInt8, UInt8) {
        cameras.backgroundColor.map { (UInt8($0[0]), UInt8($0[1]), UInt8($0[2])) } ?? (255, 255, 255)
    }

    /// A view of the orbit folder `folder`, decoded; throws when its file is missing or its size
    /// is not the one cameras.json records.
    public static func loadView(_ view: OrbitCameras.View, folder: URL, cameras: OrbitCameras) throws -> Image8 {
        let url = folder.appendingPathComponent(view.file)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw CurationError(path: url.path, reason: "view listed in cameras.json is missing")
        }
        let image = try PNG.read(url)
        guard image.width == cameras.width, image.height == cameras.height else {
            throw CurationError(path: url.path, reason: "is \(image.width)x\(image.height), cameras.json says \(cameras.width)x\(cameras.height)")
        }
        return image
    }

    /// Scores the frames of a training-shard sample made from an orbit (`svdmv dataset renders`):
    /// RGB composited over white, in the sample's order. What only the renderer's folder records
    /// (cameras.json, alpha) is absent with the reason.
    public func score(frames: [Image8], id: String, path: String) -> ScoreRecord {
        var record = ScoreRecord(id: id, source: .renders, path: path)
        record.set(ScoreName.renderFailed, 0)
        let noCameras = "shards do not carry the renderer's cameras.json"
        for name in [ScoreName.renderWarnings, ScoreName.nonFiniteSamples, ScoreName.triangles, ScoreName.backFacingShare] {
            record.set(name, nil, absentBecause: noCameras)
        }
        fillViewScores(&record, viewCount: frames.count, background: (255, 255, 255),
                       translucencyAbsentBecause: "shard frames are composited over white, without alpha") { frames[$0] }
        return record
    }

    /// The scores of the views themselves, pooled over every `viewStride`-th of `viewCount` views
    /// (`views`, coverage, clipping, silhouettes, colour, translucency, the pHash of view 0 and
    /// the learned scores). Views are fetched one at a time by `view(k)`, so an orbit's views need
    /// not all be in memory; the mask is the view's alpha, or what differs from `background`.
    /// `translucent_share` is absent with `translucencyAbsentBecause` when given (views composited
    /// without alpha, where every covered pixel looks opaque).
    public func fillViewScores(_ record: inout ScoreRecord, viewCount: Int, background: (UInt8, UInt8, UInt8),
                               translucencyAbsentBecause: String?, view: (Int) throws -> Image8) rethrows {
        var coverages: [Double] = [], borders: [Double] = [], beyondCircle: [Int] = [], aspects: [Double] = [], areas: [Double] = []
        var colours = ColourAccumulator()
        var translucent = 0.0, interiorTotal = 0.0
        var scored: [Image8] = []
        for k in stride(from: 0, to: viewCount, by: max(1, viewStride)) {
            let image = try view(k)
            let mask = CoverageMask(image, background: background)
            coverages.append(mask.coverage)
            borders.append(mask.borderCoverage)
            beyondCircle.append(mask.borderPixelsBeyondInscribedCircle())
            areas.append(Double(mask.coveredCount))
            if let a = mask.silhouetteAspect { aspects.append(a) }
            colours.add(image, mask: mask)
            if translucencyAbsentBecause == nil {
                let inner = mask.interior()
                for i in 0..<mask.alpha.count where inner[i] {
                    interiorTotal += 1
                    if mask.alpha[i] < 250 { translucent += 1 }
                }
            }
            if k == 0 { record.phash = PerceptualHash(GreyImage(image.rgb())).description }
            if !learned.isEmpty { scored.append(image.rgb()) }
        }
        record.set(ScoreName.views, Double(viewCount))
        record.set(ScoreName.coverageMin, coverages.min(), absentBecause: "no views")
        record.set(ScoreName.coverageMean, mean(coverages), absentBecause: "no views")
        record.set(ScoreName.coverageMax, coverages.max(), absentBecause: "no views")
        record.set(ScoreName.clippedViewShare, mean(beyondCircle.map { $0 > 0 ? 1 : 0 }), absentBecause: "no views")
        record.set(ScoreName.borderCoverageMax, borders.max(), absentBecause: "no views")
        let largest = areas.max() ?? 0
        record.set(ScoreName.silhouetteAreaRatio, largest > 0 ? areas.min()! / largest : nil,
                   absentBecause: "the object covers no pixel in any view")
        record.set(ScoreName.silhouetteAspectMin, aspects.min(), absentBecause: "the object covers no pixel in any view")
        let richness = colours.result()
        record.set(ScoreName.colourStd, richness?.standardDeviation, absentBecause: "no pixel covered by at least half")
        record.set(ScoreName.hueBins, richness.map { Double($0.hueBins) }, absentBecause: "no pixel covered by at least half")
        if let reason = translucencyAbsentBecause {
            record.set(ScoreName.translucentShare, nil, absentBecause: reason)
        } else {
            record.set(ScoreName.translucentShare, interiorTotal > 0 ? translucent / interiorTotal : nil,
                       absentBecause: "the silhouettes have no interior pixels")
        }
        for scorer in learned {
            do { record.set(scorer.name, try scorer.score(scored), absentBecause: "not finite") } catch {
                record.set(scorer.name, nil, absentBecause: "\(error)")
            }
        }
        for (name, reason) in ScoreName.learnedRenderScores where !learned.contains(where: { $0.name == name }) {
            record.set(name, nil, absentBecause: reason)
        }
    }
}

/// A problem with one item's files, naming the file.
public struct CurationError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    public var reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "\(path): \(reason)" }
}
