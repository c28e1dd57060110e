// The second pass: shades the visible samples of a `VisibilityBuffer` and resolves them into
// the output pixels (colour, coverage alpha, optional depth and normals).
//
// Per sample: perspective-correct barycentrics -> vertex normal, texture coordinate and colour;
// the material's inputs (Material.swift) from its factors and textures, each texture sampled
// trilinearly at the level of detail of one pixel's footprint (ray differentials: the pixel's
// neighbouring rays meet the triangle's plane, and the triangle's texture-coordinate gradient
// turns the step into du, dv); normal maps perturb the interpolated normal in the per-vertex
// tangent frame. Colour = albedo x studio irradiance (Lambert, plus emission), or, under an
// environment map, the image-based shading of `EnvironmentLighting.swift`. When the camera sees a
// triangle's back, its shading normal is negated (single-sided materials' backs are not drawn).
// Missing or broken vertex normals fall back to the face normal.
// Transparency: alpha-masked materials are tested per sample while rasterising; blended ones are
// rasterised after the opaque surfaces into up to `FragmentLayers.depth` layers per sample
// (nearest first, in front of the opaque surface) and composited back to front, so the result
// does not depend on triangle order as long as no sample has more layers than that.
// Pixels average their samples in linear light (premultiplied by opacity); alpha is the covered
// fraction; sRGB encoding happens last.

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
    /// Darken the image-based light by materials' occlusion textures (glTF occlusionTexture), as
    /// the glTF specification describes. Off by default: Blender's glTF importer leaves them
    /// unconnected, so Blender-made renders (SV3D's, Objaverse's) do not show them.
    public var appliesOcclusionTextures = false
    /// Unit geometric normal per triangle (zero for degenerate triangles).
    let faceNormals: [Vec3]
    /// Per triangle of a textured material, the gradients of u and of v on the triangle's plane
    /// (du = gu . dp, dv = gv . dp; entries 2t and 2t + 1), for texture levels of detail; empty
    /// when no material has a texture.
    let uvGradients: [Vec3]
    /// Per triangle: `SurfaceKind` raw value, plus `SurfaceClasses.singleSided` for materials
    /// whose back faces are not drawn. Empty when every triangle is opaque and double-sided.
    let triangleClasses: [UInt8]
    let hasBlendedTriangles: Bool
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
        uvGradients = Shader.uvGradients(mesh)
        let materialClasses = mesh.materials.map(SurfaceClasses.code)
        if materialClasses.allSatisfy({ $0 == 0 }) {
            triangleClasses = []
            hasBlendedTriangles = false
        } else {
            triangleClasses = mesh.triangleMaterials.map { materialClasses[Int($0)] }
            hasBlendedTriangles = triangleClasses.contains { $0 & 0x7F == SurfaceKind.blend.rawValue }
        }
    }

    /// The texture-coordinate gradients of every triangle whose material has a texture: on the
    /// plane of (p0, p1, p2), q = p0 + b1 e1 + b2 e2 with b1 = (q - p0) . g1, b2 = (q - p0) . g2
    /// (g1 = (e2 x n) / |n|², g2 = (n x e1) / |n|²), so uv(q) = uv0 + b1 (uv1 - uv0) + b2 (uv2 - uv0)
    /// and grad u = (u1 - u0) g1 + (u2 - u0) g2, likewise for v.
    static func uvGradients(_ mesh: Mesh) -> [Vec3] {
        let textured = mesh.materials.map { m in
            m.baseColorTexture != nil || m.metallicRoughnessTexture != nil || m.normalTexture != nil
                || m.occlusionTexture != nil || m.emissiveTexture != nil || m.opacityTexture != nil
        }
        guard textured.contains(true) else { return [] }
        var gradients = [Vec3](repeating: .zero, count: 2 * mesh.triangleCount)
        for t in 0..<mesh.triangleCount where textured[Int(mesh.triangleMaterials[t])] {
            let i0 = Int(mesh.indices[3 * t]), i1 = Int(mesh.indices[3 * t + 1]), i2 = Int(mesh.indices[3 * t + 2])
            let e1 = mesh.positions[i1] - mesh.positions[i0], e2 = mesh.positions[i2] - mesh.positions[i0]
            let normal = cross(e1, e2)
            let n2 = dot(normal, normal)
            guard n2 > 0, n2.isFinite else { continue }
            let g1 = cross(e2, normal) / n2, g2 = cross(normal, e1) / n2
            let du1 = mesh.uvs[i1] - mesh.uvs[i0], du2 = mesh.uvs[i2] - mesh.uvs[i0]
            gradients[2 * t] = g1 * du1.x + g2 * du2.x
            gradients[2 * t + 1] = g1 * du1.y + g2 * du2.y
        }
        return gradients
    }

    /// Rasterises and shades one view over a transparent or white background (`RenderJob`
    /// composites the random-colour background from the transparent render).
    public func render(_ camera: Camera, supersampling s: Int, background: Background,
                       depth depthEncoding: DepthEncoding?, normals wantNormals: Bool) -> ViewImages {
        precondition(background != .randomColor, "the shader renders transparent or white; composite other colours afterwards")
        var buffer = pool.take(width: camera.width * s, height: camera.height * s)
        defer { pool.give(buffer) }
        let width = camera.width, height = camera.height
        let channels = background == .transparent ? 4 : 3
        var color = Image8(width: width, height: height, channels: channels)
        var depth = depthEncoding.map { _ in Image16(width: width, height: height, channels: 1) }
        var normals = wantNormals ? Image16(width: width, height: height, channels: 3) : nil
        let eye = Vec3(camera.position)
        return withContext(camera: camera) { context in
            triangleClasses.withUnsafeBufferPointer { classes in
                let surfaces = classes.isEmpty ? nil : SurfaceClasses(classes: classes, context: context, eye: eye)
                buffer.depth.withUnsafeMutableBufferPointer { depth in
                    buffer.triangle.withUnsafeMutableBufferPointer { ids in
                        buffer.bary.withUnsafeMutableBufferPointer { bary in
                            var sink = NearestSurface(depth: depth, ids: ids, bary: bary, surfaces: surfaces)
                            rasterizeTriangles(mesh, camera: camera, width: buffer.width, height: buffer.height, into: &sink)
                        }
                    }
                }
                var layers: FragmentLayers?
                if hasBlendedTriangles, let surfaces {
                    layers = FragmentLayers.gather(mesh, camera: camera, over: buffer, surfaces: surfaces)
                }
                return shadePixels(buffer, layers, context, eye: eye, s: s, background: background,
                                   depthEncoding: depthEncoding, wantNormals: wantNormals, color: &color,
                                   depth: &depth, normals: &normals)
            }
        }
    }

    func shadePixels(_ buffer: VisibilityBuffer, _ layers: FragmentLayers?, _ context: ShadingContext, eye: Vec3,
                     s: Int, background: Background, depthEncoding: DepthEncoding?, wantNormals: Bool,
                     color: inout Image8, depth: inout Image16?, normals: inout Image16?) -> ViewImages {
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
                // coverage: opaque samples count 1, blended layers their composited opacity
                var opacity: Float = 0
                if let layers {
                    context.shadeLayeredPixel(x: x, y: y, s: s, bufferWidth: buffer.width, triangles: triangles,
                                              barys: barys, depths: depths, layers: layers, eye: eye, sum: &sum,
                                              nSum: &nSum, zSum: &zSum, covered: &covered, opacity: &opacity,
                                              nonFinite: &nonFinite)
                } else {
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
                    opacity = Float(covered)
                }
                guard opacity > 0 else { continue }              // background: already 0 or 255
                let o = (y * width + x) * channels
                if background == .transparent {
                    let mean = sum / opacity
                    out[o] = encode(mean.x)
                    out[o + 1] = encode(mean.y)
                    out[o + 2] = encode(mean.z)
                    out[o + 3] = UInt8(min(opacity, sampleCount) * alphaScale + 0.5)
                } else {
                    let composite = sum / sampleCount + Vec3(repeating: 1 - min(opacity, sampleCount) / sampleCount)
                    out[o] = encode(composite.x)
                    out[o + 1] = encode(composite.y)
                    out[o + 2] = encode(composite.z)
                }
                guard covered > 0 else { continue }
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
    func withContext<R>(camera: Camera, _ body: (ShadingContext) -> R) -> R {
        let textures = mesh.textures.map(\.view)          // valid while `mesh` is alive, i.e. here
        let materials = mesh.materials.map { PackedMaterial($0, appliesOcclusion: appliesOcclusionTextures) }
        let footprint = PixelFootprint(camera)
        return mesh.indices.withUnsafeBufferPointer { indices in
        mesh.positions.withUnsafeBufferPointer { positions in
        mesh.normals.withUnsafeBufferPointer { normals in
        mesh.uvs.withUnsafeBufferPointer { uvs in
        mesh.colors.withUnsafeBufferPointer { colors in
        mesh.tangents.withUnsafeBufferPointer { tangents in
        mesh.bitangents.withUnsafeBufferPointer { bitangents in
        mesh.triangleMaterials.withUnsafeBufferPointer { triangleMaterials in
        faceNormals.withUnsafeBufferPointer { faceNormals in
        uvGradients.withUnsafeBufferPointer { uvGradients in
            let levels = environment?.lighting.views ?? []                  // valid while `environment` is
            return materials.withUnsafeBufferPointer { materials in
            textures.withUnsafeBufferPointer { textures in
            (environment?.lighting.irradiance.c ?? [.zero]).withUnsafeBufferPointer { sh in
            (environment == nil ? [.zero] : EnvironmentBRDF.table).withUnsafeBufferPointer { brdf in
            levels.withUnsafeBufferPointer { levels in
                body(ShadingContext(indices: indices, positions: positions, normals: normals, uvs: uvs, colors: colors,
                                    tangents: tangents, bitangents: bitangents,
                                    triangleMaterials: triangleMaterials, faceNormals: faceNormals,
                                    uvGradients: uvGradients,
                                    materials: materials, textures: textures, footprint: footprint,
                                    lights: lighting.packed,
                                    environment: environment?.packed(levels: levels, sh: sh.baseAddress!, brdf: brdf.baseAddress!)))
            } } } } }
        } } } } } } } } } }
    }
}

/// A texture slot for the shading loop: texture index (-1: none) and coordinate transform.
struct PackedSlot {
    let texture: Int32
    let transform: UVTransform
    let identity: Bool

    init(_ slot: TextureSlot?) {
        texture = Int32(slot?.texture ?? -1)
        transform = slot?.transform ?? .identity
        identity = transform.isIdentity
    }

    @inline(__always) func uv(_ uv: SIMD2<Float>) -> SIMD2<Float> { identity ? uv : transform.apply(uv) }
}

/// A material as the shading loop reads it: factors, derived reflectances and texture slots.
struct PackedMaterial {
    let baseColor: SIMD4<Float>
    let metallic: Float, roughness: Float
    let f0: Float, f90: Float
    let normalScale: Float, occlusionStrength: Float
    let emissive: Vec3
    let kind: SurfaceKind
    /// MASK: the cutoff; otherwise unused.
    let alphaCutoff: Float
    let base: PackedSlot, metallicRoughness: PackedSlot, normal: PackedSlot, occlusion: PackedSlot
    let emission: PackedSlot, opacity: PackedSlot
    let baseTextureAlpha: Bool
    /// Any texture but the base colour's (the common case has none: a faster path).
    let hasDataTextures: Bool
    let hasEmission: Bool

    init(_ m: Material, appliesOcclusion: Bool) {
        baseColor = m.baseColor
        metallic = min(max(m.metallic, 0), 1)
        roughness = min(max(m.roughness, 0), 1)
        (f0, f90) = m.dielectricReflectance
        normalScale = m.normalScale
        occlusionStrength = m.occlusionStrength
        emissive = m.emissive
        switch m.alphaMode {
        case .opaque: (kind, alphaCutoff) = (.opaque, 0)
        case .mask(let cutoff): (kind, alphaCutoff) = (.mask, cutoff)
        case .blend: (kind, alphaCutoff) = (.blend, 0)
        }
        base = PackedSlot(m.baseColorTexture)
        metallicRoughness = PackedSlot(m.metallicRoughnessTexture)
        normal = PackedSlot(m.normalTexture)
        occlusion = PackedSlot(appliesOcclusion ? m.occlusionTexture : nil)
        emission = PackedSlot(m.emissiveTexture)
        opacity = PackedSlot(m.opacityTexture)
        baseTextureAlpha = m.baseColorTextureAlpha
        hasDataTextures = metallicRoughness.texture >= 0 || normal.texture >= 0 || occlusion.texture >= 0
            || emission.texture >= 0 || opacity.texture >= 0
        hasEmission = emissive != .zero
    }
}

/// One pixel's step as world-space ray-direction changes, for texture levels of detail: a ray
/// through pixel (x, y) has direction d = R^T ((x - cx) / f, (y - cy) / f, 1) (camera z = 1), so
/// moving one pixel right or down adds `dx` or `dy` to it.
struct PixelFootprint {
    let forward: Vec3
    let dx: Vec3
    let dy: Vec3

    init(_ camera: Camera) {
        let pose = camera.worldToCameraOpenCV
        let f = Float(camera.focal)
        dx = Vec3(Float(pose.rows[0][0]), Float(pose.rows[0][1]), Float(pose.rows[0][2])) / f
        dy = Vec3(Float(pose.rows[1][0]), Float(pose.rows[1][1]), Float(pose.rows[1][2])) / f
        forward = Vec3(Float(pose.rows[2][0]), Float(pose.rows[2][1]), Float(pose.rows[2][2]))
    }
}

/// What a material makes of one sample.
struct SurfacePoint {
    /// Linear RGB albedo; w = opacity.
    var albedo: SIMD4<Float>
    /// Camera-facing unit shading normal (normal map applied).
    var n: Vec3
    var p: Vec3
    var metallic: Float
    var roughness: Float
    var f0: Float
    var f90: Float
    /// Multiplies the image-based light.
    var occlusion: Float
    var emission: Vec3
}

/// Unsafe views of a mesh for the shading loop (no reference counting per sample).
struct ShadingContext {
    let indices: UnsafeBufferPointer<UInt32>
    let positions: UnsafeBufferPointer<Vec3>
    let normals: UnsafeBufferPointer<Vec3>
    let uvs: UnsafeBufferPointer<SIMD2<Float>>
    let colors: UnsafeBufferPointer<SIMD4<Float>>
    let tangents: UnsafeBufferPointer<Vec3>
    let bitangents: UnsafeBufferPointer<Vec3>
    let triangleMaterials: UnsafeBufferPointer<UInt16>
    let faceNormals: UnsafeBufferPointer<Vec3>
    let uvGradients: UnsafeBufferPointer<Vec3>
    let materials: UnsafeBufferPointer<PackedMaterial>
    let textures: UnsafeBufferPointer<TextureView>
    let footprint: PixelFootprint
    let lights: PackedLights
    let environment: PackedEnvironment?

    /// Linear colour and the camera-facing world normal of one sample under the studio lights
    /// (`surface` and `shadeEnvironmentPixel` for an environment map).
    @inline(__always) func shade(triangle t: Int, bary: SIMD2<Float>, eye: Vec3) -> (Vec3, Vec3) {
        let point = surface(triangle: t, bary: bary, eye: eye)
        let a = point.albedo
        var rgb = Vec3(a.x, a.y, a.z) * lights.irradiance(point.n)
        rgb += point.emission
        return (rgb, point.n)
    }

    /// Linear colour of one sample under the environment map, or the studio lights without one.
    @inline(__always) func shadeSample(triangle t: Int, bary: SIMD2<Float>, eye: Vec3) -> (rgb: Vec3, n: Vec3, opacity: Float) {
        let point = surface(triangle: t, bary: bary, eye: eye)
        guard let environment else {
            let a = point.albedo
            return (Vec3(a.x, a.y, a.z) * lights.irradiance(point.n) + point.emission, point.n, a.w)
        }
        let toEye = eye - point.p
        let v = toEye / dot(toEye, toEye).squareRoot()
        let rgb = environment.shade(point, v: v)
        return (Vec3(rgb.x, rgb.y, rgb.z) + point.emission, point.n, point.albedo.w)
    }

    /// The material's inputs at one sample.
    @inline(__always) func surface(triangle t: Int, bary: SIMD2<Float>, eye: Vec3) -> SurfacePoint {
        let i0 = Int(indices[3 * t]), i1 = Int(indices[3 * t + 1]), i2 = Int(indices[3 * t + 2])
        let b1 = bary.x, b2 = bary.y, b0 = 1 - b1 - b2
        var face = faceNormals[t]
        let n0 = normals[i0], n1 = normals[i1], n2 = normals[i2]
        var n = n0 * b0 + n1 * b1 + n2 * b2
        let length = dot(n, n).squareRoot()
        let hasNormals = n0 != .zero && n1 != .zero && n2 != .zero && length > 1e-6
        n = hasNormals ? n / length : face
        var back = false
        if dot(face, eye - positions[i0]) < 0 {                      // seen from the back
            n = -n
            face = -face
            back = true
        }
        if hasNormals && dot(n, face) < 0 { n = -n }                 // normals wound against the faces
        let material = materials[Int(triangleMaterials[t])]
        var albedo = material.baseColor * (colors[i0] * b0 + colors[i1] * b1 + colors[i2] * b2)
        let p = positions[i0] * b0 + positions[i1] * b1 + positions[i2] * b2
        var point = SurfacePoint(albedo: albedo, n: n, p: p, metallic: material.metallic, roughness: material.roughness,
                                 f0: material.f0, f90: material.f90, occlusion: 1,
                                 emission: material.emissive)
        guard material.base.texture >= 0 || material.hasDataTextures else { return point }
        let uv = uvs[i0] * b0 + uvs[i1] * b1 + uvs[i2] * b2
        let (duvdx, duvdy) = uvFootprint(t, p: p, faceNormal: face, eye: eye)
        @inline(__always) func fetch(_ slot: PackedSlot) -> SIMD4<Float> {
            let view = textures[Int(slot.texture)]
            let at = slot.uv(uv)
            let dx = slot.identity ? duvdx : slot.transform.applyLinear(duvdx)
            let dy = slot.identity ? duvdy : slot.transform.applyLinear(duvdy)
            return view.sample(at, lod: Texture.lod(duvdx: dx, duvdy: dy, width: view.width, height: view.height))
        }
        if material.base.texture >= 0 {
            let texel = fetch(material.base)
            albedo *= material.baseTextureAlpha ? texel : SIMD4(texel.x, texel.y, texel.z, 1)
        }
        point.albedo = albedo
        guard material.hasDataTextures else { return point }
        if material.opacity.texture >= 0 { point.albedo.w *= fetch(material.opacity).x }
        if material.metallicRoughness.texture >= 0 {
            let mr = fetch(material.metallicRoughness)
            point.roughness = min(max(point.roughness * mr.y, 0), 1)
            point.metallic = min(max(point.metallic * mr.z, 0), 1)
        }
        if material.emission.texture >= 0 {
            let e = fetch(material.emission)
            point.emission *= Vec3(e.x, e.y, e.z)
        }
        if material.occlusion.texture >= 0 {
            point.occlusion = 1 + material.occlusionStrength * (fetch(material.occlusion).x - 1)
        }
        if material.normal.texture >= 0, !tangents.isEmpty {
            let tn = fetch(material.normal)
            // Blender's Normal Map node: tangent-space (2 c - 1), x and y scaled by the strength,
            // in the frame (T, B, n) with T, B from the mesh's per-vertex frames, made orthogonal
            // to the interpolated normal; B keeps the handedness of the texture coordinates.
            var tangent = tangents[i0] * b0 + tangents[i1] * b1 + tangents[i2] * b2
            var bitangent = bitangents[i0] * b0 + bitangents[i1] * b1 + bitangents[i2] * b2
            if back {
                tangent = -tangent
                bitangent = -bitangent
            }
            tangent -= n * dot(n, tangent)
            let tl = dot(tangent, tangent).squareRoot()
            if tl > 1e-8 {
                tangent /= tl
                let handed: Float = dot(cross(n, tangent), bitangent) < 0 ? -1 : 1
                let b = cross(n, tangent) * handed
                let k = SIMD2<Float>(2 * tn.x - 1, 2 * tn.y - 1) * material.normalScale
                let z = 2 * tn.z - 1
                var perturbed = tangent * k.x + b * k.y + n * max(z, 0)
                let pl = dot(perturbed, perturbed).squareRoot()
                if pl > 1e-8 {
                    perturbed /= pl
                    // keep the shading normal on the camera's side of the surface
                    point.n = dot(perturbed, face) > 0 ? perturbed : n
                }
            }
        }
        return point
    }

    /// Opacity at a sample (base colour alpha x vertex alpha x textures' alpha and opacity map),
    /// for alpha tests and blended layers.
    @inline(__always) func opacity(triangle t: Int, bary: SIMD2<Float>) -> Float {
        let i0 = Int(indices[3 * t]), i1 = Int(indices[3 * t + 1]), i2 = Int(indices[3 * t + 2])
        let b1 = bary.x, b2 = bary.y, b0 = 1 - b1 - b2
        let material = materials[Int(triangleMaterials[t])]
        var alpha = material.baseColor.w * (colors[i0].w * b0 + colors[i1].w * b1 + colors[i2].w * b2)
        let uv = uvs[i0] * b0 + uvs[i1] * b1 + uvs[i2] * b2
        if material.base.texture >= 0 && material.baseTextureAlpha {
            alpha *= textures[Int(material.base.texture)].sample(material.base.uv(uv)).w
        }
        if material.opacity.texture >= 0 {
            alpha *= textures[Int(material.opacity.texture)].sample(material.opacity.uv(uv)).x
        }
        return alpha
    }

    @inline(__always) func passesAlphaTest(triangle t: Int, bary: SIMD2<Float>) -> Bool {
        opacity(triangle: t, bary: bary) >= materials[Int(triangleMaterials[t])].alphaCutoff
    }

    /// The change of the texture coordinates over one pixel step in x and in y at surface point
    /// `p` of triangle t: the neighbouring pixels' rays hit the triangle's plane at p + dp, and
    /// the triangle's texture-coordinate gradients (`Shader.uvGradients`) map dp to du, dv.
    @inline(__always) func uvFootprint(_ t: Int, p: Vec3, faceNormal nf: Vec3, eye: Vec3) -> (SIMD2<Float>, SIMD2<Float>) {
        let toPoint = p - eye
        let z = dot(toPoint, footprint.forward)
        let d = toPoint / z                                     // the ray, scaled to camera z = 1
        let nd = dot(nf, d)
        guard z > 0, abs(nd) > 1e-6 else { return (.zero, .zero) }
        let dpdx = (footprint.dx - d * (dot(nf, footprint.dx) / nd)) * z
        let dpdy = (footprint.dy - d * (dot(nf, footprint.dy) / nd)) * z
        let gu = uvGradients[2 * t], gv = uvGradients[2 * t + 1]
        return (SIMD2(dot(gu, dpdx), dot(gv, dpdx)), SIMD2(dot(gu, dpdy), dot(gv, dpdy)))
    }
}
