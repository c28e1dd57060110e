// A loss-curve picture without a plotting library: the raw loss per step in light blue, a
// moving average in dark blue, on a log-scaled y axis with a grid line per power of ten.

import Foundation
import Imaging

public enum LossCurve {
    public static func png(losses: [(step: Int, loss: Float)], width: Int = 640, height: Int = 360) throws -> Data {
        var image = Image8(width: width, height: height, channels: 3, fill: 255)
        let points = losses.filter { $0.loss.isFinite && $0.loss > 0 }
        let margin = 24
        func plotLine(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ color: (UInt8, UInt8, UInt8)) {
            let steps = max(abs(x1 - x0), abs(y1 - y0), 1)
            for i in 0...steps {
                let x = x0 + (x1 - x0) * i / steps, y = y0 + (y1 - y0) * i / steps
                guard x >= 0, x < width, y >= 0, y < height else { continue }
                image[x, y, 0] = color.0; image[x, y, 1] = color.1; image[x, y, 2] = color.2
            }
        }
        // Axes.
        plotLine(margin, height - margin, width - margin, height - margin, (0, 0, 0))
        plotLine(margin, margin, margin, height - margin, (0, 0, 0))
        guard points.count >= 2 else { return try PNG.encode(image) }
        let logs = points.map { log10(Double($0.loss)) }
        let (lo, hi) = (logs.min()!.rounded(.down), max(logs.max()!.rounded(.up), logs.min()!.rounded(.down) + 1))
        let (s0, s1) = (Double(points.first!.step), Double(max(points.last!.step, points.first!.step + 1)))
        func px(_ step: Int) -> Int { margin + Int(Double(width - 2 * margin) * (Double(step) - s0) / (s1 - s0)) }
        func py(_ logLoss: Double) -> Int { height - margin - Int(Double(height - 2 * margin) * (logLoss - lo) / (hi - lo)) }
        for decade in stride(from: lo, through: hi, by: 1) {
            plotLine(margin, py(decade), width - margin, py(decade), (220, 220, 220))
        }
        for i in 1..<points.count {
            plotLine(px(points[i - 1].step), py(logs[i - 1]), px(points[i].step), py(logs[i]), (160, 190, 240))
        }
        let window = max(1, points.count / 50)
        var smooth: [Double] = []
        for i in points.indices {
            let part = logs[max(0, i - window + 1)...i]
            smooth.append(part.reduce(0, +) / Double(part.count))
        }
        for i in 1..<points.count {
            plotLine(px(points[i - 1].step), py(smooth[i - 1]), px(points[i].step), py(smooth[i]), (20, 60, 160))
        }
        return try PNG.encode(image)
    }
}
