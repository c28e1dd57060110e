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

/// A texture in linear light, RGBA floats, row 0 = top row of the image.
public struct Texture {
    public let width: Int
    public let height: Int
    let storage: TexelStorage

    public init(width: Int, height: Int, texels: [SIMD4<Float>]) {
        precondition(width > 0 && height > 0 && texels.count == width * height)
        self.width = width
        self.height = height
        storage = TexelStorage(texels)
    }

    public var texels: [SIMD4<Float>] { Array(storage.buffer) }

    /// Half the size in each dimension (odd sizes round up), each texel the mean of up to 2 x 2.
    public func halved() -> Texture {
        let w = (width + 1) / 2, h = (height + 1) / 2
        let source = storage.buffer
        return Texture(width: w, height: h, texels: (0..<(w * h)).map { i in
            let x = 2 * (i % w), y = 2 * (i / w)
            var sum = SIMD4<Float>.zero, n: Float = 0
            for dy in 0..<2 where y + dy < height {
                for dx in 0..<2 where x + dx < width {
                    sum += source[(y + dy) * width + x + dx]
                    n += 1
                }
            }
            return sum / n
        })
    }

    /// Bilinear sample with repeat wrapping at assimp texture coordinates (v = 0 is the bottom).
    public func sample(_ uv: SIMD2<Float>) -> SIMD4<Float> { view.sample(uv) }

    /// A pointer view for the shading loop; valid while this texture is alive.
    var view: TextureView {
        TextureView(width: width, height: height, texels: UnsafePointer(storage.base))
    }
}

/// Texels in memory we own, so the shading loop can read them through a plain pointer.
final class TexelStorage: @unchecked Sendable {
    let base: UnsafeMutablePointer<SIMD4<Float>>
    let count: Int
    init(_ texels: [SIMD4<Float>]) {
        count = texels.count
        base = .allocate(capacity: count)
        base.initialize(from: texels, count: count)
    }
    var buffer: UnsafeBufferPointer<SIMD4<Float>> { UnsafeBufferPointer(start: base, count: count) }
    deinit { base.deallocate() }
}

/// Width, height and a borrowed texel pointer: no reference counting per sample.
struct TextureView {
    let width: Int
    let height: Int
    let texels: UnsafePointer<SIMD4<Float>>

    @inline(__always) func sample(_ uv: SIMD2<Float>) -> SIMD4<Float> {
        guard uv.x.isFinite, uv.y.isFinite else { return texels[0] }
        let x = (uv.x - floorFast(uv.x)) * Float(width) - 0.5
        let vy = 1 - uv.y
        let y = (vy - floorFast(vy)) * Float(height) - 0.5
        let x0f = floorFast(x), y0f = floorFast(y)
        let fx = x - x0f, fy = y - y0f
        var x0 = Int(x0f), y0 = Int(y0f)
        if x0 < 0 { x0 += width }
        if y0 < 0 { y0 += height }
        var x1 = x0 + 1, y1 = y0 + 1
        if x1 >= width { x1 -= width }
        if y1 >= height { y1 -= height }
        x0 = min(x0, width - 1)
        y0 = min(y0, height - 1)
        let a = texels[y0 * width + x0], b = texels[y0 * width + x1]
        let c = texels[y1 * width + x0], d = texels[y1 * width + x1]
        let top = a + (b - a) * fx, bottom = c + (d - c) * fx
        return top + (bottom - top) * fy
    }
}

/// floor() without a libm call for the common range; exact for every finite Float.
@inline(__always) func floorFast(_ x: Float) -> Float {
    guard abs(x) < 8_388_608 else { return x.rounded(.down) }   // 2^23: already an integer
    let t = Float(Int32(x))                                      // truncates towards zero
    return t > x ? t - 1 : t
}

@inline(__always) func ceilFast(_ x: Float) -> Float { -floorFast(-x) }

/// A surface's colour: base colour factor (linear RGBA) times an optional texture.
public struct Material {
    public var baseColor: SIMD4<Float>
    /// Index into `Mesh.textures`.
    public var texture: Int?

    public init(baseColor: SIMD4<Float>, texture: Int? = nil) {
        self.baseColor = baseColor
        self.texture = texture
    }

    /// What objects without a material get: a neutral grey (sRGB 0.7 ~ linear 0.45).
    public static let neutralGrey = Material(baseColor: SIMD4(0.448, 0.448, 0.448, 1))
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
