// Object-centred camera angles for a hand-held capture in an arbitrary COLMAP world (rotated,
// scaled and shifted). MVImgNet ships no angles; the centre estimates are close to the 'lookat' and
// 'point' ones of bennyguo/instant-nsr-pl's `normalize_poses` (`datasets/colmap.py`).
//
// Centre: the point nearest all optical axes in the least-squares sense (the camera keeps the
// object in view), or a robust mean of sparse points.
// Up: phones are held upright, so every camera's right axis (+x, OpenCV) is horizontal whatever
// the camera's pitch; the up direction is the direction most orthogonal to all right axes, the
// eigenvector of Σ xᵢxᵢᵀ with the smallest eigenvalue, signed toward the cameras' mean up (−y).
// Unlike the normal of a plane fitted through the camera centres, it does not tilt when the
// capture's height changes along the trajectory (see `UpMethod.trajectoryPlane`, kept for
// comparison). Frames stored sideways (camera y horizontal) are detected by comparing the two
// scatter matrices.
// Angles: elevation = asin(ĉ·up) for ĉ the unit vector from centre to camera; azimuth = the
// counter-clockwise angle about `up` (right-handed), in [0, 360), from a reference camera.

import CEigenHelper
import Foundation

public enum GeometryError: Error, CustomStringConvertible, Equatable {
    case degenerate(String)
    public var description: String {
        switch self { case .degenerate(let why): return "capture geometry: \(why)" }
    }
}

public struct CaptureGeometry: Equatable, Sendable {
    public enum CentreMethod: String, CaseIterable, Sendable {
        /// Least-squares point nearest every optical axis (Eigen).
        case opticalAxes = "optical-axes"
        /// Mean of the sparse points after dropping those far from their median.
        case sparsePoints = "sparse-points"
    }

    public enum UpMethod: String, CaseIterable, Sendable {
        /// Normal of the plane the cameras' right axes span (held-upright phones). Default.
        case cameraAxes = "camera-axes"
        /// Normal of the plane fitted through the camera centres; tilts when elevation varies.
        case trajectoryPlane = "trajectory-plane"
        /// Mean of the cameras' up axes (−y); tilts with the cameras' pitch.
        case meanCameraUp = "mean-camera-up"
    }

    /// Object centre in world coordinates.
    public var centre: Vec3
    /// Unit world up.
    public var up: Vec3

    public init(centre: Vec3, up: Vec3) { self.centre = centre; self.up = normalized(up) }

    public static func estimate(poses: [RigidPose], points: [Vec3] = [],
                                centre centreMethod: CentreMethod = .opticalAxes,
                                up upMethod: UpMethod = .cameraAxes) throws -> CaptureGeometry {
        guard poses.count >= 3 else { throw GeometryError.degenerate("\(poses.count) cameras, need at least 3") }
        let centre: Vec3
        switch centreMethod {
        case .opticalAxes: centre = try nearestPointToAxes(poses)
        case .sparsePoints: centre = try robustMean(points)
        }
        let up: Vec3
        switch upMethod {
        case .cameraAxes: up = try upFromCameraAxes(poses, centre: centre)
        case .trajectoryPlane: up = try upFromTrajectoryPlane(poses)
        case .meanCameraUp: up = normalized(poses.map { -$0.down }.reduce(.zero, +))
        }
        return CaptureGeometry(centre: centre, up: up)
    }

    /// Elevation in degrees of a camera centre, positive above the object's horizon.
    public func elevation(of cameraCentre: Vec3) -> Double {
        let v = normalized(cameraCentre - centre)
        return asin(max(-1, min(1, dot(v, up)))) * 180 / .pi
    }

    /// Azimuths in degrees, [0, 360), counter-clockwise about `up`, of each camera centre, with the
    /// camera `reference` at 0.
    public func azimuths(of cameraCentres: [Vec3], reference: Int) -> [Double] {
        let e1 = normalized(horizontal(cameraCentres[reference] - centre))
        let e2 = cross(up, e1)
        return cameraCentres.map { c in
            let v = c - centre
            var a = atan2(dot(v, e2), dot(v, e1)) * 180 / .pi
            if a < 0 { a += 360 }
            if a >= 360 { a -= 360 }
            return a
        }
    }

    /// Distance from the centre to a camera centre.
    public func distance(of cameraCentre: Vec3) -> Double { length(cameraCentre - centre) }

    func horizontal(_ v: Vec3) -> Vec3 { v - dot(v, up) * up }

    // MARK: Estimators

    static func nearestPointToAxes(_ poses: [RigidPose]) throws -> Vec3 {
        var origins: [Double] = [], directions: [Double] = []
        for p in poses {
            let c = p.centre, f = p.forward
            origins += [c.x, c.y, c.z]
            directions += [f.x, f.y, f.z]
        }
        var out = [Double](repeating: 0, count: 3)
        let status = ceigen_nearest_point_to_lines(origins, directions, nil, Int32(poses.count), &out)
        guard status == 0 else { throw GeometryError.degenerate("optical axes are parallel; no nearest point") }
        return Vec3(out[0], out[1], out[2])
    }

    static func robustMean(_ points: [Vec3]) throws -> Vec3 {
        guard points.count >= 3 else { throw GeometryError.degenerate("\(points.count) sparse points, need at least 3") }
        func median(_ v: [Double]) -> Double { let s = v.sorted(); return s[s.count / 2] }
        let m = Vec3(median(points.map(\.x)), median(points.map(\.y)), median(points.map(\.z)))
        let distances = points.map { length($0 - m) }
        let limit = 1.5 * median(distances)
        let kept = points.filter { length($0 - m) <= limit }
        return kept.reduce(.zero, +) / Double(kept.count)
    }

    static func symmetricEigen(_ m: Mat3) throws -> (values: [Double], vectors: [Vec3]) {
        let flat = m.array.flatMap { $0 }
        var values = [Double](repeating: 0, count: 3), vectors = [Double](repeating: 0, count: 9)
        guard ceigen_symmetric_eigen3(flat, &values, &vectors) == 0 else {
            throw GeometryError.degenerate("eigen decomposition did not converge")
        }
        return (values, (0..<3).map { Vec3(vectors[3 * $0], vectors[3 * $0 + 1], vectors[3 * $0 + 2]) })
    }

    static func scatter(_ vs: [Vec3]) -> Mat3 {
        var m = Mat3(rows: Vec3.zero, .zero, .zero)
        for v in vs { m.r0 += v.x * v; m.r1 += v.y * v; m.r2 += v.z * v }
        return m
    }

    static func upFromCameraAxes(_ poses: [RigidPose], centre: Vec3) throws -> Vec3 {
        let n = Double(poses.count)
        let right = try symmetricEigen(scatter(poses.map(\.right)))
        let down = try symmetricEigen(scatter(poses.map(\.down)))
        // The horizontal axis set is the one closest to lying in a plane.
        let sideways = down.values[0] < right.values[0]
        let eig = sideways ? down : right
        var up = eig.vectors[0]
        let axes = poses.map { sideways ? $0.right : $0.down }
        if eig.values[1] < 0.02 * n {
            // The axes barely turn (a short arc): the plane they span is ill-determined, so take
            // the mean camera up made orthogonal to the mean horizontal axis.
            let h = normalized((sideways ? poses.map(\.down) : poses.map(\.right)).reduce(.zero, +))
            let meanUp = -axes.reduce(.zero, +)
            up = normalized(meanUp - dot(meanUp, h) * h)
        }
        if !sideways {
            if dot(up, -axes.reduce(.zero, +)) < 0 { up = -up }
        } else {
            // Sideways frames leave the sign open: assume the capture is mostly from above.
            let meanHeight = poses.map { dot(normalized($0.centre - centre), up) }.reduce(0, +)
            if meanHeight < 0 { up = -up }
        }
        return normalized(up)
    }

    static func upFromTrajectoryPlane(_ poses: [RigidPose]) throws -> Vec3 {
        let centres = poses.map(\.centre)
        let mean = centres.reduce(.zero, +) / Double(centres.count)
        let eig = try symmetricEigen(scatter(centres.map { $0 - mean }))
        var up = eig.vectors[0]
        if dot(up, -poses.map(\.down).reduce(.zero, +)) < 0 { up = -up }
        return up
    }
}
