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

/// The tiny config of the fixtures.
let tinyVAE = AutoencoderConfig(baseChannels: 32, channelMultipliers: [2, 1], resBlockCount: 1,
                                attentionResolutions: [8], resolution: 16, hasQuantConvs: true)

func modelsFixture(_ name: String) -> Fixture {
    let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent(name + ".safetensors")
    do { return try Fixture(url) } catch { fatalError("cannot read fixture \(name): \(error)") }
}

/// The fixture tensors under `prefix`, with the prefix removed.
func tensors(_ fixture: Fixture, under prefix: String) -> [String: Tensor] {
    var out: [String: Tensor] = [:]
    for (key, value) in fixture.tensors where key.hasPrefix(prefix) { out[String(key.dropFirst(prefix.count))] = value }
    return out
}

/// Whole-model check: |a − e| ≤ tol·max|e| + tol·|e|; prints the achieved max relative error.
func assertRelativeClose(_ actual: Tensor, _ expected: Tensor, _ tol: Float, _ label: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    let scale = expected.scalars.map(abs).max() ?? 1
    if actual.shape == expected.shape {
        let worst = zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0
        print("\(label): max |diff| \(worst), relative to max |expected| \(worst / scale)")
    }
    assertClose(actual, expected, rtol: tol, atol: tol * scale, label, file: file, line: line)
}

func assertModuleClose(_ actual: Tensor, _ expected: Tensor, _ label: String,
                       file: StaticString = #filePath, line: UInt = #line) {
    if actual.shape == expected.shape {
        print("\(label): max |diff| \(zip(actual.scalars, expected.scalars).map { abs($0 - $1) }.max() ?? 0)")
    }
    assertClose(actual, expected, rtol: 1e-4, atol: 1e-4, label, file: file, line: line)
}

final class VAEParityTests: XCTestCase {
    static let encoderFixture = modelsFixture("vae_encoder")
    static let decoderFixture = modelsFixture("vae_decoder")
    static let videoFixture = modelsFixture("vae_video_decoder")

    func loadedAutoencoder() throws -> AutoencoderKL {
        let model = AutoencoderKL(config: tinyVAE)
        let weights = tensors(Self.encoderFixture, under: "weights.")
            .merging(tensors(Self.decoderFixture, under: "weights.")) { a, _ in a }
        try model.load(weights)
        return model
    }

    func testEncoderSubmodulesMatchSGM() throws {
        let f = Self.encoderFixture
        let encoder = try loadedAutoencoder().encoder
        let blocks = encoder.levels
        assertModuleClose(blocks[0].blocks[0](f["encoder.down.0.block.0.in"]), f["encoder.down.0.block.0.out"], "down.0.block.0")
        assertModuleClose(blocks[0].downsample!(f["encoder.down.0.downsample.in"]), f["encoder.down.0.downsample.out"], "down.0.downsample")
        assertModuleClose(blocks[1].blocks[0](f["encoder.down.1.block.0.in"]), f["encoder.down.1.block.0.out"], "down.1.block.0 (nin_shortcut)")
        assertModuleClose(blocks[1].attentions[0](f["encoder.down.1.attn.0.in"]), f["encoder.down.1.attn.0.out"], "down.1.attn.0")
        assertModuleClose(encoder.mid.block1(f["encoder.mid.block_1.in"]), f["encoder.mid.block_1.out"], "mid.block_1")
        assertModuleClose(encoder.mid.attention(f["encoder.mid.attn_1.in"]), f["encoder.mid.attn_1.out"], "mid.attn_1")
    }

    func testEncodeMatchesSGM() throws {
        let f = Self.encoderFixture
        let model = try loadedAutoencoder()
        assertRelativeClose(model.encoder(f["input"]), f["output"], 1e-3, "Encoder")
        let posterior = model.encode(f["input"])
        assertRelativeClose(posterior.mean, f["mean"], 1e-3, "posterior mean")
        assertRelativeClose(posterior.logVariance, f["logvar"], 1e-3, "posterior logvar")
        assertRelativeClose(posterior.sample(seed: 42), f["sample_seed42"], 1e-3, "posterior sample (seed 42)")
    }

    func testDecoderSubmodulesMatchSGM() throws {
        let f = Self.decoderFixture
        let decoder = try loadedAutoencoder().decoder
        assertModuleClose(decoder.levels[1].attentions[1](f["decoder.up.1.attn.1.in"]), f["decoder.up.1.attn.1.out"], "up.1.attn.1")
        assertModuleClose(decoder.levels[1].upsample!(f["decoder.up.1.upsample.in"]), f["decoder.up.1.upsample.out"], "up.1.upsample")
        assertModuleClose(decoder.levels[0].blocks[0](f["decoder.up.0.block.0.in"]), f["decoder.up.0.block.0.out"], "up.0.block.0 (nin_shortcut)")
    }

    func testDecodeMatchesSGM() throws {
        let f = Self.decoderFixture
        let model = try loadedAutoencoder()
        assertRelativeClose(model.decoder(f["input"]), f["output"], 1e-3, "Decoder")
        assertRelativeClose(model.decode(f["input"]), f["output_with_post_quant_conv"], 1e-3, "post_quant_conv + Decoder")
        // decode_first_stage divides by the scale factor first.
        let scaled = f["input"] * tinyVAE.scaleFactor
        assertRelativeClose(model.decodeFirstStage(scaled, chunkSize: 1), f["output_with_post_quant_conv"], 1e-3,
                            "decodeFirstStage, chunks of 1")
    }

    func videoDecoder() throws -> VAEDecoder {
        var config = tinyVAE
        config.video = VideoDecoderConfig()
        config.hasQuantConvs = false
        let decoder = VAEDecoder(config: config)
        try decoder.load(tensors(Self.videoFixture, under: "weights.decoder."))
        return decoder
    }

    func testVideoDecoderSubmodulesMatchSGM() throws {
        let f = Self.videoFixture
        let decoder = try videoDecoder()
        assertModuleClose(decoder.mid.block1(f["decoder.mid.block_1.in"], frameCount: 3), f["decoder.mid.block_1.out"], "mid.block_1 (VideoResBlock)")
        assertModuleClose(decoder.levels[1].blocks[1](f["decoder.up.1.block.1.in"], frameCount: 3), f["decoder.up.1.block.1.out"], "up.1.block.1 (VideoResBlock)")
    }

    func testVideoDecoderMatchesSGM() throws {
        let f = Self.videoFixture
        let decoder = try videoDecoder()
        // The widening VideoResBlock and AE3DConv (conv_out + time_mix_conv) are checked through
        // the whole output (their activations would not fit the fixture size budget).
        assertRelativeClose(decoder(f["input"], frameCount: 3), f["output"], 1e-3, "VideoDecoder, 2 videos of 3 frames")
    }

    func testVideoDecodeFirstStageChunksLikeSGM() throws {
        let f = Self.videoFixture
        var config = tinyVAE
        config.video = VideoDecoderConfig()
        config.hasQuantConvs = false
        let model = AutoencoderKL(config: config)
        let weights = tensors(Self.videoFixture, under: "weights.")
            .merging(tensors(Self.encoderFixture, under: "weights.encoder.").reduce(into: [:]) { $0["encoder." + $1.key] = $1.value }) { a, _ in a }
        try model.load(weights)
        let scaled = f["chunked_input"] * config.scaleFactor
        assertRelativeClose(model.decodeFirstStage(scaled, chunkSize: 2), f["chunked_output_chunk2"], 1e-3,
                            "5 frames decoded in chunks of 2")
    }

    func testStrictLoadingNamesTheKey() throws {
        let model = AutoencoderKL(config: tinyVAE)
        var weights = tensors(Self.encoderFixture, under: "weights.")
            .merging(tensors(Self.decoderFixture, under: "weights.")) { a, _ in a }
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
final class VAEWideAttentionTests: XCTestCase {
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
