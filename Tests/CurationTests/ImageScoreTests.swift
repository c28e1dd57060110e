// The capture image scores on constructed frames whose answer is known: grey conversion and area
// scaling, the Laplacian variance of a checkerboard, block flow of a shifted texture, the
// multi-rate cut detector on a cut, a wipe and a steady sequence.

@testable import Curation
import Imaging
import XCTest

/// A deterministic texture: smooth enough for block matching to lock on, varied enough to be unique.
func texture(width: Int, height: Int, seed: UInt64 = 1, shiftX: Int = 0, shiftY: Int = 0) -> GreyImage {
    var state = seed &* 0x9E3779B97F4A7C15
    func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(state >> 40) / Float(1 << 24)
    }
    // A coarse random field (one value per 4x4 cell), sampled bilinearly, in a larger canvas so
    // shifted copies stay defined.
    let cells = 40, cell = 4.0
    let field = (0..<(cells * cells)).map { _ in next() * 255 }
    func value(_ x: Double, _ y: Double) -> Float {
        let fx = x / cell, fy = y / cell
        let x0 = Int(fx.rounded(.down)), y0 = Int(fy.rounded(.down))
        let tx = Float(fx - Double(x0)), ty = Float(fy - Double(y0))
        func f(_ i: Int, _ j: Int) -> Float { field[((j % cells + cells) % cells) * cells + (i % cells + cells) % cells] }
        return (f(x0, y0) * (1 - tx) + f(x0 + 1, y0) * tx) * (1 - ty) + (f(x0, y0 + 1) * (1 - tx) + f(x0 + 1, y0 + 1) * tx) * ty
    }
    var v = [Float](repeating: 0, count: width * height)
    for y in 0..<height { for x in 0..<width { v[y * width + x] = value(Double(x - shiftX + 20), Double(y - shiftY + 20)) } }
    return GreyImage(width: width, height: height, values: v)
}

final class ImageScoreTests: XCTestCase {
    func testGreyUsesRec601Luma() {
        let image = Image8(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 10, 20, 30])
        let grey = GreyImage(image)
        XCTAssertEqual(grey.values[0], 0.299 * 255, accuracy: 1e-3)
        XCTAssertEqual(grey.values[1], 0.299 * 10 + 0.587 * 20 + 0.114 * 30, accuracy: 1e-3)
    }

    func testAreaDownscaleAveragesBlocks() {
        let image = GreyImage(width: 4, height: 2, values: [0, 2, 4, 6, 2, 4, 6, 8])
        let half = image.downscaled(shorterSide: 1)
        XCTAssertEqual(half.width, 2); XCTAssertEqual(half.height, 1)
        XCTAssertEqual(half.values, [2, 6])
        // A fractional ratio keeps the mean.
        let third = GreyImage(width: 3, height: 1, values: [0, 3, 6]).areaResized(width: 2, height: 1)
        XCTAssertEqual(third.values[0], (0 * 1 + 3 * 0.5) / 1.5, accuracy: 1e-5)
        XCTAssertEqual(third.values[1], (3 * 0.5 + 6 * 1) / 1.5, accuracy: 1e-5)
    }

    func testPercentileMatchesNumpyLinear() {
        XCTAssertEqual(percentile([1, 2, 3, 4], 25), 1.75)
        XCTAssertEqual(percentile([4, 1, 3, 2], 50), 2.5)
        XCTAssertEqual(percentile([5], 90), 5)
        XCTAssertNil(percentile([], 50))
    }

    /// A one-pixel checkerboard of 0 and 255: the Laplacian is ±4·255 at every interior pixel with
    /// mean 0 (equal counts on a 6x6 interior), so the variance is (1020)².
    func testLaplacianVarianceOfCheckerboardAndFlat() {
        let n = 8
        let board = GreyImage(width: n, height: n, values: (0..<(n * n)).map { Float(($0 % n + $0 / n) % 2 * 255) })
        XCTAssertEqual(laplacianVariance(board), 1020 * 1020, accuracy: 1e-6)
        XCTAssertEqual(laplacianVariance(GreyImage(width: 5, height: 5, values: .init(repeating: 77, count: 25))), 0)
        // Blurring (a 3x3 box) lowers it.
        let sharp = texture(width: 48, height: 48)
        var blurred = sharp
        for y in 1..<47 { for x in 1..<47 {
            var s: Float = 0
            for dy in -1...1 { for dx in -1...1 { s += sharp[x + dx, y + dy] } }
            blurred.values[y * 48 + x] = s / 9
        } }
        XCTAssertLessThan(laplacianVariance(blurred), 0.5 * laplacianVariance(sharp))
    }

    func testBlockFlowFindsAKnownShift() {
        let a = texture(width: 64, height: 64), b = texture(width: 64, height: 64, shiftX: 3, shiftY: -2)
        let flow = blockMatchingFlow(from: a, to: b)
        XCTAssertFalse(flow.isEmpty)
        let meanX = flow.map(\.x).reduce(0, +) / Double(flow.count), meanY = flow.map(\.y).reduce(0, +) / Double(flow.count)
        XCTAssertEqual(meanX, 3, accuracy: 0.25)
        XCTAssertEqual(meanY, -2, accuracy: 0.25)
        XCTAssertEqual(motionScore([a, b])!, (13.0).squareRoot(), accuracy: 0.3)
        // Static and textureless pairs do not move.
        XCTAssertEqual(motionScore([a, a, a]), 0)
        let flat = GreyImage(width: 64, height: 64, values: .init(repeating: 100, count: 64 * 64))
        XCTAssertEqual(motionScore([flat, flat]), 0)
        XCTAssertNil(motionScore([a]))
    }

    func testMotionIsMeasuredAtTheAnalysisSize() {
        // The same 2-pixel shift at 128 px is 1 pixel at the 64-pixel analysis size.
        let a = texture(width: 128, height: 128), b = texture(width: 128, height: 128, shiftX: 2)
        XCTAssertEqual(motionScore([a, b])!, 1, accuracy: 0.3)
    }

    /// Frames: a noisy dark sequence, then a noisy bright one.
    func frames(_ levels: [Float], seed: UInt64 = 3) -> [GreyImage] {
        levels.enumerated().map { k, level in
            let t = texture(width: 32, height: 32, seed: seed + UInt64(k))
            return GreyImage(width: 32, height: 32, values: t.values.map { level + $0 / 255 * 6 })
        }
    }

    func testCutDetectorFindsAnAbruptCut() {
        let sequence = frames(Array(repeating: 40, count: 10) + Array(repeating: 200, count: 10))
        let cuts = detectCuts(sequence)
        XCTAssertEqual(cuts.count, 1)
        XCTAssertEqual(cuts.first?.from, 9); XCTAssertEqual(cuts.first?.to, 10); XCTAssertEqual(cuts.first?.stride, 1)
        XCTAssertEqual(detectCuts(frames(Array(repeating: 40, count: 20))), [])
    }

    /// A wipe over 8 frames (each frame 1/8 more of the picture bright) changes the histogram by
    /// 0.125 per frame: under stride 1's and stride 2's floors, over stride 4's. Only the cascade's
    /// highest stride catches it, as the paper's gradual-transition example.
    func testCutDetectorCatchesAGradualWipeAtTheHigherStride() {
        var sequence: [GreyImage] = []
        for k in 0..<24 {
            let share = min(8, max(0, k - 8))   // frames 8...16 wipe from dark to bright
            let rows = 32 * share / 8
            sequence.append(GreyImage(width: 32, height: 32, values: (0..<(32 * 32)).map { $0 / 32 < rows ? 200 : 40 }))
        }
        let cuts = detectCuts(sequence)
        XCTAssertEqual(cuts.count, 1, "\(cuts)")
        XCTAssertEqual(cuts.first?.stride, 4)
        var single = CutDetectorSettings()
        single.strides = [1]; single.floors = [0.3]
        XCTAssertEqual(detectCuts(sequence, settings: single), [], "one stride alone misses the wipe")
    }
}
