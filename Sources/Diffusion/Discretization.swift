// sgm's EDMDiscretization (sgm/modules/diffusionmodules/discretizer.py): Karras et al.'s σ
// schedule σ_i = (σ_max^{1/ρ} + i/(n−1)·(σ_min^{1/ρ} − σ_max^{1/ρ}))^ρ, then a final 0.
// Computed in Float32 as PyTorch does (the ramp is torch.linspace, the scalars Python doubles
// rounded to float), so the schedule matches the reference to the last bit or two.

import Foundation

public struct EDMDiscretization: Codable, Equatable, Sendable {
    public var sigmaMin: Float = 0.002
    /// SVD/SV3D sample with σ_max 700 (sgm's default is 80).
    public var sigmaMax: Float = 700
    public var rho: Float = 7

    public init(sigmaMin: Float = 0.002, sigmaMax: Float = 700, rho: Float = 7) {
        self.sigmaMin = sigmaMin; self.sigmaMax = sigmaMax; self.rho = rho
    }

    /// `steps` noise levels from σ_max down to σ_min, plus a trailing 0 when `appendZero`.
    public func sigmas(steps: Int, appendZero: Bool = true) -> [Float] {
        precondition(steps >= 1, "at least one step")
        let minInvRho = Float(pow(Double(sigmaMin), 1 / Double(rho)))
        let maxInvRho = Float(pow(Double(sigmaMax), 1 / Double(rho)))
        let out = torchLinspace(0, 1, steps).map { ramp in powf(maxInvRho + ramp * (minInvRho - maxInvRho), rho) }
        return appendZero ? out + [0] : out
    }
}

/// torch.linspace(start, end, n) in Float32: the first half counts up from `start`, the second
/// half down from `end`, with step (end − start)/(n − 1) (ATen's RangeFactories kernel).
public func torchLinspace(_ start: Float, _ end: Float, _ n: Int) -> [Float] {
    guard n > 1 else { return n == 1 ? [start] : [] }
    let step = (end - start) / Float(n - 1)
    let half = n / 2
    return (0..<n).map { i in i < half ? start + step * Float(i) : end - step * Float(n - 1 - i) }
}
