// The default cascades, one per source, written out as `Datasets/curation/*.json`. Absolute
// thresholds mark what is broken by construction (the renderer fits every object in the frame, so
// any clipping is a fault); percentiles follow the SVD paper's calibration (keep the top 75 % by
// motion, drop the bottom 25 % by a quality score) where no absolute value is known. They are
// starting points to judge on a corpus, not tuned values.

extension CurationConfiguration {
    public static let defaultRenders = CurationConfiguration(
        source: .renders,
        description: "Default cascade for the renderer's orbits (svdmv render): failures, framing, degenerate shapes, flat colour, transparency, tiny meshes, inconsistent views (with CLIP weights), near-duplicates.",
        stages: [
            Stage(name: "render-failed", score: ScoreName.renderFailed, keep: .below, threshold: 0.5,
                  why: "the renderer recorded a failure or wrote no cameras.json"),
            Stage(name: "non-finite", score: ScoreName.nonFiniteSamples, keep: .below, threshold: 0, missing: .keep,
                  why: "samples shaded to NaN/inf were drawn black"),
            Stage(name: "too-small", score: ScoreName.coverageMin, keep: .above, threshold: 0.01,
                  why: "the object fills under 1 % of the frame in some view (the renderer fits it to fill the frame)"),
            Stage(name: "clipped", score: ScoreName.clippedViewShare, keep: .below, threshold: 0,
                  why: "the object reaches the frame's border beyond its inscribed circle in some view: cut by the frame (the renderer fits the bounding sphere to that circle, so this is a fault)"),
            Stage(name: "flat", score: ScoreName.silhouetteAreaRatio, keep: .above, threshold: 0.1,
                  why: "near-flat: seen edge-on the silhouette shrinks under 10 % of its largest area"),
            Stage(name: "needle", score: ScoreName.silhouetteAspectMin, keep: .above, threshold: 0.05,
                  why: "needle-like or seen edge-on: a silhouette box 20 times longer than wide"),
            Stage(name: "flat-colour", score: ScoreName.colourStd, keep: .above, percentile: 10, population: .corpus,
                  why: "the 10 % least colourful objects (single flat colours)"),
            Stage(name: "transparent", score: ScoreName.translucentShare, keep: .below, threshold: 0.5, missing: .keep,
                  why: "more than half of the object's interior is partly transparent"),
            Stage(name: "tiny-mesh", score: ScoreName.triangles, keep: .above, threshold: 4, missing: .keep,
                  why: "fewer than 4 triangles: a quad or a stray primitive"),
            // Skipped (and said to be) when no CLIP weights were given: the score is then absent everywhere.
            Stage(name: "view-consistency", score: ScoreName.clipViewConsistency, keep: .above, percentile: 5,
                  population: .corpus, missing: .keep,
                  why: "the 5 % of objects whose views look least like one object in CLIP's eyes (broken or empty views, inconsistent textures); runs only with CLIP weights (--clip-weights)"),
            Stage(nearDuplicatesNamed: "near-duplicates", maxHamming: 4,
                  why: "canonical views (view 0) whose 64-bit pHashes differ in at most 4 bits: one of each cluster is kept"),
        ])

    public static let defaultMVImgNet = CurationConfiguration(
        source: .mvimgnet,
        description: "Default cascade for MVImgNet captures: registration, trajectory, jumps, blur and the paper's motion filter.",
        stages: [
            Stage(name: "registered", score: ScoreName.registeredFrames, keep: .above, threshold: 21,
                  why: "fewer registered frames than a 21-frame training sequence needs"),
            Stage(name: "registered-share", score: ScoreName.registeredShare, keep: .above, threshold: 0.8,
                  why: "COLMAP registered under 80 % of the frames"),
            Stage(name: "reprojection", score: ScoreName.reprojectionError, keep: .below, threshold: 2,
                  why: "mean reprojection error of the sparse points above 2 pixels"),
            Stage(name: "azimuth-span", score: ScoreName.azimuthSpanDeg, keep: .above, threshold: 60,
                  why: "the trajectory sweeps less than 60 degrees around the object"),
            Stage(name: "up-axis", score: ScoreName.upResidual, keep: .below, threshold: 0.05,
                  why: "the cameras are not held level about the estimated up (tilt above about 13 degrees on average)"),
            Stage(name: "pose-jump", score: ScoreName.cameraStepJump, keep: .below, threshold: 5,
                  why: "a camera step 5 times the median: a re-localisation or dropped frames"),
            Stage(name: "cuts", score: ScoreName.cuts, keep: .below, threshold: 0,
                  why: "the multi-rate cut detector found a jump in the pictures"),
            Stage(name: "blur", score: ScoreName.sharpnessP10, keep: .above, percentile: 25,
                  why: "the 25 % of captures whose blurriest frames are blurriest (the paper drops the bottom 25 % by quality)"),
            Stage(name: "motion", score: ScoreName.motion, keep: .above, percentile: 25,
                  why: "the paper's filter: keep the top 75 % by coarse optical flow"),
        ])
}
