// Loads any file assimp reads into a world-space `Mesh`: node transforms applied, Y-up formats
// turned Z-up (see Camera.swift), base-colour factors, diffuse/base-colour textures (embedded or
// external, PNG or JPEG) and vertex colours. Everything a broken file can throw at us is checked
// here: missing root node, node cycles and absurd depth, out-of-range mesh/vertex/texture indices,
// NaN, infinite or huge coordinates, degenerate triangles, empty scenes, oversized scenes.
// Lenient where Blender is: point and line primitives are dropped with a warning, and meshes whose
// primitive-type flags disagree with their faces (assimp 5.2.5's OBJ importer calls a two-index
// `f a b` face a triangle, and its validation then refuses the file) are repaired and validated
// again (Sources/CAssimpImport).
//
// Each load has its own assimp Importer (and error string); see CAssimpImport.h.

import CAssimp
import CAssimpImport
import Foundation
import Imaging

public struct LoadedMesh {
    public var mesh: Mesh
    /// Non-fatal problems (unreadable texture, skipped faces), one line each.
    public var warnings: [String]
    /// True when the file's Y-up axes were turned Z-up.
    public var convertedYUp: Bool
    /// The box the Objaverse rendering scripts normalise by (`NormalizationRule.objaverse`): over
    /// every node that holds meshes (a Blender mesh object), the eight world-space corners of the
    /// node's local bounding box; nil when no node holds a finite vertex.
    public var objectBoxBounds: (lo: SIMD3<Double>, hi: SIMD3<Double>)?
}

public enum MeshLoader {
    /// Scenes larger than this (after instancing) are refused rather than rendered slowly.
    public static var maxTriangles = 20_000_000
    static let maxNodeDepth = 256
    /// Vertices farther out than this on any axis (after node transforms) are treated like NaN ones
    /// (their faces are skipped): past it squared distances overflow Float.
    static let maxCoordinate: Float = 1e18
    static let maxTexelsPerTexture = 4096 * 4096
    static let maxTexelsPerScene = 128 << 20

    /// Formats Blender imports without an axis change (taken as Z-up); all others are Y-up.
    static let zUpExtensions: Set<String> = ["stl", "ply"]

    public static func load(_ url: URL) throws -> LoadedMesh {
        let path = url.path
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw RenderError(path: path, reason: "file not found or not readable")
        }
        // Validated first (aiProcess_ValidateDataStructure, always, in the shim), then these steps;
        // SortByPType drops point and line primitives: we draw triangles only.
        let flags = aiProcess_Triangulate.rawValue | aiProcess_SortByPType.rawValue
            | aiProcess_GenSmoothNormals.rawValue | aiProcess_FindInvalidData.rawValue
        var stats = svdmv_import_stats()
        var error = [CChar](repeating: 0, count: 512)
        let handle = svdmv_assimp_import(path, flags,
                                         Int32(aiPrimitiveType_POINT.rawValue | aiPrimitiveType_LINE.rawValue),
                                         &stats, &error, error.count)
        guard let handle, let scenePointer = svdmv_assimp_scene(handle) else {
            svdmv_assimp_release(handle)
            let message = String(cString: error)
            // "No meshes remaining": SortByPType dropped lines/points, FindInvalidData NaN meshes
            let causes = [stats.nonfinite_meshes > 0
                            ? "\(stats.nonfinite_meshes) meshes with NaN or infinite vertex positions removed" : nil,
                          stats.lines + stats.points > 0
                            ? "\(stats.lines) line and \(stats.points) point primitives not drawn" : nil].compactMap { $0 }
            if message.contains("No meshes remaining"), !causes.isEmpty {
                throw RenderError(path: path, reason: "no renderable meshes: " + causes.joined(separator: ", ")
                                  + " (assimp: \(message))")
            }
            throw RenderError(path: path, reason: "assimp: \(message.isEmpty ? "cannot import" : message)")
        }
        defer { svdmv_assimp_release(handle) }
        let scene = scenePointer.assumingMemoryBound(to: aiScene.self)
        var builder = SceneBuilder(scene: scene.pointee, url: url,
                                   convertYUp: !zUpExtensions.contains(url.pathExtension.lowercased()))
        if stats.lines + stats.points > 0 {
            builder.warnings.append("dropped \(stats.lines) line and \(stats.points) point primitives (only triangles are drawn)")
        }
        if stats.nonfinite_meshes > 0 {
            builder.warnings.append("assimp removed \(stats.nonfinite_meshes) meshes with NaN or infinite vertex positions")
        }
        if stats.repaired_meshes > 0 {
            builder.warnings.append("repaired the primitive-type flags of \(stats.repaired_meshes) meshes "
                                    + "(faces with one or two indices, e.g. OBJ `f a b`, flagged as triangles)")
        }
        try builder.build()
        return LoadedMesh(mesh: builder.mesh, warnings: builder.warnings, convertedYUp: builder.convertYUp,
                          objectBoxBounds: builder.objectBoxBounds)
    }
}

/// Walks one assimp scene into a `Mesh`.
struct SceneBuilder {
    let scene: aiScene
    let url: URL
    let convertYUp: Bool
    var mesh = Mesh()
    var warnings: [String] = []
    /// assimp material index -> our material index
    var materialMap: [Int: Int] = [:]
    /// texture key (path or "*N") -> our texture index, nil when it failed to load
    var textureCache: [String: Int?] = [:]
    /// texture index -> whether some texel has alpha below 1
    var alphaTextures: [Int: Bool] = [:]
    var skippedFaces = 0
    var degenerateTriangles = 0
    var visited = Set<UnsafeMutablePointer<aiNode>>()
    var objectBoxBounds: (lo: SIMD3<Double>, hi: SIMD3<Double>)?

    init(scene: aiScene, url: URL, convertYUp: Bool) {
        self.scene = scene
        self.url = url
        self.convertYUp = convertYUp
        mesh.materials = [.neutralGrey]
    }

    var path: String { url.path }

    mutating func build() throws {
        guard let root = scene.mRootNode else { throw RenderError(path: path, reason: "scene has no root node") }
        guard scene.mNumMeshes > 0, scene.mMeshes != nil else {
            throw RenderError(path: path, reason: "scene has no meshes")
        }
        // Y-up -> Z-up: (x, y, z) -> (x, -z, y)
        let axes: Matrix4 = convertYUp
            ? Matrix4(rows: [[1, 0, 0, 0], [0, 0, -1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]) : .identity
        try visit(root, parent: axes, depth: 0)
        if skippedFaces > 0 {
            warnings.append("skipped \(skippedFaces) faces with bad indices or non-finite or huge coordinates")
        }
        if degenerateTriangles > 0 { warnings.append("dropped \(degenerateTriangles) degenerate (zero-area) triangles") }
        mesh.computeTangentFrames()
        guard mesh.triangleCount > 0 else {
            let dropped = [skippedFaces > 0 ? "\(skippedFaces) faces with bad indices or non-finite or huge "
                            + "(> \(MeshLoader.maxCoordinate)) coordinates skipped" : nil,
                           degenerateTriangles > 0 ? "\(degenerateTriangles) degenerate triangles dropped" : nil]
                .compactMap { $0 }
            throw RenderError(path: path, reason: "no renderable triangles"
                              + (dropped.isEmpty ? "" : " (" + dropped.joined(separator: ", ") + ")"))
        }
    }

    mutating func visit(_ nodePointer: UnsafeMutablePointer<aiNode>, parent: Matrix4, depth: Int) throws {
        guard depth < MeshLoader.maxNodeDepth else {
            throw RenderError(path: path, reason: "node hierarchy deeper than \(MeshLoader.maxNodeDepth)")
        }
        guard visited.insert(nodePointer).inserted else {
            throw RenderError(path: path, reason: "node hierarchy has a cycle")
        }
        defer { visited.remove(nodePointer) }
        let node = nodePointer.pointee
        let world = parent * Matrix4(node.mTransformation)
        includeObjectBox(of: node, world: world)
        for k in 0..<Int(node.mNumMeshes) {
            guard let meshIndices = node.mMeshes else { break }
            let m = Int(meshIndices[k])
            guard m < Int(scene.mNumMeshes), let meshPointer = scene.mMeshes[m] else {
                throw RenderError(path: path, reason: "node references mesh \(m) of \(scene.mNumMeshes)")
            }
            try append(meshPointer.pointee, transform: world)
        }
        for k in 0..<Int(node.mNumChildren) {
            guard let children = node.mChildren, let child = children[k] else { continue }
            try visit(child, parent: world, depth: depth + 1)
        }
    }

    /// Adds the world-space corners of `node`'s local bounding box (over the finite vertices of
    /// all its meshes) to `objectBoxBounds`, as the Objaverse scripts' `scene_bbox` takes each mesh
    /// object's `bound_box` through its `matrix_world`.
    mutating func includeObjectBox(of node: aiNode, world: Matrix4) {
        guard let meshIndices = node.mMeshes, let meshes = scene.mMeshes else { return }
        var lo = SIMD3<Double>(repeating: .infinity), hi = SIMD3<Double>(repeating: -.infinity)
        for k in 0..<Int(node.mNumMeshes) {
            let m = Int(meshIndices[k])
            guard m < Int(scene.mNumMeshes), let mesh = meshes[m]?.pointee, let vertices = mesh.mVertices else { continue }
            for v in 0..<Int(mesh.mNumVertices) {
                let p = SIMD3<Double>(Double(vertices[v].x), Double(vertices[v].y), Double(vertices[v].z))
                // as in `append`: NaN and huge vertices are not part of the object
                guard p.x.isFinite, p.y.isFinite, p.z.isFinite,
                      max(abs(p.x), abs(p.y), abs(p.z)) <= Double(MeshLoader.maxCoordinate) else { continue }
                lo = pointwiseMin(lo, p)
                hi = pointwiseMax(hi, p)
            }
        }
        guard lo.x <= hi.x else { return }
        let rows = world.rows.prefix(3).map { SIMD4<Double>($0[0], $0[1], $0[2], $0[3]) }
        var boxLo = objectBoxBounds?.lo ?? SIMD3(repeating: .infinity)
        var boxHi = objectBoxBounds?.hi ?? SIMD3(repeating: -.infinity)
        for corner in 0..<8 {
            let c = SIMD4<Double>(corner & 1 == 0 ? lo.x : hi.x, corner & 2 == 0 ? lo.y : hi.y, corner & 4 == 0 ? lo.z : hi.z, 1)
            let q = SIMD3<Double>((rows[0] * c).sum(), (rows[1] * c).sum(), (rows[2] * c).sum())
            guard q.x.isFinite, q.y.isFinite, q.z.isFinite,
                  max(abs(q.x), abs(q.y), abs(q.z)) <= Double(MeshLoader.maxCoordinate) else { continue }
            boxLo = pointwiseMin(boxLo, q)
            boxHi = pointwiseMax(boxHi, q)
        }
        if boxLo.x <= boxHi.x { objectBoxBounds = (boxLo, boxHi) }
    }

    mutating func append(_ source: aiMesh, transform: Matrix4) throws {
        let vertexCount = Int(source.mNumVertices)
        guard vertexCount > 0, let vertices = source.mVertices else { return }
        guard mesh.triangleCount + Int(source.mNumFaces) <= MeshLoader.maxTriangles else {
            throw RenderError(path: path, reason: "more than \(MeshLoader.maxTriangles) triangles")
        }
        let material = materialIndex(Int(source.mMaterialIndex))
        let normalMatrix = transform.cofactor3x3
        // rows as SIMD values: the per-vertex loop must not allocate
        let t0 = SIMD4<Double>(transform.rows[0]), t1 = SIMD4<Double>(transform.rows[1])
        let t2 = SIMD4<Double>(transform.rows[2])
        let n0 = SIMD3<Double>(normalMatrix.rows[0][0], normalMatrix.rows[0][1], normalMatrix.rows[0][2])
        let n1 = SIMD3<Double>(normalMatrix.rows[1][0], normalMatrix.rows[1][1], normalMatrix.rows[1][2])
        let n2 = SIMD3<Double>(normalMatrix.rows[2][0], normalMatrix.rows[2][1], normalMatrix.rows[2][2])
        let uvs = source.mTextureCoords.0
        let colors = source.mColors.0
        let colorsAreLinear = ["gltf", "glb"].contains(url.pathExtension.lowercased())
        let base = mesh.positions.count
        var finite = [Bool](repeating: true, count: vertexCount)
        for v in 0..<vertexCount {
            let p = vertices[v]
            let h = SIMD4<Double>(Double(p.x), Double(p.y), Double(p.z), 1)
            let q = Vec3(Float((t0 * h).sum()), Float((t1 * h).sum()), Float((t2 * h).sum()))
            // non-finite, or so large that squared distances overflow Float: unusable
            finite[v] = q.x.isFinite && q.y.isFinite && q.z.isFinite
                && max(abs(q.x), abs(q.y), abs(q.z)) <= MeshLoader.maxCoordinate
            var n = Vec3.zero
            if let normals = source.mNormals {
                let r = SIMD3<Double>(Double(normals[v].x), Double(normals[v].y), Double(normals[v].z))
                let m = SIMD3<Double>((n0 * r).sum(), (n1 * r).sum(), (n2 * r).sum())
                let length = (m * m).sum().squareRoot()
                if length.isFinite, length > 1e-12 { n = Vec3(m / length) }
            }
            var uv = SIMD2<Float>.zero
            if let uvs {
                let t = uvs[v]
                uv = SIMD2(Float(t.x), Float(t.y))
                if !uv.x.isFinite || !uv.y.isFinite { uv = .zero }
            }
            var color = SIMD4<Float>(1, 1, 1, 1)
            if let colors {
                let c = colors[v]
                color = SIMD4(Float(c.r), Float(c.g), Float(c.b), Float(c.a))
                if !colorsAreLinear {
                    color = SIMD4(SRGB.toLinear(color.x), SRGB.toLinear(color.y), SRGB.toLinear(color.z), color.w)
                }
                if !(color.x.isFinite && color.y.isFinite && color.z.isFinite && color.w.isFinite) {
                    color = SIMD4(1, 1, 1, 1)
                }
                color = pointwiseMin(pointwiseMax(color, .zero), SIMD4(repeating: 1))
            }
            mesh.addVertex(finite[v] ? q : .zero, normal: n, uv: uv, color: color)
        }
        guard let faces = source.mFaces else { return }
        for f in 0..<Int(source.mNumFaces) {
            let face = faces[f]
            guard face.mNumIndices == 3, let idx = face.mIndices else { continue }  // points/lines
            let a = Int(idx[0]), b = Int(idx[1]), c = Int(idx[2])
            guard a < vertexCount, b < vertexCount, c < vertexCount,
                  finite[a], finite[b], finite[c] else {
                skippedFaces += 1
                continue
            }
            // zero area (repeated or collinear corners): covers no pixel and has no normal
            let pa = SIMD3<Double>(mesh.positions[base + a])
            let ab = SIMD3<Double>(mesh.positions[base + b]) - pa, ac = SIMD3<Double>(mesh.positions[base + c]) - pa
            let cross = SIMD3<Double>(ab.y * ac.z - ab.z * ac.y, ab.z * ac.x - ab.x * ac.z, ab.x * ac.y - ab.y * ac.x)
            guard cross != .zero else {
                degenerateTriangles += 1
                continue
            }
            mesh.addTriangle(base + a, base + b, base + c, material: material)
        }
    }

    mutating func materialIndex(_ m: Int) -> Int {
        if let known = materialMap[m] { return known }
        var result = 0                                  // neutral grey
        if m < Int(scene.mNumMaterials), let materials = scene.mMaterials, let material = materials[m],
           mesh.materials.count < Int(UInt16.max) {
            mesh.materials.append(convert(material))
            result = mesh.materials.count - 1
        }
        materialMap[m] = result
        return result
    }

    /// Which material model a file's materials follow.
    enum MaterialFlavour {
        /// glTF 2.0 pbrMetallicRoughness, as Blender's glTF importer reads it.
        case gltf
        /// Wavefront MTL, as Blender's OBJ importer converts it (`Material.wavefront`).
        case wavefront
        /// Everything else: colour, opacity, emission and textures on the default rough dielectric.
        case other
    }

    var flavour: MaterialFlavour {
        switch url.pathExtension.lowercased() {
        case "gltf", "glb": return .gltf
        case "obj": return .wavefront
        default: return .other
        }
    }

    /// One assimp material in our model (see Material.swift for the rules per format).
    mutating func convert(_ material: UnsafeMutablePointer<aiMaterial>) -> Material {
        let base = color(material, "$clr.base") ?? color(material, "$clr.diffuse")
        var result: Material
        switch flavour {
        case .wavefront:
            let kd = base ?? SIMD4(Material.neutralGrey.baseColor)
            let ks = color(material, "$clr.specular") ?? .zero
            result = Material.wavefront(kd: Vec3(kd.x, kd.y, kd.z), ks: Vec3(ks.x, ks.y, ks.z),
                                        ns: float(material, "$mat.shininess") ?? 0,
                                        ni: float(material, "$mat.refracti") ?? 1.5,
                                        d: float(material, "$mat.opacity") ?? 1,
                                        illum: integer(material, "$mat.illum") ?? 1,
                                        pr: float(material, "$mat.roughnessFactor"),
                                        pm: float(material, "$mat.metallicFactor"))
            result.normalTexture = textureSlot(material, [aiTextureType_NORMALS, aiTextureType_HEIGHT], srgb: false)
            result.opacityTexture = textureSlot(material, [aiTextureType_OPACITY], srgb: false)
            if result.opacityTexture != nil { result.alphaMode = .blend }
        case .gltf:
            result = Material(baseColor: base ?? SIMD4(1, 1, 1, 1))
            result.metallic = float(material, "$mat.metallicFactor") ?? 1
            result.roughness = float(material, "$mat.roughnessFactor") ?? 1
            result.metallicRoughnessTexture = textureSlot(material, [aiTextureType_UNKNOWN], srgb: false)
            result.normalTexture = textureSlot(material, [aiTextureType_NORMALS], srgb: false)
            result.normalScale = float(material, "$tex.scale", aiTextureType_NORMALS) ?? 1
            result.occlusionTexture = textureSlot(material, [aiTextureType_LIGHTMAP], srgb: false)
            result.occlusionStrength = float(material, "$tex.strength", aiTextureType_LIGHTMAP) ?? 1
            let emissive = color(material, "$clr.emissive") ?? .zero
            let strength = float(material, "$mat.emissiveIntensity") ?? 1
            result.emissive = Vec3(emissive.x, emissive.y, emissive.z) * strength
            result.emissiveTexture = textureSlot(material, [aiTextureType_EMISSIVE], srgb: true)
            switch stringProperty(material, "$mat.gltf.alphaMode") {
            case "MASK": result.alphaMode = .mask(cutoff: float(material, "$mat.gltf.alphaCutoff") ?? 0.5)
            case "BLEND": result.alphaMode = .blend
            default: result.alphaMode = .opaque
            }
            result.doubleSided = (integer(material, "$mat.twosided") ?? 0) != 0
        case .other:
            result = Material(baseColor: base ?? SIMD4(Material.neutralGrey.baseColor))
            let opacity = min(max(float(material, "$mat.opacity") ?? 1, 0), 1)
            result.baseColor.w *= opacity
            if result.baseColor.w < 1 { result.alphaMode = .blend }
            if let emissive = color(material, "$clr.emissive") { result.emissive = Vec3(emissive.x, emissive.y, emissive.z) }
        }
        if let slot = textureSlot(material, [aiTextureType_BASE_COLOR, aiTextureType_DIFFUSE], srgb: true) {
            if flavour == .wavefront {
                result = result.withDiffuseMap(slot)
            } else {
                result.baseColorTexture = slot
                if base == nil { result.baseColor = SIMD4(1, 1, 1, result.baseColor.w) }
                // formats without alpha modes (AC3D, MD3, ...) blend where their texture has alpha,
                // as their own engines do (FlightGear's cloud layers, Quake 3's foliage)
                if flavour == .other, result.alphaMode == .opaque, textureHasAlpha(slot.texture) { result.alphaMode = .blend }
            }
        }
        return result
    }

    /// Whether texture `index` has a texel that is not fully opaque (scanned once per texture).
    mutating func textureHasAlpha(_ index: Int) -> Bool {
        if let known = alphaTextures[index] { return known }
        let answer = mesh.textures[index].storage.buffer.contains { $0.w < 1 }
        alphaTextures[index] = answer
        return answer
    }

    /// A finite colour property, clamped to [0, 1] (RGB or RGBA; alpha 1 when absent).
    func color(_ material: UnsafeMutablePointer<aiMaterial>, _ key: String) -> SIMD4<Float>? {
        var c = aiColor4D(r: 1, g: 1, b: 1, a: 1)
        guard aiGetMaterialColor(material, key, 0, 0, &c) == aiReturn_SUCCESS else { return nil }
        let v = SIMD4<Float>(Float(c.r), Float(c.g), Float(c.b), Float(c.a))
        guard v.x.isFinite, v.y.isFinite, v.z.isFinite, v.w.isFinite else { return nil }
        return pointwiseMin(pointwiseMax(v, .zero), SIMD4(repeating: 1))
    }

    /// A finite float property (of texture `type`'s slot 0 when given).
    func float(_ material: UnsafeMutablePointer<aiMaterial>, _ key: String, _ type: aiTextureType? = nil) -> Float? {
        var value: ai_real = 0
        var count: UInt32 = 1
        let ok = aiGetMaterialFloatArray(material, key, type?.rawValue ?? 0, 0, &value, &count)
        guard ok == aiReturn_SUCCESS, count >= 1, value.isFinite else { return nil }
        return Float(value)
    }

    func integer(_ material: UnsafeMutablePointer<aiMaterial>, _ key: String) -> Int? {
        var value: Int32 = 0
        var count: UInt32 = 1
        guard aiGetMaterialIntegerArray(material, key, 0, 0, &value, &count) == aiReturn_SUCCESS, count >= 1 else {
            return nil
        }
        return Int(value)
    }

    func stringProperty(_ material: UnsafeMutablePointer<aiMaterial>, _ key: String) -> String? {
        var value = aiString()
        guard aiGetMaterialString(material, key, 0, 0, &value) == aiReturn_SUCCESS else { return nil }
        return Render.string(value)
    }

    /// The first texture of the first listed type that has one, decoded (sRGB or linear data),
    /// with its glTF texture transform. A texture that cannot be read is a warning, not an error.
    mutating func textureSlot(_ material: UnsafeMutablePointer<aiMaterial>, _ types: [aiTextureType],
                              srgb: Bool) -> TextureSlot? {
        for type in types {
            guard aiGetMaterialTextureCount(material, type) > 0 else { continue }
            var name = aiString()
            guard aiGetMaterialTexture(material, type, 0, &name, nil, nil, nil, nil, nil, nil)
                    == aiReturn_SUCCESS else { continue }
            let key = Render.string(name)
            guard !key.isEmpty else { continue }
            guard let index = textureIndex(key, srgb: srgb) else { return nil }
            return TextureSlot(index, transform: flavour == .gltf ? uvTransform(material, type) : .identity)
        }
        return nil
    }

    /// KHR_texture_transform of a glTF texture slot. assimp 5.2's glTF importer stores it as an
    /// aiUVTransform (scaling s, rotation -r, and a translation that folds in a change of
    /// coordinates: t = (s.x/2 (1 - cos r + sin r) + o.x, s.y/2 (sin r + cos r - 1) + 1 - s.y - o.y),
    /// glTF2Importer.cpp); this undoes that to recover the extension's offset o, rotation r, scale s.
    func uvTransform(_ material: UnsafeMutablePointer<aiMaterial>, _ type: aiTextureType) -> UVTransform {
        var transform = aiUVTransform()
        var count = UInt32(MemoryLayout<aiUVTransform>.size / MemoryLayout<ai_real>.size)
        let ok = withUnsafeMutablePointer(to: &transform) {
            $0.withMemoryRebound(to: ai_real.self, capacity: Int(count)) {
                aiGetMaterialFloatArray(material, "$tex.uvtrafo", type.rawValue, 0, $0, &count)
            }
        }
        guard ok == aiReturn_SUCCESS, count == 5 else { return .identity }
        let s = SIMD2<Float>(Float(transform.mScaling.x), Float(transform.mScaling.y))
        let r = -Float(transform.mRotation)
        let t = SIMD2<Float>(Float(transform.mTranslation.x), Float(transform.mTranslation.y))
        let c = cos(r), sn = sin(r)
        let offset = SIMD2<Float>(t.x - 0.5 * s.x * (1 - c + sn), -(t.y - 0.5 * s.y * (sn + c - 1) - 1 + s.y))
        guard s.x.isFinite, s.y.isFinite, r.isFinite, offset.x.isFinite, offset.y.isFinite else { return .identity }
        return .khrTextureTransform(offset: offset, rotation: r, scale: s)
    }

    /// Our texture index for a file's texture key, decoded once per colour space.
    mutating func textureIndex(_ key: String, srgb: Bool) -> Int? {
        let cacheKey = (srgb ? "srgb:" : "linear:") + key
        if let cached = textureCache[cacheKey] { return cached }
        var loaded: Int?
        do {
            var texture = try decodeTexture(key, srgb: srgb)
            // Size caps: texels are 16-byte floats, so large maps are halved (box filter) to at
            // most 4096 x 4096, and a scene stops taking textures past 128 M texels.
            while texture.width * texture.height > MeshLoader.maxTexelsPerTexture { texture = texture.halved() }
            let total = mesh.textures.reduce(texture.width * texture.height) { $0 + $1.width * $1.height }
            guard total <= MeshLoader.maxTexelsPerScene else {
                throw RenderError(path: key, reason: "scene textures exceed \(MeshLoader.maxTexelsPerScene) texels")
            }
            mesh.textures.append(texture)
            loaded = mesh.textures.count - 1
        } catch {
            warnings.append("texture \(key): \(error)")
        }
        textureCache[cacheKey] = loaded
        return loaded
    }

    func decodeTexture(_ key: String, srgb: Bool) throws -> Texture {
        // embedded: "*N" or a name matching an embedded texture's file name
        var embedded: UnsafeMutablePointer<aiTexture>?
        if key.hasPrefix("*"), let n = Int(key.dropFirst()) {
            guard n >= 0, n < Int(scene.mNumTextures), let textures = scene.mTextures else {
                throw RenderError(path: key, reason: "embedded texture index out of range")
            }
            embedded = textures[n]
        } else if let textures = scene.mTextures {
            for n in 0..<Int(scene.mNumTextures) where textures[n].map({ string($0.pointee.mFilename) }) == key {
                embedded = textures[n]
            }
        }
        if let texture = embedded?.pointee {
            guard let texels = texture.pcData else { throw RenderError(path: key, reason: "no texel data") }
            if texture.mHeight == 0 {
                let data = Data(bytes: UnsafeRawPointer(texels), count: Int(texture.mWidth))
                // assimp's format hint ("png", "jpg", "tga"...) names the compressed data's format
                let hint = withUnsafeBytes(of: texture.achFormatHint) { raw in
                    String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
                }.lowercased()
                return try decodeImage(data, name: hint.isEmpty ? key : key + "." + hint, srgb: srgb)
            }
            let w = Int(texture.mWidth), h = Int(texture.mHeight)
            guard w > 0, h > 0, w * h <= 1 << 26 else { throw RenderError(path: key, reason: "size \(w)x\(h)") }
            let table = srgb ? SRGB.decodeTable : SceneBuilder.unitTable
            return Texture(width: w, height: h, texels: (0..<(w * h)).map {
                let t = texels[$0]
                return SIMD4(table[Int(t.r)], table[Int(t.g)], table[Int(t.b)], Float(t.a) / 255)
            })
        }
        for candidate in SceneBuilder.textureCandidates(key, model: url)
        where FileManager.default.isReadableFile(atPath: candidate.path) {
            let data = try Data(contentsOf: candidate)
            return try decodeImage(data, name: candidate.path, srgb: srgb)
        }
        throw RenderError(path: key, reason: "texture file not found next to the model or under its parent folders")
    }

    /// Where an external texture may be, in order: the path relative to the model's folder; its
    /// base name in that folder; the path relative to each parent folder up to `textureSearchDepth`
    /// levels (game assets such as Quake 3 MD3s name textures from the game's root, e.g.
    /// models/mapobjects/lamp/lamp.tga); and for each of those, the same name with the other
    /// image extensions (the Quake 3 engine loads foo.jpg for a missing foo.tga).
    static func textureCandidates(_ key: String, model: URL) -> [URL] {
        let folder = model.deletingLastPathComponent()
        let relative = key.replacingOccurrences(of: "\\", with: "/")
        let decoded = relative.removingPercentEncoding ?? relative
        var bases = [URL(fileURLWithPath: decoded, relativeTo: folder),
                     folder.appendingPathComponent((decoded as NSString).lastPathComponent)]
        if !decoded.hasPrefix("/") && decoded.contains("/") {
            var root = folder
            for _ in 0..<textureSearchDepth where root.path != "/" {
                root = root.deletingLastPathComponent()
                bases.append(URL(fileURLWithPath: decoded, relativeTo: root))
            }
        }
        let extensions = ["tga", "jpg", "jpeg", "png", "bmp"]
        let alternatives = bases.flatMap { base -> [URL] in
            let stem = base.deletingPathExtension()
            let own = base.pathExtension.lowercased()
            return extensions.filter { $0 != own }.map { stem.appendingPathExtension($0) }
        }
        return bases + alternatives
    }

    static let textureSearchDepth = 4

    func decodeImage(_ data: Data, name: String, srgb: Bool) throws -> Texture {
        let image = try ImageFile.decode(data, name: name)          // PNG, JPEG, BMP, SGI or TGA
        // Past the size cap the first halving is taken while converting, so an 8K map never
        // exists as 16-byte texels (1 GiB, plus the copy into the texture's storage).
        return SceneBuilder.linearTexture(image, halved: image.width * image.height > MeshLoader.maxTexelsPerTexture, srgb: srgb)
    }

    /// `image` (8-bit sRGB, 1-4 channels) as linear texels; `halved` gives exactly
    /// `linearTexture(image, halved: false).halved()` (the same 2 x 2 means, summed in the same
    /// order) without the full-size texels.
    static func linearTexture(_ image: Image8, halved: Bool, srgb: Bool = true) -> Texture {
        let table = srgb ? SRGB.decodeTable : unitTable
        let c = image.channels, width = image.width, height = image.height
        return image.pixels.withUnsafeBufferPointer { px in
            @inline(__always) func texel(_ i: Int) -> SIMD4<Float> {
                let o = i * c
                switch c {
                case 1: let g = table[Int(px[o])]; return SIMD4(g, g, g, 1)
                case 2: let g = table[Int(px[o])]; return SIMD4(g, g, g, Float(px[o + 1]) / 255)
                case 3: return SIMD4(table[Int(px[o])], table[Int(px[o + 1])], table[Int(px[o + 2])], 1)
                default: return SIMD4(table[Int(px[o])], table[Int(px[o + 1])], table[Int(px[o + 2])],
                                      Float(px[o + 3]) / 255)
                }
            }
            guard halved else {
                return Texture(width: width, height: height, texels: (0..<(width * height)).map(texel))
            }
            let w = (width + 1) / 2, h = (height + 1) / 2
            return Texture(width: w, height: h, texels: (0..<(w * h)).map { i in
                let x = 2 * (i % w), y = 2 * (i / w)
                var sum = SIMD4<Float>.zero, n: Float = 0
                for dy in 0..<2 where y + dy < height {
                    for dx in 0..<2 where x + dx < width {
                        sum += texel((y + dy) * width + x + dx)
                        n += 1
                    }
                }
                return sum / n
            })
        }
    }
}

extension SceneBuilder {
    /// 8-bit values of a data texture (normal, metallic-roughness, occlusion): v / 255.
    static let unitTable: [Float] = (0..<256).map { Float($0) / 255 }
}

func string(_ s: aiString) -> String {
    var copy = s
    let length = min(Int(copy.length), 1023)
    return withUnsafeBytes(of: &copy.data) { raw in
        String(decoding: raw.prefix(length), as: UTF8.self)
    }
}

/// A row-major 4x4 affine matrix in Double (assimp's aiMatrix4x4 layout: a1..a4 is row 0).
struct Matrix4 {
    var rows: [[Double]]

    static let identity = Matrix4(rows: [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])

    init(rows: [[Double]]) { self.rows = rows }

    init(_ m: aiMatrix4x4) {
        rows = [[m.a1, m.a2, m.a3, m.a4], [m.b1, m.b2, m.b3, m.b4],
                [m.c1, m.c2, m.c3, m.c4], [m.d1, m.d2, m.d3, m.d4]].map { $0.map(Double.init) }
    }

    static func * (l: Matrix4, r: Matrix4) -> Matrix4 {
        Matrix4(rows: (0..<4).map { i in (0..<4).map { j in (0..<4).reduce(0) { $0 + l.rows[i][$1] * r.rows[$1][j] } } })
    }

    /// The cofactor matrix of the upper 3x3 (det * inverse-transpose): maps normals correctly
    /// for any affine transform, including mirrored ones, without dividing by the determinant.
    var cofactor3x3: Matrix4 {
        let m = rows
        func c(_ i: Int, _ j: Int) -> Double {
            let r = [0, 1, 2].filter { $0 != i }, k = [0, 1, 2].filter { $0 != j }
            let minor = m[r[0]][k[0]] * m[r[1]][k[1]] - m[r[0]][k[1]] * m[r[1]][k[0]]
            return (i + j) % 2 == 0 ? minor : -minor
        }
        return Matrix4(rows: (0..<3).map { i in (0..<3).map { j in c(i, j) } + [0] } + [[0, 0, 0, 1]])
    }
}
