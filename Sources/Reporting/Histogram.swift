// Histograms as inline SVG for HTML reports (no script, no network): one or more series of values
// binned over a shared axis, drawn as overlapping bars, with an optional marker line (a threshold)
// labelled with its value. Each bar carries a <title> with its range and count, which a browser
// shows on hover.

import Foundation

/// Up to 4 significant digits, whole numbers without a fraction (`0.01`, `12`, `1.235e+05`).
public func compactNumber(_ v: Double) -> String {
    if v == v.rounded(), abs(v) < 1e9 { return String(Int(v)) }
    return String(format: "%.4g", v)
}

public struct Histogram {
    public struct Series {
        public var label: String
        public var values: [Double]
        /// A CSS colour.
        public var colour: String
        public init(label: String, values: [Double], colour: String) {
            self.label = label; self.values = values; self.colour = colour
        }
    }

    public var series: [Series]
    /// A value marked by a vertical line (a threshold), and how it is labelled.
    public var marker: Double?
    public var markerLabel: String
    /// What the horizontal axis measures.
    public var axisLabel: String
    /// Bins for real-valued data; whole-number data over a short range gets one bin per value.
    public var binCount = 24
    public var width = 520
    public var height = 170

    public init(series: [Series], marker: Double? = nil, markerLabel: String = "threshold", axisLabel: String) {
        self.series = series; self.marker = marker; self.markerLabel = markerLabel; self.axisLabel = axisLabel
    }

    /// The binning: edges in axis units (log10 of the values when `isLogarithmic`).
    public struct Bins: Equatable {
        public var edges: [Double]
        public var isLogarithmic: Bool
        /// The bin of `value` (the last bin includes its upper edge); nil outside the edges.
        public func index(_ value: Double) -> Int? {
            let x = isLogarithmic ? log10(value) : value
            guard let first = edges.first, let last = edges.last, x >= first, x <= last, edges.count > 1 else { return nil }
            let step = (last - first) / Double(edges.count - 1)
            return min(edges.count - 2, Int(((x - first) / step).rounded(.down)))
        }
    }

    /// Bins covering every finite value and the marker. A log axis when every value (and the
    /// marker) is positive and they span at least three decades (triangle counts); one bin per
    /// whole number when all values are whole and span at most 40; else `binCount` equal bins.
    public func bins() -> Bins {
        var all = series.flatMap(\.values).filter(\.isFinite)
        if let marker, marker.isFinite { all.append(marker) }
        guard var lo = all.min(), var hi = all.max() else { return Bins(edges: [0, 1], isLogarithmic: false) }
        if lo > 0, hi / lo >= 1000 {
            let a = log10(lo), b = log10(hi)
            return Bins(edges: (0...binCount).map { a + (b - a) * Double($0) / Double(binCount) }, isLogarithmic: true)
        }
        if all.allSatisfy({ $0 == $0.rounded() }), hi - lo <= 40 {
            return Bins(edges: (0...Int(hi - lo + 1)).map { lo - 0.5 + Double($0) }, isLogarithmic: false)
        }
        if lo == hi { lo -= max(0.5, abs(lo) * 0.05); hi += max(0.5, abs(hi) * 0.05) }
        let (a, b) = (lo, hi)
        return Bins(edges: (0...binCount).map { a + (b - a) * Double($0) / Double(binCount) }, isLogarithmic: false)
    }

    /// Counts per bin, one array per series.
    public func counts(_ bins: Bins) -> [[Int]] {
        series.map { s in
            var c = [Int](repeating: 0, count: bins.edges.count - 1)
            for v in s.values where v.isFinite { if let i = bins.index(v) { c[i] += 1 } }
            return c
        }
    }

    /// The `<svg>` element.
    public func svg() -> String {
        let bins = bins(), counts = counts(bins)
        let (left, right, top, bottom) = (44.0, 14.0, 22.0, 36.0)
        let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
        let a = bins.edges.first!, b = bins.edges.last!
        func x(_ axis: Double) -> Double { left + (axis - a) / (b - a) * plotW }
        func axisValue(_ v: Double) -> Double { bins.isLogarithmic ? log10(v) : v }
        func valueAt(_ axis: Double) -> Double { bins.isLogarithmic ? pow(10, axis) : axis }
        let peak = max(1, counts.flatMap { $0 }.max() ?? 1)
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        var out = [
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"histogram\" width=\"\(width)\" height=\"\(height)\" "
                + "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"histogram of \(HTML.escaped(axisLabel))\">",
            "<rect x=\"\(f(left))\" y=\"\(f(top))\" width=\"\(f(plotW))\" height=\"\(f(plotH))\" fill=\"#fff\" stroke=\"#ccc\"/>",
        ]
        for (s, series) in series.enumerated() {
            for (i, count) in counts[s].enumerated() where count > 0 {
                let x0 = x(bins.edges[i]), x1 = x(bins.edges[i + 1])
                let h = Double(count) / Double(peak) * plotH
                let range = "\(compactNumber(valueAt(bins.edges[i])))–\(compactNumber(valueAt(bins.edges[i + 1])))"
                out.append("<rect class=\"bar\" data-series=\"\(s)\" x=\"\(f(x0 + 0.5))\" y=\"\(f(top + plotH - h))\" "
                    + "width=\"\(f(max(0.5, x1 - x0 - 1)))\" height=\"\(f(h))\" fill=\"\(series.colour)\" fill-opacity=\"0.75\">"
                    + "<title>\(HTML.escaped(series.label)): \(count) in \(range)</title></rect>")
            }
        }
        // Axis: the ends and three ticks between, in the axis's units; the peak count on the left.
        let tickStyle = "font-size=\"10\" fill=\"#555\""
        for k in 0...4 {
            let axis = a + (b - a) * Double(k) / 4
            let anchor = k == 0 ? "start" : k == 4 ? "end" : "middle"
            out.append("<text x=\"\(f(x(axis)))\" y=\"\(f(top + plotH + 12))\" text-anchor=\"\(anchor)\" \(tickStyle)>"
                + "\(compactNumber(valueAt(axis)))</text>")
        }
        out.append("<text x=\"\(f(left + plotW / 2))\" y=\"\(f(Double(height) - 6))\" text-anchor=\"middle\" font-size=\"11\" fill=\"#333\">"
            + "\(HTML.escaped(axisLabel))\(bins.isLogarithmic ? " (log scale)" : "")</text>")
        out.append("<text x=\"\(f(left - 4))\" y=\"\(f(top + 8))\" text-anchor=\"end\" \(tickStyle)>\(peak)</text>")
        out.append("<text x=\"\(f(left - 4))\" y=\"\(f(top + plotH))\" text-anchor=\"end\" \(tickStyle)>0</text>")
        // Legend, top right.
        var legendX = Double(width) - right
        for series in series.reversed() {
            let label = HTML.escaped(series.label)
            out.append("<text x=\"\(f(legendX))\" y=\"13\" text-anchor=\"end\" font-size=\"10\" fill=\"#333\">\(label)</text>")
            legendX -= Double(series.label.count) * 5.6 + 4
            out.append("<rect x=\"\(f(legendX - 9))\" y=\"5\" width=\"9\" height=\"9\" fill=\"\(series.colour)\" fill-opacity=\"0.75\"/>")
            legendX -= 18
        }
        if let marker, marker.isFinite, !bins.isLogarithmic || marker > 0 {
            let mx = x(axisValue(marker))
            let anchor = mx > left + plotW * 0.7 ? "end" : "start", dx = anchor == "end" ? -3.0 : 3.0
            out.append("<line class=\"threshold\" data-value=\"\(marker)\" x1=\"\(f(mx))\" y1=\"\(f(top - 4))\" x2=\"\(f(mx))\" "
                + "y2=\"\(f(top + plotH))\" stroke=\"#d62728\" stroke-width=\"2\"/>")
            out.append("<text x=\"\(f(mx + dx))\" y=\"\(f(top + 10))\" text-anchor=\"\(anchor)\" font-size=\"11\" fill=\"#d62728\" "
                + "stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">"
                + "\(HTML.escaped(markerLabel)) \(compactNumber(marker))</text>")
        }
        out.append("</svg>")
        return out.joined(separator: "\n")
    }
}
