// A coarse dense optical flow for the motion score, in the spirit of the SVD paper's curation
// (section 3.3 and appendix: dense flow at 2 fps on frames downscaled to a 16-pixel shorter side,
// averaged over time and space into one motion score per clip; static clips score near zero).
// Here: exhaustive block matching at a small analysis size (64 px shorter side by default) —
// for every block of the first frame the displacement within ±`searchRadius` pixels that
// minimises the sum of squared differences in the second, refined to a fraction of a pixel by a
// parabola through the cost at the best shift and its neighbours. Ties and textureless blocks
// (every shift costs the same) resolve to the smallest displacement, so a static pair scores 0.

public struct BlockFlowSettings: Codable, Equatable, Sendable {
    /// Frames are scaled by area so that their shorter side is this many pixels.
    public var analysisSize = 64
    /// Side of the square blocks matched, in analysis pixels.
    public var blockSize = 8
    /// Distance between block origins (blocks overlap when below `blockSize`).
    public var blockStep = 4
    /// Largest displacement searched, in analysis pixels, along each axis.
    public var searchRadius = 6

    public init() {}

    enum CodingKeys: String, CodingKey {
        case analysisSize = "analysis_size"
        case blockSize = "block_size"
        case blockStep = "block_step"
        case searchRadius = "search_radius"
    }
}

/// One block's displacement from the first frame to the second, in analysis pixels.
public struct FlowVector: Equatable, Sendable {
    public var x: Double, y: Double
    public init(x: Double, y: Double) { self.x = x; self.y = y }
    public var magnitude: Double { (x * x + y * y).squareRoot() }
}

/// Block displacements from `a` to `b` (same size): for each block whose whole search window
/// lies inside the image, the shift (dx, dy) minimising Σ (b[p + d] − a[p])² over the block.
public func blockMatchingFlow(from a: GreyImage, to b: GreyImage, settings: BlockFlowSettings = BlockFlowSettings()) -> [FlowVector] {
    precondition(a.width == b.width && a.height == b.height, "flow needs frames of one size")
    let w = a.width, h = a.height, n = settings.blockSize, r = settings.searchRadius
    guard w >= n + 2 * r, h >= n + 2 * r else { return [] }
    // Candidate shifts, nearest first, so a tie keeps the smaller displacement.
    var shifts: [(Int, Int)] = []
    for dy in -r...r { for dx in -r...r { shifts.append((dx, dy)) } }
    shifts.sort { ($0.0 * $0.0 + $0.1 * $0.1) < ($1.0 * $1.0 + $1.1 * $1.1) }
    var vectors: [FlowVector] = []
    a.values.withUnsafeBufferPointer { pa in
        b.values.withUnsafeBufferPointer { pb in
            var cost = [Float](repeating: 0, count: (2 * r + 1) * (2 * r + 1))
            for y0 in stride(from: r, through: h - n - r, by: settings.blockStep) {
                for x0 in stride(from: r, through: w - n - r, by: settings.blockStep) {
                    var best = Float.infinity, bestShift = (0, 0)
                    for (dx, dy) in shifts {
                        var s: Float = 0
                        for y in y0..<(y0 + n) {
                            let ra = y * w, rb = (y + dy) * w + dx
                            for x in x0..<(x0 + n) { let d = pb[rb + x] - pa[ra + x]; s += d * d }
                        }
                        cost[(dy + r) * (2 * r + 1) + dx + r] = s
                        if s < best { best = s; bestShift = (dx, dy) }
                    }
                    func at(_ dx: Int, _ dy: Int) -> Float? {
                        guard abs(dx) <= r, abs(dy) <= r else { return nil }
                        return cost[(dy + r) * (2 * r + 1) + dx + r]
                    }
                    let (bx, by) = bestShift
                    // An exact match needs no refinement (SSD is only roughly parabolic, so the
                    // vertex of an exact match's neighbours can sit a few hundredths off).
                    let fx = best == 0 ? 0 : subpixelOffset(at(bx - 1, by), best, at(bx + 1, by))
                    let fy = best == 0 ? 0 : subpixelOffset(at(bx, by - 1), best, at(bx, by + 1))
                    vectors.append(FlowVector(x: Double(bx) + fx, y: Double(by) + fy))
                }
            }
        }
    }
    return vectors
}

/// The vertex of the parabola through (−1, left), (0, centre), (1, right), in (−0.5, 0.5); 0 at the
/// search window's edge or when the costs are flat.
func subpixelOffset(_ left: Float?, _ centre: Float, _ right: Float?) -> Double {
    guard let left, let right else { return 0 }
    let curvature = Double(left) - 2 * Double(centre) + Double(right)
    guard curvature > 1e-6 else { return 0 }
    return max(-0.5, min(0.5, (Double(left) - Double(right)) / (2 * curvature)))
}

/// The motion score of a frame sequence: the mean block-flow magnitude (analysis pixels per frame
/// step) over the blocks of each consecutive pair, averaged over the pairs. Frames are scaled to
/// `settings.analysisSize` first (a no-op when already that small). nil for fewer than 2 frames.
public func motionScore(_ frames: [GreyImage], settings: BlockFlowSettings = BlockFlowSettings()) -> Double? {
    guard frames.count >= 2 else { return nil }
    let small = frames.map { $0.downscaled(shorterSide: settings.analysisSize) }
    var perPair: [Double] = []
    for i in 1..<small.count {
        guard small[i].width == small[i - 1].width, small[i].height == small[i - 1].height else { continue }
        let flow = blockMatchingFlow(from: small[i - 1], to: small[i], settings: settings)
        if let m = mean(flow.map(\.magnitude)) { perPair.append(m) }
    }
    return mean(perPair)
}
