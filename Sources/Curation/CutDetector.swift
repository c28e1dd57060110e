// The SVD paper's multi-rate cut detector (section 3.1 and appendix C: a cascade of cut detectors
// at several frame rates; the lowest rate finds abrupt cuts cheaply, higher rates re-examine the
// rest and catch gradual transitions — fades, wipes — whose change per frame is small but whose
// change over a few frames is large). For a capture, a "cut" is a jump the camera cannot have
// made: a frame drop, a re-localised trajectory, frames from another capture.
//
// Frames are compared by grey-level histograms (`bins` bins over 0...255, normalised), the
// distance being half the L1 distance (0: same histogram, 1: disjoint). At stride s the pairs
// (i, i + s) are compared; a pair is a cut candidate when its distance exceeds both the stride's
// floor and `relativeFactor` times the median distance at that stride (a capture orbiting a
// textured scene changes its histogram steadily; only a change well above its own typical one is
// a jump). Strides run in the order given; a later stride skips pairs that span a cut already
// found, and overlapping candidates at one stride are one cut.

public struct CutDetectorSettings: Codable, Equatable, Sendable {
    /// Frame strides, the cascade's frame rates, lowest stride (highest rate of change per pair)
    /// first as the paper orders them.
    public var strides = [1, 2, 4]
    /// Minimum histogram distance for a cut at each stride (same count as `strides`).
    public var floors = [0.3, 0.45, 0.45]
    /// A cut's distance must also exceed this many times the median distance at its stride.
    public var relativeFactor = 3.0
    /// Histogram bins over 0...255.
    public var bins = 32
    /// Frames are scaled by area to this shorter side before the histograms.
    public var analysisSize = 64

    public init() {}

    enum CodingKeys: String, CodingKey {
        case strides, floors, bins
        case relativeFactor = "relative_factor"
        case analysisSize = "analysis_size"
    }
}

/// A detected cut: frames `from` and `to` (indices into the sequence) lie on different sides.
public struct DetectedCut: Equatable, Sendable {
    public var from: Int
    public var to: Int
    /// The stride that found it.
    public var stride: Int
    /// The largest histogram distance among its pairs.
    public var distance: Double
}

/// Normalised grey histogram with `bins` equal bins over 0...255.
public func greyHistogram(_ image: GreyImage, bins: Int) -> [Double] {
    var h = [Double](repeating: 0, count: bins)
    for v in image.values { h[min(bins - 1, max(0, Int(v * Float(bins) / 256)))] += 1 }
    let n = Double(image.values.count)
    return h.map { $0 / n }
}

/// Half the L1 distance of two normalised histograms, in 0...1.
public func histogramDistance(_ a: [Double], _ b: [Double]) -> Double {
    zip(a, b).reduce(0) { $0 + abs($1.0 - $1.1) } / 2
}

/// The cuts of a frame sequence (in order), by the multi-rate cascade described above.
public func detectCuts(_ frames: [GreyImage], settings: CutDetectorSettings = CutDetectorSettings()) -> [DetectedCut] {
    precondition(settings.strides.count == settings.floors.count, "one floor per stride")
    let histograms = frames.map { greyHistogram($0.downscaled(shorterSide: settings.analysisSize), bins: settings.bins) }
    var cuts: [DetectedCut] = []
    for (stride, floor) in zip(settings.strides, settings.floors) where stride >= 1 && stride < histograms.count {
        let distances = (0..<(histograms.count - stride)).map { histogramDistance(histograms[$0], histograms[$0 + stride]) }
        let threshold = max(floor, settings.relativeFactor * (median(distances) ?? 0))
        var found: [DetectedCut] = []
        for (i, d) in distances.enumerated() where d > threshold {
            // A pair spanning a cut from an earlier stride is explained by it.
            if cuts.contains(where: { $0.from >= i && $0.to <= i + stride }) { continue }
            if let last = found.last, i < last.to {
                found[found.count - 1].to = i + stride
                found[found.count - 1].distance = max(last.distance, d)
            } else {
                found.append(DetectedCut(from: i, to: i + stride, stride: stride, distance: d))
            }
        }
        cuts += found
    }
    return cuts.sorted { $0.from < $1.from }
}
