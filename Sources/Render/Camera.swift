// Orbit cameras and every convention the renderer uses, written once here.
//
// World. Right-handed, +Z up (Blender's world, in which Objaverse/zero123/SyncDreamer/SV3D
//   render). Y-up assets (glTF, OBJ, FBX, DAE as assimp returns them) are turned Z-up by
//   (x, y, z) -> (x, -z, y), as Blender's importers do; STL and PLY are taken as already Z-up.
// Orbit. A camera at elevation `el` and azimuth `az` (degrees) sits at
//   C = distance * (cos el * cos az, cos el * sin az, sin el):
//   az = 0 puts the camera on +X, increasing az turns it counter-clockwise seen from above
//   (towards +Y); positive el is above the XY plane (SyncDreamer and sv3d_helpers use the same).
//   It looks at the origin with no roll: image-up is world +Z projected onto the image plane.
// Camera frames. OpenGL/Blender: x right, y up, z backward (visible points have z < 0).
//   OpenCV: x right, y down, z forward (visible points have z > 0). R_cv = diag(1,-1,-1) * R_gl,
//   t_cv = diag(1,-1,-1) * t_gl. Both are stored as 3x4 world-to-camera [R | t], row-major;
//   the camera centre is -R^T t.
// Pixels. u grows to the right, v grows downwards, origin at the top-left corner of the image;
//   pixel (i, j) (column i, row j, row 0 = top row of the PNG) covers [i, i+1) x [j, j+1) and its
//   centre is (i + 0.5, j + 0.5). K = [[f, 0, W/2], [0, f, H/2], [0, 0, 1]] with
//   f = (W/2) / tan(fov/2) maps OpenCV camera points to pixels: (u, v) = (fx x/z + cx, fy y/z + cy).
//   The field of view is the horizontal one (= vertical for square images, Blender sensor fit AUTO).
// Depth. The OpenCV camera z (distance along the optical axis), not the ray length.
// Texture coordinates. assimp's: (0, 0) is the bottom-left corner of the texture image.

import Foundation

public typealias Vec3 = SIMD3<Float>

/// A 3x3 rotation and a translation: world-to-camera [R | t], in Double for the saved files.
public struct Extrinsics: Equatable {
    /// Rows of R.
    public var rows: [SIMD3<Double>]
    public var translation: SIMD3<Double>

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

/// One camera of an orbit: pose on the sphere plus pinhole intrinsics for a square-pixel image.
public struct Camera: Equatable {
    public var elevationDegrees: Double
    public var azimuthDegrees: Double
    public var distance: Double
    /// Horizontal field of view in degrees.
    public var fovDegrees: Double
    public var width: Int
    public var height: Int

    public init(elevationDegrees: Double, azimuthDegrees: Double, distance: Double,
                fovDegrees: Double, width: Int, height: Int) {
        self.elevationDegrees = elevationDegrees
        self.azimuthDegrees = azimuthDegrees
        self.distance = distance
        self.fovDegrees = fovDegrees
        self.width = width
        self.height = height
    }

    /// Focal length in pixels (fx = fy).
    public var focal: Double { Double(width) / 2 / tan(fovDegrees * .pi / 360) }

    /// Intrinsics K (row-major 3x3).
    public var intrinsics: [[Double]] {
        [[focal, 0, Double(width) / 2], [0, focal, Double(height) / 2], [0, 0, 1]]
    }

    /// Camera centre in world coordinates.
    public var position: SIMD3<Double> {
        let el = elevationDegrees * .pi / 180, az = azimuthDegrees * .pi / 180
        return distance * SIMD3(cos(el) * cos(az), cos(el) * sin(az), sin(el))
    }

    /// World-to-camera in the OpenCV frame (x right, y down, z forward).
    public var worldToCameraOpenCV: Extrinsics {
        let c = position
        let forward = normalized(-c)                         // towards the origin
        // Image-right is forward x up; at the poles (|el| = 90) fall back to the azimuth's tangent.
        var right = cross(forward, SIMD3(0, 0, 1))
        if (right * right).sum() < 1e-18 {
            let az = azimuthDegrees * .pi / 180
            right = SIMD3(-sin(az), cos(az), 0)                  // the limit as el -> +-90
        }
        right = normalized(right)
        let down = cross(forward, right)                     // z x x = y in a right-handed frame
        let rows = [right, down, forward]
        let t = SIMD3(-(right * c).sum(), -(down * c).sum(), -(forward * c).sum())
        return Extrinsics(rows: rows, translation: t)
    }

    /// World-to-camera in the OpenGL/Blender frame (x right, y up, z backward).
    public var worldToCameraOpenGL: Extrinsics { worldToCameraOpenCV.flippedYZ }

    /// Projects a world point to pixel coordinates (u, v) and its OpenCV depth z.
    public func project(_ p: SIMD3<Double>) -> (u: Double, v: Double, depth: Double) {
        let q = worldToCameraOpenCV.apply(p)
        let f = focal
        return (f * q.x / q.z + Double(width) / 2, f * q.y / q.z + Double(height) / 2, q.z)
    }
}

@inline(__always) func normalized(_ v: SIMD3<Double>) -> SIMD3<Double> {
    v / (v * v).sum().squareRoot()
}

@inline(__always) func cross(_ a: SIMD3<Double>, _ b: SIMD3<Double>) -> SIMD3<Double> {
    SIMD3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

@inline(__always) func cross(_ a: Vec3, _ b: Vec3) -> Vec3 {
    Vec3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

@inline(__always) func dot(_ a: Vec3, _ b: Vec3) -> Float { (a * b).sum() }
