// Minimal 3-D math for camera geometry in Double: vectors are SIMD3<Double>, `Mat3` is row-major,
// `RigidPose` maps world to camera (X_cam = R·X_world + t), COLMAP's cam_from_world.

import Foundation

public typealias Vec3 = SIMD3<Double>

@inlinable func dot(_ a: Vec3, _ b: Vec3) -> Double { (a * b).sum() }
@inlinable func cross(_ a: Vec3, _ b: Vec3) -> Vec3 {
    Vec3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
@inlinable func length(_ a: Vec3) -> Double { dot(a, a).squareRoot() }
@inlinable func normalized(_ a: Vec3) -> Vec3 { a / length(a) }

/// Row-major 3x3 matrix.
public struct Mat3: Equatable, Sendable {
    public var r0: Vec3, r1: Vec3, r2: Vec3

    public init(rows r0: Vec3, _ r1: Vec3, _ r2: Vec3) { self.r0 = r0; self.r1 = r1; self.r2 = r2 }
    public init(rows r0: [Double], _ r1: [Double], _ r2: [Double]) {
        self.init(rows: Vec3(r0[0], r0[1], r0[2]), Vec3(r1[0], r1[1], r1[2]), Vec3(r2[0], r2[1], r2[2]))
    }

    public static let identity = Mat3(rows: Vec3(1, 0, 0), Vec3(0, 1, 0), Vec3(0, 0, 1))

    /// Rotation of a unit quaternion (w, x, y, z), COLMAP's convention (normalised first).
    public init(quaternion q: [Double]) {
        let n = (q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]).squareRoot()
        let w = q[0] / n, x = q[1] / n, y = q[2] / n, z = q[3] / n
        self.init(rows: Vec3(1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
                  Vec3(2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
                  Vec3(2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)))
    }

    /// Quaternion (w, x, y, z) with w >= 0 of a rotation matrix.
    public var quaternion: [Double] {
        let m00 = r0.x, m11 = r1.y, m22 = r2.z
        let trace = m00 + m11 + m22
        var q: [Double]
        if trace > 0 {
            let s = (trace + 1).squareRoot() * 2
            q = [0.25 * s, (r2.y - r1.z) / s, (r0.z - r2.x) / s, (r1.x - r0.y) / s]
        } else if m00 > m11 && m00 > m22 {
            let s = (1 + m00 - m11 - m22).squareRoot() * 2
            q = [(r2.y - r1.z) / s, 0.25 * s, (r0.y + r1.x) / s, (r0.z + r2.x) / s]
        } else if m11 > m22 {
            let s = (1 + m11 - m00 - m22).squareRoot() * 2
            q = [(r0.z - r2.x) / s, (r0.y + r1.x) / s, 0.25 * s, (r1.z + r2.y) / s]
        } else {
            let s = (1 + m22 - m00 - m11).squareRoot() * 2
            q = [(r1.x - r0.y) / s, (r0.z + r2.x) / s, (r1.z + r2.y) / s, 0.25 * s]
        }
        if q[0] < 0 { q = q.map { -$0 } }
        return q
    }

    public var transposed: Mat3 {
        Mat3(rows: Vec3(r0.x, r1.x, r2.x), Vec3(r0.y, r1.y, r2.y), Vec3(r0.z, r1.z, r2.z))
    }
    public var columns: (Vec3, Vec3, Vec3) { let t = transposed; return (t.r0, t.r1, t.r2) }
    public var array: [[Double]] { [[r0.x, r0.y, r0.z], [r1.x, r1.y, r1.z], [r2.x, r2.y, r2.z]] }

    public static func * (m: Mat3, v: Vec3) -> Vec3 { Vec3(dot(m.r0, v), dot(m.r1, v), dot(m.r2, v)) }
    public static func * (a: Mat3, b: Mat3) -> Mat3 {
        let t = b.transposed
        return Mat3(rows: Vec3(dot(a.r0, t.r0), dot(a.r0, t.r1), dot(a.r0, t.r2)),
                    Vec3(dot(a.r1, t.r0), dot(a.r1, t.r1), dot(a.r1, t.r2)),
                    Vec3(dot(a.r2, t.r0), dot(a.r2, t.r1), dot(a.r2, t.r2)))
    }

    /// Rotation about unit `axis` by `angle` radians (Rodrigues).
    public static func rotation(axis: Vec3, angle: Double) -> Mat3 {
        let k = normalized(axis), c = cos(angle), s = sin(angle), v = 1 - c
        return Mat3(rows: Vec3(c + k.x * k.x * v, k.x * k.y * v - k.z * s, k.x * k.z * v + k.y * s),
                    Vec3(k.y * k.x * v + k.z * s, c + k.y * k.y * v, k.y * k.z * v - k.x * s),
                    Vec3(k.z * k.x * v - k.y * s, k.z * k.y * v + k.x * s, c + k.z * k.z * v))
    }
}

/// World-to-camera rigid transform (COLMAP cam_from_world, OpenCV camera axes).
public struct RigidPose: Equatable, Sendable {
    public var rotation: Mat3
    public var translation: Vec3

    public init(rotation: Mat3, translation: Vec3) { self.rotation = rotation; self.translation = translation }

    /// Camera at `centre` looking at `target`, image-up as close to `up` as possible (no roll).
    public init(lookingFrom centre: Vec3, at target: Vec3, up: Vec3) {
        let z = normalized(target - centre)          // forward
        let x = normalized(cross(z, up))             // right  (OpenCV: x = forward × up... y down)
        let y = cross(z, x)                          // down
        rotation = Mat3(rows: x, y, z)
        translation = -(rotation * centre)
    }

    /// Camera centre in world coordinates, −Rᵀt.
    public var centre: Vec3 { -(rotation.transposed * translation) }
    /// Camera axes in world coordinates (rows of R): right, down, forward.
    public var right: Vec3 { rotation.r0 }
    public var down: Vec3 { rotation.r1 }
    public var forward: Vec3 { rotation.r2 }

    public func apply(_ world: Vec3) -> Vec3 { rotation * world + translation }

    /// 3x4 [R | t] row-major.
    public var matrix3x4: [[Double]] {
        let r = rotation.array
        return [r[0] + [translation.x], r[1] + [translation.y], r[2] + [translation.z]]
    }

    /// The same camera in a world changed by X' = s·Q·X + d (a similarity): R' = R·Qᵀ, t' = s·t − R'·d.
    public func inWorld(scale s: Double, rotation q: Mat3, shift d: Vec3) -> RigidPose {
        let r = rotation * q.transposed
        return RigidPose(rotation: r, translation: s * translation - r * d)
    }
}
