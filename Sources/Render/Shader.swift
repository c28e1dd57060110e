// The second pass: shades the visible samples of a `VisibilityBuffer` and resolves them into
// the output pixels (colour, coverage alpha, optional depth and normals).
//
// Per sample: perspective-correct barycentrics -> vertex normal, texture coordinate and colour;
// albedo = base colour x vertex colour x texture (all linear); colour = albedo x studio irradiance,
// or, under an environment map, the image-based shading of `EnvironmentLighting.swift`.
// Double-sided: when the camera sees a triangle's back, its shading normal is negated. Missing or
// broken vertex normals fall back to the face normal. Pixels average their samples in linear
// light; alpha is the covered fraction; sRGB encoding happens last.

import Foundation
import Imaging

/// One rendered view.
public struct ViewImages {
    /// RGBA (transparent background) or RGB (white background), 8-bit sRGB.
    public var color: Image8
    /// 16-bit gray depth (see `DepthEncoding`), when asked for.
    public var depth: Image16?
    /// 16-bit RGB world-space normals, (n + 1) / 2 * 65535; 0 where nothing was drawn.
    public var normals: Image16?
    /// Samples whose shading came out NaN or infinite (drawn as black); zero for sane inputs.
    public var nonFiniteSamples = 0
}

/// 16-bit depth: v = 0 is background, else depth = near + (v - 1) / 65534 * (far - near).
public struct DepthEncoding: Equatable {
    public var near: Double
    public var far: Double
    /// The range that holds any object inside the origin-centred unit-radius ball.
    public static func around(distance: Double) -> DepthEncoding {
        DepthEncoding(near: max(0, distance - 1), far: distance + 1)
    }
    public func encode(_ z: Float) -> UInt16 {
        let t = (Double(z) - near) / (far - near)
        guard t.isFinite else { return 0 }
        return UInt16(1 + (min(max(t, 0), 1) * 65534).rounded())
    }
    public func decode(_ v: UInt16) -> Double? {
        v == 0 ? nil : near + Double(v - 1) / 65534 * (far - near)
    }
}

public struct Shader {
    public let mesh: Mesh
    public var lighting = Lighting.studio
    /// Image-based lighting; nil: the studio lights (`lighting`).
    public var environment: EnvironmentLight?
    /// Unit geometric normal per triangle (zero for degenerate triangles).
    let faceNormals: [Vec3]
    let pool = BufferPool()

    public init(mesh: Mesh) {
        self.mesh = mesh
        faceNormals = (0..<mesh.triangleCount).map { t in
            let a = mesh.positions[Int(mesh.indices[3 * t])]
            let b = mesh.positions[Int(mesh.indices[3 * t + 1])]
            let c = mesh.positions[Int(mesh.indices[3 * t + 2])]
            let n = cross(b - a, c - a)
            let length = dot(n, n).squareRoot()
            return length > 0 && length.isFinite ? n / length : .zero
        }
    }

    /// Rasterises and shades one view.
    public func render(_ camera: Camera, supersampling s: Int, background: Background,
                       depth depthEncoding: DepthEncoding?, normals wantNormals: Bool) -> ViewImages {
        let buffer = rasterize(mesh, camera: camera,
                               into: pool.take(width: camera.width * s, height: camera.height * s))
        defer { pool.give(buffer) }
        let width = camera.width, height = camera.height
        let channels = background == .transparent ? 4 : 3
        var color = Image8(width: width, height: height, channels: channels)
        var depth = depthEncoding.map { _ in Image16(width: width, height: height, channels: 1) }
        var normals = wantNormals ? Image16(width: width, height: height, channels: 3) : nil
        let eye = Vec3(camera.position)
        return withContext { context in
            shadePixels(buffer, context, eye: eye, s: s, background: background, depthEncoding: depthEncoding,
                        wantNormals: wantNormals, color: &color, depth: &depth, normals: &normals)
        }
    }

    func shadePixels(_ buffer: VisibilityBuffer, _ context: ShadingContext, eye: Vec3, s: Int, background: Background,
                     depthEncoding: DepthEncoding?, wantNormals: Bool, color: inout Image8, depth: inout Image16?,
                     normals: inout Image16?) -> ViewImages {
        let width = color.width, height = color.height, channels = color.channels
        let sampleCount = Float(s * s)
        var nonFinite = 0
        let table = SRGB.encodeTable
        let alphaScale = 255 / sampleCount
        if background == .white { color.pixels.withUnsafeMutableBufferPointer { $0.update(repeating: 255) } }
        buffer.triangle.withUnsafeBufferPointer { triangles in
        buffer.bary.withUnsafeBufferPointer { barys in
        buffer.depth.withUnsafeBufferPointer { depths in
        table.withUnsafeBufferPointer { table in
        color.pixels.withUnsafeMutableBufferPointer { out in
        @inline(__always) func encode(_ c: Float) -> UInt8 {
            let x = c.isNaN ? 0 : min(max(c, 0), 1)
            return table[Int(x * 16384 + 0.5)]
        }
        for y in 0..<height {
            for x in 0..<width {
                var sum = Vec3.zero, nSum = Vec3.zero
                var zSum: Float = 0
                var covered = 0
                if context.environment != nil {
                    context.shadeEnvironmentPixel(x: x, y: y, s: s, bufferWidth: buffer.width, triangles: triangles,
                                                  barys: barys, depths: depths, eye: eye, sum: &sum, nSum: &nSum,
                                                  zSum: &zSum, covered: &covered, nonFinite: &nonFinite)
                } else {
                for sy in 0..<s {
                    let rowBase = (y * s + sy) * buffer.width + x * s
                    for sx in 0..<s {
                        let i = rowBase + sx
                        let tri = Int(triangles[i])
                        guard tri >= 0 else { continue }
                        var (rgb, n) = context.shade(triangle: tri, bary: barys[i], eye: eye)
                        if !(rgb.x.isFinite && rgb.y.isFinite && rgb.z.isFinite && n.x.isFinite) {
                            nonFinite += 1
                            rgb = .zero
                            n = Vec3(0, 0, 1)
                        }
                        sum += rgb
                        nSum += n
                        zSum += depths[i]
                        covered += 1
                    }
                }
                }
                guard covered > 0 else { continue }              // background: already 0 or 255
                let o = (y * width + x) * channels
                if background == .transparent {
                    let mean = sum / Float(covered)
                    out[o] = encode(mean.x)
                    out[o + 1] = encode(mean.y)
                    out[o + 2] = encode(mean.z)
                    out[o + 3] = UInt8(Float(covered) * alphaScale + 0.5)
                } else {
                    let composite = sum / sampleCount + Vec3(repeating: 1 - Float(covered) / sampleCount)
                    out[o] = encode(composite.x)
                    out[o + 1] = encode(composite.y)
                    out[o + 2] = encode(composite.z)
                }
                if let encoding = depthEncoding {
                    depth?.pixels[y * width + x] = encoding.encode(zSum / Float(covered))
                }
                if wantNormals {
                    let length = dot(nSum, nSum).squareRoot()
                    let n = length > 0 ? nSum / length : Vec3(0, 0, 1)
                    for c in 0..<3 {
                        normals?.pixels[(y * width + x) * 3 + c] = UInt16(((n[c] + 1) / 2 * 65535).rounded())
                    }
                }
            }
        }
        } } } } }
        return ViewImages(color: color, depth: depth, normals: normals, nonFiniteSamples: nonFinite)
    }

    /// Runs `body` with raw views of the mesh, valid only inside it.
    func withContext<R>(_ body: (ShadingContext) -> R) -> R {
        let textures = mesh.textures.map(\.view)          // valid while `mesh` is alive, i.e. here
        return mesh.indices.withUnsafeBufferPointer { indices in
        mesh.positions.withUnsafeBufferPointer { positions in
        mesh.normals.withUnsafeBufferPointer { normals in
        mesh.uvs.withUnsafeBufferPointer { uvs in
        mesh.colors.withUnsafeBufferPointer { colors in
        mesh.triangleMaterials.withUnsafeBufferPointer { triangleMaterials in
        faceNormals.withUnsafeBufferPointer { faceNormals in
            let baseColors = mesh.materials.map(\.baseColor)
            let textureOf = mesh.materials.map { Int32($0.texture ?? -1) }
            let levels = environment?.lighting.views ?? []                  // valid while `environment` is
            return baseColors.withUnsafeBufferPointer { baseColors in
            textureOf.withUnsafeBufferPointer { textureOf in
            (environment?.lighting.irradiance.c ?? [.zero]).withUnsafeBufferPointer { sh in
            (environment == nil ? [.zero] : EnvironmentBRDF.table).withUnsafeBufferPointer { brdf in
            levels.withUnsafeBufferPointer { levels in
                body(ShadingContext(indices: indices, positions: positions, normals: normals, uvs: uvs, colors: colors,
                                    triangleMaterials: triangleMaterials, faceNormals: faceNormals,
                                    baseColors: baseColors, textureOf: textureOf, textures: textures,
                                    lights: lighting.packed,
                                    environment: environment?.packed(levels: levels, sh: sh.baseAddress!, brdf: brdf.baseAddress!)))
            } } } } }
        } } } } } } }
    }
}

/// Unsafe views of a mesh for the shading loop (no reference counting per sample).
struct ShadingContext {
    let indices: UnsafeBufferPointer<UInt32>
    let positions: UnsafeBufferPointer<Vec3>
    let normals: UnsafeBufferPointer<Vec3>
    let uvs: UnsafeBufferPointer<SIMD2<Float>>
    let colors: UnsafeBufferPointer<SIMD4<Float>>
    let triangleMaterials: UnsafeBufferPointer<UInt16>
    let faceNormals: UnsafeBufferPointer<Vec3>
    let baseColors: UnsafeBufferPointer<SIMD4<Float>>
    let textureOf: UnsafeBufferPointer<Int32>
    let textures: [TextureView]
    let lights: PackedLights
    let environment: PackedEnvironment?

    /// Linear colour and the camera-facing world normal of one sample under the studio lights
    /// (`surface` and `shadeEnvironmentPixel` for an environment map).
    @inline(__always) func shade(triangle t: Int, bary: SIMD2<Float>, eye: Vec3) -> (Vec3, Vec3) {
        let (albedo, n, _) = surface(triangle: t, bary: bary, eye: eye)
        let rgb = Vec3(albedo.x, albedo.y, albedo.z) * lights.irradiance(n)
        return (rgb, n)
    }

    /// Albedo (linear RGBA), camera-facing unit normal and position of one sample.
    @inline(__always) func surface(triangle t: Int, bary: SIMD2<Float>, eye: Vec3) -> (albedo: SIMD4<Float>, n: Vec3, p: Vec3) {
        let i0 = Int(indices[3 * t]), i1 = Int(indices[3 * t + 1]), i2 = Int(indices[3 * t + 2])
        let b1 = bary.x, b2 = bary.y, b0 = 1 - b1 - b2
        var face = faceNormals[t]
        let n0 = normals[i0], n1 = normals[i1], n2 = normals[i2]
        var n = n0 * b0 + n1 * b1 + n2 * b2
        let length = dot(n, n).squareRoot()
        let hasNormals = n0 != .zero && n1 != .zero && n2 != .zero && length > 1e-6
        n = hasNormals ? n / length : face
        if dot(face, eye - positions[i0]) < 0 {                      // seen from the back
            n = -n
            face = -face
        }
        if hasNormals && dot(n, face) < 0 { n = -n }                 // normals wound against the faces
        let material = Int(triangleMaterials[t])
        var albedo = baseColors[material] * (colors[i0] * b0 + colors[i1] * b1 + colors[i2] * b2)
        let texture = Int(textureOf[material])
        if texture >= 0 {
            let uv = uvs[i0] * b0 + uvs[i1] * b1 + uvs[i2] * b2
            albedo *= textures[texture].sample(uv)
        }
        return (albedo, n, positions[i0] * b0 + positions[i1] * b1 + positions[i2] * b2)
    }
}
