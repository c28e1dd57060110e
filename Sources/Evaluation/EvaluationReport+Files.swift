// Writing an evaluation report: `metrics.json` (the whole `EvaluationReport`, keys sorted; an
// infinite PSNR from identical images is written as the string "inf") and `metrics.md` (overall,
// per-object and per-view tables), both atomically (FileSupport.writeAtomically).

import FileSupport
import Foundation
import Metrics

extension EvaluationReport {
    public static let jsonFileName = "metrics.json"
    public static let markdownFileName = "metrics.md"

    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }

    public static func decoded(from data: Data) throws -> EvaluationReport {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try decoder.decode(EvaluationReport.self, from: data)
    }

    /// The Markdown summary: settings, the overall means, then one row per object and per view.
    public func markdown() -> String {
        let lp = "LPIPS-\(options.lpipsNet.rawValue)"
        func row(_ name: String, _ count: Int, _ s: Scores) -> String {
            String(format: "| %@ | %d | %.3f | %.4f | %.4f | %.5f |", name, count, s.psnr, s.ssim, s.lpips, s.mse)
        }
        func header(_ first: String, _ count: String) -> String {
            "| \(first) | \(count) | PSNR ↑ | SSIM ↑ | \(lp) ↓ | MSE ↓ |\n|---|---:|---:|---:|---:|---:|"
        }
        let range = options.ssimDataRange.map { String($0) } ?? "from data"
        var lines = [
            "# Novel-view metrics", "",
            "- generated: `\(generated)`", "- ground truth: `\(groundTruth)`",
            "- images composited on white, values in [0, 1]; PSNR data range 1, averaged in dB",
            "- SSIM: \(options.ssimConvention.rawValue)-region convention, data range \(range); LPIPS v0.1 \(options.lpipsNet.rawValue)",
            "- excluded views: \(options.excludedViews.isEmpty ? "none" : options.excludedViews.map(String.init).joined(separator: ", "))",
            "- overall = mean over objects of the per-object means", "",
            "## Overall", "", header("", "objects"),
            row("all", objects.count, overall), "",
            "## Per object", "", header("object", "views"),
        ]
        lines += objects.map { row($0.name, $0.views.count, $0.mean) }
        lines += ["", "## Per view (mean over objects)", "", header("view", "objects")]
        lines += perView.map { row(String(format: "%03d", $0.view), $0.objectCount, $0.mean) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Writes metrics.json and metrics.md into `directory` (created if needed); returns both URLs.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        let json = directory.appendingPathComponent(Self.jsonFileName)
        let md = directory.appendingPathComponent(Self.markdownFileName)
        try writeAtomically(try jsonData(), to: json)
        try writeAtomically(Data(markdown().utf8), to: md)
        return [json, md]
    }
}
