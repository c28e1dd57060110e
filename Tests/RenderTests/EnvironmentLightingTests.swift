// Image-based lighting: Blender's equirectangular convention, SH irradiance against closed forms,
// the GGX-prefiltered levels of a constant map and of a sky, the environment BRDF table, a sphere
// in a white furnace, map rotation moving the lit side, and the seeded per-object choice of map
// and rotation, through the library and through `svdmv render` workers.

import Cameras
import Foundation
import Imaging
@testable import Render
import TestSupport
import XCTest

final class EnvironmentLightingTests: XCTestCase {
    /// A w x 2w equirectangular map of L(d) (map frame), each texel at its centre direction.
    func map(width: Int = 128, _ radiance: (Vec3) -> SIMD3<Float>) -> HDRImage {
        var image = HDRImage(width: width, height: width / 2)
        for y in 0..<(width / 2) {
            for x in 0..<width {
                image[x, y] = radiance(Equirect.direction(u: (Float(x) + 0.5) / Float(width), t: (Float(y) + 0.5) / Float(width / 2)))
            }
        }
        return image
    }

    /// n directions spread over the sphere (a Fibonacci spiral, turned by `seed`).
    func randomDirections(_ n: Int, seed: Int = 1) -> [Vec3] {
        (0..<n).map { k in
            let z = 1 - 2 * (Float(k) + 0.5) / Float(n)
            let phi = Float(k) * 2.399963 + Float(seed)
            let r = (1 - z * z).squareRoot()
            return Vec3(r * cos(phi), r * sin(phi), z)
        }
    }

    func length(_ v: Vec3) -> Float { dot(v, v).squareRoot() }


    /// Blender's Environment Texture: +X at the image's centre, +Y a quarter from the left, -Y
    /// three quarters, +Z the top row; `direction` inverts `coordinates`.
    func testBlenderEquirectangularConvention() {
        func uv(_ d: Vec3) -> SIMD2<Float> { let c = Equirect.coordinates(d); return SIMD2(c.u, c.t) }
        XCTAssertEqual(uv(Vec3(1, 0, 0)).x, 0.5, accuracy: 1e-6)
        XCTAssertEqual(uv(Vec3(1, 0, 0)).y, 0.5, accuracy: 1e-6)
        XCTAssertEqual(uv(Vec3(0, 1, 0)).x, 0.25, accuracy: 1e-5)
        XCTAssertEqual(uv(Vec3(0, -1, 0)).x, 0.75, accuracy: 1e-5)
        XCTAssertEqual(uv(Vec3(0, 0, 1)).y, 0, accuracy: 1e-6)
        XCTAssertEqual(uv(Vec3(0, 0, -1)).y, 1, accuracy: 1e-6)
        let e = uv(Vec3(-1, -1e-4, 0)).x
        XCTAssertTrue(e < 1e-4 || e > 1 - 1e-4, "-X is the left/right edge, got \(e)")
        for d in randomDirections(200) {
            let (u, t) = Equirect.coordinates(d)
            XCTAssertLessThan(length(Equirect.direction(u: u, t: t) - d), 1e-4, "\(d)")
            // Blender's formulas (node_tex_environment_equirectangular): v from the bottom
            let blenderU = -atan2(d.y, d.x) / (2 * .pi) + 0.5, blenderV = atan2(d.z, (d.x * d.x + d.y * d.y).squareRoot()) / .pi + 0.5
            XCTAssertEqual(u, blenderU.truncatingRemainder(dividingBy: 1), accuracy: 1e-5)
            XCTAssertEqual(1 - t, blenderV, accuracy: 1e-5)
        }
        for y in stride(from: Float(-3), through: 3, by: 0.37) {
            for x in stride(from: Float(-3), through: 3, by: 0.41) {
                XCTAssertEqual(fastAtan2(y, x), atan2(y, x), accuracy: 2e-5)
            }
        }
    }

    /// A constant map L gives E(n) = π L for every normal.
    func testSHIrradianceOfAConstantMap() {
        let sh = SHIrradiance.project(HDRImage(width: 128, height: 64, fill: SIMD3(0.5, 1, 2)))
        for n in randomDirections(50) {
            let e = sh.irradiance(n)
            let d = e - .pi * SIMD3(0.5, 1, 2)
            XCTAssertLessThan(max(abs(d.x), abs(d.y), abs(d.z)), 2e-3, "\(n): \(e)")
        }
    }

    /// L(d) = 1 + 0.5 z + 0.25 (3z² - 1) + 0.3 x y lies in bands 0-2, so the 9 coefficients hold it
    /// exactly: E(n) = π + (2π/3) 0.5 n_z + (π/4) (0.25 (3n_z² - 1) + 0.3 n_x n_y).
    func testSHIrradianceOfAnAnalyticMap() {
        let image = map(width: 256) { d in SIMD3(repeating: 1 + 0.5 * d.z + 0.25 * (3 * d.z * d.z - 1) + 0.3 * d.x * d.y) }
        let sh = SHIrradiance.project(image)
        for n in randomDirections(100, seed: 2) {
            let expected = Float.pi + 2 * .pi / 3 * 0.5 * n.z + .pi / 4 * (0.25 * (3 * n.z * n.z - 1) + 0.3 * n.x * n.y)
            XCTAssertEqual(sh.irradiance(n).x, expected, accuracy: 2e-3, "\(n)")
        }
    }

    /// Every prefiltered level of a constant map is that constant; at roughness 1 (D constant) the
    /// GGX convolution is the cosine-weighted mean, E(R)/π, which for a sky (1 above the horizon,
    /// 0 below) is (1 + R_z) / 2; at roughness 0.2 a narrow lobe keeps the horizon sharp.
    func testPrefilteredLevels() {
        let constant = EnvironmentLighting(map: HDRImage(width: 256, height: 128, fill: SIMD3(2, 2, 2)))
        XCTAssertEqual(constant.levels.count, EnvironmentLighting.levelCount)
        for (k, level) in constant.levels.enumerated() {
            for texel in level.texels { XCTAssertEqual(texel.x, 2, accuracy: 2e-4, "level \(k)") }
        }
        let sky = EnvironmentLighting(map: map(width: 256) { $0.z > 0 ? SIMD3(1, 1, 1) : .zero })
        for r in randomDirections(100, seed: 3) {
            XCTAssertEqual(sky.specular(r, roughness: 1).x, (1 + r.z) / 2, accuracy: 0.03, "\(r)")
            if abs(r.z) > 0.5 { XCTAssertEqual(sky.specular(r, roughness: 0.2).x, r.z > 0 ? 1 : 0, accuracy: 0.02, "\(r)") }
        }
    }

    /// Bilinear lookups wrap across the map's left/right edges (the -X meridian) and clamp at the
    /// poles: on a map whose columns hold their index, the middle of the seam is the mean of the
    /// first and last columns, and a quarter texel either side of it is 3/4 and 1/4 of the way over.
    func testLookupWrapsAcrossTheSeamAndClampsAtThePoles() {
        var image = HDRImage(width: 16, height: 8)
        for y in 0..<8 { for x in 0..<16 { image[x, y] = SIMD3(Float(x), Float(y), 0) } }
        let level = EnvironmentLighting(map: image).views[0]
        XCTAssertEqual(level.sample(u: 0, t: 0.5).x, 7.5, accuracy: 1e-4)
        XCTAssertEqual(level.sample(u: 0.25 / 16, t: 0.5).x, 15 * 0.25, accuracy: 1e-4)      // 3/4 of the way 15 -> 0
        XCTAssertEqual(level.sample(u: 1 - 0.25 / 16, t: 0.5).x, 15 * 0.75, accuracy: 1e-4)  // 1/4 of the way 15 -> 0
        XCTAssertEqual(level.sample(u: 0.5 / 16, t: 0.5).x, 0, accuracy: 1e-4)
        XCTAssertEqual(level.sample(u: 15.5 / 16, t: 0.5).x, 15, accuracy: 1e-4)
        XCTAssertEqual(level.sample(u: 0.3, t: 0).y, 0, accuracy: 1e-5)
        XCTAssertEqual(level.sample(u: 0.3, t: 1).y, 7, accuracy: 1e-5)
        let m = Equirect.direction(u: 0.0001, t: 0.5)
        XCTAssertEqual(Equirect.coordinates(m).u, 0.0001, accuracy: 1e-5)
    }

    /// The split-sum table: for F0 = F90 = 1 the lobe reflects everything it does not shadow
    /// (A + B <= 1, and ~1 for a smooth surface seen head-on); at grazing angles B (Fresnel's rise)
    /// grows.
    func testEnvironmentBRDF() {
        let smooth = EnvironmentBRDF.lookup(noV: 1, roughness: 0)
        XCTAssertEqual(smooth.x, 1, accuracy: 0.01)
        XCTAssertEqual(smooth.y, 0, accuracy: 0.01)
        for j in 0..<EnvironmentBRDF.size {
            for i in 1..<EnvironmentBRDF.size {
                let ab = EnvironmentBRDF.table[j * EnvironmentBRDF.size + i]
                XCTAssertGreaterThanOrEqual(ab.min(), 0)
                XCTAssertLessThanOrEqual(ab.sum(), 1.001)
            }
        }
        XCTAssertGreaterThan(EnvironmentBRDF.lookup(noV: 0.1, roughness: 0.3).y, EnvironmentBRDF.lookup(noV: 0.9, roughness: 0.3).y)
    }

    /// A white furnace: in a constant environment L = 1 a dielectric of albedo a shows
    /// a + R (1 - a) (R: the split-sum reflectance of F0 = 0.04, F90 = 1 with the multiple-
    /// scattering term, `EnvironmentBRDF.multiScatter`): a white sphere renders
    /// exactly white everywhere, a grey one its albedo plus the Fresnel term, brighter at the rim.
    func testSphereInAWhiteFurnaceRendersItsAlbedo() {
        let furnace = EnvironmentLighting(map: HDRImage(width: 64, height: 32, fill: SIMD3(1, 1, 1)))
        let camera = Camera(elevationDegrees: 20, azimuthDegrees: 30, distance: 2.5, fovDegrees: 33.8, width: 96, height: 96)
        for albedo: Float in [1, 0.5, 0.2] {
            var mesh = Scenes.sphere(radius: 0.5)
            mesh.materials = [Material(baseColor: SIMD4(albedo, albedo, albedo, 1))]
            var shader = Shader(mesh: mesh)
            shader.environment = EnvironmentLight(lighting: furnace, rotationDegrees: 123)
            let image = shader.render(camera, supersampling: 1, background: .transparent, depth: nil, normals: false).color
            // the centre pixel sees the sphere head-on
            let noV: Float = 1
            let ab = EnvironmentBRDF.lookup(noV: noV, roughness: EnvironmentLight.defaultRoughness)
            let reflectance = EnvironmentBRDF.multiScatter(f0: SIMD4(repeating: 0.04), f90: 1, ab).x
            let expected = albedo + reflectance * (1 - albedo)
            XCTAssertEqual(Float(image[48, 48, 0]), SRGB.fromLinear(expected) * 255, accuracy: 1.01, "albedo \(albedo)")
            var covered = 0
            for y in 0..<96 {
                for x in 0..<96 where image[x, y, 3] == 255 {
                    covered += 1
                    let value = SRGB.toLinear(Float(image[x, y, 0]) / 255)
                    if albedo == 1 { XCTAssertEqual(image[x, y, 0], 255) }
                    XCTAssertGreaterThanOrEqual(value, albedo - 0.01, "never darker than the albedo")
                    XCTAssertEqual(image[x, y, 0], image[x, y, 2], "grey stays grey")
                }
            }
            XCTAssertGreaterThan(covered, 1000)
        }
    }

    /// A small bright cap at map direction f = (cos 30°, 0, sin 30°) lights the sphere's side
    /// facing f with rotation 0, and the side facing Rz(-θ) f with rotation θ (the map is looked
    /// up at Rz(θ) d). Checked in the shading and in renders, as the brightness-weighted mean of
    /// the rendered normals.
    func testMapRotationMovesTheLitSide() throws {
        let f = Vec3(cos(Float.pi / 6), 0, sin(Float.pi / 6))
        let lighting = EnvironmentLighting(map: map(width: 256) { dot($0, f) > 0.97 ? SIMD3(50, 50, 50) : SIMD3(0.01, 0.01, 0.01) })
        // seen from straight above, the visible half of the sphere is symmetric about Z
        let camera = Camera(elevationDegrees: 90, azimuthDegrees: 0, distance: 2.5, fovDegrees: 33.8, width: 96, height: 96)
        for theta in [0.0, 90.0, 200.0] {
            let rad = Float(theta * .pi / 180)
            let lit = Vec3(cos(-rad) * f.x, sin(-rad) * f.x, f.z)                    // Rz(-θ) f
            let light = EnvironmentLight(lighting: lighting, rotationDegrees: theta)
            let white = Vec3(1, 1, 1)
            XCTAssertGreaterThan(light.shade(albedo: white, n: lit, v: lit).x,
                                 10 * light.shade(albedo: white, n: -lit, v: -lit).x, "θ \(theta)")
            var shader = Shader(mesh: Scenes.sphere(radius: 0.5))
            shader.environment = light
            let view = shader.render(camera, supersampling: 1, background: .transparent, depth: nil, normals: true)
            var mean = Vec3.zero
            for i in 0..<(96 * 96) where view.color.pixels[4 * i + 3] == 255 {
                let n = (0..<3).map { Float(view.normals!.pixels[3 * i + $0]) / 65535 * 2 - 1 }
                mean += Vec3(n[0], n[1], n[2]) * SRGB.toLinear(Float(view.color.pixels[4 * i]) / 255)
            }
            let horizontal = Vec3(mean.x, mean.y, 0) / length(Vec3(mean.x, mean.y, 0))
            let expected = Vec3(lit.x, lit.y, 0) / length(Vec3(lit.x, lit.y, 0))
            XCTAssertGreaterThan(dot(horizontal, expected), cos(Float.pi / 18), "θ \(theta): lit towards \(horizontal), expected \(expected)")
        }
    }

    /// hdri-random: the map (uniform over the folder's sorted .exr/.hdr files) and the rotation
    /// (uniform in [0, 360)) are drawn per object from the seed and the object's id, reproducibly,
    /// apart from the elevation's stream; a fixed rotation is kept.
    func testSeededChoiceIsReproducible() throws {
        let folder = temporaryFolder("hdri-choice")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["b.hdr", "a.exr", "c.HDR"] {
            try HDRImage(width: 8, height: 4, fill: SIMD3(1, 1, 1)).encodeRadiance().write(to: folder.appendingPathComponent(name))
        }
        try Data("notes".utf8).write(to: folder.appendingPathComponent("readme.txt"))
        XCTAssertEqual(try LightingOptions.maps(in: folder.path).map { URL(fileURLWithPath: $0).lastPathComponent },
                       ["a.exr", "b.hdr", "c.HDR"])
        let options = LightingOptions(source: .folder(folder.path))
        var files = Set<String>(), rotations = Set<Double>()
        for k in 0..<30 {
            let id = "object-\(k)"
            let a = try XCTUnwrap(try options.choice(seed: 7, objectID: id))
            XCTAssertEqual(try options.choice(seed: 7, objectID: id), a)
            XCTAssertTrue((0..<360).contains(a.rotationDegrees))
            XCTAssertEqual(a.folder, folder.path)
            files.insert(a.file)
            rotations.insert(a.rotationDegrees)
        }
        XCTAssertEqual(files.count, 3)
        XCTAssertEqual(rotations.count, 30)
        XCTAssertNotEqual(try options.choice(seed: 8, objectID: "object-0")?.rotationDegrees,
                          try options.choice(seed: 7, objectID: "object-0")?.rotationDegrees)
        let fixed = LightingOptions(source: .file("/x.exr"), rotationDegrees: 45, intensity: 2)
        XCTAssertEqual(try fixed.choice(seed: 7, objectID: "o"),
                       LightingOptions.Choice(file: "/x.exr", rotationDegrees: 45, intensity: 2, folder: nil))
        XCTAssertNil(try LightingOptions().choice(seed: 7, objectID: "o"))
        XCTAssertThrowsError(try LightingOptions(source: .folder(folder.appendingPathComponent("none").path)).choice(seed: 0, objectID: "o"))
    }

    /// `svdmv render --lighting hdri-random DIR` in worker processes writes the same images as the
    /// library, and cameras.json records each object's map and rotation; studio stays the default
    /// and leaves no environment section.
    func testRenderCommandRecordsTheEnvironment() throws {
        let folder = temporaryFolder("hdri-cli"), out = temporaryFolder("hdri-cli-out"), direct = temporaryFolder("hdri-cli-direct")
        defer { for f in [folder, out, direct] { try? FileManager.default.removeItem(at: f) } }
        let maps = folder.appendingPathComponent("maps"), meshes = folder.appendingPathComponent("meshes")
        for f in [maps, meshes] { try FileManager.default.createDirectory(at: f, withIntermediateDirectories: true) }
        try map(width: 32) { SIMD3(1 + $0.x, 1, 1 - 0.5 * $0.z) }.encodeRadiance().write(to: maps.appendingPathComponent("warm.hdr"))
        try map(width: 32) { SIMD3(0.5, 0.5, 1 + $0.y) }.writeEXR(to: maps.appendingPathComponent("cool.exr"))
        let obj = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
        for name in ["one.obj", "two.obj"] { try obj.write(to: meshes.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        let result = try runProcess(try svdmvExecutable(), ["render", meshes.path, "--out", out.path, "--views", "2", "--size", "24",
                                                             "--seed", "5", "--lighting", "hdri-random", maps.path, "--hdri-intensity", "1.5"])
        XCTAssertEqual(result.status, 0, result.stderr)
        var options = RenderOptions()
        options.views = 2
        options.size = 24
        options.seed = 5
        options.lighting = LightingOptions(source: .folder(maps.path), intensity: 1.5)
        for name in ["one.obj", "two.obj"] {
            let target = direct.appendingPathComponent(name)
            try RenderJob(input: meshes.appendingPathComponent(name), objectID: name, outputFolder: target, options: options).run()
            for png in ["000.png", "001.png"] {
                XCTAssertEqual(try Data(contentsOf: out.appendingPathComponent("\(name)/\(png)")),
                               try Data(contentsOf: target.appendingPathComponent(png)), "\(name) \(png)")
            }
            let cameras = try OrbitCameras.read(out.appendingPathComponent("\(name)/cameras.json"))
            let expected = try XCTUnwrap(try options.lighting.choice(seed: 5, objectID: name))
            XCTAssertEqual(cameras.environment?.file, expected.file)
            XCTAssertEqual(cameras.environment?.rotationDeg, expected.rotationDegrees)
            XCTAssertEqual(cameras.environment?.intensity, 1.5)
            XCTAssertEqual(cameras.environment?.folder, maps.path)
            XCTAssertEqual(cameras.lighting, EnvironmentLight.description)
        }
        let studio = temporaryFolder("hdri-cli-studio")
        defer { try? FileManager.default.removeItem(at: studio) }
        let plain = try runProcess(try svdmvExecutable(), ["render", meshes.appendingPathComponent("one.obj").path, "--out", studio.path,
                                                            "--views", "1", "--size", "16"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let cameras = try OrbitCameras.read(studio.appendingPathComponent("one.obj/cameras.json"))
        XCTAssertNil(cameras.environment)
        XCTAssertEqual(cameras.lighting, Lighting.description)
        for bad in [["--lighting", "hdri"], ["--lighting", "sky"], ["--lighting", "hdri", "/nonexistent.exr"],
                    ["--lighting", "hdri-random", meshes.path], ["--hdri-rotation", "10"]] {
            let r = try runProcess(try svdmvExecutable(), ["render", meshes.path, "--out", studio.path] + bad)
            XCTAssertEqual(r.status, 64, "\(bad): \(r.stderr)")
        }
    }
}
