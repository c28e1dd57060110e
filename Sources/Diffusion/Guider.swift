// Classifier-free guidance as sgm's guiders.py does it: the denoiser runs on the batch
// [uncond; cond] and the two halves of the *denoised* prediction are mixed with one scale per
// frame. SV3D uses the triangle schedule (little guidance near the input view at both ends of the
// orbit, most at the back); SVD the linear one; `vanilla` is one scale for all frames.

import Foundation
import Tensor

public enum Guider: Codable, Equatable, Sendable {
    /// No guidance: the conditional prediction alone, one network pass per step.
    case identity
    /// VanillaCFG(scale).
    case vanilla(scale: Float)
    /// LinearPredictionGuider: scale_t = linspace(min, max, T)[t].
    case linear(minScale: Float, maxScale: Float)
    /// TrianglePredictionGuider (period 1, max fusing): scale_t = min + w_t·(max − min) with the
    /// triangle wave w_t = 2·|v_t − floor(v_t + ½)|, v = linspace(0, 1, T).
    case triangle(minScale: Float, maxScale: Float)

    /// Whether each step runs the network on [uncond; cond].
    public var isGuided: Bool { self != .identity }

    /// The guidance scale of each of `frames` frames.
    public func frameScales(frames: Int) -> [Float] {
        switch self {
        case .identity: return [Float](repeating: 1, count: frames)
        case .vanilla(let s): return [Float](repeating: s, count: frames)
        case .linear(let lo, let hi): return torchLinspace(lo, hi, frames)
        case .triangle(let lo, let hi):
            return torchLinspace(0, 1, frames).map { v in
                let wave = 2 * abs(v - (v + 0.5).rounded(.down))
                return wave * (hi - lo) + lo
            }
        }
    }

    /// Mixes a denoised batch [2·B·T, ...] laid out [uncond; cond] into [B·T, ...]:
    /// D = D_u + s_t·(D_c − D_u) with frame t = row mod T.
    public func combine(_ denoised: Tensor, frames: Int) -> Tensor {
        guard isGuided else { return denoised }
        let halves = denoised.chunked(2, axis: 0)
        let (uncond, cond) = (halves[0], halves[1])
        let rows = uncond.shape[0]
        precondition(rows % frames == 0, "guidance: \(rows) rows are not videos of \(frames) frames")
        let scales = frameScales(frames: frames)
        let perRow = Tensor(shape: [rows] + [Int](repeating: 1, count: uncond.rank - 1),
                            scalars: (0..<rows).map { scales[$0 % frames] })
        return uncond + perRow * (cond - uncond)
    }
}

/// The guidance schedules by name, as the CLI and checkpoint metadata spell them; `guider` gives
/// the schedule between `minScale` and `maxScale` (vanilla takes `maxScale` as its one scale).
public enum GuidanceSchedule: String, Codable, CaseIterable, Sendable {
    case triangle, linear, vanilla, none

    public func guider(minScale: Float, maxScale: Float) -> Guider {
        switch self {
        case .triangle: return .triangle(minScale: minScale, maxScale: maxScale)
        case .linear: return .linear(minScale: minScale, maxScale: maxScale)
        case .vanilla: return .vanilla(scale: maxScale)
        case .none: return .identity
        }
    }
}
