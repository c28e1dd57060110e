// `report.html` of a curation run and its pictures: a summary, the stages in a table (reached,
// dropped, remained, score, threshold), then per stage the histogram of its score with the
// threshold marked (inline SVG) and contact sheets of the items just above and just below the
// threshold, so a person can judge it; absent scores are said to be absent, with the reason. The
// pictures (renders: the canonical view, view 0; captures: the middle frame; read from the item's
// folder, or from its shard for a shard set's sample) are small JPEGs in `report-pictures/` beside
// the page. Everything is written atomically, the page last; a picture
// that cannot be read is replaced by its reason, the report goes on.

import FileSupport
import Foundation
import Imaging
import Reporting
import Cameras

extension CurationReport {
    public static let fileName = "report.html"
    public static let picturesFolderName = "report-pictures"

    /// Makes the pictures of the items shown (each fitted within `Thumbnail.side`, RGB), by id,
    /// given their records all at once (so a source can read each shard once); an error in place
    /// of a picture that cannot be made.
    public typealias Pictures = ([ScoreRecord]) -> [String: Result<Image8, Error>]

    /// The pictures of items that are folders: each item's `pictureURL`.
    public static func folderPictures(_ records: [ScoreRecord]) -> [String: Result<Image8, Error>] {
        Dictionary(records.map { r in (r.id, Result { try Thumbnail.read(try pictureURL(r)) }) }, uniquingKeysWith: { a, _ in a })
    }

    /// The picture that stands for an item: a render's canonical view (the first view in file
    /// order, view 0, which the pHash is taken of; else its first PNG), a capture's middle frame.
    public static func pictureURL(_ record: ScoreRecord) throws -> URL {
        let folder = URL(fileURLWithPath: record.path, isDirectory: true)
        switch record.source {
        case .renders:
            if let cameras = try? OrbitCameras.read(folder.appendingPathComponent(OrbitCameras.fileName)),
               let first = cameras.viewsInFileOrder.first {
                return folder.appendingPathComponent(first.file)
            }
            let pngs = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
                .filter { $0.lowercased().hasSuffix(".png") && !$0.hasPrefix(".") }
                .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
            guard let first = pngs.first else { throw CurationError(path: folder.path, reason: "no views") }
            return folder.appendingPathComponent(first)
        case .mvimgnet:
            let frames = try CaptureScorer.frameNames(imagesDirectory: folder.appendingPathComponent("images"))
            guard !frames.isEmpty else { throw CurationError(path: folder.path, reason: "no frames") }
            return folder.appendingPathComponent("images").appendingPathComponent(frames[frames.count / 2])
        }
    }

    /// Every id the page shows a picture of, in a stable order.
    var shownIDs: [String] {
        var ids: [String] = []
        var seen = Set<String>()
        for s in stages {
            for e in s.above + s.below + s.duplicates {
                for id in [e.id] + (e.keeper.map { [$0] } ?? []) where seen.insert(id).inserted { ids.append(id) }
            }
        }
        return ids
    }

    /// Writes `report-pictures/*.jpg` and `report.html` into `out` (atomically, the page last), and
    /// removes pictures an earlier report left there that this one does not show.
    public func write(to out: URL, pictures source: Pictures = CurationReport.folderPictures) throws {
        let folder = out.appendingPathComponent(Self.picturesFolderName)
        let shown = shownIDs.compactMap { records[$0] }
        let images = source(shown)
        var pictures: [String: Result<String, Error>] = [:]
        for (i, record) in shown.enumerated() {
            let id = record.id
            let name = String(format: "%03d-", i) + HTML.fileName(for: id) + ".jpg"
            do {
                guard let image = images[id] else { throw CurationError(path: record.path, reason: "no picture was made") }
                let data = try JPEG.encode(try image.get(), quality: 85)
                try writeAtomically(data, to: folder.appendingPathComponent(name))
                pictures[id] = .success(Self.picturesFolderName + "/" + name)
            } catch let error as FileWriteError {
                throw error
            } catch {
                pictures[id] = .failure(error)
            }
        }
        try writeAtomically(Data(html(pictures: pictures).utf8), to: out.appendingPathComponent(Self.fileName))
        let written = Set(pictures.values.compactMap { try? $0.get() }.map { URL(fileURLWithPath: $0).lastPathComponent })
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [] where !written.contains(name) {
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }

    /// The page; `pictures` maps an id to its picture's path relative to the page, or the error
    /// that kept it from being made.
    public func html(pictures: [String: Result<String, Error>] = [:]) -> String {
        let e = HTML.escaped
        var body = [
            "<h1>Curation report</h1>",
            "<ul>",
            "<li>source: \(source.rawValue)" + (description.map { ": " + e($0) } ?? "") + "</li>",
            "<li>\(itemCount) item(s): <strong>\(keptCount) kept</strong>, \(droppedCount) dropped"
                + (unscoredCount > 0 ? " (\(unscoredCount) of them because they could not be scored)" : "") + "</li>",
            "<li>stages run in order on what the earlier ones kept; each dropped item counts at the first stage that dropped it "
                + "(<code>dropped.tsv</code>); the configuration with the resolved thresholds: <code>\(CurationRun.configurationFile)</code></li>",
        ]
        body.append("<li class=\"learned\">learned scores (CLIP similarity, aesthetics): " + (learnedScores.isEmpty
            ? "<strong>absent</strong>: no weights given, so none was computed and no stage used one"
            : "computed: " + learnedScores.map { "<code>\(e($0))</code>" }.joined(separator: ", ")) + "</li>")
        for absent in absentEverywhere {
            body.append("<li class=\"absent\" data-score=\"\(e(absent.name))\"><code>\(e(absent.name))</code> <strong>absent</strong> "
                + "from every item: \(e(absent.reason))</li>")
        }
        body += ["</ul>", "<h2>Stages</h2>", "<table class=\"stages\">",
                 "<tr><th>stage</th><th>score</th><th>keeps</th><th>threshold</th><th>reached</th><th>dropped</th><th>remained</th></tr>"]
        for s in stages {
            body.append("<tr data-stage=\"\(e(s.stage.name))\"><td><a href=\"#stage-\(e(HTML.fileName(for: s.stage.name)))\">\(e(s.stage.name))</a></td>"
                + "<td>\(e(scoreLabel(s)))</td><td>\(e(keepLabel(s)))</td><td>\(e(thresholdLabel(s)))</td>"
                + "<td>\(s.reached)</td><td>\(s.dropped)</td><td>\(s.remained)</td></tr>")
        }
        if unscoredCount > 0 {
            body.append("<tr data-stage=\"\(Cascade.unscoredStage)\"><td>\(Cascade.unscoredStage)</td><td colspan=\"3\">could not be scored</td>"
                + "<td>\(unscoredCount + keptCount)</td><td>\(unscoredCount)</td><td>\(keptCount)</td></tr>")
        }
        body.append("</table>")
        for (k, s) in stages.enumerated() { body += stageSection(k + 1, s, pictures: pictures) }
        return HTML.page(title: "Curation report", style: Self.style, body: body)
    }

    static let style = [
        ".stage{background:#fff;border:1px solid #ddd;padding:12px;margin:16px 0}",
        ".sheet{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 10px}",
        "figure{margin:0;width:132px;font-size:11px;color:#333}figure img{display:block;max-width:128px;max-height:128px;border:1px solid #ddd}",
        ".nopicture{width:128px;height:64px;border:1px dashed #bbb;color:#a00;overflow:hidden;font-size:10px}",
        "figcaption{overflow-wrap:anywhere}.skipped{color:#a00}",
        ".stages td:nth-child(-n+4),.stages th:nth-child(-n+4){text-align:left}",
    ]

    func scoreLabel(_ s: StageSummary) -> String {
        s.stage.kind == .nearDuplicates ? "canonical-view pHash" : (s.stage.score ?? "")
    }

    func keepLabel(_ s: StageSummary) -> String {
        switch s.stage.kind {
        case .nearDuplicates: return "one per cluster"
        case .threshold: return s.stage.keep == .below ? "score ≤ threshold" : "score ≥ threshold"
        }
    }

    func thresholdLabel(_ s: StageSummary) -> String {
        if let skipped = s.stage.skipped { return "skipped: " + skipped }
        if s.stage.kind == .nearDuplicates { return "Hamming distance ≤ \(s.stage.maxHamming ?? 0)" }
        guard let t = s.stage.resolvedThreshold else { return "–" }
        return s.stage.percentile == nil ? compactNumber(t) : "\(compactNumber(t)) (\(s.thresholdDescription ?? ""))"
    }

    func stageSection(_ number: Int, _ s: StageSummary, pictures: [String: Result<String, Error>]) -> [String] {
        let e = HTML.escaped
        let name = s.stage.name
        var out = [
            "<section class=\"stage\" id=\"stage-\(e(HTML.fileName(for: name)))\" data-stage=\"\(e(name))\" "
                + "data-reached=\"\(s.reached)\" data-dropped=\"\(s.dropped)\" data-remained=\"\(s.remained)\">",
            "<h3>\(number). \(e(name))</h3>",
        ]
        if let why = s.stage.why { out.append("<p>\(e(why))</p>") }
        out.append("<p>reached \(s.reached), <strong>dropped \(s.dropped)</strong>, remained \(s.remained)</p>")
        if let skipped = s.stage.skipped {
            out.append("<p class=\"skipped\">score <code>\(e(s.stage.score ?? ""))</code> <strong>absent</strong>, stage skipped: \(e(skipped))</p>")
            out.append("</section>")
            return out
        }
        switch s.stage.kind {
        case .nearDuplicates:
            if s.stage.why == nil {
                out.append("<p>canonical views (view 0) linked when their 64-bit pHashes differ in at most \(s.stage.maxHamming ?? 0) bits; "
                    + "the first id of each cluster is kept</p>")
            }
            if s.duplicates.isEmpty { out.append("<p>no near-duplicates</p>") }
            for d in s.duplicates {
                out.append("<div class=\"label\">\(e(d.reason ?? ""))</div><div class=\"sheet duplicates\">")
                out.append(figure(d.id, caption: "dropped", side: "dropped", value: nil, pictures: pictures))
                if let keeper = d.keeper { out.append(figure(keeper, caption: "kept", side: "kept", value: nil, pictures: pictures)) }
                out.append("</div>")
            }
        case .threshold:
            let score = s.stage.score ?? ""
            let t = s.stage.resolvedThreshold
            out.append("<p>score <code>\(e(score))</code>, keeps \(e(keepLabel(s))), threshold \(e(thresholdLabel(s)))"
                + (s.missingScore > 0 ? "; \(s.missingScore) item(s) reaching it without the score were "
                    + ((s.stage.missing ?? .drop) == .drop ? "dropped" : "passed on") : "") + "</p>")
            var series = [Histogram.Series(label: "reaching this stage (\(s.reachingValues.count))", values: s.reachingValues, colour: "#1f77b4")]
            if s.corpusValues.count != s.reachingValues.count {
                series.insert(Histogram.Series(label: "every scored item (\(s.corpusValues.count))", values: s.corpusValues, colour: "#bbbbbb"), at: 0)
            }
            out.append("<div class=\"plot\" data-score=\"\(e(score))\">"
                + Histogram(series: series, marker: t, markerLabel: "threshold", axisLabel: score).svg() + "</div>")
            let sides: [(String, [Example], Bool)] = [("above", s.above, s.aboveIsKept), ("below", s.below, !s.aboveIsKept)]
            for (side, examples, kept) in sides {
                out.append("<div class=\"label\">just \(side) the threshold (\(kept ? "kept" : "dropped")), nearest first</div>")
                out.append("<div class=\"sheet\" data-side=\"\(side)\">")
                out += examples.map { ex in
                    figure(ex.id, caption: ex.value.map { "\(score) = \(compactNumber($0))" } ?? "", side: side, value: ex.value, pictures: pictures)
                }
                if examples.isEmpty { out.append("<p>none</p>") }
                out.append("</div>")
            }
        }
        out.append("</section>")
        return out
    }

    func figure(_ id: String, caption: String, side: String, value: Double?, pictures: [String: Result<String, Error>]) -> String {
        let e = HTML.escaped
        let picture: String
        switch pictures[id] {
        case .success(let path)?: picture = "<img src=\"\(e(path))\" alt=\"\(e(id))\">"
        case .failure(let error)?:
            // The reason in the box, the whole message (with the path) on hover.
            let reason = (error as? CurationError)?.reason ?? "\(error)"
            picture = "<div class=\"nopicture\" title=\"\(e("\(error)"))\">no picture: \(e(reason))</div>"
        case nil: picture = "<div class=\"nopicture\">no picture</div>"
        }
        let data = value.map { " data-value=\"\($0)\"" } ?? ""
        return "<figure class=\"example\" data-id=\"\(e(id))\" data-side=\"\(side)\"\(data)>\(picture)"
            + "<figcaption>\(e(id))<br>\(e(caption))</figcaption></figure>"
    }
}
