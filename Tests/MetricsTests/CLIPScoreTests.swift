// CLIP-S against open_clip (fixture from Scripts/fixtures/make_clip_score_fixtures.py, outputs
// only): the full-size ViT-B-32-quickgelu image tower with SeededWeights regenerated here, the
// evaluator's CLIP-S on two image pairs read from PNG files (one RGBA, composited on white; sizes
// 300x260 and 240x320 through open_clip's evaluation transform), and the weights-file loader.
// Tolerances: the tower's embeddings within 1e-4 (rtol, and atol 1e-4 · max|expected|; tighter
// than the 1e-3 of whole networks); CLIP-S values within 1e-5 absolute (a cosine of two such
// embeddings).

import Evaluation
import Foundation
import Imaging
import Metrics
@testable import Models
import NN
import Tensor
import TestSupport
import XCTest

final class CLIPScoreTests: XCTestCase {
    static func fixture() throws -> Fixture {
        try Fixture.cached(MetricsFixture.directory.appendingPathComponent("clip_score.safetensors"))
    }
    static let (weightSeed, inputSeed, imageSeed): (UInt64, UInt64, UInt64) = (3000, 3100, 3200)

    /// The fixture's tower: ViT-B-32-quickgelu with parameter i (keys sorted) drawn from seed 3000 + i
    /// (built once, by the first test that needs it).
    static func tower() throws -> VisionTransformer {
        if let cachedTower { return cachedTower }
        let vit = VisionTransformer(config: .vitB32OpenAI)
        var parameters: [(key: String, shape: [Int])] = []
        vit.visitParameters { key, t in parameters.append((key, t.shape)) }
        try vit.load(SeededWeights.generate(parameters.sorted { $0.key < $1.key }, seed: weightSeed))
        vit.frozen()
        cachedTower = vit
        return vit
    }
    private static var cachedTower: VisionTransformer?

    func testFullSizeViTB32TowerMatchesOpenCLIP() throws {
        var g = TorchGenerator(seed: Self.inputSeed)
        let input = (g.rand([2, 3, 224, 224]) - 0.5) * 4
        let tower = try Self.tower()
        let output = GradMode.withoutGradients { tower(input) }
        assertClose(output, try Self.fixture()["tower.output"], rtol: 1e-4, atol: 1e-4, atolScale: .maxAbsExpected,
                    "ViT-B-32-quickgelu, random weights, 2 images")
    }

    /// q(u) = round_half_even(255 u) / 255 of a seeded torch.rand draw [C, H, W], as 8-bit values.
    static func quantised(_ seed: UInt64, _ shape: [Int]) -> [UInt8] {
        var g = TorchGenerator(seed: seed)
        return g.rand(shape).scalars.map { UInt8(($0 * 255).rounded(.toNearestOrEven)) }
    }

    /// An interleaved image from planar 8-bit channels.
    static func image(planes: [UInt8], channels: Int, height: Int, width: Int) -> Image8 {
        var img = Image8(width: width, height: height, channels: channels)
        let plane = width * height
        for i in 0..<plane { for c in 0..<channels { img.pixels[i * channels + c] = planes[c * plane + i] } }
        return img
    }

    /// The fixture's two pairs written as PNGs: object "pairs", views 000 (unrelated 300x260 images)
    /// and 001 (240x320, generated = a copy with a grey block, RGBA).
    func writePairs(root: URL) throws -> (generated: URL, groundTruth: URL) {
        let gen = root.appendingPathComponent("gen/pairs"), gt = root.appendingPathComponent("gt/pairs")
        try FileManager.default.createDirectory(at: gen, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: gt, withIntermediateDirectories: true)
        let s = Self.imageSeed
        try PNG.write(Self.image(planes: Self.quantised(s, [3, 300, 260]), channels: 3, height: 300, width: 260),
                      to: gt.appendingPathComponent("000.png"))
        try PNG.write(Self.image(planes: Self.quantised(s + 1, [3, 300, 260]), channels: 3, height: 300, width: 260),
                      to: gen.appendingPathComponent("000.png"))
        var planes = Self.quantised(s + 2, [3, 240, 320])
        try PNG.write(Self.image(planes: planes, channels: 3, height: 240, width: 320), to: gt.appendingPathComponent("001.png"))
        for c in 0..<3 { for y in 60..<180 { for x in 100..<220 { planes[c * 240 * 320 + y * 320 + x] = 128 } } }
        planes += Self.quantised(s + 3, [1, 240, 320])
        try PNG.write(Self.image(planes: planes, channels: 4, height: 240, width: 320), to: gen.appendingPathComponent("001.png"))
        return (gen.deletingLastPathComponent(), gt.deletingLastPathComponent())
    }

    func testEvaluatorCLIPScoreMatchesOpenCLIPWithItsPreprocessing() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-clip-\(UUID())")
        defer { try? FileManager.default.removeItem(at: root) }
        let (gen, gt) = try writePairs(root: root)
        let scorer = CLIPScorer(tower: try Self.tower(), model: "ViT-B-32-quickgelu", weights: "seeded")
        let f = try Self.fixture()
        let views = try ["000.png", "001.png"].map { name in
            (try readView(gen.appendingPathComponent("pairs/\(name)")), try readView(gt.appendingPathComponent("pairs/\(name)")))
        }
        assertClose(scorer.embeddings(views.map(\.0)), f["embeddings.generated"], rtol: 1e-4, atol: 1e-4,
                    atolScale: .maxAbsExpected, "generated views")
        assertClose(scorer.embeddings(views.map(\.1)), f["embeddings.ground_truth"], rtol: 1e-4, atol: 1e-4,
                    atolScale: .maxAbsExpected, "ground-truth views")

        let evaluator = FolderEvaluator(options: EvaluationOptions(lpipsNet: .alex), lpips: randomLPIPS(.alex, seed: 5),
                                        clip: scorer)
        let report = try evaluator.evaluate(generated: gen, groundTruth: gt)
        let expected = f["clip_s"].scalars
        let got = report.objects[0].views.map { $0.scores.clipScore ?? .nan }
        XCTAssertEqual(got.count, 2)
        for (g, e) in zip(got, expected) { XCTAssertEqual(g, Double(e), accuracy: 1e-5, "CLIP-S per pair") }
        XCTAssertEqual(report.overall.clipScore ?? .nan, (got[0] + got[1]) / 2, accuracy: 1e-12)
        XCTAssertTrue(report.clip.computed)
        XCTAssertEqual(report.clip.preprocessing, CLIPScorer.preprocessing)
        // CLIP-S(x, x) = 1: the cosine of an embedding with itself.
        let same = try evaluator.evaluate(generated: gt, groundTruth: gt)
        XCTAssertEqual(same.overall.clipScore ?? .nan, 1, accuracy: 1e-6)
    }

    // MARK: weights files

    /// A small tower (width 64, patch 32, 64 px, 2 blocks, -> 16) with seeded weights under `prefix`.
    func writeTower(_ url: URL, prefix: String, extra: [String: Tensor] = [:], drop: String? = nil,
                    imageSize: Int = 64) throws -> [String: Tensor] {
        let config = VisionTransformerConfig(imageSize: imageSize, patchSize: 32, width: 64, layerCount: 2, headCount: 1,
                                             outputWidth: 16)
        var parameters: [(key: String, shape: [Int])] = []
        VisionTransformer(config: config).visitParameters { key, t in parameters.append((key, t.shape)) }
        let weights = SeededWeights.generate(parameters, seed: 9)
        var stored = extra
        for (key, value) in weights where key != drop { stored[prefix + key] = value }
        try SafeTensors.write(stored, to: url)
        return weights
    }

    func testLoaderReadsOpenCLIPKeysWithOrWithoutPrefixAndIgnoresTheTextTower() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-clipw-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = ["token_embedding.weight": Tensor(zeros: [10, 8]), "logit_scale": Tensor(zeros: []),
                    "transformer.resblocks.0.attn.in_proj_weight": Tensor(zeros: [24, 8])]
        let whole = dir.appendingPathComponent("whole.safetensors")
        let weights = try writeTower(whole, prefix: "visual.", extra: text)
        let loaded = try VisionTransformer.loadCLIPImageTower(from: whole, activation: .quickGELU)
        XCTAssertEqual(loaded.prefix, "visual.")
        XCTAssertEqual(loaded.ignoredKeyCount, 3)
        XCTAssertEqual(loaded.tower.config, VisionTransformerConfig(imageSize: 64, patchSize: 32, width: 64, layerCount: 2,
                                                                    headCount: 1, outputWidth: 16, activation: .quickGELU))
        var reference = VisionTransformer(config: loaded.tower.config)
        try reference.load(weights)
        var g = TorchGenerator(seed: 1)
        let x = g.rand([1, 3, 64, 64])
        XCTAssertEqual(loaded.tower(x).scalars, reference(x).scalars, "same weights, same embedding")

        let bare = dir.appendingPathComponent("bare.safetensors")
        _ = try writeTower(bare, prefix: "")
        let bareTower = try VisionTransformer.loadCLIPImageTower(from: bare, activation: .gelu)
        XCTAssertEqual(bareTower.prefix, "")
        XCTAssertEqual(bareTower.tower.config.activation, .gelu)
        reference = VisionTransformer(config: bareTower.tower.config)
        try reference.load(weights)
        XCTAssertEqual(bareTower.tower(x).scalars, reference(x).scalars)
    }

    func testArchitectureIsReadFromShapes() throws {
        var shapes: [String: [Int]] = [:]
        VisionTransformer(config: .vitL14, allocation: .placeholder).visitParameters { key, t in shapes[key] = t.shape }
        XCTAssertEqual(try VisionTransformerConfig.inferred(fromShapes: shapes, activation: .gelu, file: "f"), .vitL14)
        XCTAssertEqual(VisionTransformerConfig.vitL14OpenAI.openCLIPArchitectureName, "ViT-L-14-quickgelu")
        shapes = [:]
        VisionTransformer(config: .vitB32, allocation: .placeholder).visitParameters { key, t in shapes[key] = t.shape }
        XCTAssertEqual(try VisionTransformerConfig.inferred(fromShapes: shapes, activation: .quickGELU, file: "f"), .vitB32OpenAI)
        XCTAssertEqual(VisionTransformerConfig.vitB32.openCLIPArchitectureName, "ViT-B-32")
        shapes = [:]
        VisionTransformer(config: .vitH14, allocation: .placeholder).visitParameters { key, t in shapes[key] = t.shape }
        XCTAssertEqual(try VisionTransformerConfig.inferred(fromShapes: shapes, activation: .gelu, file: "f"), .vitH14)
    }

    func testBadWeightsFilesNameTheFileAndKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-clipbad-\(UUID())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func message(_ url: URL) -> String {
            do { _ = try VisionTransformer.loadCLIPImageTower(from: url, activation: .gelu); return "no error" } catch {
                return "\(error)"
            }
        }
        let missing = dir.appendingPathComponent("missing.safetensors")
        _ = try writeTower(missing, prefix: "visual.", drop: "transformer.resblocks.1.attn.in_proj_bias")
        var text = message(missing)
        XCTAssertTrue(text.contains(missing.path) && text.contains("missing key visual.transformer.resblocks.1.attn.in_proj_bias"), text)

        let noTower = dir.appendingPathComponent("text-only.safetensors")
        try SafeTensors.write(["token_embedding.weight": Tensor(zeros: [10, 8])], to: noTower)
        text = message(noTower)
        XCTAssertTrue(text.contains(noTower.path) && text.contains("visual.conv1.weight"), text)

        let garbage = dir.appendingPathComponent("garbage.safetensors")
        try Data("not safetensors".utf8).write(to: garbage)
        text = message(garbage)
        XCTAssertTrue(text.contains(garbage.path) && text.contains("not a readable safetensors file"), text)

        let badGrid = dir.appendingPathComponent("grid.safetensors")
        var weights = try writeTower(badGrid, prefix: "visual.")
        weights["positional_embedding"] = Tensor(zeros: [6, 64])
        try SafeTensors.write(weights.reduce(into: [:]) { $0["visual." + $1.key] = $1.value }, to: badGrid)
        text = message(badGrid)
        XCTAssertTrue(text.contains(badGrid.path) && text.contains("key positional_embedding"), text)
    }
}
