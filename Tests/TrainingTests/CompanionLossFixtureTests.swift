// The fixture the Python companion's loss parity test reads (python/tests/fixtures/swift_loss.safetensors):
// the bundled default model's denoiser estimate, the training loss (sgm's VWeighting L2) and the
// gradients of a few UNet weights, for given latents, conditioning, σ and noise. With
// SVDMV_WRITE_COMPANION_FIXTURE=1 this test writes the file; otherwise it checks that the committed
// file still matches what this code computes (1e-5 relative), so neither side drifts silently.

import Diffusion
import Foundation
import Generation
import Models
import NN
import Tensor
import Training
import XCTest

final class CompanionLossFixtureTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let fixture = root.appendingPathComponent("python/tests/fixtures/swift_loss.safetensors")
    static let gradientKeys = ["out.2.weight", "input_blocks.1.1.time_stack.0.attn1.to_q.weight",
                               "label_emb.0.2.weight", "middle_block.1.time_mixer.mix_factor"]

    func testLossFixtureForThePythonCompanion() throws {
        let model = try StableVideoModel.load(Self.root.appendingPathComponent("Sources/svdmv/Resources/default-model.safetensors"),
                                              weightPrecision: .float32)
        var g = TorchGenerator(seed: 41)
        let t = 5
        let x0 = g.randn([t, 4, 16, 16]), noise = g.randn([t, 4, 16, 16])
        let concat = g.randn([1, 4, 16, 16]), clip = g.randn([1, 1, 32])
        let sigma: Float = 1.7, sigmaAug: Float = 0.05
        let elevations: [Double] = [10, 12, 8, 10, 15], azimuths: [Double] = [72, 144, 216, 288, 0]
        let y = try model.config.variant.vectorConditioner(VectorConditioner.rows(
            videos: 1, frames: t, conditioningAugmentation: sigmaAug,
            camera: SV3DCamera(elevationsDegrees: elevations, azimuthsDegrees: azimuths)))
        let conditioning = UNetConditioning(clipEmbedding: clip, concatLatent: concat, vector: y, frames: t)
        let unet = model.unet.trainable()
        let denoised = SV3DTrainingObjective(model: model).denoise(x0 + noise * sigma, sigma: sigma, conditioning: conditioning)
        let loss = weightedDenoisingLoss(denoised: denoised, target: x0, sigmas: [Float](repeating: sigma, count: t),
                                         weighting: .v).mean()
        loss.backward()
        var tensors: [String: Tensor] = ["x0": x0, "noise": noise, "concat": concat, "clip": clip, "y": y,
                                         "sigma": Tensor(shape: [1], scalars: [sigma]),
                                         "sigma_aug": Tensor(shape: [1], scalars: [sigmaAug]),
                                         "elevations_deg": Tensor(shape: [t], scalars: elevations.map(Float.init)),
                                         "azimuths_deg": Tensor(shape: [t], scalars: azimuths.map(Float.init)),
                                         "denoised": denoised.detached(), "loss": Tensor(shape: [1], scalars: [loss.item])]
        let parameters = Dictionary(uniqueKeysWithValues: unet.namedParameters().map { ($0.key, $0.value) })
        for key in Self.gradientKeys {
            tensors["grad." + key] = try XCTUnwrap(parameters[key]?.grad, "no gradient for \(key)")
        }
        if ProcessInfo.processInfo.environment["SVDMV_WRITE_COMPANION_FIXTURE"] == "1" {
            try FileManager.default.createDirectory(at: Self.fixture.deletingLastPathComponent(), withIntermediateDirectories: true)
            try SafeTensors.write(tensors, to: Self.fixture)
            return
        }
        let committed = try SafeTensorsFile(url: Self.fixture).tensors()
        for (key, value) in tensors {
            let expected = try XCTUnwrap(committed[key], "\(Self.fixture.path) has no \(key)")
            XCTAssertEqual(expected.shape, value.shape, key)
            let scale = expected.scalars.map(abs).max() ?? 1
            let worst = zip(expected.scalars, value.scalars).map { abs($0 - $1) }.max() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-5 * max(scale, 1e-12), "\(key): the committed fixture no longer matches")
        }
    }
}
