// The KL autoencoder against generative-models' sgm modules (fixtures from
// Scripts/fixtures/make_vae_clip_fixtures.py: tiny config ch 32, ch_mult [2, 1], 1 block per
// level, attention at resolution 8, random non-trivial weights under the real keys).
// Tolerances: each submodule on its recorded input within 1e-4 (rtol and atol, activations are
// O(1)); a whole encoder/decoder within 1e-3 relative (atol 1e-3 · max|expected|, rtol 1e-3).

import Foundation
@testable import Models
import NN
import Tensor
import TestSupport
import XCTest

final class VAEParityTests: XCTestCase, VAECLIPParityChecking {
    static func encoderFixture() throws -> Fixture { try VAECLIPFixtures.fixture("vae_encoder") }
    static func decoderFixture() throws -> Fixture { try VAECLIPFixtures.fixture("vae_decoder") }
    static func videoFixture() throws -> Fixture { try VAECLIPFixtures.fixture("vae_video_decoder") }

    func loadedAutoencoder() throws -> AutoencoderKL {
        let model = AutoencoderKL(config: tinyAutoencoder)
        let weights = tensors(try Self.encoderFixture(), under: "weights.")
            .merging(tensors(try Self.decoderFixture(), under: "weights.")) { a, _ in a }
        try model.load(weights)
        return model
    }

    func testEncoderSubmodulesMatchSGM() throws {
        let f = try Self.encoderFixture()
        let encoder = try loadedAutoencoder().encoder
        let levels = encoder.levels
        assertSubmodule(f, "encoder.down.0.block.0") { levels[0].blocks[0]($0) }
        assertSubmodule(f, "encoder.down.0.downsample") { levels[0].downsample!($0) }
        assertSubmodule(f, "encoder.down.1.block.0") { levels[1].blocks[0]($0) }  // nin_shortcut
        assertSubmodule(f, "encoder.down.1.attn.0") { levels[1].attentions[0]($0) }
        assertSubmodule(f, "encoder.mid.block_1") { encoder.mid.block1($0) }
        assertSubmodule(f, "encoder.mid.attn_1") { encoder.mid.attention($0) }
    }

    func testEncodeMatchesSGM() throws {
        let f = try Self.encoderFixture()
        let model = try loadedAutoencoder()
        assertClose(model.encoder(f["input"]), f["output"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "Encoder")
        let posterior = model.encode(f["input"])
        assertClose(posterior.mean, f["mean"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "posterior mean")
        assertClose(posterior.logVariance, f["logvar"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "posterior logvar")
        assertClose(posterior.sample(seed: 42), f["sample_seed42"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "posterior sample (seed 42)")
        assertClose(model.encodeFirstStage(f["input"], seed: 42), f["sample_seed42"] * tinyAutoencoder.scaleFactor,
                    rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "encodeFirstStage (seed 42)")
    }

    func testDecoderSubmodulesMatchSGM() throws {
        let f = try Self.decoderFixture()
        let decoder = try loadedAutoencoder().decoder
        assertSubmodule(f, "decoder.up.1.attn.1") { decoder.levels[1].attentions[1]($0) }
        assertSubmodule(f, "decoder.up.1.upsample") { decoder.levels[1].upsample!($0) }
        assertSubmodule(f, "decoder.up.0.block.0") { decoder.levels[0].blocks[0]($0) }  // nin_shortcut
    }

    func testDecodeMatchesSGM() throws {
        let f = try Self.decoderFixture()
        let model = try loadedAutoencoder()
        assertClose(model.decoder(f["input"]), f["output"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "Decoder")
        assertClose(model.decode(f["input"]), f["output_with_post_quant_conv"],
                    rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "post_quant_conv + Decoder")
        // decode_first_stage divides by the scale factor first.
        let scaled = f["input"] * tinyAutoencoder.scaleFactor
        assertClose(model.decodeFirstStage(scaled, chunkSize: 1), f["output_with_post_quant_conv"],
                    rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "decodeFirstStage, chunks of 1")
    }

    func videoDecoder() throws -> VAEDecoder {
        var config = tinyAutoencoder
        config.video = VideoDecoderConfig()
        config.hasQuantConvs = false
        let decoder = VAEDecoder(config: config)
        try decoder.load(tensors(try Self.videoFixture(), under: "weights.decoder."))
        return decoder
    }

    func testVideoDecoderSubmodulesMatchSGM() throws {
        let f = try Self.videoFixture()
        let decoder = try videoDecoder()
        assertSubmodule(f, "decoder.mid.block_1") { decoder.mid.block1($0, frameCount: 3) }  // VideoResBlock
        assertSubmodule(f, "decoder.up.1.block.1") { decoder.levels[1].blocks[1]($0, frameCount: 3) }
    }

    func testVideoDecoderMatchesSGM() throws {
        let f = try Self.videoFixture()
        let decoder = try videoDecoder()
        // The widening VideoResBlock and AE3DConv (conv_out + time_mix_conv) are checked through
        // the whole output (their activations would not fit the fixture size budget).
        assertClose(decoder(f["input"], frameCount: 3), f["output"],
                    rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "VideoDecoder, 2 videos of 3 frames")
    }

    func testVideoDecodeFirstStageChunksLikeSGM() throws {
        let f = try Self.videoFixture()
        var config = tinyAutoencoder
        config.video = VideoDecoderConfig()
        config.hasQuantConvs = false
        let model = AutoencoderKL(config: config)
        var weights = tensors(try Self.videoFixture(), under: "weights.")
        for (key, value) in tensors(try Self.encoderFixture(), under: "weights.encoder.") {
            weights["encoder." + key] = value
        }
        try model.load(weights)
        let scaled = f["chunked_input"] * config.scaleFactor
        assertClose(model.decodeFirstStage(scaled, chunkSize: 2), f["chunked_output_chunk2"],
                    rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "5 frames decoded in chunks of 2")
    }

    func testStrictLoadingNamesTheKey() throws {
        let model = AutoencoderKL(config: tinyAutoencoder)
        var weights = tensors(try Self.encoderFixture(), under: "weights.")
            .merging(tensors(try Self.decoderFixture(), under: "weights.")) { a, _ in a }
        weights["decoder.up.1.attn.1.q.weight"] = nil
        weights["decoder.up.0.block.0.nin_shortcut.bias"] = Tensor(zeros: [3])
        weights["decoder.conv_out.time_mix_conv.weight"] = Tensor(zeros: [3, 3, 3, 1, 1])
        XCTAssertThrowsError(try model.load(weights)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("missing key decoder.up.1.attn.1.q.weight"), text)
            XCTAssertTrue(text.contains("shape mismatch for decoder.up.0.block.0.nin_shortcut.bias"), text)
            XCTAssertTrue(text.contains("unexpected key decoder.conv_out.time_mix_conv.weight"), text)
        }
    }
}

/// The mid-block attention at the real width (one head of 512 channels, as in every SVD/SV3D VAE)
/// against the same attention written out with matmul and softmax.
final class VAEWideAttentionTests: XCTestCase, VAECLIPParityChecking {
    func testAttentionAtWidth512MatchesWrittenOutAttention() throws {
        let c = 512, (h, w) = (6, 5)
        var rng = TorchGenerator(seed: 7)
        let block = VAEAttentionBlock(c, allocation: .zeros)
        var weights: [String: Tensor] = [:]
        for (key, shape) in block.namedParameters().map({ ($0.key, $0.value.shape) }) {
            let scale: Float = shape.count > 1 ? 1 / Float(c).squareRoot() : 0.3
            weights[key] = key.hasSuffix("norm.weight") ? rng.randn(shape) * 0.2 + 1 : rng.randn(shape) * scale
        }
        try block.load(weights)
        let x = rng.randn([2, c, h, w])
        let normed = x.groupNorm(groups: 32, weight: weights["norm.weight"], bias: weights["norm.bias"], eps: 1e-6)
        func project(_ name: String) -> Tensor {  // 1x1 conv as a matmul: [N, HW, C]
            let t = Tensor.conv2d(normed, weight: weights[name + ".weight"]!, bias: weights[name + ".bias"]!)
            return t.reshaped([2, c, h * w]).permuted([0, 2, 1])
        }
        let scores = Tensor.matmul(project("q"), project("k").transposed()) * (1 / Float(c).squareRoot())
        let attended = Tensor.matmul(scores.softmax(), project("v")).permuted([0, 2, 1]).reshaped([2, c, h, w])
        let expected = x + Tensor.conv2d(attended, weight: weights["proj_out.weight"]!, bias: weights["proj_out.bias"]!)
        assertModuleClose(block(x), expected, "AttnBlock, one head of 512")
    }
}
