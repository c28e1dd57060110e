// VideoUNet against sgm: key/shape manifests of the released networks (no weights allocated),
// the shape path against the built modules, tiny-network parity (whole UNet and single blocks) with
// weights loaded strictly under sgm keys, and a gradient smoke test.
// Fixtures: Scripts/fixtures/make_unet_fixtures.py.

import Foundation
import Models
import NN
import Tensor
import TestSupport
import XCTest

enum UNetFixtures {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    /// A JSON sidecar: {"parameters": [[key, shape], ...], "parameter_count": n, ...}.
    struct Manifest {
        let parameters: [(key: String, shape: [Int])]
        let parameterCount: Int
        let json: [String: Any]
    }

    static func manifest(_ name: String) throws -> Manifest {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let list = try XCTUnwrap(json["parameters"] as? [[Any]])
        let parameters = try list.map { pair -> (key: String, shape: [Int]) in
            (try XCTUnwrap(pair[0] as? String), try XCTUnwrap(pair[1] as? [Int]))
        }
        return Manifest(parameters: parameters, parameterCount: try XCTUnwrap(json["parameter_count"] as? Int),
                        json: json)
    }

    static func fixture(_ name: String) throws -> Fixture {
        try Fixture(directory.appendingPathComponent(name))
    }

    /// The seeded weights of the fixture (TestSupport.SeededWeights, the scripts' `init_rule`).
    static func generatedWeights(_ parameters: [(key: String, shape: [Int])], seed: UInt64) -> [String: Tensor] {
        SeededWeights.generate(parameters, seed: seed)
    }

    /// Tensors under `prefix.` with the prefix removed.
    static func subtree(_ tensors: [String: Tensor], _ prefix: String) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (k, v) in tensors where k.hasPrefix(prefix + ".") { out[String(k.dropFirst(prefix.count + 1))] = v }
        return out
    }
}

final class UNetManifestTests: XCTestCase {
    private func assertMatchesManifest(_ config: VideoUNetConfig, _ file: String,
                                       line: UInt = #line) throws {
        let manifest = try UNetFixtures.manifest(file)
        // the preset equals the sampling config's network_config read through the sgm-name mapping
        let sgm = try XCTUnwrap(manifest.json["network_config"] as? [String: Any])
        XCTAssertEqual(try VideoUNetConfig(sgmNetworkConfig: sgm), config, "\(file): preset", line: line)
        let ours = VideoUNet.parameterShapes(config)
        XCTAssertEqual(ours.count, manifest.parameters.count, "\(file): tensor count", line: line)
        let theirs = Dictionary(uniqueKeysWithValues: manifest.parameters.map { ($0.key, $0.shape) })
        let mine = Dictionary(uniqueKeysWithValues: ours.map { ($0.key, $0.shape) })
        let missing = manifest.parameters.map(\.key).filter { mine[$0] == nil }
        let unexpected = ours.map(\.key).filter { theirs[$0] == nil }
        let misShaped = ours.filter { theirs[$0.key] != nil && theirs[$0.key] != $0.shape }.map(\.key)
        XCTAssertEqual(missing, [], "\(file): keys we lack", line: line)
        XCTAssertEqual(unexpected, [], "\(file): keys sgm lacks", line: line)
        XCTAssertEqual(misShaped, [], "\(file): shapes differ", line: line)
        XCTAssertEqual(ours.map(\.key), manifest.parameters.map(\.key), "\(file): key order", line: line)
        XCTAssertEqual(VideoUNet.parameterCount(config), manifest.parameterCount, "\(file): count", line: line)
    }

    func testSVDKeysAndShapesMatchSGM() throws {
        try assertMatchesManifest(.svd, "unet_manifest_svd.json")
        XCTAssertEqual(VideoUNet.parameterCount(.svdXT), 1_524_623_082)
    }

    func testSV3DUKeysAndShapesMatchSGM() throws {
        try assertMatchesManifest(.sv3dU, "unet_manifest_sv3d_u.json")
    }

    func testSV3DPKeysAndShapesMatchSGM() throws {
        try assertMatchesManifest(.sv3dP, "unet_manifest_sv3d_p.json")
        XCTAssertEqual(VideoUNet.parameterCount(.sv3dP), 1_525_278_442)
        XCTAssertEqual(VideoUNet.parameterShapes(.sv3dP).count, 1428)
    }

    /// The non-allocating shape path lists exactly what the built modules visit (sgm's counts).
    func testShapePathMatchesBuiltModules() {
        let expected: [(String, VideoUNetConfig, Int)] = [
            ("A", .tinyA, 1_793_078), ("B", .tinyB, 2_056_083), ("C", .tinyC, 502_893),
            ("D", .tinyD, 10_088_470), ("SV3DP", .tinySV3DP, 2_207_635),
        ]
        for (name, config, count) in expected {
            let model = VideoUNet(config)
            let built = model.namedParameters().map { "\($0.key) \($0.value.shape)" }
            let listed = VideoUNet.parameterShapes(config).map { "\($0.key) \($0.shape)" }
            XCTAssertEqual(built, listed, "tiny \(name)")
            XCTAssertEqual(model.parameterCount, count, "tiny \(name)")
        }
    }

    /// Options this port does not implement are refused by name, never ignored.
    func testSGMConfigRefusesUnsupportedOptions() throws {
        let manifest = try UNetFixtures.manifest("unet_manifest_sv3d_p.json")
        let base = try XCTUnwrap(manifest.json["network_config"] as? [String: Any])
        let refused: [(String, Any)] = [("use_scale_shift_norm", true), ("resblock_updown", true),
                                        ("time_downup", true), ("use_linear_in_transformer", false),
                                        ("video_kernel_size", 3), ("merge_strategy", "blend"),
                                        ("num_classes", 10), ("time_context_dim", 64), ("some_new_option", 1)]
        for (key, value) in refused {
            var params = base
            params[key] = value
            XCTAssertThrowsError(try VideoUNetConfig(sgmNetworkConfig: params), key) { error in
                XCTAssertTrue("\(error)".contains(key), "\(error)")
            }
        }
    }

    func testConfigRoundTripsThroughJSON() throws {
        let data = try JSONEncoder().encode(VideoUNetConfig.sv3dP)
        XCTAssertEqual(try JSONDecoder().decode(VideoUNetConfig.self, from: data), .sv3dP)
        XCTAssertTrue(String(decoding: data, as: UTF8.self).contains("learned_with_images"))
    }
}

final class UNetParityTests: XCTestCase {
    /// Whole-UNet tolerance: |ours − sgm| ≤ 1e-3·|sgm| + 1e-4 elementwise (outputs are O(1)).
    static let unetRelative: Float = 1e-3, unetAbsolute: Float = 1e-4
    /// Single-block tolerance: 1e-4 relative, 1e-5 absolute.
    static let blockRelative: Float = 1e-4, blockAbsolute: Float = 1e-5

    struct Case {
        let model: VideoUNet
        let fixture: Fixture
        let frames: Int
        let weights: [String: Tensor]
    }

    /// The model is built from the fixture's sgm network_config (checked against `expected`).
    private func loadCase(_ name: String, _ expected: VideoUNetConfig? = nil) throws -> Case {
        let manifest = try UNetFixtures.manifest("unet_tiny_\(name).json")
        let config = try VideoUNetConfig(
            sgmNetworkConfig: try XCTUnwrap(manifest.json["network_config"] as? [String: Any]))
        if let expected { XCTAssertEqual(config, expected, "\(name): config from sgm names") }
        let seed = UInt64(try XCTUnwrap(manifest.json["weight_seed"] as? Int))
        let frames = try XCTUnwrap(manifest.json["frames"] as? Int)
        let weights = UNetFixtures.generatedWeights(manifest.parameters, seed: seed)
        let model = VideoUNet(config)
        try model.load(weights)  // strict: every sgm key used, every parameter found, shapes equal
        return Case(model: model, fixture: try UNetFixtures.fixture("unet_tiny_\(name).safetensors"),
                    frames: frames, weights: weights)
    }

    private func run(_ c: Case) -> Tensor {
        let f = c.fixture
        return GradMode.withoutGradients {
            c.model(f["x"], timesteps: f["timesteps"], context: f["context"], y: f["y"], frames: c.frames)
        }
    }

    func testTinyCMatchesSGM() throws {
        let c = try loadCase("c", .tinyC)
        assertClose(run(c), c.fixture["out"], rtol: Self.unetRelative, atol: Self.unetAbsolute, "tiny C UNet")
    }

    func testTinySV3DPMatchesSGM() throws {
        let c = try loadCase("sv3dp", .tinySV3DP)
        assertClose(run(c), c.fixture["out"], rtol: Self.unetRelative, atol: Self.unetAbsolute, "tiny SV3D_p UNet")
    }

    /// No spatial context for the temporal blocks (attn2 is a self-attention), merge "learned",
    /// extra_ff_mix_layer off (ff_in still built, as in sgm), transformer depth 2 (3 in the middle).
    func testVariantWithoutSpatialTimeContextMatchesSGM() throws {
        let c = try loadCase("c_variant1")
        XCTAssertEqual(c.model.config.transformerDepths, [2])
        XCTAssertEqual(c.model.config.middleTransformerDepth, 3)
        XCTAssertEqual(c.model.config.mergeStrategy, .learned)
        XCTAssertFalse(c.model.config.usesSpatialContextForTime)
        assertClose(run(c), c.fixture["out"], rtol: Self.unetRelative, atol: Self.unetAbsolute, "variant 1 UNet")
    }

    /// No temporal cross-attention, merge "fixed" (mix_factor a buffer), temporal kernel 5, frame
    /// sinusoid period 100.
    func testVariantWithFixedMergeAndWideTemporalKernelMatchesSGM() throws {
        let c = try loadCase("c_variant2")
        XCTAssertEqual(c.model.config.mergeStrategy, .fixed)
        XCTAssertEqual(c.model.config.temporalKernelSize, 5)
        XCTAssertFalse(c.model.config.hasTemporalCrossAttention)
        assertClose(run(c), c.fixture["out"], rtol: Self.unetRelative, atol: Self.unetAbsolute, "variant 2 UNet")
    }

    func testTinyAMatchesSGM() throws {
        let c = try loadCase("a", .tinyA)
        assertClose(run(c), c.fixture["out"], rtol: Self.unetRelative, atol: Self.unetAbsolute, "tiny A UNet")
    }

    /// input_blocks.1.0 (VideoResBlock), input_blocks.1.1 (SpatialVideoTransformer) and the middle
    /// block, each fed sgm's recorded input.
    func testSingleBlocksMatchSGM() throws {
        let cases: [(String, VideoUNetConfig?)] = [("c", .tinyC), ("a", .tinyA), ("sv3dp", .tinySV3DP),
                                                    ("c_variant1", nil), ("c_variant2", nil)]
        for (name, config) in cases {
            let c = try loadCase(name, config)
            let f = c.fixture
            let blocks = c.model.inputBlocks[1].layers
            guard case .resBlock(let resBlock) = blocks[0], case .transformer(let transformer) = blocks[1] else {
                return XCTFail("input_blocks.1 is not [VideoResBlock, SpatialVideoTransformer]")
            }
            GradMode.withoutGradients {
                let inputs = UNet.BlockInputs(embedding: f["input_blocks.1.0.emb"], context: f["context"],
                                              frames: c.frames)
                assertClose(resBlock(f["input_blocks.1.0.x"], inputs), f["input_blocks.1.0.out"],
                            rtol: Self.blockRelative, atol: Self.blockAbsolute, "\(name) input_blocks.1.0")
                assertClose(transformer(f["input_blocks.1.1.x"], inputs), f["input_blocks.1.1.out"],
                            rtol: Self.blockRelative, atol: Self.blockAbsolute, "\(name) input_blocks.1.1")
                let middleInputs = UNet.BlockInputs(embedding: f["middle_block.emb"], context: f["context"],
                                                    frames: c.frames)
                assertClose(c.model.middleBlock(f["middle_block.x"], middleInputs), f["middle_block.out"],
                            rtol: Self.blockRelative, atol: Self.blockAbsolute, "\(name) middle_block")
            }
        }
    }

    /// input_blocks.1 of the released networks at full width (320 channels, 5 heads of 64, context
    /// 1024) on a small latent: two videos of 3 frames, 6×6.
    func testRealWidthBlocksMatchSGM() throws {
        let manifest = try UNetFixtures.manifest("unet_block_sv3d.json")
        let weights = UNetFixtures.generatedWeights(manifest.parameters, seed: 5000)
        let resBlock = UNet.VideoResBlock(inChannels: 320, outChannels: 320, config: .sv3dP)
        let transformer = UNet.SpatialVideoTransformer(channels: 320, heads: 5, depth: 1, config: .sv3dP)
        try resBlock.load(UNetFixtures.subtree(weights, "res"))
        try transformer.load(UNetFixtures.subtree(weights, "attn"))
        let f = try UNetFixtures.fixture("unet_block_sv3d.safetensors")
        let inputs = UNet.BlockInputs(embedding: f["emb"], context: f["context"], frames: 3)
        GradMode.withoutGradients {
            assertClose(resBlock(f["x"], inputs), f["res.out"], rtol: Self.blockRelative,
                        atol: Self.blockAbsolute, "VideoResBlock 320")
            assertClose(transformer(f["res.out"], inputs), f["out"], rtol: Self.blockRelative,
                        atol: Self.blockAbsolute, "SpatialVideoTransformer 320")
        }
    }

    /// Frames flagged image-only take α = 1 in every blender (sgm learned_with_images).
    func testImageOnlyIndicatorMatchesSGM() throws {
        for (name, config) in [("c", VideoUNetConfig.tinyC), ("sv3dp", .tinySV3DP)] {
            let c = try loadCase(name, config)
            let f = c.fixture
            let out = GradMode.withoutGradients {
                c.model(f["x"], timesteps: f["timesteps"], context: f["context"], y: f["y"], frames: c.frames,
                        imageOnlyIndicator: f["image_only.indicator"])
            }
            assertClose(out, f["image_only.out"], rtol: Self.unetRelative, atol: Self.unetAbsolute,
                        "\(name) UNet with image-only frames")
        }
    }

    /// Gradients of loss = Σ out·gout for the input and for parameters of every kind (embeddings,
    /// convolutions, temporal convolutions, mix factors, attention, GroupNorm) against PyTorch.
    func testGradientsMatchSGM() throws {
        let c = try loadCase("c", .tinyC)
        let f = c.fixture
        c.model.trainable()
        defer { c.model.frozen() }
        let x = f["x"].requiringGrad("x")
        let out = c.model(x, timesteps: f["timesteps"], context: f["context"], y: f["y"], frames: c.frames)
        (out * f["grad.gout"]).sum().backward()
        let params = Dictionary(uniqueKeysWithValues: c.model.namedParameters().map { ($0.key, $0.value) })
        let checked = f.tensors.keys.filter { $0.hasPrefix("grad.") && $0 != "grad.gout" }.sorted()
        XCTAssertEqual(checked.count, 12)
        for key in checked {
            let name = String(key.dropFirst("grad.".count))
            let grad = name == "x" ? x.grad : params[name]?.grad
            let expected = f[key]
            // gradients are sums over many rows: compare at the UNet tolerance scaled by their size
            assertClose(try XCTUnwrap(grad, name), expected, rtol: Self.unetRelative,
                        atol: Self.unetRelative, atolScale: .maxAbsExpected, "gradient of \(name)")
        }
    }

    /// All-zero image_only_indicator is what nil means.
    func testZeroImageOnlyIndicatorEqualsNil() throws {
        let c = try loadCase("c", .tinyC)
        let f = c.fixture
        let zeros = Tensor(zeros: [f["x"].shape[0] / c.frames, c.frames])
        let out = GradMode.withoutGradients {
            c.model(f["x"], timesteps: f["timesteps"], context: f["context"], y: f["y"], frames: c.frames,
                    imageOnlyIndicator: zeros)
        }
        assertClose(out, run(c), rtol: 0, atol: 0, "indicator zeros vs nil")
    }

    /// A whole checkpoint: the UNet takes its `model.diffusion_model.` tensors and ignores the rest.
    func testLoadsFromPrefixedCheckpoint() throws {
        let c = try loadCase("c", .tinyC)
        var checkpoint: [String: Tensor] = ["conditioner.embedders.0.open_clip.model.visual.proj": Tensor(zeros: [2, 2]),
                                            "first_stage_model.decoder.conv_in.weight": Tensor(zeros: [1])]
        for (k, v) in c.weights { checkpoint[VideoUNet.checkpointPrefix + k] = v }
        let model = VideoUNet(.tinyC)
        try model.load(checkpoint: checkpoint)
        let f = c.fixture
        let out = GradMode.withoutGradients {
            model(f["x"], timesteps: f["timesteps"], context: f["context"], y: f["y"], frames: c.frames)
        }
        assertClose(out, run(c), rtol: 0, atol: 0, "prefixed checkpoint")
        checkpoint[VideoUNet.checkpointPrefix + "out.2.bias"] = Tensor(zeros: [5])
        XCTAssertThrowsError(try VideoUNet(.tinyC).load(checkpoint: checkpoint)) { error in
            XCTAssertTrue("\(error)".contains("shape mismatch for out.2.bias"), "\(error)")
        }
    }

    /// Strict loading names what is wrong.
    func testLoadingRejectsMissingAndUnexpectedKeys() throws {
        let manifest = try UNetFixtures.manifest("unet_tiny_c.json")
        var weights = UNetFixtures.generatedWeights(manifest.parameters, seed: 1)
        weights["middle_block.1.time_mixer.mix_factor"] = nil
        weights["middle_block.1.time_mixer.extra"] = Tensor(zeros: [1])
        XCTAssertThrowsError(try VideoUNet(.tinyC).load(weights)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("missing key middle_block.1.time_mixer.mix_factor"), text)
            XCTAssertTrue(text.contains("unexpected key middle_block.1.time_mixer.extra"), text)
        }
    }

    /// Backward through the whole tiny UNet reaches every parameter with a finite gradient.
    func testGradientsReachEveryParameter() throws {
        let c = try loadCase("c", .tinyC)
        let f = c.fixture
        c.model.trainable()
        let out = c.model(f["x"], timesteps: f["timesteps"], context: f["context"], y: f["y"], frames: c.frames)
        (out * out).mean().backward()
        var missing: [String] = [], nonFinite: [String] = []
        c.model.visitParameters { key, p in
            guard let g = p.grad else { missing.append(key); return }
            if !g.scalars.allSatisfy(\.isFinite) { nonFinite.append(key) }
        }
        XCTAssertEqual(missing, [])
        XCTAssertEqual(nonFinite, [])
        c.model.frozen()
    }
}

/// y against sgm's GeneralConditioner with the real ConcatTimestepEmbedderND embedders of each
/// sampling config (inputs laid out as simple_video_sample.get_batch does).
final class UNetConditioningTests: XCTestCase {
    /// Absolute, on sinusoids in [-1, 1]. Arguments are float32 products value·frequency; for the
    /// motion bucket (127 rad) one ulp of the argument (or of PyTorch's float32 frequency) is 4e-6.
    static let tolerance: Float = 1e-5

    private func check(_ name: String, _ conditioner: VectorConditioner, _ values: [VectorConditioner.Input: [Float]],
                       line: UInt = #line) throws {
        let f = try UNetFixtures.fixture("unet_conditioning.safetensors")
        for embedder in conditioner.embedders {
            assertClose(values[embedder.input]!, f["\(name).input.\(embedder.input.rawValue)"].scalars,
                        rtol: 1e-7, atol: 0, "\(name) input \(embedder.input.rawValue)", line: line)
        }
        let y = try conditioner(values)
        assertClose(y, f["\(name).vector"], rtol: 0, atol: Self.tolerance, "\(name) y", line: line)
        let uc = try conditioner(values, zeroing: VectorConditioner.unconditionalZeroedInputs)
        assertClose(uc, f["\(name).uc_vector"], rtol: 0, atol: Self.tolerance, "\(name) uc y", line: line)
    }

    func testSV3DPVectorMatchesSGM() throws {
        // the script's default orbit: 21 frames at 10° elevation; two videos to check the tiling
        let camera = SV3DCamera(frames: 21, elevationDegrees: 10)
        XCTAssertEqual(camera.azimuthsRadians.last, 0)
        XCTAssertEqual(VectorConditioner.sv3dP.width, VideoUNetConfig.sv3dP.vectorWidth)
        try check("sv3d_p", .sv3dP, VectorConditioner.rows(videos: 2, frames: 21, conditioningAugmentation: 1e-5,
                                                           camera: camera))
    }

    func testSV3DUVectorMatchesSGM() throws {
        XCTAssertEqual(VectorConditioner.sv3dU.width, VideoUNetConfig.sv3dU.vectorWidth)
        try check("sv3d_u", .sv3dU, VectorConditioner.rows(videos: 1, frames: 21, conditioningAugmentation: 1e-5))
    }

    func testSVDVectorMatchesSGM() throws {
        XCTAssertEqual(VectorConditioner.svd.width, VideoUNetConfig.svd.vectorWidth)
        try check("svd", .svd, VectorConditioner.rows(videos: 1, frames: 14, fpsID: 6, motionBucketID: 127,
                                                     conditioningAugmentation: 0.02))
    }

    /// The tiny SV3D_p parity model was fed sgm's y for 5 frames at elevations 10, 5, 0, -5, 30.
    func testTinySV3DPFixtureUsesTheSameVector() throws {
        let camera = SV3DCamera(elevationsDegrees: [10, 5, 0, -5, 30])
        let y = try VectorConditioner.sv3dP(VectorConditioner.rows(videos: 2, frames: 5,
                                                                   conditioningAugmentation: 1e-5, camera: camera))
        assertClose(y, try UNetFixtures.fixture("unet_tiny_sv3dp.safetensors")["y"], rtol: 0,
                    atol: Self.tolerance, "tiny sv3d_p y")
    }

    func testUnconditionalZeroesImageConditioningOnly() {
        let c = UNetConditioning(crossAttention: Tensor.ones([2, 1, 8]), concat: Tensor.ones([2, 4, 2, 2]),
                                 vector: Tensor.ones([2, 16]))
        let uc = c.unconditional()
        XCTAssertEqual(uc.crossAttention.scalars, Array(repeating: 0, count: 16))
        XCTAssertEqual(uc.concat.scalars, Array(repeating: 0, count: 32))
        XCTAssertEqual(uc.vector.scalars, c.vector.scalars)
    }

    func testPerVideoEmbeddingsRepeatOverFrames() {
        let clip = Tensor(shape: [2, 1, 2], scalars: [1, 2, 3, 4])
        let latent = Tensor(shape: [2, 1, 1, 1], scalars: [5, 6])
        let c = UNetConditioning(clipEmbedding: clip, concatLatent: latent, vector: Tensor(zeros: [6, 3]), frames: 3)
        XCTAssertEqual(c.crossAttention.shape, [6, 1, 2])
        XCTAssertEqual(c.crossAttention.scalars, [1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4])
        XCTAssertEqual(c.concat.shape, [6, 1, 1, 1])
        XCTAssertEqual(c.concat.scalars, [5, 5, 5, 6, 6, 6])
    }

    func testMissingInputThrows() {
        XCTAssertThrowsError(try VectorConditioner.sv3dP([.conditioningAugmentation: [0]])) { error in
            guard case .missingInput(.polar)? = error as? VectorConditioner.Error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try VectorConditioner.sv3dP([.conditioningAugmentation: [0], .polar: [0, 1], .azimuth: [0]])) {
            guard case .rowCount(.polar, got: 2, expected: 1)? = $0 as? VectorConditioner.Error else { return XCTFail("\($0)") }
        }
    }
}

/// sgm AlphaBlender for each merge strategy, α pattern "b t -> b 1 t 1 1", mix_factor 0.7.
final class UNetBlenderTests: XCTestCase {
    func testStrategiesMatchSGM() throws {
        let f = try UNetFixtures.fixture("unet_blender.safetensors")
        let cases: [(String, UNet.MergeStrategy)] = [("fixed", .fixed), ("learned", .learned),
                                                ("learned_with_images", .learnedWithImages)]
        for (name, strategy) in cases {
            let blender = UNet.AlphaBlender(strategy: strategy, factor: 0.7)
            let indicator = f["indicator"]
            let alpha = blender.alpha(imageOnlyIndicator: indicator)
            let shaped = alpha.count == 1 ? alpha.reshaped([1, 1, 1, 1, 1])
                : alpha.reshaped([indicator.shape[0], 1, indicator.shape[1], 1, 1])
            assertClose(blender.blend(spatial: f["spatial"], temporal: f["temporal"], alpha: shaped),
                        f["\(name).out"], rtol: 1e-6, atol: 1e-6, name)
        }
    }
}
