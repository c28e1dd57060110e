// The OpenCLIP image tower and sgm's CLIP preprocessing against the reference (fixtures from
// Scripts/fixtures/make_vae_clip_fixtures.py: tiny open_clip VisionTransformer, width 64, 2 layers,
// 2 heads, patch 14 at 224 (257 tokens), projection to 32; kornia resize).
// Tolerances: submodules and the preprocessing within 1e-4 (rtol and atol); the whole tower within
// 1e-3 relative (atol 1e-3 · max|expected|, rtol 1e-3).

import Foundation
@testable import Models
import NN
import Tensor
import TestSupport
import XCTest

final class CLIPParityTests: XCTestCase, VAECLIPParityChecking {
    func fixture() throws -> Fixture { try VAECLIPFixtures.fixture("clip_vit") }
    func input() throws -> Tensor { try VAECLIPFixtures.fixture("clip_vit_input")["input"] }
    func preprocess() throws -> Fixture { try VAECLIPFixtures.fixture("clip_preprocess") }

    func loadedTower(_ config: VisionTransformerConfig = VAECLIPFixtures.tinyVisionTransformer,
                     _ fixture: Fixture? = nil) throws -> VisionTransformer {
        let vit = VisionTransformer(config: config)
        try vit.load(tensors(try fixture ?? self.fixture(), under: "weights."))
        return vit
    }

    func testSubmodulesMatchOpenCLIP() throws {
        let f = try fixture()
        let vit = try loadedTower()
        assertModuleClose(vit.embeddings(try input()), f["ln_pre.out"], "conv1 + class token + positions + ln_pre")
        assertSubmodule(f, "transformer.resblocks.0") { vit.blocks[0]($0) }
    }

    func testTowerMatchesOpenCLIP() throws {
        let vit = try loadedTower()
        assertClose(vit(try input()), try fixture()["output"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "VisionTransformer (GELU)")
    }

    func testQuickGELUTowerMatchesOpenCLIP() throws {
        var config = tinyVisionTransformer
        config.activation = .quickGELU
        let f = try VAECLIPFixtures.fixture("clip_vit_quickgelu")
        let vit = try loadedTower(config, f)
        assertClose(vit(try input()), f["output"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "VisionTransformer (QuickGELU)")
    }

    func testHeadWidth80TowerMatchesOpenCLIP() throws {
        let config = VisionTransformerConfig(imageSize: 28, patchSize: 7, width: 160, layerCount: 1, headCount: 2,
                                             mlpWidth: 160, outputWidth: 16)
        let f = try VAECLIPFixtures.fixture("clip_vit_head80")
        let vit = try loadedTower(config, f)
        assertClose(vit(f["input"]), f["output"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "VisionTransformer, heads of 80 (as ViT-H/14)")
    }

    func testResizeMatchesKornia() throws {
        let f = try preprocess()
        assertModuleClose(CLIPPreprocess.resizedLikeKornia(f["down.input"], height: 20, width: 24),
                          f["down.output"], "60x100 -> 20x24 (blur kernels 5 and 7)")
        assertModuleClose(CLIPPreprocess.resizedLikeKornia(f["down.input"], height: 50, width: 90),
                          f["mild.output"], "60x100 -> 50x90 (blur kernels 3)")
        assertModuleClose(CLIPPreprocess.resizedLikeKornia(f["up.input"], height: 20, width: 16),
                          f["up.output"], "9x7 -> 20x16 (no blur)")
    }

    func testPreprocessMatchesSGM() throws {
        let f = try preprocess()
        assertModuleClose(CLIPPreprocess.conditioningTransform(f["clip.input"]), f["clip.output"], "sgm preprocess 240x200 -> 224")
    }

    /// sgm's FrozenOpenCLIPImageEmbedder: preprocess then the tower, weights under the
    /// conditioner's relative keys (open_clip.model.visual.*).
    func testImageEmbedderMatchesSGM() throws {
        let embedder = OpenCLIPImageEmbedder(config: VAECLIPFixtures.tinyVisionTransformer)
        var weights: [String: Tensor] = [:]
        for (key, value) in tensors(try fixture(), under: "weights.") { weights["open_clip.model.visual." + key] = value }
        weights["open_clip.model.logit_scale"] = Tensor(zeros: [])
        try embedder.load(weights, ignoring: OpenCLIPImageEmbedder.unusedCheckpointKeys)
        let f = try preprocess()
        assertClose(embedder(f["clip.input"]), f["embedder.output"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "OpenCLIPImageEmbedder (240x200 image in [-1, 1])")
    }

    func testTorchAntialiasedResizeMatchesPyTorch() throws {
        let f = try VAECLIPFixtures.fixture("clip_eval_preprocess")
        assertModuleClose(CLIPPreprocess.resizedLikeTorchAntialiased(f["aa.input"], height: 11, width: 13),
                          f["aa.down"], "antialiased bicubic 30x41 -> 11x13")
        assertModuleClose(CLIPPreprocess.resizedLikeTorchAntialiased(f["aa.input"], height: 45, width: 50),
                          f["aa.up"], "antialiased bicubic 30x41 -> 45x50")
    }

    func testEvaluationTransformMatchesTorchvision() throws {
        let f = try VAECLIPFixtures.fixture("clip_eval_preprocess")
        assertModuleClose(CLIPPreprocess.evaluationTransform(f["eval.input"]), f["eval.output"],
                          "Resize(224) + CenterCrop(224) + Normalize of 260x230")
    }

    /// The presets equal the configs read from open_clip's model_configs JSON (vision_cfg as in
    /// open_clip 3.3; the text tower is irrelevant here and left out).
    func testPresetsMatchOpenCLIPModelConfigs() throws {
        let vitH = #"{"embed_dim": 1024, "vision_cfg": {"image_size": 224, "layers": 32, "width": 1280, "head_width": 80, "patch_size": 14}}"#
        let vitL = #"{"embed_dim": 768, "vision_cfg": {"image_size": 224, "layers": 24, "width": 1024, "patch_size": 14}}"#
        let vitB = #"{"embed_dim": 512, "quick_gelu": true, "vision_cfg": {"image_size": 224, "layers": 12, "width": 768, "patch_size": 32}}"#
        XCTAssertEqual(try VisionTransformerConfig(openCLIPModelConfig: Data(vitH.utf8)), .vitH14)
        XCTAssertEqual(try VisionTransformerConfig(openCLIPModelConfig: Data(vitL.utf8)), .vitL14)
        XCTAssertEqual(try VisionTransformerConfig(openCLIPModelConfig: Data(vitL.utf8), quickGELU: true), .vitL14OpenAI)
        XCTAssertEqual(try VisionTransformerConfig(openCLIPModelConfig: Data(vitB.utf8)), .vitB32OpenAI)
        let timm = #"{"embed_dim": 512, "vision_cfg": {"timm_model_name": "convnext_base"}}"#
        XCTAssertThrowsError(try VisionTransformerConfig(openCLIPModelConfig: Data(timm.utf8))) { error in
            XCTAssertEqual((error as? UnsupportedOpenCLIPConfig)?.reason, "timm tower convnext_base", "\(error)")
        }
        // Codable round trip of the Swift-named config.
        let encoded = try JSONEncoder().encode(VisionTransformerConfig.vitH14)
        XCTAssertEqual(try JSONDecoder().decode(VisionTransformerConfig.self, from: encoded), .vitH14)
        let vae = try JSONEncoder().encode(AutoencoderConfig.svdFirstStage)
        XCTAssertEqual(try JSONDecoder().decode(AutoencoderConfig.self, from: vae), .svdFirstStage)
    }

    func testStrictLoadingNamesTheKey() throws {
        let vit = VisionTransformer(config: tinyVisionTransformer)
        var weights = tensors(try fixture(), under: "weights.")
        weights["transformer.resblocks.1.attn.in_proj_bias"] = nil
        weights["proj"] = Tensor(zeros: [32, 64])
        weights["text_projection"] = Tensor(zeros: [64, 32])
        XCTAssertThrowsError(try vit.load(weights)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("missing key transformer.resblocks.1.attn.in_proj_bias"), text)
            XCTAssertTrue(text.contains("shape mismatch for proj: checkpoint [32, 64], model [64, 32]"), text)
            XCTAssertTrue(text.contains("unexpected key text_projection"), text)
        }
    }
}
