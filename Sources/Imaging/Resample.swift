// Pillow's `Image.resize` for 8-bit images, reproduced to the bit (libImaging/Resample.c):
// separable convolution, horizontal pass first, filter support scaled by the downscale factor
// (antialiasing), coefficients normalised per output pixel and rounded to 22-bit fixed point,
// the intermediate rows rounded and clipped to 8 bits. RGBA images are resized premultiplied by
// alpha (Pillow converts RGBA to "RGBa" and back around the resize), so transparent pixels do
// not bleed their colour into the object's edge. The SV3D sampling script resizes its input
// with this (Lanczos); matching it keeps our conditioning frame identical to the reference's.

import Foundation

public enum ResampleFilter: String, CaseIterable, Sendable {
    case bilinear, bicubic, lanczos

    var support: Double {
        switch self {
        case .bilinear: return 1
        case .bicubic: return 2
        case .lanczos: return 3
        }
    }

    func weight(_ x0: Double) -> Double {
        switch self {
        case .bilinear:
            let x = abs(x0)
            return x < 1 ? 1 - x : 0
        case .bicubic:
            let a = -0.5, x = abs(x0)
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        case .lanczos:
            func sinc(_ v: Double) -> Double { v == 0 ? 1 : Foundation.sin(v * .pi) / (v * .pi) }
            return (-3 <= x0 && x0 < 3) ? sinc(x0) * sinc(x0 / 3) : 0
        }
    }
}

private let precisionBits = 32 - 8 - 2

/// Per output pixel: first input index, tap count and fixed-point weights (Pillow's
/// precompute_coeffs + normalize_coeffs_8bpc).
private struct Coefficients {
    var starts: [Int] = [], counts: [Int] = []
    var weights: [Int32] = []
    let taps: Int

    init(inSize: Int, outSize: Int, filter: ResampleFilter) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        taps = Int(support.rounded(.up)) * 2 + 1
        weights = [Int32](repeating: 0, count: outSize * taps)
        for xx in 0..<outSize {
            let center = (Double(xx) + 0.5) * scale
            let xmin = max(0, Int(center - support + 0.5))
            let xmax = min(inSize, Int(center + support + 0.5)) - xmin
            var k = [Double](repeating: 0, count: max(xmax, 0))
            var total = 0.0
            for x in 0..<max(xmax, 0) {
                let w = filter.weight((Double(x + xmin) - center + 0.5) / filterScale)
                k[x] = w
                total += w
            }
            for x in k.indices {
                let v = total != 0 ? k[x] / total : k[x]
                let fixed = v * Double(1 << precisionBits)
                weights[xx * taps + x] = Int32(v < 0 ? Int(-0.5 + fixed) : Int(0.5 + fixed))
            }
            starts.append(xmin)
            counts.append(max(xmax, 0))
        }
    }
}

@inline(__always) private func clip8(_ v: Int64) -> UInt8 {
    let shifted = v >> Int64(precisionBits)
    return UInt8(max(0, min(255, shifted)))
}

extension Raster where Sample == UInt8 {
    /// Pillow-identical resize to `width` x `height`.
    public func resized(width outW: Int, height outH: Int, filter: ResampleFilter = .lanczos) -> Image8 {
        precondition(outW > 0 && outH > 0, "resize to an empty image")
        if hasAlpha {
            return premultiplied().resizedStraight(width: outW, height: outH, filter: filter).unpremultiplied()
        }
        return resizedStraight(width: outW, height: outH, filter: filter)
    }

    private func resizedStraight(width outW: Int, height outH: Int, filter: ResampleFilter) -> Image8 {
        let c = channels
        var source = self
        if outW != width {
            let k = Coefficients(inSize: width, outSize: outW, filter: filter)
            var out = Image8(width: outW, height: height, channels: c)
            for y in 0..<height {
                for xx in 0..<outW {
                    for ch in 0..<c {
                        var acc = Int64(1 << (precisionBits - 1))
                        for t in 0..<k.counts[xx] {
                            acc += Int64(source.pixels[(y * width + k.starts[xx] + t) * c + ch]) * Int64(k.weights[xx * k.taps + t])
                        }
                        out.pixels[(y * outW + xx) * c + ch] = clip8(acc)
                    }
                }
            }
            source = out
        }
        if outH != height {
            let k = Coefficients(inSize: height, outSize: outH, filter: filter)
            var out = Image8(width: outW, height: outH, channels: c)
            for yy in 0..<outH {
                for x in 0..<outW {
                    for ch in 0..<c {
                        var acc = Int64(1 << (precisionBits - 1))
                        for t in 0..<k.counts[yy] {
                            acc += Int64(source.pixels[((k.starts[yy] + t) * outW + x) * c + ch]) * Int64(k.weights[yy * k.taps + t])
                        }
                        out.pixels[(yy * outW + x) * c + ch] = clip8(acc)
                    }
                }
            }
            source = out
        }
        return source
    }

    /// Pillow's RGBA -> RGBa: colour·alpha/255 rounded as its MULDIV255 does.
    func premultiplied() -> Image8 {
        var out = self
        let c = channels
        for i in 0..<(width * height) {
            let a = Int(pixels[i * c + c - 1])
            for ch in 0..<(c - 1) {
                let t = Int(pixels[i * c + ch]) * a + 128
                out.pixels[i * c + ch] = UInt8(((t >> 8) + t) >> 8)
            }
        }
        return out
    }

    /// Pillow's RGBa -> RGBA (rgba2rgbA): colour·255/alpha truncated and clipped; alpha 0 and
    /// 255 leave the colour as it is.
    func unpremultiplied() -> Image8 {
        var out = self
        let c = channels
        for i in 0..<(width * height) {
            let a = Int(pixels[i * c + c - 1])
            guard a != 0 && a != 255 else { continue }
            for ch in 0..<(c - 1) {
                out.pixels[i * c + ch] = UInt8(min(255, Int(pixels[i * c + ch]) * 255 / a))
            }
        }
        return out
    }
}
