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
