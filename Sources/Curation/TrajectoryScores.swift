// Trajectory coverage of a hand-held capture from its COLMAP poses, in the object-centred frame of
// MultiViewData's `CaptureGeometry` (centre nearest every optical axis, up normal to the cameras'
// right axes; `Sources/MultiViewData/CaptureGeometry.swift`).

import MultiViewData

private func dot(_ a: Vec3, _ b: Vec3) -> Double { (a * b).sum() }
private func length(_ a: Vec3) -> Double { dot(a, a).squareRoot() }

public struct TrajectoryScores: Equatable, Sendable {
    /// Azimuth swept along the trajectory: the steps between consecutive cameras taken in
    /// (−180°, 180°], summed, and the range of the running sum (a full orbit ≈ 360; may exceed it
    /// when the capture goes round more than once).
    public var azimuthSpanDeg: Double
    /// Highest minus lowest camera elevation above the object's horizon.
    public var elevationRangeDeg: Double
    /// Largest distance between consecutive camera centres over the median one (about 1 for an
    /// even walk; large for a jump); nil when the median step is 0.
    public var stepJump: Double?
    /// Mean squared component along the estimated up of the cameras' horizontal axes (right, or
    /// down for frames stored sideways, whichever lies flatter): 0 when every camera is held level
    /// about that up, as the up estimate assumes.
    public var upResidual: Double

    /// The scores of `poses` (in trajectory order), or why they cannot be computed (fewer than 3
    /// cameras, parallel optical axes).
    public init(poses: [RigidPose], points: [Vec3] = []) throws {
        let geometry = try CaptureGeometry.estimate(poses: poses, points: points)
        let centres = poses.map(\.centre)
        let azimuths = geometry.azimuths(of: centres, reference: 0)
        var running = 0.0, lowest = 0.0, highest = 0.0
        for i in 1..<azimuths.count {
            var step = (azimuths[i] - azimuths[i - 1]).truncatingRemainder(dividingBy: 360)
            if step > 180 { step -= 360 } else if step <= -180 { step += 360 }
            running += step
            lowest = min(lowest, running); highest = max(highest, running)
        }
        azimuthSpanDeg = highest - lowest
        let elevations = centres.map(geometry.elevation(of:))
        elevationRangeDeg = (elevations.max() ?? 0) - (elevations.min() ?? 0)
        let steps = (1..<centres.count).map { length(centres[$0] - centres[$0 - 1]) }
        let typical = median(steps) ?? 0
        stepJump = typical > 0 ? (steps.max() ?? 0) / typical : nil
        func residual(_ axis: (RigidPose) -> Vec3) -> Double {
            poses.map { let d = dot(axis($0), geometry.up); return d * d }.reduce(0, +) / Double(poses.count)
        }
        upResidual = min(residual(\.right), residual(\.down))
    }
}
