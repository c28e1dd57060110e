// `svdmv evaluate` end to end as a user runs it, on the test-corpus protocol
// (Evaluation/protocols/test-corpus.json): assimp's box and textured spider arranged in the GSO
// layout are rendered as ground truth by the evaluator; the "generated" views are the same meshes
// rendered by `svdmv render` 3 degrees higher. CLIP-S comes from a small random open_clip-keyed
// tower file. Checks the reports and their links, the render cache on a rerun, and that bad input
// (unknown protocol, bad CLIP weights, a missing view) fails with a message naming the culprit and
// writes no report.

import Foundation
import Models
import Tensor
import TestSupport
import XCTest

final class EvaluateCommandTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-evalcli-\(UUID())")
        try MeshCorpus.writeGSOLayout(at: root.appendingPathComponent("gso"))
        let renders = root.appendingPathComponent("renders")
        let (status, output) = try runSVDMV(["render", root.appendingPathComponent("gso").path, "--out", renders.path,
                                        "--views", "4", "--size", "64", "--elevation", "23", "--background", "white"])
        XCTAssertEqual(status, 0, output)
        for object in ["box", "spider"] {
            let dir = root.appendingPathComponent("gen/\(object)")
            try FileManager.default.createDirectory(at: dir.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.moveItem(at: renders.appendingPathComponent("\(object)__meshes__model.obj"), to: dir)
            // Without cameras.json the protocol's cameras (20 degrees) are used for the ground truth.
            try FileManager.default.removeItem(at: dir.appendingPathComponent("cameras.json"))
        }
    }

    override func tearDownWithError() throws { if let root { try? FileManager.default.removeItem(at: root) } }


    /// A ViT (width 64, patch 32, 64 px input, 2 blocks, -> 16) under open_clip's `visual.` keys,
    /// beside a text-tower key that the loader must ignore; the activation is stored as metadata,
    /// as Scripts/export-clip-weights.py does, so no --clip-activation is needed.
    func writeCLIPWeights() throws -> URL {
        let config = VisionTransformerConfig(imageSize: 64, patchSize: 32, width: 64, layerCount: 2, headCount: 1,
                                             outputWidth: 16)
        var parameters: [(key: String, shape: [Int])] = []
        VisionTransformer(config: config).visitParameters { key, t in parameters.append((key, t.shape)) }
        var stored = SeededWeights.generate(parameters, seed: 17).reduce(into: [:]) { $0["visual." + $1.key] = $1.value }
        stored["text_projection"] = Tensor(zeros: [8, 16])
        let url = root.appendingPathComponent("clip.safetensors")
        try SafeTensors.write(stored, metadata: ["svdmv_clip_activation": "gelu"], to: url)
        return url
    }

    var common: [String] {
        ["evaluate", "--protocol", "test-corpus", "--generated", root.appendingPathComponent("gen").path,
         "--ground-truth", root.appendingPathComponent("gso").path]
    }

    func testTestCorpusProtocolEndToEnd() throws {
        let out = root.appendingPathComponent("report")
        let weights = try writeCLIPWeights()
        var (status, output) = try runSVDMV(common + ["--out", out.path, "--clip-weights", weights.path])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("box: ground truth rendered, 4 views at 64x64 (cameras from protocol test-corpus)"), output)

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("metrics.json"))) as! [String: Any]
        XCTAssertEqual(json["protocolName"] as? String, "test-corpus")
        let objects = json["objects"] as! [[String: Any]]
        XCTAssertEqual(objects.map { $0["name"] as! String }, ["box", "spider"])
        for object in objects {
            let views = object["views"] as! [[String: Any]]
            XCTAssertEqual(views.map { $0["view"] as! Int }, [1, 2, 3], "input view 0 is not scored")
            for view in views {
                let scores = view["scores"] as! [String: Any]
                let psnr = (scores["psnr"] as! NSNumber).doubleValue, clip = (scores["clipScore"] as! NSNumber).doubleValue
                XCTAssertTrue(psnr > 12 && psnr < 60, "3 degrees apart: similar, not identical (\(psnr) dB)")
                XCTAssertTrue(clip > 0.5 && clip <= 1 + 1e-6, "CLIP-S \(clip)")
            }
        }
        let clip = json["clip"] as! [String: Any]
        XCTAssertEqual(clip["computed"] as? Bool, true)
        XCTAssertEqual(clip["model"] as? String, "ViT-64-32-64", "GELU from the file's metadata (no -quickgelu)")
        let render = try Data(contentsOf: out.appendingPathComponent("ground-truth-renders/spider/000.png"))
        XCTAssertGreaterThan(render.count, 100)

        // Every link of the page exists.
        let html = try String(contentsOf: out.appendingPathComponent("index.html"), encoding: .utf8)
        let links = try NSRegularExpression(pattern: #"src="([^"]*)""#)
            .matches(in: html, range: NSRange(html.startIndex..., in: html)).map { String(html[Range($0.range(at: 1), in: html)!]) }
        XCTAssertEqual(links.count, 4)
        for link in links { XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(link).path), link) }

        // A rerun without weights reuses the renders and says CLIP-S was not computed.
        (status, output) = try runSVDMV(common + ["--out", out.path], environment: ["SVDMV_CLIP_WEIGHTS": ""])
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("box: ground truth reused from cache"), output)
        XCTAssertTrue(output.contains("CLIP-S not computed"), output)
        let md = try String(contentsOf: out.appendingPathComponent("metrics.md"), encoding: .utf8)
        XCTAssertTrue(md.contains("**CLIP-S not computed**: no CLIP weights given"), md)
    }

    func testBadInputFailsNamingTheCulpritAndWritesNoReport() throws {
        let out = root.appendingPathComponent("report")
        var (status, output) = try runSVDMV(["evaluate", "--protocol", "gso-2030", "--generated", root.appendingPathComponent("gen").path,
                                        "--ground-truth", root.appendingPathComponent("gso").path, "--out", out.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("unknown protocol \"gso-2030\"; known: real-objects, svd-mv-gso, syncdreamer-gso, test-corpus"), output)

        let bad = root.appendingPathComponent("bad-clip.safetensors")
        try SafeTensors.write(["visual.conv1.weight": Tensor(zeros: [64, 3, 32, 32])], to: bad)
        (status, output) = try runSVDMV(common + ["--out", out.path, "--clip-weights", bad.path, "--clip-activation", "quickgelu"])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains(bad.path) && output.contains("key positional_embedding: missing"), output)

        (status, output) = try runSVDMV(common + ["--out", out.path, "--clip-weights", bad.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("--clip-activation is required"), output)

        try FileManager.default.removeItem(at: root.appendingPathComponent("gen/spider/002.png"))
        (status, output) = try runSVDMV(common + ["--out", out.path])
        XCTAssertNotEqual(status, 0)
        XCTAssertTrue(output.contains("missing generated view \(root.appendingPathComponent("gen/spider/002.png").path)"), output)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path), "no report, not even a render cache")
    }
}
