// End-to-end SV3D_p, SV3D_u and SVD sampling against sgm: a tiny DiffusionEngine built from
// sv3d_p.yaml (sv3d_u.yaml, svd.yaml) with the sizes shrunk and sampled with simple_video_sample.py's code (fixture:
// Scripts/fixtures/make_generation_fixtures.py). The Swift model is built from the fixture's
// config, its weights regenerated bit-exactly from the seeded recipe, written with
// `StableVideoModel.save` and read back with `StableVideoModel.load` (strict, full checkpoint keys); then
// `StableVideoSampler` runs with the same settings and every stage is compared.
//
// Tolerance: whole-network comparisons use |a − e| ≤ 1e-3·|e| + 1e-3·max|e| (1e-3 relative, with
// the absolute floor at 1e-3 of the tensor's scale for elements near zero). Random numbers and
// the vector conditioning are compared tighter.

import Foundation
import Diffusion
import Generation
import Models
import NN
import Tensor
import TestSupport
import XCTest

enum GenerationFixtures {
    static let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!

    struct Tiny {
        let config: StableVideoModelConfig
        let settings: [String: Any]
        let weightSeed: UInt64
        let parameters: [(key: String, shape: [Int])]
        let tensors: Fixture
    }

    /// "sv3d_tiny" (sv3d_p), "sv3d_u_tiny" or "svd_tiny".
    static func tiny(_ name: String = "sv3d_tiny") throws -> Tiny {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let configData = try JSONSerialization.data(withJSONObject: try XCTUnwrap(json["config"]))
        let config = try JSONDecoder().decode(StableVideoModelConfig.self, from: configData)
        let list = try XCTUnwrap(json["parameters"] as? [[Any]])
        let parameters = try list.map { pair -> (key: String, shape: [Int]) in
            (try XCTUnwrap(pair[0] as? String), try XCTUnwrap(pair[1] as? [Int]))
        }
        return Tiny(config: config, settings: try XCTUnwrap(json["settings"] as? [String: Any]),
                    weightSeed: UInt64(try XCTUnwrap(json["weight_seed"] as? Int)), parameters: parameters,
                    tensors: try Fixture(directory.appendingPathComponent("\(name).safetensors")))
    }

    /// The seeded weights of the fixture (TestSupport.SeededWeights, the scripts' `init_rule`).
    static func generatedWeights(_ parameters: [(key: String, shape: [Int])], seed: UInt64,
                                 only keys: Set<String>) -> [String: Tensor] {
        SeededWeights.generate(parameters, seed: seed, only: keys)
    }

    /// The tiny model with the fixture's weights, built and loaded directly (no file round trip).
    static func model(_ tiny: Tiny) throws -> StableVideoModel {
        let model = StableVideoModel(tiny.config)
        let ours = Set(model.namedParameters().map(\.key))
        try model.load(generatedWeights(tiny.parameters, seed: tiny.weightSeed, only: ours))
        return model
    }
}

final class SV3DSamplingParityTests: XCTestCase {
    func testFixtureKeysAreTheModelsKeysPlusTheTextTowerLeftovers() throws {
        try checkKeys("sv3d_tiny", .sv3dP, vectorWidth: 1280)
        try checkKeys("sv3d_u_tiny", .sv3dU, vectorWidth: 256)
        try checkKeys("svd_tiny", .svd, vectorWidth: 768)
    }

    private func checkKeys(_ name: String, _ variant: StableVideoModelConfig.Variant, vectorWidth: Int) throws {
        let tiny = try GenerationFixtures.tiny(name)
        XCTAssertEqual(tiny.config.variant, variant)
        var unet = VideoUNetConfig.tinySV3DP
        unet.vectorWidth = vectorWidth
        XCTAssertEqual(tiny.config.unet, unet, "the fixture's UNet is VideoUNetConfig.tinySV3DP (y width \(vectorWidth))")
        let model = StableVideoModel(tiny.config)
        let ours = Dictionary(uniqueKeysWithValues: model.namedParameters().map { ($0.key, $0.value.shape) })
        let theirs = Dictionary(uniqueKeysWithValues: tiny.parameters.map { ($0.key, $0.shape) })
        let missing = ours.keys.filter { theirs[$0] == nil }.sorted()
        XCTAssertEqual(missing, [], "model keys absent from the sgm state dict")
        // SVD's first stage also holds the encoder used to make training latents (not sampling).
        let extra = Set(theirs.keys.filter { ours[$0] == nil && !$0.hasPrefix("first_stage_model.encoder.") })
        XCTAssertEqual(extra, StableVideoModel.unusedCheckpointKeys, "sgm keys the model does not have")
        for (key, shape) in ours where theirs[key] != nil {
            XCTAssertEqual(shape, theirs[key], key)
        }
    }

    func testSV3DPSamplingMatchesSGM() throws { try checkSampling("sv3d_tiny") }

    /// Camera-free: y = cond_aug only.
    func testSV3DUSamplingMatchesSGM() throws { try checkSampling("sv3d_u_tiny") }

    /// y = fps_id | motion_bucket_id | cond_aug, linear guidance, temporal decoding, no frame
    /// replaced by the input.
    func testSVDSamplingMatchesSGM() throws { try checkSampling("svd_tiny") }

    private func checkSampling(_ name: String) throws {
        let tiny = try GenerationFixtures.tiny(name)
        let f = tiny.tensors

        // Weights through the file format: save (config in metadata), load strictly.
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("sv3d_tiny_\(ProcessInfo.processInfo.globallyUniqueString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try GenerationFixtures.model(tiny).save(to: url)
        let model = try StableVideoModel.load(url)
        XCTAssertEqual(model.config, tiny.config)

        var settings = StableVideoSamplingSettings()
        settings.frames = try XCTUnwrap(tiny.settings["frames"] as? Int)
        settings.steps = try XCTUnwrap(tiny.settings["steps"] as? Int)
        settings.seed = UInt64(try XCTUnwrap(tiny.settings["seed"] as? Int))
        settings.conditioningAugmentation = Float(try XCTUnwrap(tiny.settings["cond_aug"] as? Double))
        settings.elevationsDegrees = [try XCTUnwrap(tiny.settings["elevation_deg"] as? Double)]
        settings.azimuthsDegrees = nil  // the default orbit, as the script
        settings.decodingChunk = try XCTUnwrap(tiny.settings["decoding_t"] as? Int)
        let guider = try XCTUnwrap(tiny.settings["guider"] as? [String: Any])
        let (low, high) = (Float(try XCTUnwrap(guider["min_scale"] as? Double)), Float(try XCTUnwrap(guider["max_scale"] as? Double)))
        settings.guider = guider["kind"] as? String == "linear" ? .linear(minScale: low, maxScale: high)
                                                                 : .triangle(minScale: low, maxScale: high)
        settings.fpsID = Float(try XCTUnwrap(tiny.settings["fps_id"] as? Int))
        settings.motionBucketID = Float(try XCTUnwrap(tiny.settings["motion_bucket_id"] as? Int))
        let frames = settings.frames
        let isP = tiny.config.variant == .sv3dP
        if isP {
            XCTAssertEqual(SV3DCamera.defaultAzimuthsDegrees(frames: frames),
                           try XCTUnwrap(tiny.settings["azimuths_deg"] as? [Double]))
        }

        let image = f["image"]
        // 1. random numbers: randn_like(image) then randn(shape) from manual_seed(seed)
        var generator = TorchGenerator(seed: settings.seed)
        let condFrames = image + generator.randn(image.shape) * settings.conditioningAugmentation
        assertClose(condFrames, f["cond_frames"], rtol: 1e-6, atol: 1e-6, "cond_frames")
        // torch fills normals of 16+ elements with vectorised log/sin/cos: last-ulp differences
        assertClose(generator.randn(f["randn"].shape), f["randn"], rtol: 1e-5, atol: 1e-5, "initial noise")

        // 2. conditioning (the script's c / uc after the per-frame repeat)
        let clip = model.clip(image)
        let concat = model.conditioningEncoder.encode(condFrames).mode
        let vector = try model.config.variant.vectorConditioner(
            VectorConditioner.rows(videos: 1, frames: frames, fpsID: settings.fpsID, motionBucketID: settings.motionBucketID,
                                   conditioningAugmentation: settings.conditioningAugmentation,
                                   camera: isP ? settings.camera() : nil))
        let cond = UNetConditioning(clipEmbedding: clip.reshaped([1, 1, -1]), concatLatent: concat, vector: vector,
                                    frames: frames)
        let uncond = cond.unconditional()
        assertClose(cond.crossAttention, f["c.crossattn"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "c.crossattn (CLIP embedder)")
        assertClose(cond.concat, f["c.concat"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "c.concat (encoder mean)")
        assertClose(cond.vector, f["c.vector"], rtol: 1e-5, atol: 1e-5, "c.vector")
        assertClose(uncond.crossAttention, f["uc.crossattn"], rtol: 0, atol: 0, "uc.crossattn")
        assertClose(uncond.concat, f["uc.concat"], rtol: 0, atol: 0, "uc.concat")
        assertClose(uncond.vector, f["uc.vector"], rtol: 1e-5, atol: 1e-5, "uc.vector")

        // 3. the first guided denoiser call on the reference conditioning (network + guidance alone)
        let sigma0 = EDMSampler(steps: settings.steps).discretization.sigmas(steps: settings.steps)[0]
        let x0 = f["randn"] * (1 + sigma0 * sigma0).squareRoot()
        let context = Tensor.concatenated([f["uc.crossattn"], f["c.crossattn"]], axis: 0)
        let concatBatch = Tensor.concatenated([f["uc.concat"], f["c.concat"]], axis: 0)
        let y = Tensor.concatenated([f["uc.vector"], f["c.vector"]], axis: 0)
        let raw = GradMode.withoutGradients {
            Denoiser(scaling: .vWithEDMNoise)(Tensor.concatenated([x0, x0], axis: 0),
                                              sigmas: [Float](repeating: sigma0, count: 2 * frames)) { scaled, cNoise in
                model.unet(Tensor.concatenated([scaled, concatBatch], axis: 1),
                           timesteps: Tensor(shape: [cNoise.count], scalars: cNoise), context: context, y: y,
                           frames: frames)
            }
        }
        assertClose(raw, f["denoised.0.raw"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "first denoiser call [uncond; cond]")
        assertClose(settings.guider.combine(raw, frames: frames), f["denoised.0"],
                    rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected, "first guided D")

        // 4. the whole pipeline
        let sampler = StableVideoSampler(model: model, settings: settings)
        var reported: [Int] = []
        let latents = sampler.sampleLatents(image: image) { done, total in
            XCTAssertEqual(total, settings.steps)
            reported.append(done)
        }
        XCTAssertEqual(reported, Array(1...settings.steps))
        assertClose(latents, f["samples_z"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "final latents")
        // decoding alone, from the reference latents (chunks of decoding_t, input view put back
        // for SV3D)
        let fromReference = sampler.decode(latents: f["samples_z"], inputImage: image)
        assertClose(fromReference, f["samples"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "images decoded from the reference latents")
        let images = sampler.decode(latents: latents, inputImage: image)
        assertClose(images, f["samples"], rtol: 1e-3, atol: 1e-3, atolScale: .maxAbsExpected,
                    "final images")
        XCTAssertEqual(images.shape, [frames, 3, 64, 64])
    }
}
