// The SV3D model container and sampler on a tiny random model: checkpoint round trip through the
// strict loader, determinism per seed, the input view as the last frame, clear load errors.
// (Parity of a whole sampling run with sgm is SV3DSamplingParityTests.)

import Foundation
import Generation
import Models
import NN
import Tensor
import TestSupport
import XCTest

final class StableVideoModelTests: XCTestCase {
    func temporaryFile(_ name: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("svdmv-\(UUID())-\(name)")
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    func testCheckpointRoundTripAndDeterministicOrbit() throws {
        let model = StableVideoModel(.tinySV3DP)
        model.initializeRandomly(seed: 1)
        let file = temporaryFile("tiny.safetensors")
        try model.save(to: file)
        let loaded = try StableVideoModel.load(file)
        XCTAssertEqual(loaded.config, .tinySV3DP)
        for ((k, a), (_, b)) in zip(model.namedParameters(), loaded.namedParameters()) {
            XCTAssertEqual(a.scalars, b.scalars, k)
        }
        var settings = StableVideoSamplingSettings()
        settings.frames = 5
        settings.steps = 2
        var g = TorchGenerator(seed: 3)
        let image = g.rand([1, 3, 64, 64]) * 2 - 1
        let a = StableVideoSampler(model: loaded, settings: settings).generate(image: image)
        let b = StableVideoSampler(model: loaded, settings: settings).generate(image: image)
        XCTAssertEqual(a.shape, [5, 3, 64, 64])
        XCTAssertEqual(a.scalars, b.scalars, "same seed, same orbit")
        // The last frame is the input view, mapped to [0, 1].
        XCTAssertEqual(a.sliced(axis: 0, 4..<5).scalars, ((image + 1) * 0.5).scalars)
        settings.seed = 24
        let c = StableVideoSampler(model: loaded, settings: settings).generate(image: image)
        XCTAssertNotEqual(c.sliced(axis: 0, 0..<1).scalars, a.sliced(axis: 0, 0..<1).scalars, "another seed, another orbit")
    }

    /// SDEdit sampling starts from the input's latent on every frame: from a σ_max this small the
    /// denoiser barely moves it, so every frame's latent is the input's (the default start,
    /// pure noise, lands elsewhere).
    func testStartingFromTheInputKeepsTheInputLatentAtSmallSigmaMax() throws {
        let model = StableVideoModel(.tinySV3DP)
        model.initializeRandomly(seed: 1)
        var g = TorchGenerator(seed: 3)
        let image = g.rand([1, 3, 64, 64]) * 2 - 1
        var settings = StableVideoSamplingSettings()
        settings.frames = 4
        settings.steps = 2
        settings.sigmaMax = 0.01
        settings.startsFromInput = true
        let latents = StableVideoSampler(model: model, settings: settings).sampleLatents(image: image)
        let inputLatent = GradMode.withoutGradients { model.conditioningEncoder.encode(image).mode * model.config.firstStage.scaleFactor }
        XCTAssertEqual(latents.shape[0], 4)
        for frame in 0..<4 {
            assertClose(latents.sliced(axis: 0, frame..<(frame + 1)), inputLatent, rtol: 0, atol: 0.05,
                        "frame \(frame) starts from the input and σ_max 0.01 barely moves it")
        }
        settings.startsFromInput = false
        let fromNoise = StableVideoSampler(model: model, settings: settings).sampleLatents(image: image)
        let gap = (fromNoise.sliced(axis: 0, 0..<1) - inputLatent).scalars.map(abs).max()!
        XCTAssertGreaterThan(gap, 0.5, "from pure noise at σ_max 0.01 the frames are noise, not the input")
    }

    /// An SVD-structured model (svd.yaml's parts at tiny widths: y = fps_id | motion_bucket_id |
    /// cond_aug, the conditioner's encoder at embedders.3, a temporal first-stage decoder): its
    /// checkpoint keys, strict loading, and a video (no frame replaced by the input) per seed.
    func testSVDCheckpointUsesItsOwnKeysAndSamplesVideos() throws {
        let tiny = StableVideoModelConfig.tinySV3DP
        var unet = VideoUNetConfig.tinySV3DP
        unet.vectorWidth = 768
        var firstStage = tiny.firstStage
        firstStage.video = VideoDecoderConfig()
        let config = StableVideoModelConfig(variant: .svd, unet: unet, clip: tiny.clip,
                                     conditioningEncoder: tiny.conditioningEncoder, firstStage: firstStage, imageSize: 32)
        let model = StableVideoModel(config)
        model.initializeRandomly(seed: 4)
        let keys = model.namedParameters().map(\.key)
        XCTAssertTrue(keys.contains("conditioner.embedders.3.encoder.quant_conv.weight"))
        XCTAssertFalse(keys.contains { $0.hasPrefix("conditioner.embedders.1.") }, "SVD's embedders.1 is the fps embedder, without weights")
        XCTAssertTrue(keys.contains { $0.hasPrefix("first_stage_model.decoder.") && $0.contains("time_mix") }, "temporal decoder")
        let file = temporaryFile("tiny-svd.safetensors")
        try model.save(to: file)
        let loaded = try StableVideoModel.load(file)
        XCTAssertEqual(loaded.config, config)
        XCTAssertEqual(loaded.namedParameters().map(\.value.scalars), model.namedParameters().map(\.value.scalars))

        // Strict: an SV3D-placed encoder is an unexpected key, and the SVD one is missing.
        var tensors: [String: Tensor] = [:]
        model.visitParameters { k, t in
            tensors[k.replacingOccurrences(of: "conditioner.embedders.3.", with: "conditioner.embedders.1.")] = t
        }
        let misplaced = temporaryFile("tiny-svd-misplaced.safetensors")
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        try SafeTensors.write(tensors, metadata: [StableVideoModelConfig.metadataKey: json], to: misplaced)
        XCTAssertThrowsError(try StableVideoModel.load(misplaced)) { error in
            XCTAssertTrue("\(error)".contains("missing key conditioner.embedders.3.encoder."), "\(error)")
        }

        var settings = StableVideoSamplingSettings.svd()
        XCTAssertEqual(settings.frames, 14)
        XCTAssertEqual(settings.guider, .linear(minScale: 1, maxScale: 2.5))
        settings.frames = 3
        settings.steps = 2
        var g = TorchGenerator(seed: 5)
        let image = g.rand([1, 3, 32, 64]) * 2 - 1  // landscape, as SVD's 1024x576
        let a = StableVideoSampler(model: loaded, settings: settings).generate(image: image)
        XCTAssertEqual(a.shape, [3, 3, 32, 64])
        XCTAssertEqual(a.scalars, StableVideoSampler(model: loaded, settings: settings).generate(image: image).scalars, "same seed, same video")
        XCTAssertNotEqual(a.sliced(axis: 0, 2..<3).scalars, ((image + 1) * 0.5).scalars, "SVD keeps its own last frame")
        settings.motionBucketID = 30
        XCTAssertNotEqual(StableVideoSampler(model: loaded, settings: settings).generate(image: image).scalars, a.scalars,
                          "motion_bucket_id reaches the UNet through y")
    }

    /// An F16 checkpoint loads into F16 layer weights by default (half the bytes, inference), into
    /// Float32 when asked (training), and both give the Float32 model's output on the same weights.
    func testF16CheckpointStaysHalfUnlessFloat32IsAsked() throws {
        let model = StableVideoModel(.tinySV3DP)
        model.initializeRandomly(seed: 2)
        model.visitParameters { _, t in t = HalfTensor(t, dtype: .float16).float() }  // F16-representable
        let file = temporaryFile("tiny-f16.safetensors")
        try model.save(to: file, dtype: .float16)
        let half = try StableVideoModel.load(file)
        let float = try StableVideoModel.load(file, weightPrecision: .float32)
        // layer weights: every parameter of rank >= 2 except CLIP's positional embedding and
        // output projection, which are plain Float32 tensors
        var layerWeights = 0, others = 0
        model.visitParameters { key, t in
            let plain = key.hasSuffix("visual.positional_embedding") || key.hasSuffix("visual.proj")
            if t.rank >= 2 && !plain { layerWeights += t.count } else { others += t.count }
        }
        XCTAssertEqual(float.parameterStorageByteCount, 4 * (layerWeights + others))
        XCTAssertEqual(half.parameterStorageByteCount, 2 * layerWeights + 4 * others)
        XCTAssertEqual(half.unet.outConv.storedWeight.dtype, .float16)
        XCTAssertEqual(float.unet.outConv.storedWeight.dtype, .float32)
        float.trainable()
        XCTAssertTrue(float.unet.outConv.weight.requiresGrad)
        var g = TorchGenerator(seed: 4)
        let x = g.randn([4, 8, 8, 8]), context = g.randn([4, 1, 32]), y = g.randn([4, 1280])
        let t = Tensor(shape: [4], scalars: [0.3, 0.3, 0.3, 0.3])
        let (a, b) = GradMode.withoutGradients {
            (half.unet(x, timesteps: t, context: context, y: y, frames: 4),
             model.unet(x, timesteps: t, context: context, y: y, frames: 4))
        }
        assertClose(a.scalars, b.scalars, rtol: 1e-5, atol: 1e-6, "F16-stored UNet vs Float32")
    }

    func testLoadErrorsNameThePartAndKey() throws {
        let model = StableVideoModel(.tinySV3DP)
        var tensors: [String: Tensor] = [:]
        model.visitParameters { k, t in tensors[k] = t }
        tensors.removeValue(forKey: "model.diffusion_model.out.2.bias")
        let file = temporaryFile("broken.safetensors")
        let json = String(decoding: try JSONEncoder().encode(StableVideoModelConfig.tinySV3DP), as: UTF8.self)
        try SafeTensors.write(tensors, metadata: [StableVideoModelConfig.metadataKey: json], to: file)
        XCTAssertThrowsError(try StableVideoModel.load(file)) { error in
            XCTAssertTrue("\(error)".contains("missing key model.diffusion_model.out.2.bias"), "\(error)")
        }
        let bare = temporaryFile("bare.safetensors")
        try SafeTensors.write(["x": Tensor(zeros: [1])], to: bare)
        XCTAssertThrowsError(try StableVideoModel.load(bare)) { error in
            XCTAssertTrue("\(error)".contains("label_emb"), "\(error)")
        }
    }

    private func temporaryURL(_ name: String) -> URL {
        FileManager.default.temporaryDirectory
            .appendingPathComponent("\(name)_\(ProcessInfo.processInfo.globallyUniqueString).safetensors")
    }

    /// The tiny fixture model's tensors under full checkpoint keys, with its config as metadata.
    private func writeTiny(_ edit: (inout [String: Tensor]) -> Void) throws -> URL {
        let tiny = try GenerationFixtures.tiny()
        let model = StableVideoModel(tiny.config)
        var tensors: [String: Tensor] = [:]
        model.visitParameters { k, t in tensors[k] = t }
        edit(&tensors)
        let json = String(decoding: try JSONEncoder().encode(tiny.config), as: UTF8.self)
        let url = temporaryURL("sv3d_edited")
        try SafeTensors.write(tensors, metadata: [StableVideoModelConfig.metadataKey: json], to: url)
        return url
    }

    private func loadError(_ url: URL) -> String? {
        defer { try? FileManager.default.removeItem(at: url) }
        do {
            _ = try StableVideoModel.load(url)
            return nil
        } catch {
            return "\(error)"
        }
    }

    func testLoadRejectsAMissingKeyNamingIt() throws {
        let key = "model.diffusion_model.input_blocks.1.0.time_stack.in_layers.2.weight"
        let message = try XCTUnwrap(loadError(try writeTiny { XCTAssertNotNil($0.removeValue(forKey: key)) }),
                                    "a checkpoint without \(key) loaded")
        XCTAssertTrue(message.contains("missing key \(key)"), message)
    }

    func testLoadRejectsAMisShapedKeyNamingIt() throws {
        let key = "first_stage_model.decoder.conv_in.weight"
        let message = try XCTUnwrap(loadError(try writeTiny { $0[key] = Tensor(zeros: [3, 3]) }),
                                    "a checkpoint with a mis-shaped \(key) loaded")
        XCTAssertTrue(message.contains("shape mismatch for \(key)"), message)
    }

    func testLoadRejectsAnUnexpectedKeyUnderTheModelsPrefixesButIgnoresTheTextTowerAndOtherParts() throws {
        let stray = "conditioner.embedders.1.encoder.encoder.extra.weight"
        let message = try XCTUnwrap(loadError(try writeTiny { $0[stray] = Tensor(zeros: [2]) }))
        XCTAssertTrue(message.contains("unexpected key \(stray)"), message)
        // the CLIP text-tower leftovers sgm keeps, and keys of other parts, are accepted
        let url = try writeTiny {
            $0["conditioner.embedders.0.open_clip.model.logit_scale"] = Tensor(zeros: [])
            $0["conditioner.embedders.0.open_clip.model.ln_final.weight"] = Tensor(zeros: [32])
            $0["conditioner.embedders.2.something"] = Tensor(zeros: [1])
        }
        XCTAssertNil(loadError(url))
    }

    func testConfigIsRecognisedWithoutMetadataByTheLabelEmbeddingShape() throws {
        let key = StableVideoModel.unetPrefix + "label_emb.0.0.weight"
        func config(_ tensors: [String: Tensor]) throws -> StableVideoModelConfig {
            let url = temporaryURL("sv3d_nometa")
            defer { try? FileManager.default.removeItem(at: url) }
            try SafeTensors.write(tensors, to: url)
            let file = try SafeTensorsFile(url: url)
            XCTAssertNil(file.metadata?[StableVideoModelConfig.metadataKey])
            return try StableVideoModel.config(of: file)
        }
        XCTAssertEqual(try config([key: Tensor(zeros: [1280, 1280])]), .sv3dP)
        XCTAssertEqual(try config([key: Tensor(zeros: [1280, 256])]), .sv3dU)
        XCTAssertEqual(try config([key: Tensor(zeros: [1280, 768])]), .svd, "svd and svd_xt")
        XCTAssertThrowsError(try config([key: Tensor(zeros: [1280, 512])])) { error in
            XCTAssertTrue("\(error)".contains(key) && "\(error)".contains("[1280, 512]"), "\(error)")
        }
        XCTAssertThrowsError(try config(["first_stage_model.decoder.conv_in.weight": Tensor(zeros: [1])])) { error in
            XCTAssertTrue("\(error)".contains(key), "\(error)")
        }
    }

    /// `--decoder-init widened`: a decoder widened 2x and 3x (Net2WiderNet) decodes what the
    /// narrow one does, through every GroupNorm, skip and the mid attention (layer tolerance
    /// 1e-4: the duplicated channels change the summation order). The UNet, CLIP and encoder are
    /// kept; the perturbation moves the output only a little; other architectures are refused.
    func testWidenedDecoderDecodesAsTheNarrowOne() throws {
        let model = StableVideoModel(.small)
        model.initializeRandomly(seed: 5)
        // Random biases and GroupNorm affines too, so the widening of every rank-1 tensor is checked.
        var generator = TorchGenerator(seed: 6)
        model.decoder.visitParameters { _, t in if t.rank == 1 { t = generator.randn(t.shape) * 0.5 + (t.scalars.first ?? 0) } }
        let latents = generator.randn([2, 4, 16, 16])
        let narrow = model.decoder(latents)
        for factor in [2, 3] {
            var architecture = model.config.firstStage
            architecture.baseChannels *= factor
            let wide = try model.replacingDecoder(with: architecture, initialisation: .widened(perturbation: 0, seed: 1))
            XCTAssertEqual(wide.config.firstStage.baseChannels, 32 * factor)
            XCTAssertEqual(wide.namedParameters().first { $0.key == "first_stage_model.decoder.mid.attn_1.q.weight" }?.value.shape,
                           [64 * factor, 64 * factor, 1, 1])
            assertClose(wide.decoder(latents), narrow, rtol: 1e-4, atol: 1e-4, "widened \(factor)x")
            let others = { (m: StableVideoModel) in m.namedParameters().filter { !$0.key.hasPrefix(StableVideoModel.decoderPrefix) } }
            for ((k, a), (_, b)) in zip(others(wide), others(model)) { XCTAssertEqual(a.scalars, b.scalars, k) }
        }
        var doubled = model.config.firstStage
        doubled.baseChannels = 64
        let perturbed = try model.replacingDecoder(with: doubled, initialisation: .widened(perturbation: 0.01, seed: 1))
        let difference = (perturbed.decoder(latents) - narrow).scalars.map(abs)
        XCTAssertGreaterThan(difference.max()!, 0, "the copies are perturbed")
        XCTAssertLessThan(difference.reduce(0, +) / Float(difference.count), 0.05, "by little")

        var notMultiple = model.config.firstStage
        notMultiple.baseChannels = 32
        let wider = try model.replacingDecoder(with: doubled, initialisation: .widened(perturbation: 0, seed: 1))
        notMultiple.baseChannels = 96
        XCTAssertThrowsError(try wider.replacingDecoder(with: notMultiple, initialisation: .widened(perturbation: 0, seed: 1))) {
            XCTAssertTrue("\($0)".contains("whole multiple of its ch 64"), "\($0)")
        }
        var otherLevels = doubled
        otherLevels.channelMultipliers = [1, 2]
        XCTAssertThrowsError(try model.replacingDecoder(with: otherLevels, initialisation: .widened(perturbation: 0, seed: 1))) {
            XCTAssertTrue("\($0)".contains("keeps the checkpoint's decoder architecture except ch"), "\($0)")
            XCTAssertTrue("\($0)".contains("ch_mult [1, 2]"), "\($0)")
        }
    }
}
