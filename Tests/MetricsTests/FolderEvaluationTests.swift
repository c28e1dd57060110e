// The logic of `svdmv evaluate` (Evaluation.FolderEvaluator and the report files) on tiny generated
// folders: two objects of three 32x32 views, ground truth RGBA (composited on white), generated
// RGB. Scores must equal direct metric calls; bad input must throw errors naming the file.

import Evaluation
import Foundation
import Imaging
import Metrics
import Tensor
import XCTest

final class FolderEvaluationTests: XCTestCase {
    var root: URL!
    var gt: URL { root.appendingPathComponent("gt") }
    var gen: URL { root.appendingPathComponent("gen") }
    let lpips = randomLPIPS(.alex, seed: 21)
    var evaluator: FolderEvaluator { FolderEvaluator(options: EvaluationOptions(lpipsNet: .alex), lpips: lpips) }

    func image(_ seed: Int, channels: Int, size: Int = 32) -> Image8 {
        var img = Image8(width: size, height: size, channels: channels)
        for y in 0..<size {
            for x in 0..<size {
                for c in 0..<channels {
                    let alpha = c == 3
                    img[x, y, c] = alpha ? UInt8((x * 16 + y * 3 + seed) % 256)
                        : UInt8((x * (3 + c) + y * (5 + seed) + 40 * c + 7 * seed) % 256)
                }
            }
        }
        return img
    }

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-eval-\(UUID())")
        for (o, object) in ["chicken", "alarm"].enumerated() {
            for v in 0..<3 {
                let name = String(format: "%03d.png", v)
                let gtImage = image(o * 3 + v, channels: 4)
                var genImage = gtImage.rgb()
                for i in stride(from: 0, to: genImage.pixels.count, by: 7) { genImage.pixels[i] &+= UInt8(9 + v) }
                try FileManager.default.createDirectory(at: gt.appendingPathComponent(object), withIntermediateDirectories: true)
                try FileManager.default.createDirectory(at: gen.appendingPathComponent(object), withIntermediateDirectories: true)
                try PNG.write(gtImage, to: gt.appendingPathComponent(object).appendingPathComponent(name))
                try PNG.write(genImage, to: gen.appendingPathComponent(object).appendingPathComponent(name))
            }
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func testCompositesOnWhiteInFloatingPoint() {
        let img = Image8(width: 1, height: 1, channels: 4, pixels: [200, 100, 0, 128])
        let a: Float = 128 / 255
        let expected: [Float] = [200 / 255 * a + 1 - a, 100 / 255 * a + 1 - a, 1 - a]
        for (v, e) in zip(viewTensor(img).scalars, expected) { XCTAssertEqual(v, e, accuracy: 1e-6) }
        let gray = Image8(width: 1, height: 1, channels: 1, pixels: [51])
        XCTAssertEqual(viewTensor(gray).scalars, [0.2, 0.2, 0.2])
    }

    func testScoresEqualDirectMetricCallsAndMeansAreOverObjects() throws {
        let report = try evaluator.evaluate(generated: gen, groundTruth: gt)
        XCTAssertEqual(report.objects.map(\.name), ["alarm", "chicken"])
        XCTAssertEqual(report.objects.map { $0.views.map(\.view) }, [[0, 1, 2], [0, 1, 2]])
        for object in report.objects {
            for v in object.views {
                let g = try readView(gen.appendingPathComponent(object.name).appendingPathComponent(v.file))
                let t = try readView(gt.appendingPathComponent(object.name).appendingPathComponent(v.file))
                XCTAssertEqual(v.scores.psnr, psnr(g, t), accuracy: 1e-9)
                XCTAssertEqual(v.scores.ssim, ssim(g, t), accuracy: 1e-9)
                let d = lpips(g.reshaped([1, 3, 32, 32]) * 2 - 1, t.reshaped([1, 3, 32, 32]) * 2 - 1).item
                XCTAssertEqual(v.scores.lpips, Double(d), accuracy: 1e-7)
                XCTAssertGreaterThan(v.scores.psnr, 10)
                XCTAssertLessThan(v.scores.psnr, 60)
            }
            XCTAssertEqual(object.mean.psnr, object.views.map(\.scores.psnr).reduce(0, +) / 3, accuracy: 1e-9)
        }
        XCTAssertEqual(report.overall.lpips, (report.objects[0].mean.lpips + report.objects[1].mean.lpips) / 2,
                       accuracy: 1e-12)
        XCTAssertEqual(report.perView.map(\.view), [0, 1, 2])
        XCTAssertEqual(report.perView[1].mean.ssim,
                       (report.objects[0].views[1].scores.ssim + report.objects[1].views[1].scores.ssim) / 2,
                       accuracy: 1e-12)
    }

    func testExcludedInputViewIsSkippedEvenWhenAbsent() throws {
        try FileManager.default.removeItem(at: gen.appendingPathComponent("alarm/000.png"))
        let options = EvaluationOptions(excludedViews: [0], lpipsNet: .alex)
        let report = try FolderEvaluator(options: options, lpips: lpips).evaluate(generated: gen, groundTruth: gt)
        XCTAssertEqual(report.objects.map { $0.views.map(\.view) }, [[1, 2], [1, 2]])
    }

    func testReportFilesRoundTrip() throws {
        let report = try evaluator.evaluate(generated: gen, groundTruth: gt)
        let out = root.appendingPathComponent("report")
        let files = try report.write(to: out)
        XCTAssertEqual(files.map(\.lastPathComponent), ["metrics.json", "metrics.md", "index.html"])
        XCTAssertEqual(try EvaluationReport.decoded(from: Data(contentsOf: files[0])), report)
        let md = try String(contentsOf: files[1], encoding: .utf8)
        XCTAssertTrue(md.contains("| chicken | 3 |"), md)
        XCTAssertTrue(md.contains("LPIPS-alex"), md)
        let leftovers = try FileManager.default.subpathsOfDirectory(atPath: out.path).filter { $0.hasSuffix(".tmp") }
        XCTAssertEqual(leftovers, [])
    }

    /// Without CLIP weights every report says CLIP-S was not computed and why, and holds no value.
    func testReportsSayCLIPScoreWasNotComputedWithoutWeights() throws {
        let report = try evaluator.evaluate(generated: gen, groundTruth: gt)
        XCTAssertFalse(report.clip.computed)
        XCTAssertNil(report.overall.clipScore)
        XCTAssertTrue(report.objects.allSatisfy { $0.views.allSatisfy { $0.scores.clipScore == nil } })
        let out = root.appendingPathComponent("report")
        try report.write(to: out)
        let json = try String(contentsOf: out.appendingPathComponent("metrics.json"), encoding: .utf8)
        XCTAssertFalse(json.contains("clipScore"), "no CLIP-S value may be written")
        XCTAssertTrue(json.contains("\"computed\" : false") && json.contains("no CLIP weights given"), json)
        for file in ["metrics.md", "index.html"] {
            let text = try String(contentsOf: out.appendingPathComponent(file), encoding: .utf8)
            XCTAssertTrue(text.contains("CLIP-S not computed") && text.contains("no CLIP weights given"), file)
            XCTAssertFalse(text.contains("CLIP-S ↑"), "\(file) has no CLIP-S column")
        }
    }

    /// Every src/href of index.html names a file that exists in the report folder, and every
    /// object has its two strips, as wide as its scored views.
    func testHTMLLinksOnlyFilesThatExist() throws {
        let report = try evaluator.evaluate(generated: gen, groundTruth: gt)
        let out = root.appendingPathComponent("report")
        try report.write(to: out)
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        let regex = try NSRegularExpression(pattern: #"(?:src|href)="([^"]*)""#)
        let links = regex.matches(in: html, range: NSRange(html.startIndex..., in: html)).map { match in
            String(html[Range(match.range(at: 1), in: html)!])
        }
        XCTAssertEqual(links.count, 4, "two strips per object")
        for link in links {
            XCTAssertFalse(link.hasPrefix("/") || link.contains(".."), "relative link inside the report: \(link)")
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(link).path), "\(link) is missing")
        }
        let strip = try PNG.read(out.appendingPathComponent(EvaluationReport.stripPaths(object: "alarm").generated))
        XCTAssertEqual(strip.height, 32 + 2 * 2, "one 32-pixel row with 2-pixel spacing")
        XCTAssertEqual(strip.width, 3 * 32 + 4 * 2, "three views")
        XCTAssertTrue(html.contains("<h3>chicken</h3>") && html.contains("LPIPS-alex"))
    }

    /// A report that cannot be completed (a view vanished before the strips) writes nothing.
    func testFailedReportWritesNothing() throws {
        let report = try evaluator.evaluate(generated: gen, groundTruth: gt)
        try FileManager.default.removeItem(at: gen.appendingPathComponent("chicken/002.png"))
        let out = root.appendingPathComponent("report")
        XCTAssertThrowsError(try report.write(to: out)) { error in
            XCTAssertTrue("\(error)".contains(self.gen.appendingPathComponent("chicken/002.png").path), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }

    func testProtocolObjectListIsCheckedAndSelects() throws {
        let report = try evaluator.evaluate(generated: gen, groundTruth: gt, objects: ["chicken"])
        XCTAssertEqual(report.objects.map(\.name), ["chicken"])
        XCTAssertThrowsError(try evaluator.evaluate(generated: gen, groundTruth: gt, objects: ["chicken", "sofa"])) { error in
            XCTAssertEqual(error as? EvaluationError, .missingObjects(path: self.gt.path, names: ["sofa"]))
        }
    }

    func testIdenticalViewsGiveInfinitePSNRWrittenAsInf() throws {
        let report = try evaluator.evaluate(generated: gt, groundTruth: gt)
        XCTAssertEqual(report.overall.psnr, .infinity)
        XCTAssertEqual(report.overall.lpips, 0)
        XCTAssertTrue(String(decoding: try report.jsonData(), as: UTF8.self).contains("\"inf\""))
    }

    func assertThrows(_ expected: EvaluationError, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try evaluator.evaluate(generated: gen, groundTruth: gt), file: file, line: line) { error in
            XCTAssertEqual(error as? EvaluationError, expected, file: file, line: line)
        }
    }

    func testMissingGeneratedViewIsNamed() throws {
        try FileManager.default.removeItem(at: gen.appendingPathComponent("chicken/001.png"))
        assertThrows(.missingView(path: gen.appendingPathComponent("chicken/001.png").path,
                                  groundTruth: gt.appendingPathComponent("chicken/001.png").path))
    }

    func testMissingObjectFolderAndExtraViewAreNamed() throws {
        try PNG.write(image(0, channels: 3), to: gen.appendingPathComponent("alarm/003.png"))
        assertThrows(.extraView(path: gen.appendingPathComponent("alarm/003.png").path))
        try FileManager.default.removeItem(at: gen.appendingPathComponent("alarm"))
        assertThrows(.notAFolder(path: gen.appendingPathComponent("alarm").path))
    }

    func testSizeMismatchNamesBothFiles() throws {
        try PNG.write(image(0, channels: 3, size: 24), to: gen.appendingPathComponent("alarm/002.png"))
        assertThrows(.sizeMismatch(generated: gen.appendingPathComponent("alarm/002.png").path, generatedSize: "24x24",
                                   groundTruth: gt.appendingPathComponent("alarm/002.png").path, groundTruthSize: "32x32"))
    }

    func testUnreadableImageIsNamed() throws {
        let bad = gt.appendingPathComponent("alarm/001.png")
        try Data("not a png".utf8).write(to: bad)
        XCTAssertThrowsError(try evaluator.evaluate(generated: gen, groundTruth: gt)) { error in
            guard case .unreadableImage(let path, _)? = error as? EvaluationError else {
                return XCTFail("unexpected error \(error)")
            }
            XCTAssertEqual(path, bad.path)
            XCTAssertTrue("\(error)".contains(bad.path))
        }
    }
}
