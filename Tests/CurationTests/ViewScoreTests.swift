// The orbit-view measures and the perceptual hash on images built here: discs and bars of known
// area, a frame-touching object, translucent interiors, flat and two-colour objects, hashes of the
// same, a slightly changed and a different picture, and the duplicate clustering.

@testable import Curation
import Imaging
import XCTest

/// RGBA image with `colour` where `inside(x, y)` (alpha `alpha`), transparent elsewhere.
func rgbaImage(width: Int, height: Int, colour: (UInt8, UInt8, UInt8) = (200, 50, 50), alpha: UInt8 = 255,
               inside: (Int, Int) -> Bool) -> Image8 {
    var image = Image8(width: width, height: height, channels: 4)
    for y in 0..<height { for x in 0..<width where inside(x, y) {
        let i = (y * width + x) * 4
        image.pixels[i] = colour.0; image.pixels[i + 1] = colour.1; image.pixels[i + 2] = colour.2; image.pixels[i + 3] = alpha
    } }
    return image
}

final class ViewScoreTests: XCTestCase {
    func testCoverageOfARectangleAndItsBorder() {
        // A 10x5 bar inside a 20x20 frame: 50 of 400 pixels, no border contact, aspect 0.5.
        let bar = rgbaImage(width: 20, height: 20) { x, y in (5..<15).contains(x) && (8..<13).contains(y) }
        let mask = CoverageMask(bar)
        XCTAssertEqual(mask.coverage, 50.0 / 400, accuracy: 1e-12)
        XCTAssertEqual(mask.coveredCount, 50)
        XCTAssertEqual(mask.borderCoverage, 0)
        XCTAssertEqual(mask.silhouetteAspect, 0.5)
        // Touching the left edge along 5 rows: 5 of the ring's 76 pixels.
        let clipped = CoverageMask(rgbaImage(width: 20, height: 20) { x, y in x < 4 && (8..<13).contains(y) })
        XCTAssertEqual(clipped.borderCoverage, 5.0 / 76, accuracy: 1e-12)
        // Those 5 pixels lie on the inscribed circle's chord (centre distance <= 10 + 1.5): an object
        // inside a fitted bounding sphere may touch there, so they do not count as cut by the frame.
        XCTAssertEqual(clipped.borderPixelsBeyondInscribedCircle(), 0)
        // Cut along rows 2..<16 of the left edge: the ring pixels of rows 2 and 3 have centres 12.10
        // and 11.51 from the frame's centre, past 10 + 1.5; row 15's is 10.98, inside.
        let cut = CoverageMask(rgbaImage(width: 20, height: 20) { x, y in x < 4 && (2..<16).contains(y) })
        let expectedBeyond = (2..<16).filter { y in let dy = Double(y) + 0.5 - 10; return 9.5 * 9.5 + dy * dy > 11.5 * 11.5 }.count
        XCTAssertEqual(expectedBeyond, 2)
        XCTAssertEqual(cut.borderPixelsBeyondInscribedCircle(), expectedBeyond)
        // A disc inscribed in the frame (radius 10 about the centre) touches all four sides, never beyond.
        let disc = CoverageMask(rgbaImage(width: 20, height: 20) { x, y in
            let dx = Double(x) + 0.5 - 10, dy = Double(y) + 0.5 - 10; return dx * dx + dy * dy <= 100 })
        XCTAssertGreaterThan(disc.borderCoverage, 0)
        XCTAssertEqual(disc.borderPixelsBeyondInscribedCircle(), 0)
        // Half-transparent coverage counts half.
        XCTAssertEqual(CoverageMask(rgbaImage(width: 4, height: 4, alpha: 51) { _, _ in true }).coverage, 0.2, accuracy: 1e-12)
        XCTAssertNil(CoverageMask(rgbaImage(width: 4, height: 4) { _, _ in false }).silhouetteAspect)
    }

    func testMaskFromABackgroundColourWithoutAlpha() {
        var image = Image8(width: 6, height: 6, channels: 3, fill: 0)
        for i in 0..<36 { image.pixels[i * 3] = 10; image.pixels[i * 3 + 1] = 120; image.pixels[i * 3 + 2] = 240 }
        image.pixels[(2 * 6 + 3) * 3] = 11                 // within the tolerance: background
        image.pixels[(4 * 6 + 1) * 3 + 1] = 200            // object
        let mask = CoverageMask(image, background: (10, 120, 240))
        XCTAssertEqual(mask.coveredCount, 1)
        XCTAssertEqual(mask.alpha[4 * 6 + 1], 255)
    }

    /// An opaque disc's anti-aliased edge is not transparency; a disc whose inside is half
    /// transparent is all translucent; a mixed one in proportion.
    func testTranslucentShareIgnoresTheEdge() {
        let size = 40
        func disc(_ alphaAt: (Int, Int) -> UInt8) -> CoverageMask {
            var a = [UInt8](repeating: 0, count: size * size)
            for y in 0..<size { for x in 0..<size {
                let d = (Double(x - 20) * Double(x - 20) + Double(y - 20) * Double(y - 20)).squareRoot()
                if d < 14 { a[y * size + x] = alphaAt(x, y) } else if d < 15 { a[y * size + x] = 100 }   // soft edge
            } }
            return CoverageMask(width: size, height: size, alpha: a)
        }
        XCTAssertEqual(disc { _, _ in 255 }.translucentShare(), 0)
        XCTAssertEqual(disc { _, _ in 128 }.translucentShare(), 1)
        let half = disc { x, _ in x < 20 ? 128 : 255 }.translucentShare()!
        XCTAssertEqual(half, 0.5, accuracy: 0.06)
        XCTAssertNil(CoverageMask(width: 3, height: 3, alpha: .init(repeating: 255, count: 9)).translucentShare())
    }

    func testColourRichnessOfFlatAndTwoColourObjects() {
        let square: (Int, Int) -> Bool = { x, y in (2..<10).contains(x) && (2..<10).contains(y) }
        var flat = ColourAccumulator()
        let red = rgbaImage(width: 12, height: 12, colour: (200, 20, 20), inside: square)
        flat.add(red, mask: CoverageMask(red))
        XCTAssertEqual(flat.result()?.standardDeviation, 0)
        XCTAssertEqual(flat.result()?.hueBins, 1)
        XCTAssertEqual(flat.result()?.pixelCount, 64)
        // Half pure red, half pure blue: R and B vary by ±127.5, G not: sqrt(2/3) · 127.5; two hues.
        var two = ColourAccumulator()
        let left = rgbaImage(width: 12, height: 12, colour: (255, 0, 0)) { x, y in square(x, y) && x < 6 }
        let right = rgbaImage(width: 12, height: 12, colour: (0, 0, 255)) { x, y in square(x, y) && x >= 6 }
        two.add(left, mask: CoverageMask(left))
        two.add(right, mask: CoverageMask(right))
        XCTAssertEqual(two.result()!.standardDeviation, (2.0 / 3).squareRoot() * 127.5, accuracy: 1e-9)
        XCTAssertEqual(two.result()?.hueBins, 2)
        // Grey has no hue.
        var grey = ColourAccumulator()
        let g = rgbaImage(width: 12, height: 12, colour: (128, 128, 128), inside: square)
        grey.add(g, mask: CoverageMask(g))
        XCTAssertEqual(grey.result()?.hueBins, 0)
        XCTAssertNil(ColourAccumulator().result())
    }

    func testPerceptualHashSeparatesDifferentPicturesAndKeepsSimilarOnes() {
        let a = texture(width: 96, height: 96, seed: 5)
        var brighter = a
        brighter.values = a.values.map { min(255, $0 * 0.9 + 20) }   // a global tone change keeps the hash
        let other = texture(width: 96, height: 96, seed: 6)
        let ha = PerceptualHash(a)
        XCTAssertEqual(ha.distance(to: PerceptualHash(a)), 0)
        XCTAssertLessThanOrEqual(ha.distance(to: PerceptualHash(brighter)), 2)
        XCTAssertGreaterThan(ha.distance(to: PerceptualHash(other)), 16)
        XCTAssertEqual(PerceptualHash(hex: ha.description), ha)
        XCTAssertEqual(PerceptualHash(bits: 0xF).description, "000000000000000f")
        XCTAssertNil(PerceptualHash(hex: "xyz"))
        // Half the 64 low frequencies lie above their median.
        XCTAssertEqual(ha.bits.nonzeroBitCount, 32)
    }

    /// Single linkage: 0-1 and 1-2 are within the distance (0-2 is not), 3 stands alone; the
    /// cluster keeps its first member.
    func testNearDuplicateClustersKeepTheirFirstMember() {
        let hashes = [PerceptualHash(bits: 0), PerceptualHash(bits: 0b111), PerceptualHash(bits: 0b111111),
                      PerceptualHash(bits: ~0)]
        let duplicates = nearDuplicates(hashes, maxDistance: 3)
        XCTAssertEqual(duplicates, [DuplicateOf(index: 1, keeper: 0, distance: 3), DuplicateOf(index: 2, keeper: 0, distance: 6)])
        XCTAssertEqual(nearDuplicates(hashes, maxDistance: 2), [])
        XCTAssertEqual(nearDuplicates([], maxDistance: 4), [])
    }
}
