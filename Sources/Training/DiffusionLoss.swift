// The training objective of sgm's StandardDiffusionLoss with the pieces SVD uses: EDM
// log-normal noise levels (EDMSampling: ln σ ~ N(P_mean, P_std²); sgm's defaults P_mean −1.2,
// P_std 1.2; SVD's video finetuning configs shift P_mean up to 1.0 with P_std 1.6) and the
// weighting matched to the denoiser's scaling (VWeighting for v-prediction: (σ² + 1)/σ²).

import Foundation
import Tensor

public struct EDMSigmaSampling: Codable, Equatable, Sendable {
    public var pMean: Float = -1.2
    public var pStd: Float = 1.2

    public init(pMean: Float = -1.2, pStd: Float = 1.2) { self.pMean = pMean; self.pStd = pStd }

    /// σ = exp(P_mean + P_std·n) for standard normal draws n.
    public func sigmas(normals: [Float]) -> [Float] { normals.map { expf(pMean + pStd * $0) } }
}

public enum LossWeighting: String, Codable, Sendable {
    /// VWeighting (EDMWeighting with σ_data 1): (σ² + 1)/σ².
    case v
    /// EDMWeighting with σ_data 0.5.
    case edm
    /// EpsWeighting: σ^-2.
    case eps
    case unit

    public func weight(sigma s: Float) -> Float {
        switch self {
        case .v: return (s * s + 1) / (s * s)
        case .edm: return (s * s + 0.25) / (s * 0.5 * s * 0.5)
        case .eps: return 1 / (s * s)
        case .unit: return 1
        }
    }
}

/// Per-row weighted L2 loss: mean over each row of w(σ_row)·(D − x₀)², as sgm's get_loss("l2").
/// Returns [N]; callers average over rows for the scalar training loss.
public func weightedDenoisingLoss(denoised: Tensor, target: Tensor, sigmas: [Float],
                                  weighting: LossWeighting) -> Tensor {
    let n = target.shape[0]
    let weights = Tensor(shape: [n] + [Int](repeating: 1, count: target.rank - 1),
                         scalars: sigmas.map { weighting.weight(sigma: $0) })
    let perElement = weights * (denoised - target).squared()
    return perElement.reshaped([n, -1]).mean(axes: [1])
}
