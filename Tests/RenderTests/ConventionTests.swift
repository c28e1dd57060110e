// Camera conventions, each pinned by a number from the field or by a one-object scene:
// SyncDreamer's published pose, azimuth direction, elevation sign, OpenCV vs OpenGL matrices,
// pixel centres.

import Foundation
import Imaging
@testable import Render
import XCTest

final class ConventionTests: XCTestCase {
    /// SyncDreamer's camera-16.pkl view 0 (az 0, el 30, distance 1.5, 256 px, 49.13 deg) in OpenCV
    /// axes: rows (0, 1, 0 | 0), (0.5, 0, -0.866 | 0), (-0.866, 0, -0.5 | 1.5); K = 280, 128.
    func testSyncDreamerView0() {
        let camera = Camera(elevationDegrees: 30, azimuthDegrees: 0, distance: 1.5,
                            fovDegrees: 2 * atan(16.0 / 35.0) * 180 / .pi, width: 256, height: 256)
        let expected: [[Double]] = [[0, 1, 0, 0], [0.5, 0, -0.8660254, 0], [-0.8660254, 0, -0.5, 1.5]]
        let m = camera.worldToCameraOpenCV.matrix
        for r in 0..<3 { for c in 0..<4 { XCTAssertEqual(m[r][c], expected[r][c], accuracy: 1e-6, "[\(r)][\(c)]") } }
        XCTAssertEqual(camera.intrinsics[0][0], 280, accuracy: 1e-9)
        XCTAssertEqual(camera.intrinsics[1][1], 280, accuracy: 1e-9)
        XCTAssertEqual(camera.intrinsics[0][2], 128)
        XCTAssertEqual(camera.intrinsics[1][2], 128)
    }

    /// OpenGL = diag(1, -1, -1) * OpenCV; both give the same camera centre and the same pixel.
    func testOpenCVAndOpenGLAgree() {
        let camera = Camera(elevationDegrees: 17, azimuthDegrees: 123, distance: 2.7, fovDegrees: 33.8,
                            width: 64, height: 64)
        let cv = camera.worldToCameraOpenCV, gl = camera.worldToCameraOpenGL
        for r in 0..<3 {
            let sign: Double = r == 0 ? 1 : -1
            for c in 0..<4 { XCTAssertEqual(gl.matrix[r][c], sign * cv.matrix[r][c], accuracy: 1e-12) }
        }
        let c1 = cv.centre, c2 = gl.centre, p = camera.position
        for k in 0..<3 {
            XCTAssertEqual(c1[k], p[k], accuracy: 1e-9)
            XCTAssertEqual(c2[k], p[k], accuracy: 1e-9)
        }
        let point = SIMD3<Double>(0.2, -0.1, 0.3)
        let qcv = cv.apply(point), qgl = gl.apply(point)
        XCTAssertGreaterThan(qcv.z, 0, "visible points have positive OpenCV z")
        XCTAssertLessThan(qgl.z, 0, "visible points have negative OpenGL z")
        let f = camera.focal
        XCTAssertEqual(f * qcv.x / qcv.z + 32, f * qgl.x / -qgl.z + 32, accuracy: 1e-9)
        XCTAssertEqual(f * qcv.y / qcv.z + 32, 32 - f * qgl.y / -qgl.z, accuracy: 1e-9)
    }

    /// Azimuth 0 is on +X and increases towards +Y; elevation is positive above the XY plane.
    func testCameraPositions() {
        func position(_ el: Double, _ az: Double) -> SIMD3<Double> {
            Camera(elevationDegrees: el, azimuthDegrees: az, distance: 2, fovDegrees: 30, width: 8, height: 8).position
        }
        let expectations: [(Double, Double, SIMD3<Double>)] = [
            (0, 0, SIMD3(2, 0, 0)), (0, 90, SIMD3(0, 2, 0)), (0, 180, SIMD3(-2, 0, 0)), (90, 0, SIMD3(0, 0, 2)),
            (-30, 0, SIMD3(2 * cos(.pi / 6), 0, -1)),
        ]
        for (el, az, want) in expectations {
            let got = position(el, az)
            for k in 0..<3 { XCTAssertEqual(got[k], want[k], accuracy: 1e-12, "el \(el) az \(az)") }
        }
    }

    /// At the poles (elevation +-90) the camera keeps the orientation it has just below them.
    func testPoleCamerasAreTheLimitOfNearbyOnes() {
        for el in [90.0, -90.0] {
            for az in [0.0, 75.0, 200.0] {
                let pole = Camera(elevationDegrees: el, azimuthDegrees: az, distance: 2, fovDegrees: 30, width: 8, height: 8)
                var near = pole
                near.elevationDegrees = el > 0 ? el - 1e-4 : el + 1e-4
                let a = pole.worldToCameraOpenCV.matrix, b = near.worldToCameraOpenCV.matrix
                for r in 0..<3 { for c in 0..<4 { XCTAssertEqual(a[r][c], b[r][c], accuracy: 1e-4, "el \(el) az \(az)") } }
            }
        }
    }

    /// A cube with one colour per face. Seen from azimuth 45 the +X face is on the left and +Y on
    /// the right (azimuth grows counter-clockwise seen from above); from elevation +30 the +Z face
    /// is the top of the silhouette, from -30 the -Z face is the bottom (elevation sign, image up).
    func testAzimuthDirectionAndElevationSignOnColouredCube() {
        let cube = colouredCube()
        let shader = Shader(mesh: cube)
        func render(_ el: Double, _ az: Double) -> Image8 {
            shader.render(Camera(elevationDegrees: el, azimuthDegrees: az, distance: 3, fovDegrees: 33.8,
                                 width: 64, height: 64), supersampling: 1, background: .transparent,
                          depth: nil, normals: false).color
        }
        func dominant(_ image: Image8, _ x: Int, _ y: Int) -> String {
            let o = (y * 64 + x) * 4
            XCTAssertEqual(image.pixels[o + 3], 255, "pixel (\(x), \(y)) should be covered")
            let rgb = (0..<3).map { image.pixels[o + $0] > 40 }
            return ["R", "G", "B"].enumerated().filter { rgb[$0.offset] }.map(\.element).joined()
        }
        let az45 = render(0, 45)
        XCTAssertEqual(dominant(az45, 22, 32), "R", "+X face (red) on the left from azimuth 45")
        XCTAssertEqual(dominant(az45, 42, 32), "G", "+Y face (green) on the right from azimuth 45")
        let az315 = render(0, 315)
        XCTAssertEqual(dominant(az315, 42, 32), "R", "+X face (red) on the right from azimuth -45")
        XCTAssertEqual(dominant(az315, 22, 32), "RB", "-Y face (magenta) on the left from azimuth -45")
        let above = render(30, 0)
        XCTAssertEqual(dominant(above, 32, topmostCovered(above, column: 32) + 2), "B", "+Z face (blue) on top")
        let below = render(-30, 0)
        XCTAssertEqual(dominant(below, 32, bottommostCovered(below, column: 32) - 2), "RG", "-Z face (yellow) at the bottom")
        XCTAssertEqual(dominant(below, 32, topmostCovered(below, column: 32) + 2), "R", "+X face on top from below")
    }

    /// A one-triangle scene: the saved OpenCV and OpenGL matrices both project the triangle's
    /// corners onto the rendered coverage's extremes.
    func testOneTriangleProjectsWhereRendered() throws {
        let a = Vec3(0, -0.3, -0.2), b = Vec3(0.1, 0.35, -0.15), c = Vec3(-0.05, 0.05, 0.4)
        let folder = temporaryFolder("triangle")
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = RenderOptions()
        options.views = 4
        options.size = 96
        options.samples = 16
        options.elevation = .fixed(20)
        options.distance = 2
        try RenderJob(input: URL(fileURLWithPath: "/triangle"), objectID: "triangle", outputFolder: folder,
                      options: options).render(Scenes.triangle(a, b, c))
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("cameras.json")))
            as? [String: Any] ?? [:]
        let K = try XCTUnwrap(json["K"] as? [[Double]])
        let views = try XCTUnwrap(json["views"] as? [[String: Any]])
        XCTAssertEqual(views.count, 4)
        for view in views {
            let cv = try XCTUnwrap(view["world_to_camera_opencv"] as? [[Double]])
            let gl = try XCTUnwrap(view["world_to_camera_opengl"] as? [[Double]])
            let image = try PNG.read(folder.appendingPathComponent(try XCTUnwrap(view["file"] as? String)))
            let alpha = coverage(image)
            for corner in [a, b, c] {
                let p = [Double(corner.x), Double(corner.y), Double(corner.z), 1]
                let qcv = (0..<3).map { r in (0..<4).reduce(0) { $0 + cv[r][$1] * p[$1] } }
                let qgl = (0..<3).map { r in (0..<4).reduce(0) { $0 + gl[r][$1] * p[$1] } }
                let u = K[0][0] * qcv[0] / qcv[2] + K[0][2], v = K[1][1] * qcv[1] / qcv[2] + K[1][2]
                let ugl = K[0][0] * qgl[0] / -qgl[2] + K[0][2], vgl = K[1][2] - K[1][1] * qgl[1] / -qgl[2]
                XCTAssertEqual(u, ugl, accuracy: 1e-9)
                XCTAssertEqual(v, vgl, accuracy: 1e-9)
                // a corner is covered within one pixel, and a point pushed 3 px away from the
                // triangle's projected centroid is not (the triangle ends where projected)
                XCTAssertTrue(coveredNear(alpha, 96, u, v, radius: 1), "corner at (\(u), \(v))")
            }
            let projected = [a, b, c].map { corner -> (Double, Double) in
                let p = [Double(corner.x), Double(corner.y), Double(corner.z), 1]
                let q = (0..<3).map { r in (0..<4).reduce(0) { $0 + cv[r][$1] * p[$1] } }
                return (K[0][0] * q[0] / q[2] + K[0][2], K[1][1] * q[1] / q[2] + K[1][2])
            }
            let cu = projected.map(\.0).reduce(0, +) / 3, cvv = projected.map(\.1).reduce(0, +) / 3
            for (u, v) in projected {
                let du = u - cu, dv = v - cvv, length = (du * du + dv * dv).squareRoot()
                let outU = u + 3 * du / length, outV = v + 3 * dv / length
                if outU >= 0 && outU < 96 && outV >= 0 && outV < 96 {
                    XCTAssertEqual(alpha[Int(outV) * 96 + Int(outU)], 0, "beyond the corner at (\(u), \(v))")
                }
            }
        }
    }

    /// Pixel centres are at +0.5: a square whose projected edges are known covers exactly the
    /// samples inside it (exact count on the supersampling grid).
    func testPixelCentresOnCubeFrontFace() {
        let cube = Scenes.cube()
        let camera = Camera(elevationDegrees: 0, azimuthDegrees: 0, distance: 3, fovDegrees: 33.8, width: 128, height: 128)
        let s = 4
        let image = Shader(mesh: cube).render(camera, supersampling: s, background: .transparent, depth: nil, normals: false).color
        // the front face x = +0.5 at depth 2.5 is the silhouette: [c - h, c + h] in both axes
        let h = camera.focal * 0.5 / 2.5
        let lo = 64 - h, hi = 64 + h
        var insideSamples = 0
        for k in 0..<(128 * s) {
            let x = (Double(k) + 0.5) / Double(s)
            if x > lo && x < hi { insideSamples += 1 }
        }
        let expectedCovered = insideSamples * insideSamples
        let alphaSum = image.pixels.enumerated().filter { $0.offset % 4 == 3 }.reduce(0) { $0 + Int($1.element) }
        let covered = Double(alphaSum) / 255 * Double(s * s)
        XCTAssertEqual(covered, Double(expectedCovered), accuracy: Double(s * s) / 2,
                       "covered samples vs samples inside [\(lo), \(hi)]^2")
        // first and last columns with any coverage
        let row = 64
        let columns = (0..<128).filter { image.pixels[(row * 128 + $0) * 4 + 3] > 0 }
        // pixel i has a sample inside when i + (s - 0.5)/s > lo, and when i + 0.5/s < hi
        let half = 0.5 / Double(s)
        XCTAssertEqual(columns.first, Int((lo - 1 + half).rounded(.down)) + 1)
        XCTAssertEqual(columns.last, Int((hi - half).rounded(.up)) - 1)
    }
}

/// A cube whose faces have colours: +X red, -X cyan, +Y green, -Y magenta, +Z blue, -Z yellow.
func colouredCube() -> Mesh {
    var mesh = Mesh()
    let faces: [(Vec3, SIMD4<Float>)] = [
        (Vec3(1, 0, 0), SIMD4(1, 0, 0, 1)), (Vec3(-1, 0, 0), SIMD4(0, 1, 1, 1)),
        (Vec3(0, 1, 0), SIMD4(0, 1, 0, 1)), (Vec3(0, -1, 0), SIMD4(1, 0, 1, 1)),
        (Vec3(0, 0, 1), SIMD4(0, 0, 1, 1)), (Vec3(0, 0, -1), SIMD4(1, 1, 0, 1)),
    ]
    for (n, color) in faces {
        // two axes spanning the face
        let u = abs(n.x) > 0 ? Vec3(0, 1, 0) : Vec3(1, 0, 0)
        let v = cross(n, u)
        let base = mesh.positions.count
        for (a, b) in [(-1, -1), (1, -1), (1, 1), (-1, 1)] as [(Float, Float)] {
            mesh.addVertex(n * 0.5 + u * (0.5 * a) + v * (0.5 * b), normal: n, color: color)
        }
        mesh.addTriangle(base, base + 1, base + 2)
        mesh.addTriangle(base, base + 2, base + 3)
    }
    mesh.materials = [Material(baseColor: SIMD4(1, 1, 1, 1))]
    return mesh
}

func topmostCovered(_ image: Image8, column: Int) -> Int {
    (0..<image.height).first { image.pixels[($0 * image.width + column) * 4 + 3] == 255 } ?? -1
}

func bottommostCovered(_ image: Image8, column: Int) -> Int {
    (0..<image.height).last { image.pixels[($0 * image.width + column) * 4 + 3] == 255 } ?? -1
}

/// Whether any pixel within `radius` pixels of (u, v) has coverage.
func coveredNear(_ alpha: [Float], _ size: Int, _ u: Double, _ v: Double, radius: Int) -> Bool {
    let x = Int(u.rounded(.down)), y = Int(v.rounded(.down))
    for dy in -radius...radius {
        for dx in -radius...radius {
            let px = x + dx, py = y + dy
            if px >= 0, py >= 0, px < size, py < size, alpha[py * size + px] > 0 { return true }
        }
    }
    return false
}
