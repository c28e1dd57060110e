// Key/shape manifests of the full-size modules: every checkpoint key and shape of the SVD/SV3D VAE
// (Encoder, image Decoder, VideoDecoder, quant convs) and of the ViT-H/14, ViT-L/14 and ViT-B/32
// image towers, as written by Scripts/fixtures/make_vae_clip_fixtures.py from the reference modules
// built on PyTorch's meta device. The Swift models are built with `.placeholder` parameters, so no
// full-size weights are allocated (checked on the resident set size for ViT-H/14).

import Foundation
@testable import Models
import NN
import Tensor
import TestSupport
import XCTest

final class VAEManifestTests: XCTestCase, VAECLIPParityChecking {
    func vae() throws -> [String: [String: [Int]]] { try VAECLIPFixtures.manifest("vae_manifest.json") }
    func clip() throws -> [String: [String: [Int]]] { try VAECLIPFixtures.manifest("clip_manifest.json") }

    func testSVDFirstStageKeysAndShapes() throws {
        let encoder = VAEEncoder(config: .svdFirstStage, allocation: .placeholder)
        assertSameKeysAndShapes(shapes(of: encoder), try XCTUnwrap(vae()["encoder"], "vae_manifest.json: encoder"), "Encoder")
        XCTAssertEqual(encoder.parameterCount, 34_163_592)
        let videoDecoder = VAEDecoder(config: .svdFirstStage, allocation: .placeholder)
        assertSameKeysAndShapes(shapes(of: videoDecoder), try XCTUnwrap(vae()["video_decoder"], "vae_manifest.json: video_decoder"),
                                "VideoDecoder")
        XCTAssertEqual(videoDecoder.parameterCount, 63_579_183)
        let firstStage = AutoencoderKL(config: .svdFirstStage, allocation: .placeholder)
        XCTAssertEqual(firstStage.namedParameters().count, 106 + 266, "no quant convs in the first stage")
    }

    func testSV3DDecoderKeysAndShapes() throws {
        let decoder = VAEDecoder(config: .sv3dFirstStage, allocation: .placeholder)
        assertSameKeysAndShapes(shapes(of: decoder), try XCTUnwrap(vae()["decoder"], "vae_manifest.json: decoder"), "Decoder")
        XCTAssertEqual(decoder.parameterCount, 49_490_179)
    }

    func testConditioningEncoderKeysAndShapes() throws {
        let model = AutoencoderKL(config: .conditioningEncoder, allocation: .placeholder)
        var expected: [String: [Int]] = [:]
        for part in ["encoder", "decoder", "quant_conv", "post_quant_conv"] {
            for (key, shape) in try XCTUnwrap(vae()[part], "vae_manifest.json: \(part)") { expected[part + "." + key] = shape }
        }
        assertSameKeysAndShapes(shapes(of: model), expected, "AutoencoderKL (legacy, quant convs)")
    }

    func testVisionTowerKeysAndShapes() throws {
        let cases: [(String, VisionTransformerConfig)] = [
            ("ViT-H-14", .vitH14), ("ViT-L-14", .vitL14), ("ViT-B-32", .vitB32),
        ]
        for (name, config) in cases {
            let vit = VisionTransformer(config: config, allocation: .placeholder)
            assertSameKeysAndShapes(shapes(of: vit), try XCTUnwrap(clip()[name], "clip_manifest.json: \(name)"), name)
        }
    }

    func testViTH14IsBuiltWithoutAllocatingWeights() {
        let before = VAECLIPFixtures.residentBytes()
        let embedder = OpenCLIPImageEmbedder(config: .vitH14, allocation: .placeholder)
        XCTAssertEqual(embedder.visual.parameterCount, 632_076_800)
        let grown = VAECLIPFixtures.residentBytes() - before
        XCTAssertLessThan(grown, 64 << 20, "placeholders committed \(grown >> 20) MiB for 2.4 GiB of weights")
        let keys = shapes(of: embedder).keys
        XCTAssertEqual(keys.count, 392)
        XCTAssertTrue(keys.allSatisfy { $0.hasPrefix("open_clip.model.visual.") })
        XCTAssertTrue(keys.contains("open_clip.model.visual.transformer.resblocks.31.mlp.c_proj.weight"))
    }

    /// A placeholder-built model takes real weights through `load` and then runs normally.
    func testPlaceholderModelLoadsAndRuns() throws {
        let f = try VAEParityTests.encoderFixture()
        let model = AutoencoderKL(config: tinyAutoencoder, allocation: .placeholder)
        let weights = tensors(f, under: "weights.")
            .merging(tensors(try VAEParityTests.decoderFixture(), under: "weights.")) { a, _ in a }
        try model.load(weights)
        assertClose(model.encoder(f["input"]), f["output"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "Encoder built from placeholders")
    }
}
