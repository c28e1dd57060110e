// How a model's parameters get storage when it is built from a config: zero-filled memory (the
// ordinary path, weights then come from `load`), or read-only placeholders that have the right
// shapes but commit no memory, so the full-size key/shape manifest of ViT-H/14 (632M parameters)
// or the SVD VAE can be checked without allocating the weights. Every VAE and CLIP layer is made
// through one of these factories.

import Foundation
import NN
import Tensor

public enum ParameterAllocation: Sendable {
    /// Zero-filled storage (weights come from `load`).
    case zeros
    /// Shapes only: each tensor is backed by a private anonymous read-only mapping, which reads as
    /// zeros and costs no physical memory. Such a model can be inspected (`namedParameters`,
    /// `parameterCount`) and loaded into (`load` replaces the storage), not trained.
    case placeholder

    /// A parameter tensor of `shape`.
    public func tensor(_ shape: [Int]) -> Tensor {
        switch self {
        case .zeros: return Tensor(zeros: shape)
        case .placeholder:
            let count = shape.reduce(1, *)
            let mapping = ZeroMapping(floatCount: count)
            return Tensor(storage: TensorStorage(borrowing: mapping.pointer, count: count, owner: mapping),
                          shape: shape)
        }
    }

    /// torch.nn.Conv2d(inChannels, outChannels, kernelSize, stride, padding, bias).
    public func conv2d(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1,
                       padding: Int = 0, bias: Bool = true) -> Conv2d {
        switch self {
        case .zeros:
            return Conv2d(inChannels, outChannels, kernelSize: kernelSize, stride: stride,
                          padding: padding, bias: bias)
        case .placeholder:
            let conv = Conv2d(1, 1, kernelSize: 1, stride: stride, padding: padding, bias: bias)
            conv.weight = tensor([outChannels, inChannels, kernelSize, kernelSize])
            if bias { conv.bias = tensor([outChannels]) }
            return conv
        }
    }

    /// torch.nn.Linear(inFeatures, outFeatures, bias).
    public func linear(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) -> Linear {
        switch self {
        case .zeros: return Linear(inFeatures, outFeatures, bias: bias)
        case .placeholder:
            let layer = Linear(1, 1, bias: bias)
            layer.weight = tensor([outFeatures, inFeatures])
            if bias { layer.bias = tensor([outFeatures]) }
            return layer
        }
    }
}

/// An anonymous private read-only mapping of `floatCount` floats (zero pages, never committed).
final class ZeroMapping {
    let pointer: UnsafeMutablePointer<Float>
    private let byteCount: Int

    init(floatCount: Int) {
        byteCount = max(floatCount, 1) * MemoryLayout<Float>.stride
        let raw = mmap(nil, byteCount, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
        guard let raw, raw != MAP_FAILED else { fatalError("mmap of \(byteCount) bytes failed") }
        pointer = raw.bindMemory(to: Float.self, capacity: max(floatCount, 1))
    }

    deinit { munmap(pointer, byteCount) }
}
