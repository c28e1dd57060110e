// The UNet objective's optional image-space term: it adds w · decodedLoss(decoded frames, true
// frames) to sgm's latent loss without changing that loss's random draws, decodes the estimate's
// own frames, and sends gradients through the frozen decoder to the UNet only.

import Diffusion
import Foundation
import Generation
import Models
import NN
import Tensor
import Training
import XCTest

final class SV3DTrainingObjectiveTests: XCTestCase {
    func testDecodedLossAddsTheWeightedImageTermAndTrainsOnlyTheUNet() throws {
        let model = StableVideoModel(.tinySV3DP)
        model.initializeRandomly(seed: 21)
        var g = TorchGenerator(seed: 22)
        let frames = g.rand([5, 3, 64, 64]) * 2 - 1
        let elevations = [Double](repeating: 10, count: 5), azimuths: [Double] = [72, 144, 216, 288, 0]

        let plain = SV3DTrainingObjective(model: model)
        var plainGenerator = TorchGenerator(seed: 23)
        let base = try GradMode.withoutGradients {
            try plain.loss(frames: frames, elevationsDeg: elevations, azimuthsDeg: azimuths, generator: &plainGenerator)
        }.item

        var settings = SV3DTrainingSettings()
        settings.decodedLossWeight = 0.5
        settings.decodedFrames = 3
        var seen: (decoded: Tensor, frames: Tensor)?
        let withImageTerm = SV3DTrainingObjective(model: model, settings: settings) { decoded, truth in
            seen = (decoded, truth)
            return (decoded - truth).absolute().mean()
        }
        let unet = PrefixedModule(StableVideoModel.unetPrefix, model.unet).trainable()
        var generator = TorchGenerator(seed: 23)
        let loss = try withImageTerm.loss(frames: frames, elevationsDeg: elevations, azimuthsDeg: azimuths, generator: &generator)
        let (decoded, truth) = try XCTUnwrap(seen)
        XCTAssertEqual(decoded.shape, [3, 3, 64, 64], "three decoded frames of the estimate")
        for row in 0..<3 {
            let slice = truth.sliced(axis: 0, row..<(row + 1)).scalars
            XCTAssertTrue((0..<5).contains { frames.sliced(axis: 0, $0..<($0 + 1)).scalars == slice },
                          "row \(row) is one of the video's frames")
        }
        let imageTerm = GradMode.withoutGradients { (decoded - truth).absolute().mean().item }
        XCTAssertEqual(loss.item, base + 0.5 * imageTerm, accuracy: 1e-5 * (base + 0.5 * imageTerm),
                       "sgm's loss from the same draws plus the weighted image term")

        loss.backward()
        var unetGradients = 0, unetParameters = 0
        unet.visitParameters { _, t in unetParameters += 1; if t.grad != nil { unetGradients += 1 } }
        XCTAssertGreaterThan(unetGradients, unetParameters / 2, "gradients reach the UNet")
        var decoderGradients = 0
        model.decoder.visitParameters { _, t in if t.grad != nil || t.requiresGrad { decoderGradients += 1 } }
        XCTAssertEqual(decoderGradients, 0, "the decoder stays frozen")
    }
}

/// Stage I (image-only): the temporal layers get no gradient while the spatial ones do, where the
/// same video trains both in the multi-view objective; the loss stays finite and positive.
final class ImageOnlyObjectiveTests: XCTestCase {
    func testImageOnlyLeavesTheTemporalLayersWithoutGradient() throws {
        var g = TorchGenerator(seed: 32)
        let frames = g.rand([4, 3, 64, 64]) * 2 - 1
        let elevations = [Double](repeating: 5, count: 4), azimuths: [Double] = [90, 180, 270, 0]
        // Temporal parameters: sgm's time_stack (video blocks' temporal halves), time_mixer and
        // time_pos_embed; the mixers' own factor gets no gradient either when α is pinned to 1.
        func gradients(imageOnly: Bool) throws -> (temporal: Double, spatial: Double, loss: Float) {
            let model = StableVideoModel(.tinySV3DP)
            model.initializeRandomly(seed: 31)
            let unet = PrefixedModule(StableVideoModel.unetPrefix, model.unet).trainable()
            var settings = SV3DTrainingSettings()
            settings.imageOnly = imageOnly
            var generator = TorchGenerator(seed: 33)
            let loss = try SV3DTrainingObjective(model: model, settings: settings)
                .loss(frames: frames, elevationsDeg: elevations, azimuthsDeg: azimuths, generator: &generator)
            loss.backward()
            var temporal = 0.0, spatial = 0.0
            unet.visitParameters { name, t in
                let norm = t.grad.map { g in g.scalars.reduce(0.0) { $0 + Double($1 * $1) } } ?? 0
                if name.contains("time_stack") || name.contains("time_mixer") || name.contains("time_pos_embed") {
                    temporal += norm
                } else {
                    spatial += norm
                }
            }
            return (temporal, spatial, loss.item)
        }
        let video = try gradients(imageOnly: false)
        XCTAssertGreaterThan(video.temporal, 0, "the multi-view objective trains the temporal layers")
        let image = try gradients(imageOnly: true)
        XCTAssertEqual(image.temporal, 0, "image-only: no gradient reaches a temporal layer")
        XCTAssertGreaterThan(image.spatial, 0, "image-only: the spatial layers train")
        XCTAssertTrue(image.loss.isFinite && image.loss > 0)
    }
}
