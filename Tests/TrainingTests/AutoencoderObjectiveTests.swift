// The autoencoder stage's loss, term by term against a direct Double-precision computation of
// sgm's formula (L1 + perceptual + KL of the posterior, from the same posterior sample), its
// gradients into both halves of the encoder's moments, and the latent scale factor; the decoder
// stage's loss and the UNet's one-step estimates it decodes.

import Diffusion
import Foundation
import Generation
import Models
import NN
import Tensor
import Training
import XCTest

final class AutoencoderObjectiveTests: XCTestCase {
    func makeModel() -> StableVideoModel {
        let model = StableVideoModel(.small)
        model.initializeRandomly(seed: 11)
        return model
    }

    func images(_ n: Int, seed: UInt64) -> Tensor {
        var g = TorchGenerator(seed: seed)
        return g.rand([n, 3, 16, 16]) * 2 - 1
    }

    func testLossIsL1PlusPerceptualPlusWeightedKLOfThePosteriorSample() throws {
        let model = makeModel()
        let x = images(2, seed: 1)
        // A stand-in perceptual distance with a known value: per-image mean squared error.
        let perceptual: (Tensor, Tensor) -> Tensor = { a, b in (a - b).squared().mean(axes: [1, 2, 3]) }
        let objective = AutoencoderObjective(
            model: model, settings: AutoencoderObjectiveSettings(perceptualWeight: 0.5, klWeight: 0.01),
            perceptualDistance: perceptual)
        var g = TorchGenerator(seed: 9)
        let loss = try GradMode.withoutGradients { try objective.loss(images: x, generator: &g) }.item

        var reference = TorchGenerator(seed: 9)
        let posterior = model.conditioningEncoder.encode(x)
        let reconstruction = model.decoder(posterior.sample(using: &reference), frameCount: 1)
        var l1 = 0.0, squared = 0.0
        for i in 0..<x.count {
            let d = Double(reconstruction.data[i]) - Double(x.data[i])
            l1 += abs(d); squared += d * d
        }
        var kl = 0.0
        for i in 0..<posterior.mean.count {
            let m = Double(posterior.mean.data[i]), lv = Double(posterior.logVariance.data[i])
            kl += 0.5 * (m * m + exp(lv) - 1 - lv)
        }
        let n = Double(x.count)
        let expected = l1 / n + 0.5 * squared / n + 0.01 * kl / n
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5 * abs(expected), "loss \(loss) vs \(expected)")
        XCTAssertEqual(g.nextUInt32(), reference.nextUInt32(), "the loss draws exactly one posterior sample")
    }

    func testGradientsReachTheMeanAndTheLogVarianceHalvesOfTheEncoder() throws {
        let model = makeModel()
        let objective = AutoencoderObjective(model: model)
        let trainable = objective.trainable.trainable()
        var g = TorchGenerator(seed: 2)
        try objective.loss(images: images(2, seed: 3), generator: &g).backward()
        var quantGradient: Tensor?
        var withGradient = 0, total = 0
        trainable.visitParameters { key, t in
            total += 1
            if t.grad != nil { withGradient += 1 }
            if key == StableVideoModel.encoderPrefix + "quant_conv.weight" { quantGradient = t.grad }
        }
        XCTAssertEqual(withGradient, total, "every trained parameter gets a gradient")
        XCTAssertFalse(trainable.namedParameters().contains { $0.key.contains("post_quant_conv") || $0.key.hasPrefix(StableVideoModel.encoderPrefix + "decoder.") },
                       "the conditioning autoencoder's unused decoder is not trained")
        let grad = try XCTUnwrap(quantGradient)  // [8, 8, 1, 1]: rows 0-3 mean, rows 4-7 log-variance
        let rows = (0..<8).map { r in (0..<8).reduce(Float(0)) { $0 + abs(grad.data[r * 8 + $1]) } }
        XCTAssertTrue(rows[0..<4].allSatisfy { $0 > 0 }, "mean rows \(rows)")
        XCTAssertTrue(rows[4..<8].allSatisfy { $0 > 0 }, "log-variance rows \(rows)")
    }

    /// The decoder stage decodes latents scaled as the UNet produces them (divided by the scale
    /// factor first) with the autoencoder's reconstruction terms, and trains the decoder alone.
    func testDecodingLossUnscalesTheLatentsAndTrainsOnlyTheDecoder() throws {
        let model = makeModel()
        model.setLatentScaleFactor(0.5)
        let x = images(2, seed: 5)
        var g = TorchGenerator(seed: 6)
        let latents = g.randn([2, 4, 4, 4])
        let perceptual: (Tensor, Tensor) -> Tensor = { a, b in (a - b).squared().mean(axes: [1, 2, 3]) }
        let objective = AutoencoderObjective(model: model, settings: AutoencoderObjectiveSettings(perceptualWeight: 0.5),
                                                 perceptualDistance: perceptual)
        let loss = try GradMode.withoutGradients { try objective.decodingLoss(latents: latents, images: x) }.item
        let decoded = GradMode.withoutGradients { model.decoder(latents * 2, frameCount: 1) }
        var l1 = 0.0, squared = 0.0
        for i in 0..<x.count {
            let d = Double(decoded.data[i]) - Double(x.data[i])
            l1 += abs(d); squared += d * d
        }
        let expected = (l1 + 0.5 * squared) / Double(x.count)
        XCTAssertEqual(Double(loss), expected, accuracy: 1e-5 * expected, "loss \(loss) vs \(expected)")

        let trainable = objective.decoderPart.trainable()
        XCTAssertTrue(trainable.namedParameters().allSatisfy { $0.key.hasPrefix(StableVideoModel.decoderPrefix) })
        try objective.decodingLoss(latents: latents, images: x).backward()
        var withGradient = 0, total = 0
        trainable.visitParameters { _, t in total += 1; if t.grad != nil { withGradient += 1 } }
        XCTAssertEqual(withGradient, total, "every decoder parameter gets a gradient")
        XCTAssertThrowsError(try objective.decodingLoss(latents: latents, images: images(3, seed: 5))) { error in
            guard case .badFrames(let why)? = error as? SV3DTrainingError else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("decoder batch: latents [2, 4, 4, 4], images [3, "), why)
        }
    }

    /// What the decoder stage decodes: the encoder's scaled latents at the clean fraction, else the
    /// UNet's estimate at a σ from the settings, which at a tiny σ stays next to those latents
    /// (the v-parametrised denoiser passes x through as σ → 0) and at a large one does not.
    func testOneStepEstimateIsTheScaledLatentsOrTheDenoiserAtATrainingSigma() throws {
        let model = StableVideoModel(.tinySV3DP)
        model.initializeRandomly(seed: 12)
        model.setLatentScaleFactor(0.5)
        var g = TorchGenerator(seed: 7)
        let frames = g.rand([5, 3, 64, 64]) * 2 - 1
        let elevations = [Double](repeating: 10, count: 5), azimuths: [Double] = [72, 144, 216, 288, 0]
        func estimate(pMean: Float, clean: Float) -> (latents: Tensor, estimate: Tensor) {
            var settings = SV3DTrainingSettings()
            settings.sigmaSampling = EDMSigmaSampling(pMean: pMean, pStd: 0.01)
            let objective = SV3DTrainingObjective(model: model, settings: settings)
            let latents = objective.encoderLatents(frames)
            var generator = TorchGenerator(seed: 8)
            return (latents, objective.oneStepEstimate(frames: frames, elevationsDeg: elevations, azimuthsDeg: azimuths,
                                                       latents: latents, cleanProbability: clean, generator: &generator))
        }
        func maxDifference(_ a: Tensor, _ b: Tensor) -> Float { zip(a.scalars, b.scalars).map { abs($0 - $1) }.max()! }
        let clean = estimate(pMean: 0, clean: 1)
        XCTAssertEqual(clean.estimate.scalars, (clean.latents * 0.5).scalars, "clean: the scaled encoder latents")
        let tiny = estimate(pMean: -9, clean: 0)
        XCTAssertEqual(tiny.estimate.shape, tiny.latents.shape)
        XCTAssertLessThan(maxDifference(tiny.estimate, tiny.latents * 0.5), 1e-2, "σ ≈ 1e-4: D(x) ≈ x")
        let large = estimate(pMean: 2, clean: 0)
        XCTAssertGreaterThan(maxDifference(large.estimate, large.latents * 0.5), 0.1, "σ ≈ 7: the UNet's own estimate")
    }

    func testLatentScaleFactorGivesUnitStandardDeviation() {
        let model = makeModel()
        let objective = AutoencoderObjective(model: model)
        let x = images(5, seed: 4)
        let scale = objective.latentScaleFactor(images: x, batch: 2)
        let latents = model.conditioningEncoder.encode(x).mean * scale
        let values = latents.scalars.map(Double.init)
        let mean = values.reduce(0, +) / Double(values.count)
        let std = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(values.count)).squareRoot()
        XCTAssertEqual(std, 1, accuracy: 1e-4)
        model.setLatentScaleFactor(scale)
        XCTAssertEqual(model.config.firstStage.scaleFactor, scale)
        XCTAssertEqual(model.config.conditioningEncoder.scaleFactor, scale)
    }
}
