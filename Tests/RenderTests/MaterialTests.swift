// Materials: Blender's conversions of MTL and glTF materials, the Principled-BSDF reflectances,
// texture transforms, single-sided faces, alpha masks and blending, emission, normal maps and
// mipmapped texture filtering, each on a scene whose right answer is known.

import Foundation
import Imaging
@testable import Render
import XCTest

final class MaterialTests: XCTestCase {
    let camera = Camera(elevationDegrees: 10, azimuthDegrees: 30, distance: 2.5, fovDegrees: 33.8, width: 64, height: 64)

    /// A square of side 2h facing `camera`, `offset` towards it from the origin, uv (0..1)
    /// along its right and up directions, with the given material and textures.
    func facingQuad(_ camera: Camera, half h: Float = 0.4, offset: Float = 0, material: Material,
                    textures: [Texture] = []) -> Mesh {
        let pose = camera.worldToCameraOpenCV
        let right = Vec3(Float(pose.rows[0][0]), Float(pose.rows[0][1]), Float(pose.rows[0][2]))
        let up = -Vec3(Float(pose.rows[1][0]), Float(pose.rows[1][1]), Float(pose.rows[1][2]))
        let towards = cross(right, up)
        var mesh = Mesh()
        for (x, y) in [(-1, -1), (1, -1), (1, 1), (-1, 1)] {
            mesh.addVertex(towards * offset + right * (Float(x) * h) + up * (Float(y) * h), normal: towards,
                           uv: SIMD2(Float(x + 1) / 2, Float(y + 1) / 2))
        }
        mesh.addTriangle(0, 1, 2)
        mesh.addTriangle(0, 2, 3)
        mesh.materials = [material]
        mesh.textures = textures
        return mesh
    }

    func render(_ mesh: Mesh, environment: EnvironmentLight? = nil, background: Background = .transparent,
                camera: Camera? = nil) -> Image8 {
        var shader = Shader(mesh: mesh)
        shader.environment = environment
        return shader.render(camera ?? self.camera, supersampling: 2, background: background, depth: nil, normals: false).color
    }

    func furnace(_ radiance: Float = 1) -> EnvironmentLight {
        EnvironmentLight(lighting: EnvironmentLighting(map: HDRImage(width: 64, height: 32, fill: SIMD3(repeating: radiance))))
    }

    // MARK: Material models

    /// Blender 4.2's OBJ importer, observed by importing MTL files with bpy 4.2.0 and reading the
    /// Principled BSDF's inputs: (Kd, Ks, Ns, Ni, d, illum, Pr, Pm) -> roughness, specular level,
    /// metallic, IOR, alpha.
    func testWavefrontConversionMatchesBlendersImporter() {
        struct Case { let ks: Float, ns: Float, ni: Float, d: Float, illum: Int, pr: Float?, pm: Float?
                      let roughness: Float, level: Float, metallic: Float, alpha: Float }
        let cases = [
            Case(ks: 0.5, ns: 250, ni: 1.5, d: 0.5, illum: 2, pr: nil, pm: nil, roughness: 0.5, level: 0.5, metallic: 0, alpha: 0.5),
            Case(ks: 0, ns: 10, ni: 1.5, d: 1, illum: 1, pr: nil, pm: nil, roughness: 0.9, level: 0, metallic: 0, alpha: 1),
            Case(ks: 0.1, ns: 1, ni: 1, d: 1, illum: 2, pr: nil, pm: nil, roughness: 0.9684, level: 0.1, metallic: 0, alpha: 1),
            Case(ks: 0.5, ns: 96, ni: 1.5, d: 0.8, illum: 3, pr: nil, pm: nil, roughness: 0.6902, level: 0.5, metallic: 1, alpha: 0.8),
            Case(ks: 0.5, ns: 96, ni: 1.5, d: 0.8, illum: 9, pr: nil, pm: nil, roughness: 0.6902, level: 0.5, metallic: 0, alpha: 0.8),
            Case(ks: 0, ns: 1000, ni: 1.5, d: 0, illum: 1, pr: 0.3, pm: 0.7, roughness: 0.3, level: 0, metallic: 0.7, alpha: 0),
        ] + (0...10).map { illum in
            Case(ks: 0.5, ns: 100, ni: 1.45, d: 1, illum: illum, pr: nil, pm: nil, roughness: 0.6838, level: 0.5,
                 metallic: (3...8).contains(illum) ? 1 : 0, alpha: 1)
        }
        for (k, c) in cases.enumerated() {
            let m = Material.wavefront(kd: Vec3(0.8, 0.2, 0.1), ks: Vec3(repeating: c.ks), ns: c.ns, ni: c.ni, d: c.d,
                                       illum: c.illum, pr: c.pr, pm: c.pm)
            XCTAssertEqual(m.roughness, c.roughness, accuracy: 1e-4, "case \(k)")
            XCTAssertEqual(m.specularLevel, c.level, accuracy: 1e-6, "case \(k)")
            XCTAssertEqual(m.metallic, c.metallic, "case \(k)")
            XCTAssertEqual(m.ior, c.ni, "case \(k)")
            XCTAssertEqual(m.baseColor, SIMD4(0.8, 0.2, 0.1, c.alpha), "case \(k)")
            XCTAssertEqual(m.alphaMode, c.alpha < 1 ? .blend : .opaque, "case \(k)")
        }
    }

    /// The loader reads an MTL file through assimp into the same values.
    func testLoaderReadsMTLMaterials() throws {
        let folder = try temporaryFolder()
        try """
        mtllib m.mtl
        v 0 0 0
        v 1 0 0
        v 0 1 0
        usemtl shiny
        f 1 2 3
        usemtl metal
        f 1 3 2
        """.write(to: folder.appendingPathComponent("m.obj"), atomically: true, encoding: .utf8)
        try """
        newmtl shiny
        Kd 0.8 0.2 0.1
        Ks 0.5 0.5 0.5
        Ns 250
        Ni 1.45
        d 0.5
        illum 2
        newmtl metal
        Kd 0.9 0.9 0.9
        Ks 0.1 0.1 0.1
        Ns 96
        Ni 1.0
        illum 3
        """.write(to: folder.appendingPathComponent("m.mtl"), atomically: true, encoding: .utf8)
        let mesh = try MeshLoader.load(folder.appendingPathComponent("m.obj")).mesh
        let shiny = mesh.materials[Int(mesh.triangleMaterials[0])], metal = mesh.materials[Int(mesh.triangleMaterials[1])]
        XCTAssertEqual(shiny.roughness, 0.5, accuracy: 1e-6)
        XCTAssertEqual(shiny.specularLevel, 0.5, accuracy: 1e-6)
        XCTAssertEqual(shiny.ior, 1.45, accuracy: 1e-6)
        XCTAssertEqual(shiny.baseColor.w, 0.5)
        XCTAssertEqual(shiny.alphaMode, .blend)
        XCTAssertEqual(shiny.metallic, 0)
        XCTAssertEqual(metal.metallic, 1)
        XCTAssertEqual(metal.roughness, 1 - (0.096 as Float).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(metal.alphaMode, .opaque)
        XCTAssertTrue(metal.doubleSided)
        XCTAssertEqual(metal.dielectricReflectance.f0, 0, "IOR 1: no dielectric reflection")
    }

    /// Formats outside glTF and OBJ keep their colour, opacity and emission: an AC3D material
    /// with `emis 1 0.5 0` and `trans 0.25` (FlightGear's lights and glass).
    func testOtherFormatsKeepEmissionAndOpacity() throws {
        let folder = try temporaryFolder()
        try ac3dTriangle(material: "rgb 0 0 0  amb 0.2 0.2 0.2  emis 1 0.5 0  spec 0 0 0  shi 10  trans 0.25")
            .write(to: folder.appendingPathComponent("glow.ac"), atomically: true, encoding: .utf8)
        let mesh = try MeshLoader.load(folder.appendingPathComponent("glow.ac")).mesh
        let glow = mesh.materials[Int(mesh.triangleMaterials[0])]
        XCTAssertEqual(glow.emissive, Vec3(1, 0.5, 0))
        XCTAssertEqual(glow.baseColor.w, 0.75, accuracy: 1e-6)
        XCTAssertEqual(glow.alphaMode, .blend)
    }

    /// Formats without alpha modes blend where their texture has alpha (FlightGear's cloud
    /// layers): an AC3D object textured with a half-transparent PNG is blended, one with an opaque
    /// PNG stays opaque.
    func testOtherFormatsBlendTexturesWithAlpha() throws {
        let folder = try temporaryFolder()
        for (name, alpha) in [("clouds", UInt8(0)), ("solid", UInt8(255))] {
            var image = Image8(width: 2, height: 1, channels: 4)
            image.pixels = [255, 255, 255, alpha, 255, 255, 255, 255]
            try PNG.write(image, to: folder.appendingPathComponent("\(name).png"))
            try ac3dTriangle(material: "rgb 1 1 1  amb 0.2 0.2 0.2  emis 0 0 0  spec 0 0 0  shi 10  trans 0", texture: "\(name).png")
                .write(to: folder.appendingPathComponent("\(name).ac"), atomically: true, encoding: .utf8)
            let mesh = try MeshLoader.load(folder.appendingPathComponent("\(name).ac")).mesh
            let material = mesh.materials[Int(mesh.triangleMaterials[0])]
            XCTAssertNotNil(material.baseColorTexture, name)
            XCTAssertEqual(material.alphaMode, alpha < 255 ? .blend : .opaque, name)
        }
    }

    /// EEVEE's dielectric layer: F0 from the IOR, scaled by twice the specular level; F90 ramped
    /// down below IOR ~1.33; nothing at IOR 1.
    func testDielectricReflectance() {
        func reflectance(ior: Float, level: Float) -> (f0: Float, f90: Float) {
            var m = Material(baseColor: SIMD4(1, 1, 1, 1))
            (m.ior, m.specularLevel) = (ior, level)
            return m.dielectricReflectance
        }
        XCTAssertEqual(reflectance(ior: 1.5, level: 0.5).f0, 0.04, accuracy: 1e-7)
        XCTAssertEqual(reflectance(ior: 1.5, level: 0.5).f90, 1)
        XCTAssertEqual(reflectance(ior: 1.5, level: 1).f0, 0.08, accuracy: 1e-7)
        XCTAssertTrue(reflectance(ior: 1, level: 0.5) == (0, 0))
        XCTAssertTrue(reflectance(ior: 1.5, level: 0) == (0, 0))
        // level 0.1 at IOR 1.45: F0 = 0.0337 * 0.2, eta = (1 + sqrt F0) / (1 - sqrt F0) = 1.1787,
        // F90 = 2.33 / 0.33 * (eta - 1) / (eta + 1) = 0.5794
        let low = reflectance(ior: 1.45, level: 0.1)
        XCTAssertEqual(low.f0, 0.0067472, accuracy: 1e-6)
        XCTAssertEqual(low.f90, 0.5794, accuracy: 1e-3)
    }

    /// KHR_texture_transform: offset, rotation and scale act on glTF coordinates (v down); worked
    /// by hand for points given in assimp's coordinates (v up).
    func testKHRTextureTransform() {
        func close(_ a: SIMD2<Float>, _ b: SIMD2<Float>, _ message: String) {
            XCTAssertLessThan(abs(a.x - b.x) + abs(a.y - b.y), 1e-5, "\(message): \(a) vs \(b)")
        }
        // offset (0.5, 0): glTF (0.2, 0.3) -> (0.7, 0.3); assimp (0.2, 0.7) -> (0.7, 0.7)
        close(UVTransform.khrTextureTransform(offset: SIMD2(0.5, 0), rotation: 0, scale: SIMD2(1, 1)).apply(SIMD2(0.2, 0.7)),
              SIMD2(0.7, 0.7), "offset u")
        // offset (0, 0.5): glTF (0.2, 0.3) -> (0.2, 0.8); assimp (0.2, 0.7) -> (0.2, 0.2)
        close(UVTransform.khrTextureTransform(offset: SIMD2(0, 0.5), rotation: 0, scale: SIMD2(1, 1)).apply(SIMD2(0.2, 0.7)),
              SIMD2(0.2, 0.2), "offset v")
        // rotation r: glTF (1, 0) -> (cos r, -sin r); assimp (1, 1) -> (cos r, 1 + sin r)
        let r: Float = 0.3927
        close(UVTransform.khrTextureTransform(offset: .zero, rotation: r, scale: SIMD2(1, 1)).apply(SIMD2(1, 1)),
              SIMD2(cos(r), 1 + sin(r)), "rotation")
        // scale 1.5: glTF (0.2, 0.4) -> (0.3, 0.6); assimp (0.2, 0.6) -> (0.3, 0.4)
        close(UVTransform.khrTextureTransform(offset: .zero, rotation: 0, scale: SIMD2(1.5, 1.5)).apply(SIMD2(0.2, 0.6)),
              SIMD2(0.3, 0.4), "scale")
    }

    /// The Khronos TextureTransformTest asset (assimp's test models): every material's recovered
    /// transform is the one its JSON gives.
    func testLoaderRecoversKHRTextureTransformsFromAssimp() throws {
        let url = URL(fileURLWithPath: "/usr/share/assimp/models/glTF2/textureTransform/TextureTransformTest.gltf")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
        let materials = try XCTUnwrap(json?["materials"] as? [[String: Any]])
        let mesh = try MeshLoader.load(url).mesh
        var checked = 0
        for m in mesh.materials {
            guard let slot = m.baseColorTexture, !slot.transform.isIdentity else { continue }
            // find the JSON material with this transform
            let candidates = materials.compactMap { material -> UVTransform? in
                let pbr = material["pbrMetallicRoughness"] as? [String: Any]
                let texture = pbr?["baseColorTexture"] as? [String: Any]
                guard let ext = (texture?["extensions"] as? [String: Any])?["KHR_texture_transform"] as? [String: Any] else {
                    return nil
                }
                let offset = (ext["offset"] as? [Double]) ?? [0, 0], scale = (ext["scale"] as? [Double]) ?? [1, 1]
                return .khrTextureTransform(offset: SIMD2(Float(offset[0]), Float(offset[1])),
                                            rotation: Float((ext["rotation"] as? Double) ?? 0),
                                            scale: SIMD2(Float(scale[0]), Float(scale[1])))
            }
            let t = slot.transform
            let match = candidates.contains { c in
                max(abs(c.a - t.a), abs(c.b - t.b), abs(c.c - t.c), abs(c.d - t.d), abs(c.tx - t.tx), abs(c.ty - t.ty)) < 1e-5
            }
            XCTAssertTrue(match, "transform \(t) matches no KHR_texture_transform of the file")
            checked += 1
        }
        XCTAssertEqual(checked, 6, "Offset U, Offset V, Offset UV, Rotation, Scale, All")
    }

    // MARK: Shading

    /// With the multiple-scattering term a white metal reflects all of a constant environment at
    /// any roughness (F0 = F90 = 1: R = Ess + (1 - Ess) = 1), as a white dielectric does.
    func testWhiteMetalInAWhiteFurnaceIsWhite() {
        for roughness: Float in [0, 0.3, 0.8] {
            var m = Material(baseColor: SIMD4(1, 1, 1, 1))
            (m.metallic, m.roughness) = (1, roughness)
            let image = render(facingQuad(camera, material: m), environment: furnace())
            XCTAssertEqual(image[32, 32, 0], 255, "roughness \(roughness)")
            XCTAssertEqual(image[32, 32, 3], 255)
        }
    }

    /// IOR 1 has no dielectric reflection: a grey surface shows exactly its albedo in a constant
    /// environment, where IOR 1.5 adds its Fresnel reflection.
    func testIndexOfRefractionOneReflectsNothing() {
        var m = Material(baseColor: SIMD4(0.2, 0.2, 0.2, 1))
        m.ior = 1
        let matte = render(facingQuad(camera, material: m), environment: furnace())
        XCTAssertEqual(Float(matte[32, 32, 0]), SRGB.fromLinear(0.2) * 255, accuracy: 0.6)
        m.ior = 1.5
        let glossy = render(facingQuad(camera, material: m), environment: furnace())
        XCTAssertGreaterThan(glossy[32, 32, 0], matte[32, 32, 0] + 5)
    }

    /// Emission adds to the lit colour, under the studio lights and under an environment.
    func testEmissionAddsRadiance() {
        var m = Material(baseColor: SIMD4(0, 0, 0, 1))
        m.emissive = Vec3(0.5, 0.25, 0)
        m.ior = 1
        for environment in [nil, furnace()] {
            let image = render(facingQuad(camera, material: m), environment: environment)
            XCTAssertEqual(Float(image[32, 32, 0]), SRGB.fromLinear(0.5) * 255, accuracy: 0.6)
            XCTAssertEqual(Float(image[32, 32, 1]), SRGB.fromLinear(0.25) * 255, accuracy: 0.6)
            XCTAssertEqual(image[32, 32, 2], 0)
        }
    }

    /// glTF occlusion darkens the image-based light only when asked (Blender leaves it unconnected):
    /// occlusion 0.25 at strength 1 gives a white IOR-1 surface 0.25 of the furnace's light,
    /// at strength 0.5 it gives 1 + 0.5 (0.25 - 1) = 0.625.
    func testOcclusionTexturesApplyOnlyWhenAsked() {
        let texture = Texture(width: 2, height: 2, texels: [SIMD4<Float>](repeating: SIMD4(0.25, 0.25, 0.25, 1), count: 4))
        var m = Material(baseColor: SIMD4(1, 1, 1, 1))
        m.ior = 1
        m.occlusionTexture = TextureSlot(0)
        func centre(_ material: Material, applied: Bool) -> Float {
            var shader = Shader(mesh: facingQuad(camera, material: material, textures: [texture]))
            shader.environment = furnace()
            shader.appliesOcclusionTextures = applied
            return Float(shader.render(camera, supersampling: 1, background: .transparent, depth: nil, normals: false).color[32, 32, 0])
        }
        XCTAssertEqual(centre(m, applied: false), 255)
        XCTAssertEqual(centre(m, applied: true), SRGB.fromLinear(0.25) * 255, accuracy: 0.6)
        m.occlusionStrength = 0.5
        XCTAssertEqual(centre(m, applied: true), SRGB.fromLinear(0.625) * 255, accuracy: 0.6)
    }

    /// A single-sided material's back is not drawn; a double-sided one's is.
    func testSingleSidedBackFacesAreNotDrawn() {
        var m = Material(baseColor: SIMD4(1, 1, 1, 1))
        var mesh = facingQuad(camera, material: m)
        mesh.indices = [0, 2, 1, 0, 3, 2]                      // wound away from the camera
        XCTAssertEqual(render(mesh)[32, 32, 3], 255)
        m.doubleSided = false
        mesh.materials = [m]
        XCTAssertEqual(render(mesh)[32, 32, 3], 0)
        mesh.indices = [0, 1, 2, 0, 2, 3]                      // facing it again
        XCTAssertEqual(render(mesh)[32, 32, 3], 255)
    }

    /// MASK: opaque where the texture's alpha reaches the cutoff, absent elsewhere (left half of
    /// the texture alpha 0.2, right half 0.9; cutoff 0.5).
    func testAlphaMaskCutsOut() {
        let texture = Texture(width: 8, height: 8, texels: (0..<64).map { i in
            SIMD4(1, 1, 1, i % 8 < 4 ? 0.2 : 0.9)
        })
        var m = Material(baseColor: SIMD4(1, 1, 1, 1), texture: 0)
        m.alphaMode = .mask(cutoff: 0.5)
        let image = render(facingQuad(camera, material: m, textures: [texture]))
        let row = 32
        // the quad spans pixels ~15...48; at its very left edge repeat-wrapping blends in the
        // texture's right column, so the left half is checked from one pixel in
        let full = (0..<64).filter { image[$0, row, 3] == 255 }
        XCTAssertEqual(full.first, 32)
        XCTAssertEqual(full.last, 48)
        XCTAssertTrue((17..<31).allSatisfy { image[$0, row, 3] == 0 }, "nothing drawn on the left half")
        m.alphaMode = .opaque
        let opaque = render(facingQuad(camera, material: m, textures: [texture]))
        XCTAssertEqual(opaque[20, row, 3], 255, "OPAQUE ignores alpha")
    }

    /// BLEND: a half-transparent red quad in front of an opaque blue one shows half of each in
    /// linear light, whichever triangle comes first in the mesh; over the background it leaves
    /// alpha 0.5.
    func testBlendedLayersCompositeInDepthOrder() {
        var red = Material(baseColor: SIMD4(1, 0, 0, 0.5))
        red.alphaMode = .blend
        red.ior = 1
        var blue = Material(baseColor: SIMD4(0, 0, 1, 1))
        blue.ior = 1
        let front = facingQuad(camera, half: 0.4, offset: 0.2, material: red)
        let back = facingQuad(camera, half: 0.2, offset: 0, material: blue)
        func merged(_ first: Mesh, _ second: Mesh) -> Mesh {
            var mesh = first
            let base = mesh.positions.count, materialBase = mesh.materials.count
            for v in 0..<second.positions.count {
                mesh.addVertex(second.positions[v], normal: second.normals[v], uv: second.uvs[v], color: second.colors[v])
            }
            for t in 0..<second.triangleCount {
                mesh.addTriangle(base + Int(second.indices[3 * t]), base + Int(second.indices[3 * t + 1]),
                                 base + Int(second.indices[3 * t + 2]), material: materialBase)
            }
            mesh.materials += second.materials
            return mesh
        }
        let environment = furnace()
        let a = render(merged(front, back), environment: environment)
        let b = render(merged(back, front), environment: environment)
        XCTAssertEqual(a.pixels, b.pixels, "triangle order does not matter")
        XCTAssertEqual(Float(a[32, 32, 0]), SRGB.fromLinear(0.5) * 255, accuracy: 0.6)
        XCTAssertEqual(Float(a[32, 32, 2]), SRGB.fromLinear(0.5) * 255, accuracy: 0.6)
        XCTAssertEqual(a[32, 32, 3], 255)
        // only the red quad: alpha 0.5, straight colour red
        let edge = (0..<64).first { a[$0, 32, 3] > 0 }!
        XCTAssertEqual(Float(a[edge + 2, 32, 3]), 127.5, accuracy: 1)
        XCTAssertEqual(a[edge + 2, 32, 0], 255)
        // on white: 0.5 red over white
        let white = render(merged(front, back), environment: environment, background: .white)
        XCTAssertEqual(white[edge + 2, 32, 0], 255)
        XCTAssertEqual(Float(white[edge + 2, 32, 1]), SRGB.fromLinear(0.5) * 255, accuracy: 0.6)
    }

    /// A normal map tilting the normal towards +u shades the quad as the tilted normal would:
    /// compared with the same quad whose vertex normals are tilted that way (studio lights).
    func testNormalMapTiltsTheShadingNormal() {
        // tangent-space normal (sin 30°, 0, cos 30°), encoded as (n + 1) / 2
        let s: Float = 0.5, c: Float = 0.8660254
        let texture = Texture(width: 4, height: 4, texels: [SIMD4<Float>](repeating: SIMD4((s + 1) / 2, 0.5, (c + 1) / 2, 1), count: 16))
        var m = Material(baseColor: SIMD4(0.7, 0.7, 0.7, 1))
        m.normalTexture = TextureSlot(0)
        var mapped = facingQuad(camera, material: m, textures: [texture])
        mapped.computeTangentFrames()
        var tilted = facingQuad(camera, material: Material(baseColor: SIMD4(0.7, 0.7, 0.7, 1)))
        let t = dot(mapped.tangents[0], mapped.tangents[0]).squareRoot()
        let tangent = mapped.tangents[0] / t
        for v in tilted.normals.indices { tilted.normals[v] = tangent * s + tilted.normals[v] * c }
        let a = render(mapped), b = render(tilted)
        XCTAssertLessThanOrEqual(abs(Int(a[32, 32, 0]) - Int(b[32, 32, 0])), 1)
        XCTAssertNotEqual(a[32, 32, 0], render(facingQuad(camera, material: Material(baseColor: SIMD4(0.7, 0.7, 0.7, 1))))[32, 32, 0],
                          "the map changes the shading")
    }

    /// Mipmapping: a fine checker far away renders as its mean (no aliasing); close up the
    /// checker shows.
    func testDistantCheckerAveragesToGrey() {
        var mesh = Scenes.checkerQuad(cells: 64)                 // 1024 x 1024 texels
        mesh.materials[0].ior = 1
        let far = Camera(elevationDegrees: 90, azimuthDegrees: 0, distance: 20, fovDegrees: 33.8, width: 64, height: 64)
        var shader = Shader(mesh: mesh)
        shader.environment = furnace()
        let image = shader.render(far, supersampling: 1, background: .transparent, depth: nil, normals: false).color
        let expected = SRGB.fromLinear(0.5) * 255
        var checked = 0
        for y in 0..<64 { for x in 0..<64 where image[x, y, 3] == 255 {
            XCTAssertEqual(Float(image[x, y, 0]), expected, accuracy: 6, "pixel \(x), \(y)")
            checked += 1
        } }
        XCTAssertGreaterThan(checked, 4)
    }

    /// Game assets name textures from the game's root and by an extension the game may swap
    /// (Quake 3 loads foo.jpg for foo.tga): root/models/lamp/lamp.obj asks for
    /// textures/lamp/skin.tga, and root/textures/lamp/skin.png is found.
    func testTexturesAreFoundUnderParentFoldersAndOtherExtensions() throws {
        let root = try temporaryFolder()
        let model = root.appendingPathComponent("models/lamp"), textures = root.appendingPathComponent("textures/lamp")
        for folder in [model, textures] { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
        try "mtllib lamp.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nusemtl skin\nf 1/1 2/2 3/3\n"
            .write(to: model.appendingPathComponent("lamp.obj"), atomically: true, encoding: .utf8)
        try "newmtl skin\nKd 0.5 0.25 0.5\nmap_Kd textures/lamp/skin.tga\n"
            .write(to: model.appendingPathComponent("lamp.mtl"), atomically: true, encoding: .utf8)
        var image = Image8(width: 2, height: 2, channels: 3)
        for i in 0..<4 { image.pixels[3 * i] = 200 }
        try PNG.write(image, to: textures.appendingPathComponent("skin.png"))
        let loaded = try MeshLoader.load(model.appendingPathComponent("lamp.obj"))
        XCTAssertEqual(loaded.mesh.textures.count, 1)
        XCTAssertEqual(loaded.warnings, [])
        XCTAssertEqual(loaded.mesh.textures[0].texels[0].x, SRGB.toLinear(200 / 255), accuracy: 1e-6)
        // Blender's OBJ importer: the diffuse map replaces Kd, and its alpha is not the opacity
        let skin = loaded.mesh.materials[Int(loaded.mesh.triangleMaterials[0])]
        XCTAssertEqual(skin.baseColor, SIMD4(1, 1, 1, 1))
        XCTAssertFalse(skin.baseColorTextureAlpha)
        // nowhere to be found: a warning naming the texture, and the object still loads
        try FileManager.default.removeItem(at: textures.appendingPathComponent("skin.png"))
        let untextured = try MeshLoader.load(model.appendingPathComponent("lamp.obj"))
        XCTAssertEqual(untextured.mesh.textures.count, 0)
        XCTAssertTrue(untextured.warnings.contains { $0.contains("textures/lamp/skin.tga") }, "\(untextured.warnings)")
    }

    /// An AC3D file with one textured-or-not triangle of one material (`material`: the text after
    /// the material's name).
    func ac3dTriangle(material: String, texture: String? = nil) -> String {
        """
        AC3Db
        MATERIAL "m" \(material)
        OBJECT world
        kids 1
        OBJECT poly
        name "tri"
        \(texture.map { "texture \"\($0)\"" } ?? "")
        numvert 3
        0 0 0
        1 0 0
        0 1 0
        numsurf 1
        SURF 0x10
        mat 0
        refs 3
        0 0 0
        1 1 0
        2 0 1
        kids 0

        """
    }

    func temporaryFolder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("materials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
