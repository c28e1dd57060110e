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

/// Per-output-pixel filter taps along one axis, flattened: output o uses source indices
/// start[o] ..< start[o] + count[o] with weights[o * maxTaps ..< o * maxTaps + count[o]].
struct FilterTaps {
    var start: [Int] = []      // first source index (may be < 0 or beyond the image)
    var count: [Int] = []
    var weights: [Float] = []
    var maxTaps = 1

    /// Taps for `outCount` outputs covering source [origin, origin + extent).
    init(origin: Double, extent: Double, outCount: Int) {
        let scale = extent / Double(outCount)
        let support = max(1, scale)   // triangle half-width in source pixels
        var lists: [[Float]] = []
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
            // Drop zero-weight ends.
            var first = 0, last = w.count - 1
            while first < last && w[first] == 0 { first += 1 }
            while last > first && w[last] == 0 { last -= 1 }
            start.append(lo + first)
            lists.append(Array(w[first...last]))
        }
        maxTaps = lists.map(\.count).max() ?? 1
        weights = [Float](repeating: 0, count: outCount * maxTaps)
        for (o, w) in lists.enumerated() {
            count.append(w.count)
            for (k, v) in w.enumerated() { weights[o * maxTaps + k] = v }
        }
    }
}

/// Crops `box` out of an RGB `image` and resamples it to `width` x `height` RGB.
public func cropAndResize(_ image: Image8, box: CropBox, width: Int, height: Int,
                          fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) -> Image8 {
    precondition(image.channels == 3, "cropAndResize takes RGB")
    var result = Image8(width: width, height: height, channels: 3)
    image.pixels.withUnsafeBufferPointer { src in
        result.pixels.withUnsafeMutableBufferPointer { dst in
            cropAndResize(source: src.baseAddress!, width: image.width, height: image.height, box: box,
                          into: dst.baseAddress!, width: width, height: height, fill: fill)
        }
    }
    return result
}

/// The kernel: `source` is RGB interleaved (srcW x srcH), `output` RGB interleaved (outW x outH).
func cropAndResize(source: UnsafePointer<UInt8>, width srcW: Int, height srcH: Int, box: CropBox,
                   into output: UnsafeMutablePointer<UInt8>, width: Int, height: Int,
                   fill: (UInt8, UInt8, UInt8)) {
    let horizontal = FilterTaps(origin: box.x, extent: box.width, outCount: width)
    let vertical = FilterTaps(origin: box.y, extent: box.height, outCount: height)
    let f0 = Float(fill.0), f1 = Float(fill.1), f2 = Float(fill.2)
    // Source rows the vertical taps touch.
    let rowLo = vertical.start.first ?? 0
    var rowHi = rowLo
    for o in 0..<height { rowHi = max(rowHi, vertical.start[o] + vertical.count[o]) }
    let rowCount = rowHi - rowLo
    let rowStride = width * 3
    // Horizontal pass: rowCount x width x 3 floats; rows outside the image are fill.
    let rows = UnsafeMutablePointer<Float>.allocate(capacity: max(1, rowCount * rowStride))
    defer { rows.deallocate() }
    horizontal.weights.withUnsafeBufferPointer { hw in
        horizontal.start.withUnsafeBufferPointer { hs in
            horizontal.count.withUnsafeBufferPointer { hc in
                let maxTaps = horizontal.maxTaps
                for r in 0..<rowCount {
                    let sy = rowLo + r
                    let out = rows + r * rowStride
                    guard sy >= 0 && sy < srcH else {
                        for x in 0..<width { out[3 * x] = f0; out[3 * x + 1] = f1; out[3 * x + 2] = f2 }
                        continue
                    }
                    let line = source + sy * srcW * 3
                    for x in 0..<width {
                        var a: Float = 0, b: Float = 0, c: Float = 0
                        let s0 = hs[x], n = hc[x]
                        let w = hw.baseAddress! + x * maxTaps
                        if s0 >= 0 && s0 + n <= srcW {
                            var p = line + 3 * s0
                            for k in 0..<n {
                                let wk = w[k]
                                a += wk * Float(p[0]); b += wk * Float(p[1]); c += wk * Float(p[2])
                                p += 3
                            }
                        } else {
                            for k in 0..<n {
                                let sx = s0 + k, wk = w[k]
                                if sx >= 0 && sx < srcW {
                                    let p = line + 3 * sx
                                    a += wk * Float(p[0]); b += wk * Float(p[1]); c += wk * Float(p[2])
                                } else {
                                    a += wk * f0; b += wk * f1; c += wk * f2
                                }
                            }
                        }
                        out[3 * x] = a; out[3 * x + 1] = b; out[3 * x + 2] = c
                    }
                }
            }
        }
    }
    // Vertical pass.
    let acc = UnsafeMutablePointer<Float>.allocate(capacity: rowStride)
    defer { acc.deallocate() }
    for y in 0..<height {
        acc.update(repeating: 0, count: rowStride)
        let s0 = vertical.start[y] - rowLo
        for k in 0..<vertical.count[y] {
            let w = vertical.weights[y * vertical.maxTaps + k]
            let line = rows + (s0 + k) * rowStride
            for i in 0..<rowStride { acc[i] += w * line[i] }
        }
        let out = output + y * rowStride
        for i in 0..<rowStride { out[i] = UInt8(min(255, max(0, acc[i])) + 0.5) }
    }
}
