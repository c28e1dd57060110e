// sgm's EDMSampler family (sampling.py): EulerEDMSampler and HeunEDMSampler with the churn
// parameters (s_churn 0 by default, so no noise is injected), on the EDM discretization.
// The sampler is pure math: it sees the guided denoiser as a closure (x, σ) -> D(x; σ).
// Not supported (not used by SVD/SV3D): ancestral, DPM++ and linear multistep samplers.

import Foundation
import Tensor

public struct EDMSampler: Codable, Equatable, Sendable {
    public enum Method: String, Codable, Sendable, CaseIterable { case euler, heun }

    public var method: Method = .euler
    public var steps: Int = 50
    public var discretization = EDMDiscretization()
    public var sChurn: Float = 0
    public var sTmin: Float = 0
    public var sTmax: Float = .infinity
    public var sNoise: Float = 1

    public init(method: Method = .euler, steps: Int = 50, discretization: EDMDiscretization = EDMDiscretization(),
                sChurn: Float = 0, sTmin: Float = 0, sTmax: Float = .infinity, sNoise: Float = 1) {
        self.method = method; self.steps = steps; self.discretization = discretization
        self.sChurn = sChurn; self.sTmin = sTmin; self.sTmax = sTmax; self.sNoise = sNoise
    }

    /// Runs the sampler from unit-variance `noise` (scaled here by √(1 + σ_0²), as sgm does).
    /// `denoise(x, σ)` returns the guided D(x; σ); `generator` supplies churn noise (only drawn
    /// when s_churn > 0); `step(i, x)` is called after every step (progress, intermediates).
    public func sample(noise: Tensor, generator: inout TorchGenerator,
                       denoise: (Tensor, Float) -> Tensor,
                       step: (Int, Tensor) -> Void = { _, _ in }) -> Tensor {
        let sigmaMax = discretization.sigmas(steps: steps)[0]
        return run(from: noise * (1 + sigmaMax * sigmaMax).squareRoot(), generator: &generator,
                   denoise: denoise, step: step)
    }

    /// SDEdit: runs the sampler from `clean` noised to the discretization's first σ
    /// (clean + σ_max·noise) instead of from pure noise.
    public func sample(editing clean: Tensor, noise: Tensor, generator: inout TorchGenerator,
                       denoise: (Tensor, Float) -> Tensor,
                       step: (Int, Tensor) -> Void = { _, _ in }) -> Tensor {
        let sigmaMax = discretization.sigmas(steps: steps)[0]
        return run(from: clean + noise * sigmaMax, generator: &generator, denoise: denoise, step: step)
    }

    private func run(from start: Tensor, generator: inout TorchGenerator,
                     denoise: (Tensor, Float) -> Tensor, step: (Int, Tensor) -> Void) -> Tensor {
        let sigmas = discretization.sigmas(steps: steps)
        var x = start
        for i in 0..<(sigmas.count - 1) {
            let sigma = sigmas[i], next = sigmas[i + 1]
            let gamma: Float = (sTmin <= sigma && sigma <= sTmax)
                ? min(sChurn / Float(sigmas.count - 1), Float(2).squareRoot() - 1) : 0
            let sigmaHat = sigma * (gamma + 1)
            if gamma > 0 {
                let eps = generator.randn(x.shape) * sNoise
                x = x + eps * (sigmaHat * sigmaHat - sigma * sigma).squareRoot()
            }
            let denoised = denoise(x, sigmaHat)
            let d = (x - denoised) / sigmaHat
            let dt = next - sigmaHat
            let euler = x + d * dt
            if method == .heun && next > 0 {
                let d2 = (euler - denoise(euler, next)) / next
                x = x + (d + d2) / 2 * dt  // sgm: d_prime = (d + d_new) / 2; x + d_prime * dt
            } else {
                x = euler
            }
            step(i, x)
        }
        return x
    }
}
