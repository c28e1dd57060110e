// The renderer's cameras and the conventions it adds to the orbit geometry of
// `Sources/Cameras/OrbitGeometry.swift` (world +Z up, orbit angles, OpenCV/OpenGL frames, K):
//
// Assets. Y-up assets (glTF, OBJ, FBX, DAE as assimp returns them) are turned Z-up by
//   (x, y, z) -> (x, -z, y), as Blender's importers do; STL and PLY are taken as already Z-up.
// Pixels. Pixel (i, j) (column i, row j, row 0 = top row of the PNG) covers [i, i+1) x [j, j+1)
//   and its centre is (i + 0.5, j + 0.5); K maps OpenCV camera points to pixels:
//   (u, v) = (fx x/z + cx, fy y/z + cy).
// Depth. The OpenCV camera z (distance along the optical axis), not the ray length.
// Texture coordinates. assimp's: (0, 0) is the bottom-left corner of the texture image.

import Cameras
import Foundation

public typealias Vec3 = SIMD3<Float>

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
    public var focal: Double { PinholeIntrinsics.focal(width: width, fovDegrees: fovDegrees) }

    /// Intrinsics K (row-major 3x3).
    public var intrinsics: [[Double]] { PinholeIntrinsics.matrix(width: width, height: height, fovDegrees: fovDegrees) }

    /// The camera's place on the orbit (the geometry every cameras.json writer shares).
    public var pose: OrbitPose {
        OrbitPose(elevationDegrees: elevationDegrees, azimuthDegrees: azimuthDegrees, distance: distance)
    }

    /// Camera centre in world coordinates.
    public var position: SIMD3<Double> { pose.position }

    /// World-to-camera in the OpenCV frame (x right, y down, z forward).
    public var worldToCameraOpenCV: Extrinsics { pose.worldToCameraOpenCV }

    /// World-to-camera in the OpenGL/Blender frame (x right, y up, z backward).
    public var worldToCameraOpenGL: Extrinsics { pose.worldToCameraOpenGL }

    /// Projects a world point to pixel coordinates (u, v) and its OpenCV depth z.
    public func project(_ p: SIMD3<Double>) -> (u: Double, v: Double, depth: Double) {
        let q = worldToCameraOpenCV.apply(p)
        let f = focal
        return (f * q.x / q.z + Double(width) / 2, f * q.y / q.z + Double(height) / 2, q.z)
    }
}

@inline(__always) func cross(_ a: Vec3, _ b: Vec3) -> Vec3 {
    Vec3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x)
}

@inline(__always) func dot(_ a: Vec3, _ b: Vec3) -> Float { (a * b).sum() }
