// Convolution ops with gradients: `conv2d` (NCHW input, OIHW weight, PyTorch's Conv2d with
// groups 1 and any stride/padding, asymmetric padding included for the VAE's downsampler) and
// `temporalConv` (sgm's Conv3d with kernel (k,1,1) over the frame axis, used by the video
// resblocks' time_stack and the VAE's temporal decoder).

import Foundation

extension Tensor {
    /// x [N, C, H, W], weight [O, C, kh, kw], bias [O] -> [N, O, outH, outW].
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
                              padding: Padding2D = Padding2D(0)) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4, "conv2d: input \(x.shape), weight \(weight.shape)")
        precondition(x.shape[1] == weight.shape[1], "conv2d: \(x.shape[1]) input channels, weight \(weight.shape)")
        let n = x.shape[0], o = weight.shape[0]
        let g = Conv2DGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                               kernelH: weight.shape[2], kernelW: weight.shape[3], stride: stride,
                               padding: padding)
        precondition(g.outH > 0 && g.outW > 0, "conv2d: empty output for input \(x.shape)")
        let out = Tensor(uninitialized: [n, o, g.outH, g.outW])
        // Small images (the UNet's 18x18 and 9x9 levels) share one GEMM in groups, so the GEMM's
        // column count stays near 1024 instead of outH·outW (kernels in Kernels/Conv.swift).
        let group = min(n, max(1, 1024 / (g.outH * g.outW)))
        if group == 1 {
            conv2dInBands(out.data, x.data, weight.data, bias?.data, images: n, outChannels: o, g,
                          scratchLimit: KernelConfiguration.current.im2colScratchLimit)
        } else {
            conv2dGrouped(out.data, x.data, weight.data, bias?.data, images: n, outChannels: o, g, group: group)
        }
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return out.recorded("conv2d", inputs) { grad in
            let dx = x.requiresGrad ? Tensor(zeros: x.shape) : nil
            let dw = weight.requiresGrad ? Tensor(zeros: weight.shape) : nil
            conv2dBackward(dx: dx?.data, dw: dw?.data, grad.data, x.data, weight.data, images: n,
                           outChannels: o, g)
            var grads: [Tensor?] = [dx, dw]
            if bias != nil { grads.append(grad.sum(axes: [0, 2, 3])) }
            return grads
        }
    }

    /// Convolution over frames: x [B, C, T, H, W], weight [O, C, k, 1, 1], bias [O], zero padding
    /// of `padding` frames at both ends of each video -> [B, O, T + 2·padding - k + 1, H, W].
    public static func temporalConv(_ x: Tensor, weight: Tensor, bias: Tensor? = nil,
                                    padding: Int) -> Tensor {
        precondition(x.rank == 5 && weight.rank == 5 && weight.shape[3] == 1 && weight.shape[4] == 1,
                     "temporalConv: input \(x.shape), weight \(weight.shape)")
        let (b, c, t) = (x.shape[0], x.shape[1], x.shape[2])
        let hw = x.shape[3] * x.shape[4]
        let (o, k) = (weight.shape[0], weight.shape[2])
        precondition(weight.shape[1] == c, "temporalConv: \(c) channels, weight \(weight.shape)")
        let tOut = t + 2 * padding - k + 1
        let taps = weight.permuted([2, 0, 1, 3, 4]).detached()  // [k, O, C]: one GEMM operand per tap
        let out = Tensor(zeros: [b, o, tOut, x.shape[3], x.shape[4]])
        for bi in 0..<b {
            let xb = x.data + bi * c * t * hw, ob = out.data + bi * o * tOut * hw
            for to in 0..<tOut {
                if let bias { for oc in 0..<o { (ob + (oc * tOut + to) * hw).update(repeating: bias.data[oc], count: hw) } }
                for j in 0..<k {
                    let ti = to + j - padding
                    guard ti >= 0 && ti < t else { continue }
                    BLAS.sgemm(m: o, n: hw, k: c, a: taps.data + j * o * c, lda: c,
                               b: xb + ti * hw, ldb: t * hw, beta: 1, c: ob + to * hw, ldc: tOut * hw)
                }
            }
        }
        let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
        return out.recorded("temporalConv", inputs) { g in
            let dx = x.requiresGrad ? Tensor(zeros: x.shape) : nil
            let dTaps = weight.requiresGrad ? Tensor(zeros: [k, o, c]) : nil
            for bi in 0..<b {
                let xb = x.data + bi * c * t * hw, gb = g.data + bi * o * tOut * hw
                for to in 0..<tOut {
                    for j in 0..<k {
                        let ti = to + j - padding
                        guard ti >= 0 && ti < t else { continue }
                        if let dx {
                            BLAS.sgemm(transA: true, m: c, n: hw, k: o, a: taps.data + j * o * c, lda: c,
                                       b: gb + to * hw, ldb: tOut * hw, beta: 1,
                                       c: dx.data + bi * c * t * hw + ti * hw, ldc: t * hw)
                        }
                        if let dTaps {
                            BLAS.sgemm(transB: true, m: o, n: c, k: hw, a: gb + to * hw, lda: tOut * hw,
                                       b: xb + ti * hw, ldb: t * hw, beta: 1, c: dTaps.data + j * o * c, ldc: c)
                        }
                    }
                }
            }
            var grads: [Tensor?] = [dx, dTaps.map { $0.permuted([1, 2, 0]).reshaped([o, c, k, 1, 1]) }]
            if bias != nil { grads.append(g.sum(axes: [0, 2, 3, 4])) }
            return grads
        }
    }

    /// Nearest-neighbour 2x upsampling of [N, C, H, W] (PyTorch `interpolate(scale_factor=2)`).
    public func upsampledNearest2x() -> Tensor {
        precondition(rank == 4, "upsample expects [N, C, H, W], got \(shape)")
        let (nc, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let out = Tensor(uninitialized: [shape[0], shape[1], 2 * h, 2 * w])
        let src = data, dst = out.data
        Parallel.forEach(nc, costPerItem: 4 * h * w) { r in
            for p in r {
                for y in 0..<h {
                    let s = src + (p * h + y) * w
                    let d0 = dst + (p * 2 * h + 2 * y) * 2 * w
                    for x in 0..<w { d0[2 * x] = s[x]; d0[2 * x + 1] = s[x] }
                    (d0 + 2 * w).update(from: d0, count: 2 * w)
                }
            }
        }
        let inShape = shape
        return out.recorded("upsample2x", [self]) { g in
            // Each input pixel's gradient is the sum over its 2x2 block.
            [g.reshaped([inShape[0], inShape[1], h, 2, w, 2]).sum(axes: [3, 5])]
        }
    }
}
