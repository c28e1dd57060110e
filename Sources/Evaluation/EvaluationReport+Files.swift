// Writing an evaluation report: `metrics.json` (the whole `EvaluationReport`, keys sorted; an
// infinite PSNR from identical images is written as the string "inf"), `metrics.md` (overall,
// per-object and per-view tables), `index.html` and its `strips/*.png` (EvaluationReport+HTML).
// Every file is encoded in memory first (an unreadable view fails before anything is written),
// then written atomically (FileSupport.writeAtomically), metrics.json last.

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
        let hasClip = clip.computed
        func row(_ name: String, _ count: Int, _ s: Scores) -> String {
            String(format: "| %@ | %d | %.3f | %.4f | %.4f | %.5f |", name, count, s.psnr, s.ssim, s.lpips, s.mse)
                + (hasClip ? (s.clipScore.map { String(format: " %.4f |", $0) } ?? " – |") : "")
        }
        func header(_ first: String, _ count: String) -> String {
            "| \(first) | \(count) | PSNR ↑ | SSIM ↑ | \(lp) ↓ | MSE ↓ |" + (hasClip ? " CLIP-S ↑ |" : "")
                + "\n|---|---:|---:|---:|---:|---:|" + (hasClip ? "---:|" : "")
        }
        let range = options.ssimDataRange.map { String($0) } ?? "from data"
        let clipLine = clip.computed
            ? "- CLIP-S: \(clip.model ?? "?") image tower from `\(clip.weights ?? "?")`; \(clip.preprocessing ?? "")"
            : "- **CLIP-S not computed**: \(clip.reason ?? "no reason recorded")"
        var lines = [
            "# Novel-view metrics", "",
            "- generated: `\(generated)`",
            "- ground truth: `\(groundTruth)`" + (groundTruthRenders.map { " (rendered from meshes into `\($0)`)" } ?? ""),
            "- protocol: \(protocolName ?? "none (settings from the command line)")",
            "- images composited on white, values in [0, 1]; PSNR data range 1, averaged in dB",
            "- SSIM: \(options.ssimConvention.rawValue)-region convention, data range \(range); LPIPS v0.1 \(options.lpipsNet.rawValue)",
            "- excluded views: \(options.excludedViews.isEmpty ? "none" : options.excludedViews.map(String.init).joined(separator: ", "))",
            clipLine,
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

    /// Writes metrics.json, metrics.md, index.html and strips/ into `directory` (created if
    /// needed); returns the URLs of metrics.json, metrics.md and index.html. Everything is encoded
    /// before the first write, and metrics.json (the file tools read) is written last.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        var files: [(URL, Data)] = []
        for object in objects {
            let strips = try stripPNGs(object)
            let paths = Self.stripPaths(object: object.name)
            files.append((directory.appendingPathComponent(paths.groundTruth), strips.groundTruth))
            files.append((directory.appendingPathComponent(paths.generated), strips.generated))
        }
        let md = directory.appendingPathComponent(Self.markdownFileName)
        let page = directory.appendingPathComponent(Self.htmlFileName)
        let json = directory.appendingPathComponent(Self.jsonFileName)
        files += [(md, Data(markdown().utf8)), (page, Data(html().utf8)), (json, try jsonData())]
        for (url, data) in files { try writeAtomically(data, to: url) }
        return [json, md, page]
    }
}
