// Analytic scenes: silhouettes of a sphere and a cube against closed-form projections, depth of a
// known surface, and a checker texture seen under strong perspective.

import Foundation
import Imaging
@testable import Render
import XCTest

final class AnalyticTests: XCTestCase {
    /// A sphere of radius r at distance d projects to a disc of radius f r / sqrt(d^2 - r^2) around
    /// the image centre from every direction: area and the four extreme pixels are checked.
    func testSphereSilhouetteFromSeveralCameras() {
        let r: Float = 0.5, d = 2.0, size = 128
        let shader = Shader(mesh: Scenes.sphere(radius: r))
        for (el, az) in [(0.0, 0.0), (40.0, 70.0), (-25.0, 200.0)] {
            let camera = Camera(elevationDegrees: el, azimuthDegrees: az, distance: d, fovDegrees: 33.8,
                                width: size, height: size)
            let image = shader.render(camera, supersampling: 4, background: .transparent, depth: nil, normals: false).color
            let alpha = coverage(image)
            let radius = camera.focal * Double(r) / (d * d - Double(r * r)).squareRoot()
            let area = Double(alpha.reduce(0, +))
            XCTAssertEqual(area, .pi * radius * radius, accuracy: 0.01 * .pi * radius * radius, "el \(el) az \(az)")
            let middle = alpha[(size / 2 * size)..<(size / 2 * size + size)]
            let left = middle.firstIndex { $0 > 0.5 }.map { $0 - size / 2 * size } ?? -1
            let right = middle.lastIndex { $0 > 0.5 }.map { $0 - size / 2 * size } ?? -1
            XCTAssertEqual(Double(left), 64 - radius, accuracy: 1.01, "left edge el \(el) az \(az)")
            XCTAssertEqual(Double(right) + 1, 64 + radius, accuracy: 1.01, "right edge el \(el) az \(az)")
            let column = (0..<size).map { alpha[$0 * size + 64] }
            let top = column.firstIndex { $0 > 0.5 } ?? -1, bottom = column.lastIndex { $0 > 0.5 } ?? -1
            XCTAssertEqual(Double(top), 64 - radius, accuracy: 1.01, "top edge el \(el) az \(az)")
            XCTAssertEqual(Double(bottom) + 1, 64 + radius, accuracy: 1.01, "bottom edge el \(el) az \(az)")
        }
    }

    /// The unit cube seen along a diagonal from above: silhouette area equals the area of the
    /// convex hull of its 8 projected corners (computed here independently).
    func testCubeSilhouetteMatchesProjectedHull() {
        let camera = Camera(elevationDegrees: 35, azimuthDegrees: 45, distance: 2.5, fovDegrees: 40, width: 128, height: 128)
        let image = Shader(mesh: Scenes.cube()).render(camera, supersampling: 4, background: .transparent,
                                                         depth: nil, normals: false).color
        let area = Double(coverage(image).reduce(0, +))
        var points: [(Double, Double)] = []
        for x in [-0.5, 0.5] { for y in [-0.5, 0.5] { for z in [-0.5, 0.5] {
            let p = camera.project(SIMD3(x, y, z))
            points.append((p.u, p.v))
        } } }
        let hull = convexHullArea(points)
        XCTAssertGreaterThan(hull, 2000, "the cube should fill a good part of the image")
        XCTAssertEqual(area, hull, accuracy: 0.01 * hull)
    }

    /// Depth of the cube's front face seen head-on is distance - 0.5 everywhere on it.
    func testDepthOfFrontFace() throws {
        let camera = Camera(elevationDegrees: 0, azimuthDegrees: 0, distance: 3, fovDegrees: 33.8, width: 64, height: 64)
        let encoding = DepthEncoding.around(distance: 3)
        let view = Shader(mesh: Scenes.cube()).render(camera, supersampling: 1, background: .transparent,
                                                        depth: encoding, normals: true)
        let depth = try XCTUnwrap(view.depth)
        XCTAssertEqual(depth.pixels[0], 0, "background is 0")
        for (x, y) in [(32, 32), (25, 40), (40, 25)] {
            let z = try XCTUnwrap(encoding.decode(depth.pixels[y * 64 + x]))
            XCTAssertEqual(z, 2.5, accuracy: 1e-4)
            // its normal is world +X: (65535, 32768, 32768)
            let normals = try XCTUnwrap(view.normals)
            XCTAssertEqual(normals.pixels[(y * 64 + x) * 3], 65535)
            XCTAssertEqual(Double(normals.pixels[(y * 64 + x) * 3 + 1]), 32767.5, accuracy: 1)
        }
    }

    /// An 8x8 checker on a square seen at 40 degrees elevation with a wide lens (near edge ~1.1,
    /// far edge ~1.9 away): every cell centre, projected with the camera, shows that cell's colour.
    /// Affine (not perspective-correct) interpolation misplaces the cells by more than a cell.
    func testCheckerTextureUnderPerspective() {
        let n = 8
        let camera = Camera(elevationDegrees: 40, azimuthDegrees: 30, distance: 1.5, fovDegrees: 60, width: 128, height: 128)
        let image = Shader(mesh: Scenes.checkerQuad(cells: n)).render(camera, supersampling: 4, background: .transparent,
                                                                      depth: nil, normals: false).color
        var checked = 0
        for row in 0..<n {
            for column in 0..<n {
                // texture row 0 is the top of the image = v near 1 = world y near +0.5
                let u = (Double(column) + 0.5) / Double(n), v = 1 - (Double(row) + 0.5) / Double(n)
                let p = camera.project(SIMD3(u - 0.5, v - 0.5, 0))
                let x = Int(p.u), y = Int(p.v)
                let o = (y * 128 + x) * 4
                XCTAssertEqual(image.pixels[o + 3], 255)
                let luminance = Int(image.pixels[o]) + Int(image.pixels[o + 1]) + Int(image.pixels[o + 2])
                if Scenes.checkerIsWhite(column: column, row: row) {
                    XCTAssertGreaterThan(luminance, 3 * 180, "cell (\(column), \(row)) at (\(x), \(y))")
                } else {
                    XCTAssertLessThan(luminance, 3 * 40, "cell (\(column), \(row)) at (\(x), \(y))")
                }
                checked += 1
            }
        }
        XCTAssertEqual(checked, 64)
    }

    /// White background: RGB, background pixels white, fully covered pixels as in the RGBA render,
    /// edge pixels composited in linear light (brighter than the sRGB-space blend of the same alpha).
    func testWhiteBackgroundCompositesInLinearLight() {
        let camera = Camera(elevationDegrees: 10, azimuthDegrees: 30, distance: 3, fovDegrees: 33.8, width: 64, height: 64)
        let shader = Shader(mesh: Scenes.cube())
        let rgba = shader.render(camera, supersampling: 4, background: .transparent, depth: nil, normals: false).color
        let rgb = shader.render(camera, supersampling: 4, background: .white, depth: nil, normals: false).color
        XCTAssertEqual(rgb.channels, 3)
        var edges = 0
        for i in 0..<(64 * 64) {
            let alpha = rgba.pixels[i * 4 + 3]
            for c in 0..<3 {
                let white = rgb.pixels[i * 3 + c], straight = rgba.pixels[i * 4 + c]
                if alpha == 0 { XCTAssertEqual(white, 255) }
                if alpha == 255 { XCTAssertEqual(white, straight) }
                if alpha > 0 && alpha < 255 && c == 0 {
                    let a = Float(alpha) / 255
                    let linear = SRGB.toLinear(Float(straight) / 255) * a + (1 - a)
                    XCTAssertEqual(Float(white), SRGB.fromLinear(linear) * 255, accuracy: 2.5)
                    edges += 1
                }
            }
        }
        XCTAssertGreaterThan(edges, 20)
    }

    /// Oversized textures are halved by box filtering, odd edges included.
    func testTextureHalving() {
        let t = Texture(width: 3, height: 2, texels: [1, 2, 3, 4, 5, 6].map { SIMD4(repeating: Float($0)) })
        let h = t.halved()
        XCTAssertEqual([h.width, h.height], [2, 1])
        XCTAssertEqual(h.texels.map(\.x), [3, 4.5])          // (1+2+4+5)/4, (3+6)/2
    }

    /// Shading in linear light: a 50 % covered edge over white is the linear mean, not the sRGB one.
    func testSRGBRoundTripAndLinearCompositing() {
        for v in 0...255 { XCTAssertEqual(SRGB.encode(SRGB.decodeTable[v]), UInt8(v)) }
        // mid-grey in linear light (0.5) encodes to sRGB 188, not 128
        XCTAssertEqual(SRGB.encode(0.5), 188)
    }
}

/// Area of the convex hull of 2-D points (monotone chain + shoelace).
func convexHullArea(_ points: [(Double, Double)]) -> Double {
    let p = points.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    func cross(_ o: (Double, Double), _ a: (Double, Double), _ b: (Double, Double)) -> Double {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    }
    var lower: [(Double, Double)] = [], upper: [(Double, Double)] = []
    for q in p {
        while lower.count >= 2 && cross(lower[lower.count - 2], lower[lower.count - 1], q) <= 0 { lower.removeLast() }
        lower.append(q)
    }
    for q in p.reversed() {
        while upper.count >= 2 && cross(upper[upper.count - 2], upper[upper.count - 1], q) <= 0 { upper.removeLast() }
        upper.append(q)
    }
    let hull = Array(lower.dropLast() + upper.dropLast())
    var area = 0.0
    for i in hull.indices {
        let a = hull[i], b = hull[(i + 1) % hull.count]
        area += a.0 * b.1 - b.0 * a.1
    }
    return abs(area) / 2
}
