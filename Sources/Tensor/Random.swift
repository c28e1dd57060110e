// PyTorch's CPU random stream, so a seed gives the same initial noise as the reference sampler.
// ATen's CPUGeneratorImpl is a 32-bit Mersenne Twister (mt19937) seeded by `torch.manual_seed`;
// `torch.randn` on a float tensor follows aten/src/ATen/native/cpu/DistributionTemplates.h:
// - 16 or more elements: fill every element with a 24-bit uniform in [0, 1), then Box-Muller in
//   blocks of 16 (u1 = 1 − data[j], u2 = data[j+8] for j < 8: radius·cos to j, radius·sin to j+8);
//   when the count is not a multiple of 16, the last 16 elements are redrawn and transformed again.
// - fewer than 16: a Double Box-Muller per element from 53-bit uniforms (two 32-bit draws each),
//   caching the sine half for the next element, as `at::normal_distribution<double>` does.
// PyTorch's AVX2 build evaluates log/sin/cos with vector approximations, so results can differ
// from ours by a few float ulps (the parity test allows 1e-5 relative).

import Foundation
import CKernels

public struct TorchGenerator: Codable, Equatable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624
    /// Cached second half of the last Double Box-Muller pair.
    private var cachedDoubleNormal: Double?

    public init(seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<624 {
            state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i)
        }
    }

    /// Next raw 32-bit output of mt19937.
    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            var v = state[(i + 397) % 624] ^ (y >> 1)
            if y & 1 != 0 { v ^= 0x9908_B0DF }
            state[i] = v
        }
        index = 0
    }

    /// ATen `random64`: two draws, the first is the high word.
    mutating func nextUInt64() -> UInt64 {
        let hi = UInt64(nextUInt32()), lo = UInt64(nextUInt32())
        return hi << 32 | lo
    }

    /// `uniform_real_distribution<float>(0, 1)`: 24 random bits scaled by 2^-24.
    public mutating func nextUniformFloat() -> Float {
        Float(nextUInt32() & ((1 << 24) - 1)) * (1.0 / 16_777_216.0)
    }

    /// `uniform_real_distribution<double>(0, 1)`: 53 random bits scaled by 2^-53.
    mutating func nextUniformDouble() -> Double {
        Double(nextUInt64() & ((1 << 53) - 1)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `at::normal_distribution<double>` with its one-sample cache.
    mutating func nextDoubleNormal() -> Double {
        if let cached = cachedDoubleNormal {
            cachedDoubleNormal = nil
            return cached
        }
        let u1 = nextUniformDouble(), u2 = nextUniformDouble()
        let r = (-2.0 * Foundation.log1p(-u2)).squareRoot()
        let theta = 2.0 * Double.pi * u1
        cachedDoubleNormal = r * Foundation.sin(theta)
        return r * Foundation.cos(theta)
    }

    /// The same numbers as `torch.manual_seed(seed); torch.randn(shape)` for a fresh seed.
    public mutating func randn(_ shape: [Int]) -> Tensor {
        let n = shape.reduce(1, *)
        let out = Tensor(uninitialized: shape)
        let p = out.data
        if n < 16 {
            for i in 0..<n { p[i] = Float(nextDoubleNormal()) }
            return out
        }
        for i in 0..<n { p[i] = nextUniformFloat() }
        var i = 0
        while i + 16 <= n { boxMuller16(p + i); i += 16 }
        if n % 16 != 0 {
            let tail = p + n - 16
            for j in 0..<16 { tail[j] = nextUniformFloat() }
            boxMuller16(tail)
        }
        return out
    }

    /// `torch.rand(shape)` (uniform [0, 1) floats).
    public mutating func rand(_ shape: [Int]) -> Tensor {
        let out = Tensor(uninitialized: shape)
        for i in 0..<out.count { out.data[i] = nextUniformFloat() }
        return out
    }

    private func boxMuller16(_ d: UnsafeMutablePointer<Float>) {
        for j in 0..<8 {
            let u1 = 1 - d[j], u2 = d[j + 8]
            let radius = (-2 * logf(u1)).squareRoot()
            let theta = Float(2 * Double.pi * Double(u2))  // ATen: 2.0f * pi<double> * u2
            d[j] = radius * cosf(theta)
            d[j + 8] = radius * sinf(theta)
        }
    }
}

extension TorchGenerator {
    /// `torch.manual_seed(seed); (torch.rand(shape) * 2 - 1) * scale + shift` in float32 (the
    /// shift skipped when 0): the same numbers as `TorchGenerator(seed:).rand(shape)` mapped so,
    /// from the C kernel, fast in debug builds too (seeded test weights of a whole network).
    public static func uniform(_ shape: [Int], seed: UInt64, scale: Float, shift: Float = 0) -> Tensor {
        let out = Tensor(uninitialized: shape)
        ck_torch_rand_affine(out.data, nil, out.count, seed, scale, shift)
        return out
    }

    /// `uniform(shape, seed:, scale:, shift:)` rounded to float16 (nearest even), never held in
    /// Float32.
    public static func uniformFloat16(_ shape: [Int], seed: UInt64, scale: Float, shift: Float = 0) -> HalfTensor {
        HalfTensor(dtype: .float16, shape: shape) { bytes in
            ck_torch_rand_affine(nil, bytes.assumingMemoryBound(to: UInt16.self), shape.reduce(1, *), seed,
                                 scale, shift)
        }
    }
}
