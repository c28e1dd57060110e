// Per-view measures of a rendered orbit view: where the object is (its coverage mask), how much of
// the frame it fills, whether it touches the border, its silhouette's box, how colourful and how
// transparent it is. Pure functions of the pixels; `OrbitScorer` combines them over an orbit.

import Imaging

/// The object's coverage of each pixel, 0 (background) ... 255 (fully covered), row-major.
public struct CoverageMask: Equatable, Sendable {
    public let width: Int
    public let height: Int
    public var alpha: [UInt8]

    public init(width: Int, height: Int, alpha: [UInt8]) {
        precondition(alpha.count == width * height, "mask size mismatch")
        self.width = width; self.height = height; self.alpha = alpha
    }

    /// The mask of a rendered view: its alpha channel when it has one; otherwise every pixel that
    /// differs from `background` (sRGB) by more than `tolerance` in some channel is covered (views
    /// rendered over white or a recorded colour). Gray images compare with the background's red.
    public init(_ image: Image8, background: (UInt8, UInt8, UInt8) = (255, 255, 255), tolerance: UInt8 = 2) {
        let n = image.width * image.height, c = image.channels
        var a = [UInt8](repeating: 0, count: n)
        if image.hasAlpha {
            for i in 0..<n { a[i] = image.pixels[i * c + c - 1] }
        } else {
            let bg = [background.0, background.1, background.2]
            for i in 0..<n {
                var differs = false
                for k in 0..<min(3, c) {
                    let v = image.pixels[i * c + k], b = c >= 3 ? bg[k] : bg[0]
                    if (v > b ? v - b : b - v) > tolerance { differs = true }
                }
                a[i] = differs ? 255 : 0
            }
        }
        self.init(width: image.width, height: image.height, alpha: a)
    }

    /// The object's share of the frame: mean coverage, 0...1.
    public var coverage: Double {
        Double(alpha.reduce(0) { $0 + Int($1) }) / (255 * Double(alpha.count))
    }

    /// Pixels with any coverage.
    public var coveredCount: Int { alpha.reduce(0) { $0 + ($1 > 0 ? 1 : 0) } }

    /// Share of the outermost ring of pixels (the frame's border) with any coverage: above 0 when
    /// the object is clipped by the frame (or reaches its edge).
    public var borderCoverage: Double {
        var ring: [Int] = []
        for x in 0..<width { ring.append(x); if height > 1 { ring.append((height - 1) * width + x) } }
        if height > 2 { for y in 1..<(height - 1) { ring.append(y * width); if width > 1 { ring.append(y * width + width - 1) } } }
        return Double(ring.filter { alpha[$0] > 0 }.count) / Double(ring.count)
    }

    /// Covered pixels of the outermost ring whose centres lie more than `margin` pixels outside
    /// the frame's inscribed circle. Everything inside a bounding sphere that the camera's field of
    /// view fits exactly (the renderer's fitted distance: radius / sin(fov/2)) projects inside that
    /// circle, so such an object may touch the ring only near the middle of each side (a chord of
    /// about 2·sqrt(2R) pixels); coverage beyond the circle means the object reaches past the
    /// sphere's fit: cut by the frame, not merely filling it.
    public func borderPixelsBeyondInscribedCircle(margin: Double = 1.5) -> Int {
        let cx = Double(width) / 2, cy = Double(height) / 2
        let limit = Double(min(width, height)) / 2 + margin
        var count = 0
        for y in 0..<height {
            for x in 0..<width where (x == 0 || y == 0 || x == width - 1 || y == height - 1) && alpha[y * width + x] > 0 {
                let dx = Double(x) + 0.5 - cx, dy = Double(y) + 0.5 - cy
                if dx * dx + dy * dy > limit * limit { count += 1 }
            }
        }
        return count
    }

    /// The silhouette's bounding box aspect: shorter side over longer side of the box around every
    /// covered pixel (1 for a square or round silhouette, near 0 for a needle); nil when empty.
    public var silhouetteAspect: Double? {
        var x0 = Int.max, y0 = Int.max, x1 = -1, y1 = -1
        for y in 0..<height { for x in 0..<width where alpha[y * width + x] > 0 {
            x0 = min(x0, x); x1 = max(x1, x); y0 = min(y0, y); y1 = max(y1, y)
        } }
        guard x1 >= 0 else { return nil }
        let w = Double(x1 - x0 + 1), h = Double(y1 - y0 + 1)
        return min(w, h) / max(w, h)
    }

    /// Covered pixels at least `margin` pixels (Chebyshev) inside the silhouette: every pixel within
    /// `margin` has coverage. Excludes the anti-aliased edge, whose partial coverage is not
    /// transparency.
    public func interior(margin: Int = 2) -> [Bool] {
        // Separable erosion: a row pass then a column pass of "all covered within margin".
        var rows = [Bool](repeating: false, count: alpha.count)
        for y in 0..<height {
            for x in 0..<width {
                var all = true
                for dx in -margin...margin {
                    let xx = x + dx
                    if xx < 0 || xx >= width || alpha[y * width + xx] == 0 { all = false; break }
                }
                rows[y * width + x] = all
            }
        }
        var out = [Bool](repeating: false, count: alpha.count)
        for y in 0..<height {
            for x in 0..<width {
                var all = true
                for dy in -margin...margin {
                    let yy = y + dy
                    if yy < 0 || yy >= height || !rows[yy * width + x] { all = false; break }
                }
                out[y * width + x] = all
            }
        }
        return out
    }

    /// Share of the interior pixels (see `interior`) that are partly transparent (coverage below
    /// `opaqueFrom`): glass, alpha-blended foliage, semi-transparent materials. nil when the
    /// silhouette has no interior.
    public func translucentShare(margin: Int = 2, opaqueFrom: UInt8 = 250) -> Double? {
        let inner = interior(margin: margin)
        var total = 0, partial = 0
        for i in 0..<alpha.count where inner[i] {
            total += 1
            if alpha[i] < opaqueFrom { partial += 1 }
        }
        return total == 0 ? nil : Double(partial) / Double(total)
    }
}

/// How colourful an object's pixels are.
public struct ColourRichness: Equatable, Sendable {
    /// sqrt of the mean over R, G, B of each channel's variance (sRGB 0...255) over the counted
    /// pixels: 0 for a single flat colour.
    public var standardDeviation: Double
    /// Hue bins (of `hueBinCount`, 360° / count wide) holding at least `minimumBinShare` of the
    /// counted pixels, among pixels saturated and bright enough for their hue to be seen
    /// (HSV saturation and value ≥ 0.2): 0 for a grey object, 1 for a single hue.
    public var hueBins: Int
    /// Pixels counted (coverage ≥ 128).
    public var pixelCount: Int
}

/// Colour statistics over the pixels of `image` the mask covers at least half (RGB or RGBA sRGB;
/// gray images count as grey). Accumulates into `into` so an orbit's views pool their pixels.
public struct ColourAccumulator: Sendable {
    public static let hueBinCount = 12
    var count = 0
    var sum = [Double](repeating: 0, count: 3)
    var sumSquares = [Double](repeating: 0, count: 3)
    var hues = [Int](repeating: 0, count: ColourAccumulator.hueBinCount)

    public init() {}

    public mutating func add(_ image: Image8, mask: CoverageMask) {
        precondition(image.width == mask.width && image.height == mask.height, "mask size mismatch")
        let c = image.channels
        for i in 0..<(image.width * image.height) where mask.alpha[i] >= 128 {
            let r = Double(image.pixels[i * c]), g = Double(c >= 3 ? image.pixels[i * c + 1] : image.pixels[i * c])
            let b = Double(c >= 3 ? image.pixels[i * c + 2] : image.pixels[i * c])
            count += 1
            sum[0] += r; sum[1] += g; sum[2] += b
            sumSquares[0] += r * r; sumSquares[1] += g * g; sumSquares[2] += b * b
            let maxV = max(r, g, b), minV = min(r, g, b)
            guard maxV >= 0.2 * 255, maxV > 0, (maxV - minV) / maxV >= 0.2 else { continue }
            let delta = maxV - minV
            var hue: Double
            if maxV == r { hue = (g - b) / delta } else if maxV == g { hue = 2 + (b - r) / delta } else { hue = 4 + (r - g) / delta }
            hue *= 60
            if hue < 0 { hue += 360 }
            hues[min(Self.hueBinCount - 1, Int(hue / (360 / Double(Self.hueBinCount))))] += 1
        }
    }

    /// nil when no pixel was counted.
    public func result(minimumBinShare: Double = 0.01) -> ColourRichness? {
        guard count > 0 else { return nil }
        let n = Double(count)
        let variance = (0..<3).map { max(0, sumSquares[$0] / n - (sum[$0] / n) * (sum[$0] / n)) }.reduce(0, +) / 3
        let bins = hues.filter { Double($0) >= minimumBinShare * n && $0 > 0 }.count
        return ColourRichness(standardDeviation: variance.squareRoot(), hueBins: bins, pixelCount: count)
    }
}
