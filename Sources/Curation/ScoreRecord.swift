// The scores of one object or capture: one line of `scores.jsonl`. Every score is a finite number
// under its name (`ScoreName`); a score that could not be computed is absent from `scores` and
// listed in `absent` with the reason, never filled with a made-up value.

import Foundation

/// The names of the scores, as they appear in scores.jsonl and in cascade configurations.
public enum ScoreName {
    // Orbit renders
    /// 1 when the renderer's manifest records a failure (or no cameras.json was written), else 0.
    public static let renderFailed = "render_failed"
    /// Warnings the renderer recorded in cameras.json (dropped lines, NaN samples, ...).
    public static let renderWarnings = "render_warnings"
    /// Samples shaded to NaN/inf (cameras.json `non_finite_samples`).
    public static let nonFiniteSamples = "non_finite_samples"
    public static let views = "views"
    /// The object's share of the frame (mean coverage): smallest, mean and largest over the views.
    public static let coverageMin = "coverage_min"
    public static let coverageMean = "coverage_mean"
    public static let coverageMax = "coverage_max"
    /// Share of the views where the object covers border pixels beyond the frame's inscribed circle
    /// (`CoverageMask.borderPixelsBeyondInscribedCircle`): cut by the frame, not only filling it.
    public static let clippedViewShare = "clipped_view_share"
    /// Largest share of a view's border ring the object covers.
    public static let borderCoverageMax = "border_coverage_max"
    /// Smallest over largest silhouette area across the views: near 0 for a flat object seen edge-on.
    public static let silhouetteAreaRatio = "silhouette_area_ratio"
    /// Smallest silhouette bounding-box aspect (short side / long side) over the views: near 0 for a needle.
    public static let silhouetteAspectMin = "silhouette_aspect_min"
    /// RMS of the per-channel colour standard deviation over the covered pixels of every view.
    public static let colourStd = "colour_std"
    /// Hue bins (of 12) with at least 1 % of the covered pixels (saturated ones only).
    public static let hueBins = "hue_bins"
    /// Share of interior covered pixels that are partly transparent, over every view.
    public static let translucentShare = "translucent_share"
    /// Triangles of the rendered mesh (cameras.json `triangles`).
    public static let triangles = "triangles"
    /// Share of faces seen from behind; the renderer does not record it.
    public static let backFacingShare = "back_facing_share"

    // MVImgNet captures
    public static let frames = "frames"
    public static let registeredFrames = "registered_frames"
    /// Registered frames present on disk over the frames on disk.
    public static let registeredShare = "registered_share"
    /// Variance of the Laplacian at the analysis size: the capture's median frame and its 10th percentile.
    public static let sharpnessMedian = "sharpness_median"
    public static let sharpnessP10 = "sharpness_p10"
    /// Azimuth swept by the registered cameras (unwrapped along the trajectory), degrees.
    public static let azimuthSpanDeg = "azimuth_span_deg"
    /// Highest minus lowest camera elevation, degrees.
    public static let elevationRangeDeg = "elevation_range_deg"
    /// Largest camera step along the trajectory over the median step (jumps in the poses).
    public static let cameraStepJump = "camera_step_jump"
    /// Mean reprojection error of the sparse points (COLMAP's per-point error), pixels.
    public static let reprojectionError = "reprojection_error"
    public static let points3D = "points3d"
    /// Mean squared component of the cameras' right axes along the estimated up (0: every camera
    /// held level about that up; large: the up estimate is doubtful).
    public static let upResidual = "up_residual"
    /// Mean block-flow magnitude between consecutive frames at the analysis size (pixels per step).
    public static let motion = "motion"
    /// Cuts found by the multi-rate cut detector.
    public static let cuts = "cuts"

    // Learned scores (`LearnedScore`): computed only when the user gives the model's weights.
    /// Mean cosine similarity of each scored view's CLIP image embedding to the mean of the other
    /// views' (renders; `svdmv curate --clip-weights`, LearnedScores.ClipViewConsistency).
    public static let clipViewConsistency = "clip_view_consistency"
    /// The learned scores of rendered orbits, each with why it is absent when it did not run
    /// (recorded in every record, so a stage on it says why it was skipped).
    public static let learnedRenderScores: [(name: String, absentBecause: String)] = [
        (clipViewConsistency, "no CLIP weights given (--clip-weights FILE)"),
    ]
}

public struct ScoreRecord: Codable, Equatable, Sendable {
    public enum Source: String, Codable, CaseIterable, Sendable { case renders, mvimgnet }

    public var id: String
    public var source: Source
    /// The object's folder (renders) or the capture's folder (MVImgNet); for a training-shard
    /// sample, `<shard file>#<key>`.
    public var path: String
    public var scores: [String: Double]
    /// Scores that were not computed, with the reason.
    public var absent: [String: String]
    /// Perceptual hash of the canonical view (renders: view 0 on white), 16 hex digits.
    public var phash: String?
    /// Why the item could not be scored at all (unreadable folder, corrupt image), if so.
    public var error: String?

    public init(id: String, source: Source, path: String) {
        self.id = id; self.source = source; self.path = path
        scores = [:]; absent = [:]
    }

    /// Records a score; a non-finite value is recorded as absent instead.
    public mutating func set(_ name: String, _ value: Double?, absentBecause reason: @autoclosure () -> String) {
        if let value, value.isFinite {
            scores[name] = value
            absent[name] = nil
        } else {
            scores[name] = nil
            absent[name] = reason()
        }
    }

    public mutating func set(_ name: String, _ value: Double) {
        set(name, value, absentBecause: "not finite")
    }

    /// One line of JSON (sorted keys).
    public func jsonLine() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}
