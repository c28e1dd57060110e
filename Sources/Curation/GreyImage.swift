// A single-channel float image for the capture scores (sharpness, flow, cut histograms): grey
// values in 0...255 from sRGB samples with Rec. 601 luma weights (0.299, 0.587, 0.114), as OpenCV's
// `cvtColor(..., COLOR_RGB2GRAY)` computes them, row-major, top row first. Downscaling is by area
// (each output pixel is the mean of the source area it covers, fractional edges weighted), so a
// capture's frames are compared at one analysis size whatever the camera's resolution.

import Imaging

public struct GreyImage: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var values: [Float]

    public init(width: Int, height: Int, values: [Float]) {
        precondition(width > 0 && height > 0 && values.count == width * height, "grey image size mismatch")
        self.width = width; self.height = height; self.values = values
    }

    /// Grey of an 8-bit image: gray as is, RGB by Rec. 601 luma; alpha is ignored.
    public init(_ image: Image8) {
        let n = image.width * image.height, c = image.channels
        var v = [Float](repeating: 0, count: n)
        image.pixels.withUnsafeBufferPointer { px in
            for i in 0..<n {
                if c >= 3 {
                    v[i] = 0.299 * Float(px[i * c]) + 0.587 * Float(px[i * c + 1]) + 0.114 * Float(px[i * c + 2])
                } else {
                    v[i] = Float(px[i * c])
                }
            }
        }
        self.init(width: image.width, height: image.height, values: v)
    }

    @inlinable public subscript(x: Int, y: Int) -> Float { values[y * width + x] }

    /// The image scaled by area so that its shorter side is `shorterSide` pixels (never enlarged).
    public func downscaled(shorterSide: Int) -> GreyImage {
        let s = min(width, height)
        guard shorterSide < s else { return self }
        let scale = Double(shorterSide) / Double(s)
        let w = max(1, Int((Double(width) * scale).rounded())), h = max(1, Int((Double(height) * scale).rounded()))
        return areaResized(width: w, height: h)
    }

    /// Area resampling to `w` x `h` (no enlargement intended: each output pixel averages the
    /// source rectangle it covers).
    public func areaResized(width w: Int, height h: Int) -> GreyImage {
        let horizontal = GreyImage.areaWeights(from: width, to: w)
        let vertical = GreyImage.areaWeights(from: height, to: h)
        var rows = [Float](repeating: 0, count: w * height)
        for y in 0..<height {
            for (x, taps) in horizontal.enumerated() {
                var sum: Float = 0
                for (i, weight) in taps { sum += weight * values[y * width + i] }
                rows[y * w + x] = sum
            }
        }
        var out = [Float](repeating: 0, count: w * h)
        for (y, taps) in vertical.enumerated() {
            for x in 0..<w {
                var sum: Float = 0
                for (i, weight) in taps { sum += weight * rows[i * w + x] }
                out[y * w + x] = sum
            }
        }
        return GreyImage(width: w, height: h, values: out)
    }

    /// For each output index, the source indices it overlaps and their share of its area.
    static func areaWeights(from n: Int, to m: Int) -> [[(Int, Float)]] {
        let step = Double(n) / Double(m)
        return (0..<m).map { o in
            let lo = Double(o) * step, hi = Double(o + 1) * step
            var taps: [(Int, Float)] = []
            for i in Int(lo.rounded(.down))..<min(n, Int(hi.rounded(.up))) {
                let overlap = min(hi, Double(i + 1)) - max(lo, Double(i))
                if overlap > 0 { taps.append((i, Float(overlap / step))) }
            }
            return taps
        }
    }
}
