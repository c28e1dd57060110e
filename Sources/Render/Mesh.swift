// The renderer's scene: one flat triangle soup in world space (node transforms already applied),
// with per-vertex normals, texture coordinates and colours, per-triangle materials and decoded
// textures. `MeshLoader` builds it from any file assimp reads; tests build it by hand.

import Foundation

/// Errors an input mesh can cause; each names the file and the reason in one line.
public struct RenderError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }
    public var description: String { "\(path): \(reason)" }
}

public struct Mesh {
    public var positions: [Vec3] = []
    /// Unit vertex normals; a zero vector means "use the face normal".
    public var normals: [Vec3] = []
    public var uvs: [SIMD2<Float>] = []
    /// Linear RGBA vertex colours (white where the file has none).
    public var colors: [SIMD4<Float>] = []
    /// Three vertex indices per triangle.
    public var indices: [UInt32] = []
    /// One material index per triangle.
    public var triangleMaterials: [UInt16] = []
    public var materials: [Material] = [.neutralGrey]
    public var textures: [Texture] = []
    /// Per-vertex tangent frames for normal mapping: dP/du and dP/dv in world space (the texture
    /// coordinates' directions on the surface). Empty when no material has a normal map.
    public var tangents: [Vec3] = []
    public var bitangents: [Vec3] = []

    public init() {}

    public var triangleCount: Int { indices.count / 3 }

    /// Appends one vertex; attributes default to "none".
    public mutating func addVertex(_ p: Vec3, normal: Vec3 = .zero, uv: SIMD2<Float> = .zero,
                                   color: SIMD4<Float> = SIMD4(1, 1, 1, 1)) {
        positions.append(p)
        normals.append(normal)
        uvs.append(uv)
        colors.append(color)
    }

    public mutating func addTriangle(_ a: Int, _ b: Int, _ c: Int, material: Int = 0) {
        indices.append(contentsOf: [UInt32(a), UInt32(b), UInt32(c)])
        triangleMaterials.append(UInt16(material))
    }

    /// Axis-aligned bounds of the vertices that triangles use.
    public var bounds: (min: Vec3, max: Vec3)? {
        guard !indices.isEmpty else { return nil }
        var lo = Vec3(repeating: .infinity), hi = Vec3(repeating: -.infinity)
        for i in indices {
            let p = positions[Int(i)]
            lo = pointwiseMin(lo, p)
            hi = pointwiseMax(hi, p)
        }
        return (lo, hi)
    }

    /// Scales the mesh so the largest side of `box` (default: the tight box over the used
    /// vertices) is 1 and moves the box's centre to the origin. Returns (scale, offset) such that
    /// new = scale * old + offset. Throws when the box is empty, flat in every axis or not finite.
    @discardableResult
    public mutating func normalize(path: String, box: (lo: SIMD3<Double>, hi: SIMD3<Double>)? = nil) throws
        -> (scale: Double, offset: SIMD3<Double>) {
        let lo: SIMD3<Double>, hi: SIMD3<Double>, extent: SIMD3<Double>
        if let box {
            (lo, hi, extent) = (box.lo, box.hi, box.hi - box.lo)
        } else {
            guard let (low, high) = bounds else { throw RenderError(path: path, reason: "no triangles") }
            (lo, hi, extent) = (SIMD3<Double>(low), SIMD3<Double>(high), SIMD3<Double>(high - low))
        }
        let largest = extent.max()
        guard largest.isFinite, largest > 0, lo.min().isFinite, hi.max().isFinite else {
            throw RenderError(path: path, reason: "degenerate bounding box (extent \(largest))")
        }
        let scale = 1 / largest
        let centre = (lo + hi) / 2
        let offset = -centre * scale
        for i in positions.indices {
            positions[i] = Vec3(SIMD3<Double>(positions[i]) * scale + offset)
        }
        return (scale, offset)
    }

    /// Fills `tangents` and `bitangents` when some material has a normal map: per vertex, the sum
    /// over the triangles that use it (of a normal-mapped material) of each triangle's unit dP/du
    /// and dP/dv, solved from its edges and texture-coordinate differences. The shader makes T
    /// orthogonal to the interpolated normal and takes the handedness from B, as a MikkTSpace-
    /// style per-vertex frame is used; triangles with degenerate texture coordinates add nothing.
    public mutating func computeTangentFrames() {
        let mapped = materials.map { $0.normalTexture != nil }
        guard mapped.contains(true) else {
            tangents = []
            bitangents = []
            return
        }
        tangents = [Vec3](repeating: .zero, count: positions.count)
        bitangents = [Vec3](repeating: .zero, count: positions.count)
        for t in 0..<triangleCount where mapped[Int(triangleMaterials[t])] {
            let i0 = Int(indices[3 * t]), i1 = Int(indices[3 * t + 1]), i2 = Int(indices[3 * t + 2])
            let e1 = positions[i1] - positions[i0], e2 = positions[i2] - positions[i0]
            let d1 = uvs[i1] - uvs[i0], d2 = uvs[i2] - uvs[i0]
            let det = d1.x * d2.y - d2.x * d1.y
            guard abs(det) > 1e-12, det.isFinite else { continue }
            var tangent = (e1 * d2.y - e2 * d1.y) / det
            var bitangent = (e2 * d1.x - e1 * d2.x) / det
            let tl = dot(tangent, tangent).squareRoot(), bl = dot(bitangent, bitangent).squareRoot()
            guard tl > 0, bl > 0, tl.isFinite, bl.isFinite else { continue }
            tangent /= tl
            bitangent /= bl
            for i in [i0, i1, i2] {
                tangents[i] += tangent
                bitangents[i] += bitangent
            }
        }
    }

    /// Radius of the smallest origin-centred sphere holding every used vertex.
    public var radius: Double {
        var r: Float = 0
        for i in indices { r = max(r, dot(positions[Int(i)], positions[Int(i)])) }
        return Double(r.squareRoot())
    }
}

/// Which box a scene is normalised by (largest side 1, centred at the origin).
public enum NormalizationRule: String, CaseIterable, Sendable {
    /// `normalize_scene` of allenai/objaverse-xl `scripts/rendering/blender_script.py` (and
    /// zero123's and SyncDreamer's copies): `scene_bbox` over every mesh object, each object's
    /// local `bound_box` corners through its `matrix_world`. With every root parented to one empty
    /// at the origin (the script's fix for several roots), scaling the roots and then translating
    /// them by −centre amounts to new = scale · old − scale · centre. For a rotated node this box is
    /// larger than the tight one, so renders made this way line up with Blender-made Objaverse
    /// renders.
    case objaverse
    /// The tight axis-aligned box over the used vertices.
    case tightBox = "tight-box"

    /// The rule in words, as cameras.json records it.
    public var description: String {
        switch self {
        case .objaverse:
            return "world = scale * source_z_up + offset: the box over each mesh node's local bounding-box corners in world space (objaverse-xl blender_script.py scene_bbox/normalize_scene), largest side 1, centred at the origin"
        case .tightBox:
            return "world = scale * source_z_up + offset: the tight axis-aligned box over the used vertices, largest side 1, centred at the origin"
        }
    }
}

extension LoadedMesh {
    /// Normalises the mesh by `rule`'s box (the tight box when the file gave no node boxes).
    @discardableResult
    public mutating func normalize(_ rule: NormalizationRule, path: String) throws -> (scale: Double, offset: SIMD3<Double>) {
        try mesh.normalize(path: path, box: rule == .objaverse ? objectBoxBounds : nil)
    }
}
