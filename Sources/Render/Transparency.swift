// Transparency: which triangles are drawn how (opaque, alpha-masked, blended; single-sided), and
// the layers of blended fragments in front of the opaque surface of each sample.
//
// Blended surfaces are order-independent up to `FragmentLayers.depth` layers per sample: each
// sample keeps its nearest blended fragments in front of the opaque surface, sorted by depth, and
// the shader composites them back to front ("over"). Fragments past that depth (rare: a fifth
// glass pane behind four others) are dropped, the farthest first.

import Foundation

enum SurfaceKind: UInt8 {
    case opaque = 0, mask = 1, blend = 2
}

/// Per-triangle drawing classes for the rasteriser's passes.
struct SurfaceClasses {
    /// Set in a class code when the material's back faces are not drawn.
    static let singleSided: UInt8 = 0x80

    /// A material's class code: its `SurfaceKind`, plus `singleSided`.
    static func code(_ m: Material) -> UInt8 {
        let kind: SurfaceKind
        switch m.alphaMode {
        case .opaque: kind = .opaque
        case .mask: kind = .mask
        case .blend: kind = .blend
        }
        return kind.rawValue | (m.doubleSided ? 0 : singleSided)
    }

    let classes: UnsafeBufferPointer<UInt8>
    let context: ShadingContext
    let eye: Vec3

    @inline(__always) func kind(of t: Int) -> SurfaceKind { SurfaceKind(rawValue: classes[t] & 0x7F) ?? .opaque }

    /// Whether triangle t is drawn from this eye: always, unless single-sided and seen from the back.
    @inline(__always) func faces(_ t: Int) -> Bool {
        guard classes[t] & Self.singleSided != 0 else { return true }
        let p0 = context.positions[Int(context.indices[3 * t])]
        return dot(context.faceNormals[t], eye - p0) > 0
    }
}

/// Up to `depth` blended fragments per sample, nearest first: triangle, barycentrics and camera
/// depth of each.
struct FragmentLayers {
    static let depth = 4
    var count: [UInt8]
    var z: [Float]
    var triangle: [Int32]
    var bary: [SIMD2<Float>]

    init(samples: Int) {
        count = [UInt8](repeating: 0, count: samples)
        z = [Float](repeating: .infinity, count: samples * Self.depth)
        triangle = [Int32](repeating: -1, count: samples * Self.depth)
        bary = [SIMD2<Float>](repeating: .zero, count: samples * Self.depth)
    }

    /// The blended triangles' fragments in front of `opaque`'s surfaces.
    static func gather(_ mesh: Mesh, camera: Camera, over opaque: VisibilityBuffer, surfaces: SurfaceClasses) -> FragmentLayers {
        var layers = FragmentLayers(samples: opaque.width * opaque.height)
        opaque.depth.withUnsafeBufferPointer { opaqueDepth in
        layers.count.withUnsafeMutableBufferPointer { count in
        layers.z.withUnsafeMutableBufferPointer { z in
        layers.triangle.withUnsafeMutableBufferPointer { triangle in
        layers.bary.withUnsafeMutableBufferPointer { bary in
            var sink = BlendedFragments(opaqueDepth: opaqueDepth, count: count, z: z, triangle: triangle, bary: bary,
                                        surfaces: surfaces)
            rasterizeTriangles(mesh, camera: camera, width: opaque.width, height: opaque.height, into: &sink)
        } } } } }
        return layers
    }
}

/// The blended pass's sink: inserts each visible blended fragment into its sample's layers.
struct BlendedFragments: SampleSink {
    let opaqueDepth: UnsafeBufferPointer<Float>
    let count: UnsafeMutableBufferPointer<UInt8>
    let z: UnsafeMutableBufferPointer<Float>
    let triangle: UnsafeMutableBufferPointer<Int32>
    let bary: UnsafeMutableBufferPointer<SIMD2<Float>>
    let surfaces: SurfaceClasses
    var current: Int32 = -1

    init(opaqueDepth: UnsafeBufferPointer<Float>, count: UnsafeMutableBufferPointer<UInt8>,
         z: UnsafeMutableBufferPointer<Float>, triangle: UnsafeMutableBufferPointer<Int32>,
         bary: UnsafeMutableBufferPointer<SIMD2<Float>>, surfaces: SurfaceClasses) {
        self.opaqueDepth = opaqueDepth
        self.count = count
        self.z = z
        self.triangle = triangle
        self.bary = bary
        self.surfaces = surfaces
    }

    @inline(__always) mutating func begin(triangle t: Int) -> Bool {
        current = Int32(t)
        return surfaces.kind(of: t) == .blend && surfaces.faces(t)
    }

    @inline(__always) func accepts(_ i: Int, depth d: Float) -> Bool {
        d > 0 && d < opaqueDepth[i] && (Int(count[i]) < FragmentLayers.depth || d < z[i * FragmentLayers.depth + FragmentLayers.depth - 1])
    }

    @inline(__always) mutating func write(_ i: Int, depth d: Float, bary b: SIMD2<Float>) {
        // fully transparent fragments would only take a layer
        guard surfaces.context.opacity(triangle: Int(current), bary: b) > 1.0 / 1024 else { return }
        let base = i * FragmentLayers.depth
        var k = min(Int(count[i]), FragmentLayers.depth - 1)       // the farthest is dropped when full
        while k > 0 && z[base + k - 1] > d {
            z[base + k] = z[base + k - 1]
            triangle[base + k] = triangle[base + k - 1]
            bary[base + k] = bary[base + k - 1]
            k -= 1
        }
        z[base + k] = d
        triangle[base + k] = current
        bary[base + k] = b
        count[i] = UInt8(min(Int(count[i]) + 1, FragmentLayers.depth))
    }
}

extension ShadingContext {
    /// One pixel with blended layers: per sample, the opaque surface (or nothing), then its
    /// layers composited over it from the farthest to the nearest; adds premultiplied colour to
    /// `sum`, the composited opacity to `opacity`, and the opaque surfaces' normals and depths.
    func shadeLayeredPixel(x: Int, y: Int, s: Int, bufferWidth: Int, triangles: UnsafeBufferPointer<Int32>,
                           barys: UnsafeBufferPointer<SIMD2<Float>>, depths: UnsafeBufferPointer<Float>,
                           layers: FragmentLayers, eye: Vec3, sum: inout Vec3, nSum: inout Vec3, zSum: inout Float,
                           covered: inout Int, opacity: inout Float, nonFinite: inout Int) {
        for sy in 0..<s {
            let rowBase = (y * s + sy) * bufferWidth + x * s
            for sx in 0..<s {
                let i = rowBase + sx
                var rgb = Vec3.zero, alpha: Float = 0
                let tri = Int(triangles[i])
                if tri >= 0 {
                    let (c, n, _) = shadeSample(triangle: tri, bary: barys[i], eye: eye)
                    if c.x.isFinite && c.y.isFinite && c.z.isFinite && n.x.isFinite {
                        rgb = c
                        nSum += n
                    } else {
                        nonFinite += 1
                        nSum += Vec3(0, 0, 1)
                    }
                    alpha = 1
                    zSum += depths[i]
                    covered += 1
                }
                let n = Int(layers.count[i])
                var k = n - 1
                while k >= 0 {
                    let j = i * FragmentLayers.depth + k
                    let (c, _, a) = shadeSample(triangle: Int(layers.triangle[j]), bary: layers.bary[j], eye: eye)
                    let aa = min(max(a, 0), 1)
                    if c.x.isFinite && c.y.isFinite && c.z.isFinite && aa.isFinite {
                        rgb = c * aa + rgb * (1 - aa)
                        alpha = aa + alpha * (1 - aa)
                    } else {
                        nonFinite += 1
                    }
                    k -= 1
                }
                sum += rgb
                opacity += alpha
            }
        }
    }
}
