// Texture sampling: the mip chain (sizes, box means, odd sizes), trilinear filtering against
// bilinear samples of each level, the unchanged level-0 sample, and the OpenGL level of detail.

import Foundation
@testable import Render
import XCTest

final class TextureTests: XCTestCase {
    /// Sizes halve and round down to 1 x 1 as OpenGL's, one level per halving of the longer side.
    func testMipChainSizes() {
        for (w, h, expected) in [(8, 8, [8, 4, 2, 1]), (5, 3, [5, 2, 1]), (8, 2, [8, 4, 2, 1]),
                                 (1, 1, [1]), (1, 6, [1, 1, 1])] as [(Int, Int, [Int])] {
            let t = Texture(width: w, height: h, texels: Array(repeating: SIMD4(repeating: 1), count: w * h))
            let sizes = (0..<t.levelCount).map { (t.level($0).width, t.level($0).height) }
            XCTAssertEqual(sizes.map(\.0), expected, "\(w)x\(h) widths")
            XCTAssertEqual(sizes.last.map { [$0.0, $0.1] }, [1, 1], "\(w)x\(h) ends at 1x1")
            XCTAssertEqual(sizes.map(\.1), (0..<t.levelCount).map { max(1, h >> $0) }, "\(w)x\(h) heights")
        }
    }

    /// An 8 x 8 texture made of 4 x 4 blocks of values a(i, j), plus a one-texel checker of +-1/4
    /// and a two-texel checker of +-1/8 (both vanish in the box means): level 1 is a(i, j) plus the
    /// two-texel checker at one texel, level 2 is a(i, j), level 3 their mean. All values are
    /// dyadic, so the means are exact.
    func testMipLevelsKnownByConstruction() {
        let a: [[Float]] = [[0.5, 1.0], [0.25, 2.0]]          // a[row][column]
        func sign(_ x: Int, _ y: Int) -> Float { (x + y) % 2 == 0 ? 1 : -1 }
        let texels = (0..<64).map { i -> SIMD4<Float> in
            let x = i % 8, y = i / 8
            let v = a[y / 4][x / 4] + 0.25 * sign(x, y) + 0.125 * sign(x / 2, y / 2)
            return SIMD4(v, 2 * v, 0, 1)
        }
        let t = Texture(width: 8, height: 8, texels: texels)
        XCTAssertEqual(t.levelCount, 4)
        XCTAssertEqual(t.level(1).texels.map(\.x), (0..<16).map { i in
            a[(i / 4) / 2][(i % 4) / 2] + 0.125 * sign(i % 4, i / 4)
        })
        XCTAssertEqual(t.level(2).texels.map(\.x), [0.5, 1.0, 0.25, 2.0])
        XCTAssertEqual(t.level(3).texels, [SIMD4(0.9375, 1.875, 0, 1)])
    }

    /// Odd sizes: 5 -> 2 texels of 2.5 source texels each (the middle one split in halves), 3 -> 1
    /// of 3; every level keeps the mean of level 0.
    func testOddSizesAreExactAreaMeans() {
        var rng = SplitMix(seed: 7)
        let texels = (0..<15).map { _ in SIMD4<Float>(rng.next(), rng.next(), rng.next(), 1) }
        let t = Texture(width: 5, height: 3, texels: texels)
        let level1 = t.level(1)
        XCTAssertEqual([level1.width, level1.height], [2, 1])
        let columnWeights: [[Float]] = [[1, 1, 0.5, 0, 0], [0, 0, 0.5, 1, 1]]
        for (x, weights) in columnWeights.enumerated() {
            var expected = SIMD4<Float>.zero
            for row in 0..<3 { for column in 0..<5 { expected += texels[row * 5 + column] * weights[column] } }
            expected /= 7.5
            XCTAssertLessThan(maxDifference(level1.texels[x], expected), 1e-6, "texel \(x)")
        }
        let mean = texels.reduce(SIMD4<Float>.zero, +) / 15
        for k in 0..<t.levelCount {
            let level = t.level(k).texels
            let levelMean = level.reduce(SIMD4<Float>.zero, +) / Float(level.count)
            XCTAssertLessThan(maxDifference(levelMean, mean), 1e-6, "level \(k)")
        }
    }

    /// At an integer λ = k trilinear is the bilinear sample of level k, bit for bit; between two
    /// levels it is their linear mix; beyond the last level it stays there.
    func testTrilinearAtIntegerLodIsBilinearOfThatLevel() {
        var rng = SplitMix(seed: 3)
        let t = Texture(width: 16, height: 8, texels: (0..<128).map { _ in
            SIMD4<Float>(rng.next(), rng.next(), rng.next(), rng.next())
        })
        let view = t.view
        XCTAssertEqual(view.levelCount, 5)
        let levels = (0..<view.levelCount).map(t.level)
        for _ in 0..<200 {
            let uv = SIMD2<Float>(4 * rng.next() - 2, 4 * rng.next() - 2)
            for k in 0..<view.levelCount {
                XCTAssertEqual(view.sample(uv, lod: Float(k)), levels[k].sample(uv), "uv \(uv) level \(k)")
            }
            let mixed = view.sample(uv, lod: 1.25)
            let expected = levels[1].sample(uv) * 0.75 + levels[2].sample(uv) * 0.25
            XCTAssertLessThan(maxDifference(mixed, expected), 1e-6, "uv \(uv) lod 1.25")
            XCTAssertEqual(view.sample(uv, lod: 9), levels[4].sample(uv))
            XCTAssertEqual(view.sample(uv, lod: .infinity), levels[4].sample(uv))
        }
    }

    /// λ <= 0 (and NaN, from non-finite derivatives) is the bilinear sample the renderer had
    /// before mipmaps, bit for bit: the reference below is that code, copied.
    func testLodZeroIsThePreviousBilinearSample() {
        var rng = SplitMix(seed: 11)
        let (w, h) = (7, 5)
        let texels = (0..<(w * h)).map { _ in SIMD4<Float>(rng.next(), rng.next(), rng.next(), rng.next()) }
        let t = Texture(width: w, height: h, texels: texels)
        let view = t.view
        let uvs = (0..<500).map { _ in SIMD2<Float>(6 * rng.next() - 3, 6 * rng.next() - 3) }
            + [SIMD2(0, 0), SIMD2(1, 1), SIMD2(-0.0, 1e-9), SIMD2(.nan, 0.5), SIMD2(.infinity, 0)]
        for uv in uvs {
            let reference = Self.previousBilinear(uv, width: w, height: h, texels: texels)
            for lod: Float in [0, -0.5, -.infinity, .nan] {
                XCTAssertEqual(view.sample(uv, lod: lod), reference, "uv \(uv) lod \(lod)")
            }
            XCTAssertEqual(t.sample(uv), reference, "uv \(uv)")
            XCTAssertEqual(view.sample(uv), reference, "uv \(uv)")
        }
    }

    /// A one-texel checkerboard minified 8.25x: without mipmaps every pixel picks black or white or
    /// a blend (aliasing); with λ from the pixel's UV steps every pixel is the mean grey.
    func testMinifiedCheckerboardIsMeanGrey() {
        let n = 64
        let t = Texture(width: n, height: n, texels: (0..<(n * n)).map { i in
            SIMD4(repeating: Float((i % n + i / n) % 2))
        })
        let view = t.view
        let step: Float = 8.25 / Float(n)                    // one pixel spans 8.25 texels
        let lod = Texture.lod(duvdx: SIMD2(step, 0), duvdy: SIMD2(0, -step), width: n, height: n)
        XCTAssertEqual(lod, log2(8.25), accuracy: 1e-6)
        var unfiltered: [Float] = []
        for py in 0..<8 {
            for px in 0..<8 {
                let uv = SIMD2<Float>(0.013 + Float(px) * step, 0.977 - Float(py) * step)
                XCTAssertEqual(view.sample(uv, lod: lod).x, 0.5, accuracy: 1e-6, "pixel \(px), \(py)")
                unfiltered.append(view.sample(uv).x)
            }
        }
        XCTAssertGreaterThan(unfiltered.max()! - unfiltered.min()!, 0.2, "the unfiltered samples alias")
    }

    /// λ = log2 of the longer of the two texel-space steps (isotropic, as the OpenGL spec).
    func testLevelOfDetail() {
        XCTAssertEqual(Texture.lod(duvdx: SIMD2(1.0 / 64, 0), duvdy: SIMD2(0, 1.0 / 256), width: 256, height: 256), 2)
        XCTAssertEqual(Texture.lod(duvdx: SIMD2(0, 0), duvdy: SIMD2(0, 1.0 / 32), width: 512, height: 128), 2)
        XCTAssertEqual(Texture.lod(duvdx: SIMD2(3.0 / 2000, 4.0 / 2000), duvdy: .zero, width: 100, height: 100),
                       -2, accuracy: 1e-6)                          // |(0.15, 0.2)| = 1/4 texel: magnified
        XCTAssertEqual(Texture.lod(duvdx: .zero, duvdy: .zero, width: 8, height: 8), -.infinity)
        XCTAssertTrue(Texture.lod(duvdx: SIMD2(.nan, 0), duvdy: .zero, width: 8, height: 8).isNaN)
        XCTAssertTrue(Texture.lod(duvdx: SIMD2(1, 0), duvdy: SIMD2(0, .nan), width: 8, height: 8).isNaN)
        XCTAssertEqual(Texture.lod(duvdx: SIMD2(.infinity, 0), duvdy: .zero, width: 8, height: 8), .infinity)
    }

    /// The bilinear sample of `TextureView` before mipmaps were added (repeat wrapping).
    static func previousBilinear(_ uv: SIMD2<Float>, width: Int, height: Int, texels: [SIMD4<Float>]) -> SIMD4<Float> {
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

private func maxDifference(_ a: SIMD4<Float>, _ b: SIMD4<Float>) -> Float {
    let d = a - b
    return max(max(abs(d.x), abs(d.y)), max(abs(d.z), abs(d.w)))
}

/// A small seeded generator of floats in [0, 1) for test inputs.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> Float {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Float(z >> 40) / Float(1 << 24)
    }
}
