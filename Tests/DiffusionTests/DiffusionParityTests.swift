// The Diffusion target against sgm's own modules (Scripts/fixtures/make_diffusion_fixtures.py):
// schedules to 3e-6 and scalings and weights to 1e-6 relative (scalar float math), guider scales exactly
// to 1e-6, and complete sampling runs (Euler, Heun, Euler with churn noise from the torch
// stream) to 1e-4 (eight steps of float arithmetic through σ from 700 down to 0).

import Diffusion
import Foundation
import Tensor
import Training
import TestSupport
import XCTest

final class DiffusionParityTests: XCTestCase {
    func fixture() throws -> Fixture {
        try Fixture.cached(Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("diffusion.safetensors"))
    }

    func testEDMScheduleMatchesSGM() throws {
        let f = try fixture()
        // rtol 3e-6: the 7th power multiplies a one-ulp difference in the base (PyTorch's vector
        // pow against libm's powf) by seven.
        for steps in [50, 25, 8] {
            assertClose(EDMDiscretization(sigmaMax: 700).sigmas(steps: steps), f["sigmas.edm700.\(steps)"].scalars,
                        rtol: 3e-6, atol: 0, "σ_max 700, \(steps) steps")
        }
        assertClose(EDMDiscretization(sigmaMax: 80).sigmas(steps: 20), f["sigmas.edm80.20"].scalars,
                    rtol: 3e-6, atol: 0, "σ_max 80")
        // sgm's EDMDiscretization at SV3D's 50 steps (σ_min 0.002, σ_max 700, ρ 7), values written out.
        let s = EDMDiscretization().sigmas(steps: 50)
        XCTAssertEqual(s.count, 51)
        XCTAssertEqual(s[0], 700.0001, accuracy: 1e-3)
        XCTAssertEqual(s[1], 620.328, accuracy: 1e-3)
        XCTAssertEqual(s[49], 0.002, accuracy: 1e-7)
        XCTAssertEqual(s[50], 0)
    }

    func testScalingsAndWeightsMatchSGM() throws {
        let f = try fixture()
        let sigmas = f["scaling.sigmas"].scalars
        for (name, scaling) in [("vedm", DenoiserScaling.vWithEDMNoise), ("v", .v), ("edm", .edm), ("eps", .eps)] {
            let c = sigmas.map { scaling.coefficients(sigma: $0) }
            assertClose(c.map(\.skip), f["scaling.\(name).skip"].scalars, rtol: 1e-6, atol: 1e-12, "\(name) c_skip")
            assertClose(c.map(\.out), f["scaling.\(name).out"].scalars, rtol: 1e-6, atol: 1e-12, "\(name) c_out")
            assertClose(c.map(\.input), f["scaling.\(name).in"].scalars, rtol: 1e-6, atol: 1e-12, "\(name) c_in")
            assertClose(c.map(\.noise), f["scaling.\(name).noise"].scalars, rtol: 1e-6, atol: 1e-7, "\(name) c_noise")
        }
        for (name, w) in [("v", LossWeighting.v), ("edm", .edm), ("eps", .eps)] {
            assertClose(sigmas.map { w.weight(sigma: $0) }, f["weighting.\(name)"].scalars, rtol: 1e-6, atol: 0, name)
        }
    }

    func testGuiderFrameScalesMatchSGM() throws {
        let f = try fixture()
        for frames in [21, 14, 5] {
            assertClose(Guider.triangle(minScale: 1, maxScale: 2.5).frameScales(frames: frames),
                        f["guider.triangle.\(frames)"].scalars, rtol: 1e-6, atol: 1e-6, "triangle \(frames)")
            assertClose(Guider.linear(minScale: 1, maxScale: 3).frameScales(frames: frames),
                        f["guider.linear.\(frames)"].scalars, rtol: 1e-6, atol: 1e-6, "linear \(frames)")
        }
        // SV3D: 2.5 at the back view (frame 10 of 21), 1 at both ends.
        let sv3d = Guider.triangle(minScale: 1, maxScale: 2.5).frameScales(frames: 21)
        XCTAssertEqual(sv3d[10], 2.5, accuracy: 1e-6)
        XCTAssertEqual(sv3d[0], 1, accuracy: 1e-6)
        XCTAssertEqual(sv3d[20], 1, accuracy: 1e-6)
    }

    /// The fixture's network: F(x, c_noise, cond) = tanh(0.9·x + 0.1·c_noise + vector per channel).
    func toyNetwork(vectors: Tensor) -> DenoiserNetwork {
        { x, cNoise in
            let rows = x.shape[0]
            let noise = Tensor(shape: [rows, 1, 1, 1], scalars: cNoise)
            return (x * 0.9 + noise * 0.1 + vectors.reshaped([rows, -1, 1, 1])).tanh()
        }
    }

    func testCompleteSamplingRunsMatchSGM() throws {
        let f = try fixture()
        let frames = 5
        let cond = f["run.cond"], uncond = Tensor(zeros: cond.shape)
        let vectors = Tensor.concatenated([uncond, cond], axis: 0)  // [uncond; cond], as sgm's guider
        let guider = Guider.triangle(minScale: 1, maxScale: 2.5)
        let denoiser = Denoiser(scaling: .vWithEDMNoise)
        for (name, sampler) in [
            ("euler", EDMSampler(method: .euler, steps: 8)),
            ("heun", EDMSampler(method: .heun, steps: 8)),
            ("euler_churn", EDMSampler(method: .euler, steps: 8, sChurn: 2)),
        ] {
            var generator = TorchGenerator(seed: 23)
            let noise = generator.randn([frames, 4, 3, 3])
            assertClose(noise, f["run.\(name).noise"], rtol: 1e-5, atol: 1e-5, "\(name) noise")
            let out = sampler.sample(noise: noise, generator: &generator) { x, sigma in
                let doubled = Tensor.concatenated([x, x], axis: 0)
                let d = denoiser(doubled, sigmas: [Float](repeating: sigma, count: 2 * frames),
                                 network: self.toyNetwork(vectors: vectors))
                return guider.combine(d, frames: frames)
            }
            assertClose(out, f["run.\(name).out"], rtol: 1e-4, atol: 1e-4, "\(name) sample")
        }
    }
}
