// Crop-and-resize for training frames: a separable triangle (bilinear) filter whose support
// grows with the reduction factor, i.e. antialiased like PIL's `Image.resize(..., BILINEAR)`.
// The crop box may reach outside the image; outside pixels take a fill colour (white by default,
// the background SV3D composites onto).

import Foundation
import Imaging

/// A crop box in source pixel coordinates (pixel edges; (0, 0) is the top-left corner).
public struct CropBox: Equatable, Codable, Sendable {
    public var x: Double, y: Double, width: Double, height: Double
    public init(x: Double, y: Double, width: Double, height: Double) {
        self.x = x; self.y = y; self.width = width; self.height = height
    }
    public func scaled(by s: Double) -> CropBox { CropBox(x: x * s, y: y * s, width: width * s, height: height * s) }
}

/// Per-output-pixel filter taps along one axis.
struct FilterTaps {
    var start: [Int] = []      // first source index (may be < 0 or beyond the image)
    var weights: [[Float]] = []

    /// Taps for `outCount` outputs covering source [origin, origin + extent).
    init(origin: Double, extent: Double, outCount: Int) {
        let scale = extent / Double(outCount)
        let support = max(1, scale)   // triangle half-width in source pixels
        for o in 0..<outCount {
            let centre = origin + (Double(o) + 0.5) * scale
            // Taps stay inside the crop box (as cropping first, then resizing, would), renormalised.
            let lo = max(Int((centre - support).rounded(.down)), Int(origin.rounded(.down)))
            let hi = min(Int((centre + support).rounded(.up)), Int((origin + extent).rounded(.up)))
            var w: [Float] = []
            var sum: Float = 0
            for i in lo..<max(lo + 1, hi) {
                let d = abs(Double(i) + 0.5 - centre) / support
                let v = Float(max(0, 1 - d))
                w.append(v)
                sum += v
            }
            if sum > 0 { w = w.map { $0 / sum } } else { w = [1] }
            start.append(lo)
            weights.append(w)
        }
    }
}

/// Crops `box` out of an RGB `image` and resamples it to `width` x `height` RGB.
public func cropAndResize(_ image: Image8, box: CropBox, width: Int, height: Int,
                          fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> Image8 {
    precondition(image.channels == 3, "cropAndResize takes RGB")
    let horizontal = FilterTaps(origin: box.x, extent: box.width, outCount: width)
    let vertical = FilterTaps(origin: box.y, extent: box.height, outCount: height)
    let fillValues = [Float(fill.0), Float(fill.1), Float(fill.2)]
    // Source rows the vertical taps touch.
    let rowLo = vertical.start.first ?? 0
    let rowHi = zip(vertical.start, vertical.weights).map { $0 + $1.count }.max() ?? 0
    let rowCount = rowHi - rowLo
    // Horizontal pass: [rowCount][width][3] floats; rows outside the image are fill.
    var rows = [Float](repeating: 0, count: rowCount * width * 3)
    let srcW = image.width, srcH = image.height
    image.pixels.withUnsafeBufferPointer { src in
        rows.withUnsafeMutableBufferPointer { dst in
            for r in 0..<rowCount {
                let sy = rowLo + r
                let out = dst.baseAddress! + r * width * 3
                guard sy >= 0 && sy < srcH else {
                    for x in 0..<width { out[3 * x] = fillValues[0]; out[3 * x + 1] = fillValues[1]; out[3 * x + 2] = fillValues[2] }
                    continue
                }
                let line = src.baseAddress! + sy * srcW * 3
                for x in 0..<width {
                    var a: Float = 0, b: Float = 0, c: Float = 0
                    let s0 = horizontal.start[x]
                    horizontal.weights[x].withUnsafeBufferPointer { w in
                        for k in 0..<w.count {
                            let sx = s0 + k
                            if sx >= 0 && sx < srcW {
                                let p = line + 3 * sx
                                a += w[k] * Float(p[0]); b += w[k] * Float(p[1]); c += w[k] * Float(p[2])
                            } else {
                                a += w[k] * fillValues[0]; b += w[k] * fillValues[1]; c += w[k] * fillValues[2]
                            }
                        }
                    }
                    out[3 * x] = a; out[3 * x + 1] = b; out[3 * x + 2] = c
                }
            }
        }
    }
    // Vertical pass.
    var result = Image8(width: width, height: height, channels: 3)
    rows.withUnsafeBufferPointer { src in
        result.pixels.withUnsafeMutableBufferPointer { dst in
            var acc = [Float](repeating: 0, count: width * 3)
            for y in 0..<height {
                for i in 0..<acc.count { acc[i] = 0 }
                let s0 = vertical.start[y] - rowLo
                for (k, w) in vertical.weights[y].enumerated() {
                    let line = src.baseAddress! + (s0 + k) * width * 3
                    for i in 0..<(width * 3) { acc[i] += w * line[i] }
                }
                let out = dst.baseAddress! + y * width * 3
                for i in 0..<(width * 3) { out[i] = UInt8(max(0, min(255, acc[i].rounded()))) }
            }
        }
    }
    return result
}
