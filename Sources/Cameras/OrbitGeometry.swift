// The orbit geometry every cameras.json writer shares: where a camera on the orbit sits, how it
// is turned towards the object, and its pinhole intrinsics.
//
// World. Right-handed, +Z up (Blender's world, in which Objaverse, zero123, SyncDreamer and SV3D
//   render).
// Orbit. A camera at elevation `el` and azimuth `az` (degrees) sits at
//   C = distance * (cos el * cos az, cos el * sin az, sin el):
//   az = 0 puts the camera on +X, increasing az turns it counter-clockwise seen from above
//   (towards +Y); positive el is above the XY plane (SyncDreamer and sgm's sv3d_helpers use the
//   same). It looks at the origin with no roll (Blender's TRACK_TO): image-up is world +Z
//   projected onto the image plane.
// Camera frames. OpenGL/Blender: x right, y up, z backward (visible points have z < 0).
//   OpenCV: x right, y down, z forward (visible points have z > 0). R_cv = diag(1,-1,-1) * R_gl,
//   t_cv = diag(1,-1,-1) * t_gl. Both are 3x4 world-to-camera [R | t], row-major; the camera
//   centre is -R^T t.
// Pixels. u grows to the right, v downwards, origin at the image's top-left corner, pixel centres
//   at +0.5. K = [[f, 0, W/2], [0, f, H/2], [0, 0, 1]] with f = (W/2) / tan(fov/2): the field of
//   view is the horizontal one (= vertical for square images, Blender's sensor fit AUTO).

import Foundation

/// A 3x3 rotation and a translation: world-to-camera [R | t], in Double for the saved files.
public struct Extrinsics: Equatable, Sendable {
    /// Rows of R.
    public var rows: [SIMD3<Double>]
    public var translation: SIMD3<Double>

    public init(rows: [SIMD3<Double>], translation: SIMD3<Double>) {
        self.rows = rows
        self.translation = translation
    }

    /// The 3x4 matrix as nested rows, for JSON.
    public var matrix: [[Double]] {
        (0..<3).map { [rows[$0].x, rows[$0].y, rows[$0].z, translation[$0]] }
    }

    /// Camera centre in world coordinates, -R^T t.
    public var centre: SIMD3<Double> {
        -(rows[0] * translation.x + rows[1] * translation.y + rows[2] * translation.z)
    }

    /// Applies [R | t] to a world point.
    public func apply(_ p: SIMD3<Double>) -> SIMD3<Double> {
        SIMD3((rows[0] * p).sum() + translation.x, (rows[1] * p).sum() + translation.y,
              (rows[2] * p).sum() + translation.z)
    }

    /// The same camera with its y and z axes negated (OpenGL <-> OpenCV).
    public var flippedYZ: Extrinsics {
        Extrinsics(rows: [rows[0], -rows[1], -rows[2]],
                   translation: SIMD3(translation.x, -translation.y, -translation.z))
    }
}

/// A camera's place on the orbit: elevation and azimuth in degrees, distance to the origin.
public struct OrbitPose: Equatable, Sendable {
    public var elevationDegrees: Double
    public var azimuthDegrees: Double
    public var distance: Double

    public init(elevationDegrees: Double, azimuthDegrees: Double, distance: Double) {
        self.elevationDegrees = elevationDegrees
        self.azimuthDegrees = azimuthDegrees
        self.distance = distance
    }

    /// Camera centre in world coordinates.
    public var position: SIMD3<Double> {
        let el = elevationDegrees * .pi / 180, az = azimuthDegrees * .pi / 180
        return distance * SIMD3(cos(el) * cos(az), cos(el) * sin(az), sin(el))
    }

    /// World-to-camera in the OpenCV frame (x right, y down, z forward), looking at the origin.
    public var worldToCameraOpenCV: Extrinsics {
        let c = position
        let forward = normalized(-c)
        // Image-right is forward x up; at the poles (|el| = 90) the limit as el -> +-90 is the
        // azimuth's tangent.
        var right = crossProduct(forward, SIMD3(0, 0, 1))
        if (right * right).sum() < 1e-18 {
            let az = azimuthDegrees * .pi / 180
            right = SIMD3(-sin(az), cos(az), 0)
        }
        right = normalized(right)
        let down = crossProduct(forward, right)
        let t = SIMD3(-(right * c).sum(), -(down * c).sum(), -(forward * c).sum())
        return Extrinsics(rows: [right, down, forward], translation: t)
    }

    /// World-to-camera in the OpenGL/Blender frame (x right, y up, z backward).
    public var worldToCameraOpenGL: Extrinsics { worldToCameraOpenCV.flippedYZ }
}

public enum PinholeIntrinsics {
    /// Focal length in pixels (fx = fy) for an image `width` pixels wide with horizontal field of
    /// view `fovDegrees`.
    public static func focal(width: Int, fovDegrees: Double) -> Double {
        Double(width) / 2 / tan(fovDegrees * .pi / 360)
    }

    /// K (row-major 3x3) with the principal point at the image centre.
    public static func matrix(width: Int, height: Int, fovDegrees: Double) -> [[Double]] {
        let f = focal(width: width, fovDegrees: fovDegrees)
        return [[f, 0, Double(width) / 2], [0, f, Double(height) / 2], [0, 0, 1]]
    }
}

@inline(__always) func normalized(_ v: SIMD3<Double>) -> SIMD3<Double> {
    v / (v * v).sum().squareRoot()
}

@inline(__always) func crossProduct(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}
