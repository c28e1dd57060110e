// Max pooling over [N, C, H, W] (PyTorch MaxPool2d without dilation or ceil mode), used by the
// AlexNet and VGG feature stacks of LPIPS. The gradient goes to the first maximum of each window,
// as in PyTorch.

import Foundation

extension Tensor {
    public func maxPooled2d(kernel: Int, stride: Int, padding: Int = 0) -> Tensor {
        precondition(rank == 4, "maxPooled2d expects [N, C, H, W], got \(shape)")
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3])
        let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
        precondition(oh > 0 && ow > 0, "maxPooled2d: empty output for \(shape)")
        let out = Tensor(uninitialized: [shape[0], shape[1], oh, ow])
        var argmax = [Int32](repeating: 0, count: planes * oh * ow)
        let src = data, dst = out.data
        argmax.withUnsafeMutableBufferPointer { am in
            let idx = am.baseAddress!
            Parallel.forEach(planes, costPerItem: oh * ow * kernel * kernel) { range in
                for p in range {
                    let plane = src + p * h * w
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var best = -Float.infinity, bestIndex = -1
                            for ky in 0..<kernel {
                                let iy = oy * stride + ky - padding
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<kernel {
                                    let ix = ox * stride + kx - padding
                                    if ix < 0 || ix >= w { continue }
                                    let v = plane[iy * w + ix]
                                    if v > best || bestIndex < 0 || v.isNaN { best = v; bestIndex = iy * w + ix }
                                }
                            }
                            let o = (p * oh + oy) * ow + ox
                            dst[o] = best
                            idx[o] = Int32(bestIndex)
                        }
                    }
                }
            }
        }
        let inShape = shape
        return out.recorded("maxPool2d", [self]) { g in
            let dx = Tensor(zeros: inShape)
            for p in 0..<planes {
                for o in 0..<(oh * ow) {
                    dx.data[p * h * w + Int(argmax[p * oh * ow + o])] += g.data[p * oh * ow + o]
                }
            }
            return [dx]
        }
    }
}
