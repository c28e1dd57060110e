// sgm's `timestep_embedding` (sgm/modules/diffusionmodules/util.py), used for the noise level, for
// every vector-conditioning scalar (fps, motion bucket, cond_aug, SV3D's polar and azimuth angles)
// and for frame indices. Cos first: for scalar s and width `dim`, half = dim/2,
// f_k = exp(-ln(maxPeriod)·k/half), emb = [cos(s·f_0..), sin(s·f_0..)], one zero column if dim is odd.
// In diffusers terms: Timesteps(dim, flip_sin_to_cos=True, downscale_freq_shift=0).

import Foundation

/// Sinusoidal embedding of each value: [n] -> [n, dim].
public func timestepEmbedding(_ values: [Float], dim: Int, maxPeriod: Float = 10_000) -> Tensor {
    let half = dim / 2
    let out = Tensor(zeros: [values.count, dim])
    // PyTorch computes the frequencies in Float32: exp(-ln(P) * arange(half) / half).
    let logP = Float(log(Double(maxPeriod)))
    let freqs = (0..<half).map { k -> Float in expf(-logP * Float(k) / Float(half)) }
    for (i, s) in values.enumerated() {
        let row = out.data + i * dim
        for k in 0..<half {
            let arg = s * freqs[k]
            row[k] = cosf(arg)
            row[half + k] = sinf(arg)
        }
    }
    return out
}
