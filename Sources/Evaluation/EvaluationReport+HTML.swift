// The HTML report (`index.html`): settings, the overall numbers, then per object its ground-truth
// strip above its generated strip (the scored views in order, so each generated view sits under
// its ground truth) with the object's numbers and, folded, its per-view numbers. The strips are
// PNGs in `strips/` next to the page; the page links nothing else (a test checks every link).

import Foundation
import Imaging
import Reporting

extension EvaluationReport {
    public static let htmlFileName = "index.html"
    public static let stripsFolderName = "strips"
    /// Height (and width) of one view in a strip, at most.
    static let stripCell = Thumbnail.side

    /// Relative paths of one object's strips.
    public static func stripPaths(object: String) -> (groundTruth: String, generated: String) {
        let stem = stripsFolderName + "/" + HTML.fileName(for: object)
        return (stem + "-ground-truth.png", stem + "-generated.png")
    }

    /// The folder the ground-truth views were read from (the render cache for meshes).
    var groundTruthViewsRoot: URL { URL(fileURLWithPath: groundTruthRenders ?? groundTruth, isDirectory: true) }

    /// One object's two strips, encoded as PNG (ground truth, generated); reads the view files.
    func stripPNGs(_ object: ObjectResult) throws -> (groundTruth: Data, generated: Data) {
        func strip(_ root: URL) throws -> Data {
            let images = try object.views.map { v -> Image8 in
                let url = root.appendingPathComponent(object.name).appendingPathComponent(v.file)
                do {
                    return try ImageFile.read(url)
                } catch {
                    throw EvaluationError.unreadableImage(path: url.path, reason: "\(error)")
                }
            }
            let side = min(Self.stripCell, images.first?.height ?? Self.stripCell)
            return try PNG.encode(ContactSheet.make(rows: [images], cellWidth: side, cellHeight: side, spacing: 2),
                                  fast: true)
        }
        return (try strip(groundTruthViewsRoot), try strip(URL(fileURLWithPath: generated, isDirectory: true)))
    }

    /// The page; `index.html` in the report folder, strips under `strips/`.
    public func html() -> String {
        let esc = HTML.escaped
        let hasClip = clip.computed
        let lp = "LPIPS-\(options.lpipsNet.rawValue)"
        func header(_ first: String, _ count: String) -> String {
            "<tr><th>\(first)</th><th>\(count)</th><th>PSNR ↑</th><th>SSIM ↑</th><th>\(lp) ↓</th><th>MSE ↓</th>"
                + (hasClip ? "<th>CLIP-S ↑</th>" : "") + "</tr>"
        }
        func row(_ name: String, _ count: String, _ s: Scores) -> String {
            let clipCell = hasClip ? "<td>" + (s.clipScore.map { String(format: "%.4f", $0) } ?? "–") + "</td>" : ""
            return "<tr><td>\(esc(name))</td><td>\(esc(count))</td>" + String(format: "<td>%.3f</td><td>%.4f</td><td>%.4f</td><td>%.5f</td>",
                                                                       s.psnr, s.ssim, s.lpips, s.mse) + clipCell + "</tr>"
        }
        let clipLine = clip.computed
            ? "CLIP-S: \(esc(clip.model ?? "?")) from <code>\(esc(clip.weights ?? "?"))</code>; \(esc(clip.preprocessing ?? ""))"
            : "<strong>CLIP-S not computed</strong>: \(esc(clip.reason ?? "no reason recorded"))"
        let excluded = options.excludedViews.isEmpty ? "none" : options.excludedViews.map(String.init).joined(separator: ", ")
        var lines = [
            "<h1>Novel-view metrics</h1>",
            "<ul>",
            "<li>generated: <code>\(esc(generated))</code></li>",
            "<li>ground truth: <code>\(esc(groundTruth))</code>"
                + (groundTruthRenders.map { " (rendered from meshes into <code>\(esc($0))</code>)" } ?? "") + "</li>",
            "<li>protocol: \(esc(protocolName ?? "none (settings from the command line)"))</li>",
            "<li>images composited on white, values in [0, 1]; PSNR data range 1, averaged in dB; SSIM "
                + "\(options.ssimConvention.rawValue)-region, data range \(options.ssimDataRange.map { String($0) } ?? "from data"); "
                + "LPIPS v0.1 \(options.lpipsNet.rawValue); excluded views: \(excluded)</li>",
            "<li>\(clipLine)</li>",
            "<li>overall = mean over objects of the per-object means</li>",
            "</ul>",
            "<h2>Overall</h2>", "<table>", header("", "objects"), row("all", String(objects.count), overall), "</table>",
            "<h2>Objects</h2>",
        ]
        for object in objects {
            let paths = Self.stripPaths(object: object.name)
            lines += [
                "<div class=\"object\" id=\"\(esc(object.name))\">", "<h3>\(esc(object.name))</h3>",
                "<div class=\"strips\">",
                "<div class=\"label\">ground truth (views \(object.views.map { String($0.view) }.joined(separator: ", ")))</div>",
                "<img src=\"\(esc(paths.groundTruth))\" alt=\"ground truth of \(esc(object.name))\">",
                "<div class=\"label\">generated</div>",
                "<img src=\"\(esc(paths.generated))\" alt=\"generated views of \(esc(object.name))\">",
                "</div>",
                "<table>", header("", "views"), row("mean", String(object.views.count), object.mean), "</table>",
                "<details><summary>per view</summary><table>", header("view", "file"),
            ]
            lines += object.views.map { v in
                row(String(format: "%03d", v.view), v.file, v.scores)
            }
            lines += ["</table></details>", "</div>"]
        }
        lines += ["<h2>Per view index (mean over objects)</h2>", "<table>", header("view", "objects")]
        lines += perView.map { row(String(format: "%03d", $0.view), String($0.objectCount), $0.mean) }
        lines.append("</table>")
        return HTML.page(title: "Novel-view metrics", style: [
            ".object{background:#fff;border:1px solid #ddd;padding:12px;margin:16px 0}",
            ".strips{overflow-x:auto}.strips img{display:block;image-rendering:auto;max-width:none}",
        ], body: lines)
    }
}
