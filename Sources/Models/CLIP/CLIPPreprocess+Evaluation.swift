// open_clip's evaluation transform (open_clip src/open_clip/transform.py `image_transform`,
// resize_mode "shortest": Resize(224, BICUBIC) -> CenterCrop(224) -> ToTensor -> Normalize) applied
// to float tensors, as torchvision does for tensors: the resize is PyTorch's antialiased bicubic
// (ATen UpSampleKernel `_compute_weights_aa`, Keys cubic a = −0.5 widened by the scale when
// shrinking, align_corners=False), which is PIL's filter without PIL's 8-bit rounding between
// passes; results differ from the PIL path by about one 8-bit level. For CLIP-S in the evaluator.

import Foundation
import Tensor

extension CLIPPreprocess {
    /// Images [N, 3, H, W] in [0, 1] -> [N, 3, size, size] normalised: the short side resized to
    /// `size` (the long side to ⌊size · long / short⌋, as torchvision), centre crop, mean/std.
    public static func evaluationTransform(_ images: Tensor, size: Int = 224) -> Tensor {
        precondition(images.rank == 4 && images.shape[1] == 3, "CLIP transform expects [N, 3, H, W], got \(images.shape)")
        let (h, w) = (images.shape[2], images.shape[3])
        let (height, width) = h <= w ? (size, size * w / h) : (size * h / w, size)
        let resized = resizedLikeTorchAntialiased(images, height: height, width: width)
        // torchvision CenterCrop: int(round((dim − size) / 2)), Python's round (half to even).
        let top = Int((Double(height - size) / 2).rounded(.toNearestOrEven))
        let left = Int((Double(width - size) / 2).rounded(.toNearestOrEven))
        let out = Tensor(uninitialized: [images.shape[0], 3, size, size])
        for plane in 0..<(images.shape[0] * 3) {
            let (m, s) = (mean[plane % 3], std[plane % 3])
            let src = resized.data + plane * height * width, dst = out.data + plane * size * size
            for y in 0..<size {
                for x in 0..<size { dst[y * size + x] = (src[(y + top) * width + x + left] - m) / s }
            }
        }
        return out
    }

    /// torch.nn.functional.interpolate(x, (height, width), mode="bicubic", align_corners=False,
    /// antialias=True) of x [N, C, H, W]: separable, width first, then height.
    public static func resizedLikeTorchAntialiased(_ x: Tensor, height: Int, width: Int) -> Tensor {
        precondition(x.rank == 4 && height > 0 && width > 0, "resize of \(x.shape) to \(height)x\(width)")
        let (n, c, inH, inW) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let cols = antialiasedTaps(input: inW, output: width), rows = antialiasedTaps(input: inH, output: height)
        let horizontal = Tensor(uninitialized: [n, c, inH, width])
        let out = Tensor(uninitialized: [n, c, height, width])
        Parallel.forEach(n * c, costPerItem: inH * width * 8 + height * width * 8) { range in
            for p in range {
                let src = x.data + p * inH * inW, mid = horizontal.data + p * inH * width
                for y in 0..<inH {
                    for (ox, tap) in cols.enumerated() {
                        var acc: Float = 0
                        for j in 0..<tap.weight.count { acc += tap.weight[j] * src[y * inW + tap.start + j] }
                        mid[y * width + ox] = acc
                    }
                }
                let dst = out.data + p * height * width
                for (oy, tap) in rows.enumerated() {
                    for ox in 0..<width {
                        var acc: Float = 0
                        for j in 0..<tap.weight.count { acc += tap.weight[j] * mid[(tap.start + j) * width + ox] }
                        dst[oy * width + ox] = acc
                    }
                }
            }
        }
        return out
    }

    struct AntialiasedTaps { var start: Int; var weight: [Float] }

    /// ATen `_compute_weights_aa` for bicubic (interp_size 4): support 2·max(scale, 1), weights
    /// Keys(a = −0.5)((j + start − centre + 0.5) / max(scale, 1)), normalised to sum 1.
    static func antialiasedTaps(input: Int, output: Int) -> [AntialiasedTaps] {
        let scale = Float(input) / Float(output)
        let support: Float = scale >= 1 ? 2 * scale : 2
        let invScale: Float = scale >= 1 ? 1 / scale : 1
        func keys(_ v: Float) -> Float {
            let a: Float = -0.5, t = abs(v)
            if t < 1 { return ((a + 2) * t - (a + 3)) * t * t + 1 }
            if t < 2 { return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a }
            return 0
        }
        return (0..<output).map { i in
            let center = scale * (Float(i) + 0.5)
            let start = max(Int(center - support + 0.5), 0)
            let count = min(Int(center + support + 0.5), input) - start
            var weights = (0..<count).map { j in keys((Float(j + start) - center + 0.5) * invScale) }
            let total = weights.reduce(0, +)
            if total != 0 { weights = weights.map { $0 / total } }
            return AntialiasedTaps(start: start, weight: weights)
        }
    }
}
