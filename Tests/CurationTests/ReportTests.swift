// report.html of a small constructed run: thirteen hand-scored orbits through a cascade of an
// absolute stage, a percentile stage, a stage on a learned score nobody computed, a keep-below
// stage and near-duplicates. The page holds every stage with its counts, a histogram per score
// with the threshold marked, examples just above and just below each threshold on the right
// sides of it and nearest to it, the absent-score notes, and links only to pictures it wrote. The
// histogram's binning on its own.

import Cameras
@testable import Curation
import Foundation
import Imaging
import Reporting
import XCTest

final class ReportTests: XCTestCase {
    typealias Stage = CurationConfiguration.Stage

    /// o00...o11 with coverage_min 0.01 i, colour_std i, translucent_share for o06...o11, o06 and
    /// o07 sharing a pHash; "bad" could not be scored; o11's view is not an image.
    func constructedRun(_ root: URL) throws -> (records: [ScoreRecord], configuration: CurationConfiguration) {
        let translucent: [Int: Double] = [6: 0, 7: 0.25, 8: 0.5, 9: 0.75, 10: 0.9, 11: 1]
        var records: [ScoreRecord] = []
        for i in 0..<12 {
            let id = String(format: "o%02d", i), folder = root.appendingPathComponent(id)
            let shade = UInt8(15 * i)
            try writeOrbit(folder, id: id, views: [rgbaImage(width: 160, height: 160, colour: (shade, 90, 200 - shade)) { x, y in
                abs(x - 80) + abs(y - 80) < 20 + 4 * i
            }])
            var r = ScoreRecord(id: id, source: .renders, path: folder.path)
            r.set(ScoreName.coverageMin, 0.01 * Double(i))
            r.set(ScoreName.colourStd, Double(i))
            if let t = translucent[i] { r.set(ScoreName.translucentShare, t) }
            r.set("clip_similarity", nil, absentBecause: "no CLIP weights given")
            r.phash = PerceptualHash(bits: i == 7 ? (6 << 40 | 0xFFFF) ^ 0b11 : UInt64(i) << 40 | 0xFFFF).description
            records.append(r)
        }
        try Data("not a png".utf8).write(to: root.appendingPathComponent("o11/000.png"))
        var bad = ScoreRecord(id: "bad", source: .renders, path: root.appendingPathComponent("bad").path)
        bad.error = "bad/000.png: not a PNG"
        records.append(bad)
        let configuration = CurationConfiguration(source: .renders, stages: [
            Stage(name: "too-small", score: ScoreName.coverageMin, keep: .above, threshold: 0.035),
            Stage(name: "flat-colour", score: ScoreName.colourStd, keep: .above, percentile: 25),
            Stage(name: "clip", score: "clip_similarity", keep: .above, threshold: 0.2),
            Stage(name: "transparent", score: ScoreName.translucentShare, keep: .below, threshold: 0.5),
            Stage(nearDuplicatesNamed: "near-duplicates", maxHamming: 2),
        ])
        return (records, configuration)
    }

    /// The page's stage sections by stage name.
    func sections(_ html: String) -> [String: String] {
        var out: [String: String] = [:]
        for chunk in html.components(separatedBy: "<section class=\"stage\"").dropFirst() {
            let body = chunk.components(separatedBy: "</section>")[0]
            if let name = attribute("data-stage", in: body) { out[name] = body }
        }
        return out
    }

    func attribute(_ name: String, in text: String) -> String? {
        guard let range = text.range(of: " \(name)=\"") else { return nil }
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }

    /// Figures of one side of a section: (id, value).
    func examples(_ section: String, side: String) -> [(String, Double)] {
        section.components(separatedBy: "<figure ").dropFirst().filter { attribute("data-side", in: " " + $0) == side }.map {
            (attribute("data-id", in: " " + $0) ?? "", Double(attribute("data-value", in: " " + $0) ?? "") ?? .nan)
        }
    }

    func testReportOfAConstructedRun() throws {
        let work = try temporaryFolder("report")
        defer { try? FileManager.default.removeItem(at: work) }
        let (records, configuration) = try constructedRun(work.appendingPathComponent("renders"))
        let result = Cascade.apply(configuration, to: records)
        XCTAssertEqual(result.kept, ["o06", "o08"])
        let report = CurationReport(records: records, result: result, configuration: configuration, examplesPerSide: 3)
        let out = work.appendingPathComponent("out")
        try report.write(to: out)
        let html = try String(contentsOf: out.appendingPathComponent(CurationReport.fileName), encoding: .utf8)

        // Every stage with its counts: reached, dropped, remained.
        let expected: [(String, Int, Int)] = [("too-small", 13, 5), ("flat-colour", 8, 2), ("clip", 6, 0),
                                              ("transparent", 6, 3), ("near-duplicates", 3, 1)]
        XCTAssertEqual(report.stages.map { "\($0.stage.name) \($0.reached) \($0.dropped)" }, expected.map { "\($0.0) \($0.1) \($0.2)" })
        let byStage = sections(html)
        XCTAssertEqual(byStage.keys.sorted(), expected.map(\.0).sorted())
        for (name, reached, dropped) in expected {
            let s = try XCTUnwrap(byStage[name], name)
            XCTAssertEqual(attribute("data-reached", in: s), String(reached), name)
            XCTAssertEqual(attribute("data-dropped", in: s), String(dropped), name)
            XCTAssertEqual(attribute("data-remained", in: s), String(reached - dropped), name)
            XCTAssertEqual(result.stages.first { $0.name == name }?.dropped, dropped, name)
            XCTAssertTrue(html.contains("<tr data-stage=\"\(name)\">"), name)
        }
        XCTAssertTrue(html.contains("13 item(s): <strong>2 kept</strong>, 11 dropped"))

        // A histogram per score, the threshold marked at the value the stage resolved; the
        // percentile says so and gives that value.
        let thresholds = ["too-small": 0.035, "flat-colour": 5.75, "transparent": 0.5]
        for (name, t) in thresholds {
            let s = try XCTUnwrap(byStage[name])
            XCTAssertEqual(s.components(separatedBy: "<svg ").count - 1, 1, name)
            XCTAssertTrue(s.contains("class=\"histogram\""), name)
            XCTAssertEqual(Double(attribute("data-value", in: s.components(separatedBy: "class=\"threshold\"")[1]) ?? ""), t, name)
        }
        XCTAssertEqual(html.components(separatedBy: "<svg ").count - 1, 3)
        XCTAssertTrue(byStage["flat-colour"]!.contains("5.75 (percentile 25 of 8 items reaching this stage)"))
        XCTAssertTrue(byStage["flat-colour"]!.contains("every scored item (12)"), "the corpus beside the stage's own items")

        // Examples just above and just below, on the right sides, nearest first; kept or dropped
        // as the stage decided.
        let sides: [String: (above: [String], below: [String])] = [
            "too-small": (["o04", "o05", "o06"], ["o03", "o02", "o01"]),
            "flat-colour": (["o06", "o07", "o08"], ["o05", "o04"]),
            "transparent": (["o09", "o10", "o11"], ["o08", "o07", "o06"]),
        ]
        for (name, want) in sides {
            let s = byStage[name]!, t = thresholds[name]!
            let above = examples(s, side: "above"), below = examples(s, side: "below")
            XCTAssertEqual(above.map(\.0), want.above, name)
            XCTAssertEqual(below.map(\.0), want.below, name)
            let keepsBelow = name == "transparent"
            XCTAssertTrue(above.allSatisfy { keepsBelow ? $0.1 > t : $0.1 >= t }, "\(name): \(above)")
            XCTAssertTrue(below.allSatisfy { keepsBelow ? $0.1 <= t : $0.1 < t }, "\(name): \(below)")
            let dropped = Set(result.dropped.filter { $0.stage == name }.map(\.id))
            XCTAssertTrue((keepsBelow ? above : below).allSatisfy { dropped.contains($0.0) }, name)
            XCTAssertTrue((keepsBelow ? below : above).allSatisfy { !dropped.contains($0.0) }, name)
        }
        XCTAssertTrue(byStage["transparent"]!.contains("just above the threshold (dropped)"))
        XCTAssertEqual(report.stages[4].duplicates, [CurationReport.Example(id: "o07", value: nil, keeper: "o06",
            reason: "near-duplicate of o06 (pHash Hamming distance 2, linked at <= 2)")])

        // The learned score nobody computed is said to be absent, with the reason.
        let clip = byStage["clip"]!
        XCTAssertTrue(clip.contains("<strong>absent</strong>, stage skipped"), clip)
        XCTAssertTrue(clip.contains("no CLIP weights given"), clip)
        XCTAssertFalse(clip.contains("<svg"))
        XCTAssertTrue(html.contains("learned scores (CLIP similarity, aesthetics): <strong>absent</strong>: no weights given"))
        XCTAssertEqual(report.absentEverywhere, [.init(name: "clip_similarity", reason: "no CLIP weights given")])
        XCTAssertTrue(html.contains("<li class=\"absent\" data-score=\"clip_similarity\"><code>clip_similarity</code> <strong>absent</strong> from every item: no CLIP weights given</li>"))

        // Pictures: every link is a file written beside the page, a small JPEG; an unreadable view
        // is named instead of a picture.
        let links = html.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        XCTAssertFalse(links.isEmpty)
        for link in Set(links) {
            XCTAssertTrue(link.hasPrefix(CurationReport.picturesFolderName + "/"), link)
            let picture = try JPEG.read(out.appendingPathComponent(link))
            XCTAssertEqual(max(picture.width, picture.height), Thumbnail.side, link)
        }
        let o11 = try XCTUnwrap(byStage["transparent"]!.components(separatedBy: "<figure ").first { $0.contains("data-id=\"o11\"") })
        XCTAssertTrue(o11.contains("no picture:") && o11.contains("o11/000.png") && o11.contains("not a PNG"), o11)
        XCTAssertFalse(html.contains("<script"))

        // A rerun with fewer examples leaves only the pictures it shows.
        try CurationReport(records: records, result: result, configuration: configuration, examplesPerSide: 1).write(to: out)
        let html2 = try String(contentsOf: out.appendingPathComponent(CurationReport.fileName), encoding: .utf8)
        let links2 = Set(html2.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }).components(separatedBy: "/")[1] })
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent(CurationReport.picturesFolderName).path)), links2)
    }

    /// A capture's picture is its middle frame.
    func testCapturePictureIsTheMiddleFrame() throws {
        let work = try temporaryFolder("report-capture")
        defer { try? FileManager.default.removeItem(at: work) }
        let images = work.appendingPathComponent("7/a/images")
        try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
        for name in ["1.jpg", "2.jpg", "10.jpg"] { try Data().write(to: images.appendingPathComponent(name)) }
        let record = ScoreRecord(id: "7/a", source: .mvimgnet, path: work.appendingPathComponent("7/a").path)
        XCTAssertEqual(try CurationReport.pictureURL(record).lastPathComponent, "2.jpg")
    }

    func testHistogramBinsAndMarker() {
        // Whole numbers over a short range: one bin per value.
        let counts = Histogram(series: [.init(label: "n", values: [0, 1, 1, 3], colour: "#000")], marker: 2, axisLabel: "cuts")
        XCTAssertEqual(counts.bins().edges, [-0.5, 0.5, 1.5, 2.5, 3.5])
        XCTAssertEqual(counts.counts(counts.bins()), [[1, 2, 0, 1]])
        // Three decades or more of positive values: a log axis; the largest value in the last bin.
        let triangles = Histogram(series: [.init(label: "t", values: [12, 120, 1.2e5], colour: "#000")], marker: 100, axisLabel: "triangles")
        let bins = triangles.bins()
        XCTAssertTrue(bins.isLogarithmic)
        XCTAssertEqual(bins.index(1.2e5), bins.edges.count - 2)
        XCTAssertEqual(triangles.counts(bins)[0].reduce(0, +), 3)
        // One value: a range around it; the marker and the bars are drawn, nothing else.
        let one = Histogram(series: [.init(label: "x", values: [0.3], colour: "#000")], marker: 0.3, markerLabel: "threshold", axisLabel: "x & y")
        let svg = one.svg()
        XCTAssertTrue(svg.contains("class=\"threshold\" data-value=\"0.3\""), svg)
        XCTAssertTrue(svg.contains("threshold 0.3"), svg)
        XCTAssertTrue(svg.contains("x &amp; y"), svg)
        XCTAssertEqual(svg.components(separatedBy: "class=\"bar\"").count - 1, 1)
    }
}
