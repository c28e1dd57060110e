// AdamW and gradient-norm clipping, written to match torch.optim.AdamW (foreach=False) and
// torch.nn.utils.clip_grad_norm_ step for step. Optimiser state is named tensors
// ("exp_avg.<key>", "exp_avg_sq.<key>", "step") so a training checkpoint can hold it.

import Foundation
import Tensor

public struct AdamWConfig: Codable, Equatable, Sendable {
    public var learningRate: Float = 1e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var eps: Float = 1e-8
    public var weightDecay: Float = 1e-2
    public init(learningRate: Float = 1e-4, beta1: Float = 0.9, beta2: Float = 0.999,
                eps: Float = 1e-8, weightDecay: Float = 1e-2) {
        self.learningRate = learningRate; self.beta1 = beta1; self.beta2 = beta2
        self.eps = eps; self.weightDecay = weightDecay
    }
}

public final class AdamW {
    public var config: AdamWConfig
    public private(set) var step = 0
    private var expAvg: [String: Tensor] = [:]
    private var expAvgSq: [String: Tensor] = [:]

    public init(_ config: AdamWConfig = AdamWConfig()) { self.config = config }

    /// One update of every parameter of `module` that has a gradient; `learningRate` overrides the
    /// configured one (for warm-up schedules).
    public func update(_ module: Module, learningRate: Float? = nil) {
        step += 1
        let lr = learningRate ?? config.learningRate
        let (b1, b2, eps, wd) = (config.beta1, config.beta2, config.eps, config.weightDecay)
        let bc1 = 1 - powf(b1, Float(step))
        let bc2Sqrt = (1 - powf(b2, Float(step))).squareRoot()
        let stepSize = lr / bc1
        module.visitParameters { key, p in
            guard let g = p.grad else { return }
            let m = expAvg[key] ?? Tensor(zeros: p.shape)
            let v = expAvgSq[key] ?? Tensor(zeros: p.shape)
            expAvg[key] = m; expAvgSq[key] = v
            let pp = p.data, gp = g.data, mp = m.data, vp = v.data
            // Each element on its own, so splitting a large tensor over the workers changes no bit.
            Parallel.forEach(p.count, costPerItem: 8) { range in
                for i in range {
                    pp[i] *= 1 - lr * wd
                    mp[i] += (gp[i] - mp[i]) * (1 - b1)            // torch: exp_avg.lerp_(grad, 1 - beta1)
                    vp[i] = vp[i] * b2 + (1 - b2) * gp[i] * gp[i]  // exp_avg_sq.mul_(b2).addcmul_(g, g, 1 - b2)
                    let denom = vp[i].squareRoot() / bc2Sqrt + eps
                    pp[i] += -stepSize * mp[i] / denom
                }
            }
        }
    }

    /// Moment estimates and step count, for checkpoints.
    public func state() -> [String: Tensor] {
        var out: [String: Tensor] = ["step": Tensor(Float(step))]
        for (k, v) in expAvg { out["exp_avg.\(k)"] = v }
        for (k, v) in expAvgSq { out["exp_avg_sq.\(k)"] = v }
        return out
    }

    public func load(state: [String: Tensor]) {
        step = Int(state["step"]?.item ?? 0)
        expAvg = [:]; expAvgSq = [:]
        for (k, v) in state {
            if k.hasPrefix("exp_avg_sq.") { expAvgSq[String(k.dropFirst("exp_avg_sq.".count))] = v.copied() }
            else if k.hasPrefix("exp_avg.") { expAvg[String(k.dropFirst("exp_avg.".count))] = v.copied() }
        }
    }
}

/// Scales every gradient of `module` so their joint 2-norm is at most `maxNorm`, as
/// torch.nn.utils.clip_grad_norm_ does (coefficient maxNorm / (norm + 1e-6), clamped to 1).
/// Returns the norm before clipping.
@discardableResult
public func clipGradientNorm(_ module: Module, maxNorm: Float) -> Float {
    var sumSquares: Double = 0
    module.visitParameters { _, p in
        guard let g = p.grad else { return }
        for i in 0..<g.count { sumSquares += Double(g.data[i]) * Double(g.data[i]) }
    }
    let norm = Float(sumSquares.squareRoot())
    let coefficient = min(1, maxNorm / (norm + 1e-6))
    module.visitParameters { _, p in
        guard let g = p.grad else { return }
        for i in 0..<g.count { g.data[i] *= coefficient }
    }
    return norm
}
