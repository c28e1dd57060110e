// The denoiser D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise) around a network F, with sgm's
// scalings (denoiser_scaling.py). SVD and SV3D use `vWithEDMNoise`: v-prediction with σ_data 1
// and the EDM noise input c_noise = ¼·ln σ.

import Foundation
import Tensor

public enum DenoiserScaling: String, Codable, Sendable {
    /// VScalingWithEDMcNoise: c_skip 1/(σ²+1), c_out −σ/√(σ²+1), c_in 1/√(σ²+1), c_noise ¼ ln σ.
    case vWithEDMNoise
    /// VScaling: as above with c_noise = σ.
    case v
    /// EDMScaling with σ_data 0.5.
    case edm
    /// EpsScaling: c_skip 1, c_out −σ, c_in 1/√(σ²+1), c_noise σ.
    case eps

    public struct Coefficients: Equatable, Sendable {
        public var skip: Float, out: Float, input: Float, noise: Float
    }

    public func coefficients(sigma s: Float) -> Coefficients {
        switch self {
        case .vWithEDMNoise:
            return Coefficients(skip: 1 / (s * s + 1), out: -s / (s * s + 1).squareRoot(),
                                input: 1 / (s * s + 1).squareRoot(), noise: 0.25 * logf(s))
        case .v:
            return Coefficients(skip: 1 / (s * s + 1), out: -s / (s * s + 1).squareRoot(),
                                input: 1 / (s * s + 1).squareRoot(), noise: s)
        case .edm:
            let d: Float = 0.5
            return Coefficients(skip: d * d / (s * s + d * d), out: s * d / (s * s + d * d).squareRoot(),
                                input: 1 / (s * s + d * d).squareRoot(), noise: 0.25 * logf(s))
        case .eps:
            return Coefficients(skip: 1, out: -s, input: 1 / (s * s + 1).squareRoot(), noise: s)
        }
    }
}

/// The network as the denoiser sees it: scaled input [N, C, H, W] and one c_noise per row.
public typealias DenoiserNetwork = (_ scaledInput: Tensor, _ cNoise: [Float]) -> Tensor

public struct Denoiser: Sendable {
    public var scaling: DenoiserScaling

    public init(scaling: DenoiserScaling = .vWithEDMNoise) { self.scaling = scaling }

    /// D(x; σ) for a batch x [N, ...] with one σ per row.
    public func callAsFunction(_ x: Tensor, sigmas: [Float], network: DenoiserNetwork) -> Tensor {
        precondition(sigmas.count == x.shape[0], "one σ per row: \(sigmas.count) for \(x.shape)")
        let coefficients = sigmas.map { scaling.coefficients(sigma: $0) }
        let rowShape = [x.shape[0]] + [Int](repeating: 1, count: x.rank - 1)
        func column(_ pick: (DenoiserScaling.Coefficients) -> Float) -> Tensor {
            Tensor(shape: rowShape, scalars: coefficients.map(pick))
        }
        let output = network(x * column(\.input), coefficients.map(\.noise))
        return output * column(\.out) + x * column(\.skip)
    }
}
