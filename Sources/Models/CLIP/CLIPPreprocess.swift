// Image preprocessing of sgm's `FrozenOpenCLIPImageEmbedder.preprocess`
// (generative-models sgm/modules/encoders/modules.py): kornia.geometry.resize to 224x224 with
// interpolation "bicubic", align_corners=True, antialias=True (kornia 0.9 geometry/transform/
// affwarp.py `resize`: when shrinking, a separable Gaussian blur with reflect borders first,
// σ = max((factor − 1)/2, 0.001) and kernel int(max(4σ, 3)) made odd per axis, then
// torch.nn.functional.interpolate bicubic, a = −0.75, clamped borders), then x -> (x + 1)/2 and
// the CLIP mean/std normalisation. No crop: non-square images are squashed, as sgm does.
// This is not PyTorch's own `antialias=True` bicubic (a widened cubic filter) nor open_clip's
// PIL-based `preprocess` transform (resize of the short side + centre crop).
// No gradients flow through these functions (the image encoder is frozen).

import Foundation
import Tensor

public enum CLIPPreprocess {
    /// CLIP's per-channel mean and standard deviation (RGB).
    public static let mean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let std: [Float] = [0.26862954, 0.26130258, 0.27577711]

    /// sgm's preprocess: images [N, 3, H, W] in [-1, 1] -> [N, 3, size, size], normalised.
    public static func conditioningTransform(_ images: Tensor, size: Int = 224) -> Tensor {
        precondition(images.rank == 4 && images.shape[1] == 3, "CLIP preprocess expects [N, 3, H, W], got \(images.shape)")
        let resized = resizedLikeKornia(images, height: size, width: size)
        let out = Tensor(uninitialized: resized.shape)
        let plane = size * size
        for i in 0..<(resized.shape[0] * 3) {
            let c = i % 3
            let (m, s) = (mean[c], std[c])
            let src = resized.data + i * plane, dst = out.data + i * plane
            for p in 0..<plane { dst[p] = ((src[p] + 1) / 2 - m) / s }
        }
        return out
    }

    /// kornia `resize(x, (height, width), interpolation="bicubic", align_corners=True,
    /// antialias=True)` of x [N, C, H, W].
    public static func resizedLikeKornia(_ x: Tensor, height: Int, width: Int) -> Tensor {
        precondition(x.rank == 4 && height > 0 && width > 0, "resize of \(x.shape) to \(height)x\(width)")
        let (inH, inW) = (x.shape[2], x.shape[3])
        let factors = (Double(inH) / Double(height), Double(inW) / Double(width))
        var source = x
        if max(factors.0, factors.1) > 1 {
            let sigmas = (max((factors.0 - 1) / 2, 0.001), max((factors.1 - 1) / 2, 0.001))
            source = gaussianBlur(x, kernelHeight: inH == 1 ? 1 : kernelSize(sigmas.0), sigmaY: sigmas.0,
                                  kernelWidth: inW == 1 ? 1 : kernelSize(sigmas.1), sigmaX: sigmas.1)
        }
        return bicubicAlignCorners(source, height: height, width: width)
    }

    /// kornia's kernel size for a blur of σ: int(max(4σ, 3)), made odd.
    static func kernelSize(_ sigma: Double) -> Int {
        let k = Int(max(4 * sigma, 3))
        return k % 2 == 1 ? k : k + 1
    }

    /// kornia `get_gaussian_kernel1d`: exp(−(i − k/2)² / 2σ²), normalised to sum 1.
    static func gaussianKernel(_ size: Int, sigma: Double) -> [Float] {
        let weights = (0..<size).map { i -> Double in
            let d = Double(i - size / 2)
            return Foundation.exp(-d * d / (2 * sigma * sigma))
        }
        let total = weights.reduce(0, +)
        return weights.map { Float($0 / total) }
    }

    /// kornia `gaussian_blur2d` (separable, reflect border): along x first, then along y.
    static func gaussianBlur(_ x: Tensor, kernelHeight: Int, sigmaY: Double, kernelWidth: Int,
                             sigmaX: Double) -> Tensor {
        let (h, w) = (x.shape[2], x.shape[3])
        precondition(kernelHeight / 2 < max(h, 2) && kernelWidth / 2 < max(w, 2),
                     "blur kernel \(kernelHeight)x\(kernelWidth) too large for \(h)x\(w) (reflect padding)")
        let kx = gaussianKernel(kernelWidth, sigma: sigmaX), ky = gaussianKernel(kernelHeight, sigma: sigmaY)
        let rx = kernelWidth / 2, ry = kernelHeight / 2
        let planes = x.shape[0] * x.shape[1]
        let mid = Tensor(uninitialized: x.shape), out = Tensor(uninitialized: x.shape)
        Parallel.forEach(planes, costPerItem: h * w * (kernelWidth + kernelHeight)) { range in
            for p in range {
                let src = x.data + p * h * w, tmp = mid.data + p * h * w, dst = out.data + p * h * w
                for yy in 0..<h {
                    for xx in 0..<w {
                        var acc: Float = 0
                        for j in 0..<kernelWidth { acc += kx[j] * src[yy * w + reflect(xx + j - rx, w)] }
                        tmp[yy * w + xx] = acc
                    }
                }
                for yy in 0..<h {
                    for xx in 0..<w {
                        var acc: Float = 0
                        for j in 0..<kernelHeight { acc += ky[j] * tmp[reflect(yy + j - ry, h) * w + xx] }
                        dst[yy * w + xx] = acc
                    }
                }
            }
        }
        return out
    }

    /// torch "reflect" padding index (the edge is not repeated).
    @inline(__always) static func reflect(_ i: Int, _ n: Int) -> Int {
        if n == 1 { return 0 }
        var j = i
        if j < 0 { j = -j }
        if j >= n { j = 2 * (n - 1) - j }
        return j
    }

    /// torch.nn.functional.interpolate(mode="bicubic", align_corners=True), cubic a = −0.75,
    /// taps clamped to the border.
    static func bicubicAlignCorners(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let (inH, inW) = (x.shape[2], x.shape[3])
        let planes = x.shape[0] * x.shape[1]
        let rows = cubicTaps(input: inH, output: height), cols = cubicTaps(input: inW, output: width)
        let out = Tensor(uninitialized: [x.shape[0], x.shape[1], height, width])
        Parallel.forEach(planes, costPerItem: 16 * height * width) { range in
            for p in range {
                let src = x.data + p * inH * inW, dst = out.data + p * height * width
                for oy in 0..<height {
                    let r = rows[oy]
                    for ox in 0..<width {
                        let c = cols[ox]
                        var acc: Float = 0
                        for i in 0..<4 {
                            let line = src + r.index[i] * inW
                            var rowSum: Float = 0
                            for j in 0..<4 { rowSum += c.weight[j] * line[c.index[j]] }
                            acc += r.weight[i] * rowSum
                        }
                        dst[oy * width + ox] = acc
                    }
                }
            }
        }
        return out
    }

    struct CubicTaps { var index: [Int]; var weight: [Float] }

    /// Source taps and weights per output position along one axis (torch's upsample_bicubic2d).
    static func cubicTaps(input: Int, output: Int) -> [CubicTaps] {
        let scale: Float = output > 1 ? Float(input - 1) / Float(output - 1) : 0
        let a: Float = -0.75
        func near(_ t: Float) -> Float { ((a + 2) * t - (a + 3)) * t * t + 1 }  // |t| <= 1
        func far(_ t: Float) -> Float { ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }  // 1 < |t| < 2
        return (0..<output).map { o in
            let source = scale * Float(o)
            let base = Int(source.rounded(.down))
            let t = source - Float(base)
            let weights = [far(t + 1), near(t), near(1 - t), far(2 - t)]
            let indices = (-1...2).map { min(max(base + $0, 0), input - 1) }
            return CubicTaps(index: indices, weight: weights)
        }
    }
}
