// LPIPS v0.1 (Zhang et al. 2018), a port of richzhang/PerceptualSimilarity `lpips/lpips.py`
// (`LPIPS`, `ScalingLayer`, `NetLinLayer`, `normalize_tensor`, `spatial_average`) and
// `lpips/pretrained_networks.py` (`alexnet`, `vgg16`), pip `lpips` 0.1.4.
//
//   d(x0, x1) = Σ_taps mean_HW( lin_k( (f̂_k(x0) − f̂_k(x1))² ) ),  f̂ = f / (‖f‖_channels + 1e-10)
//
// Inputs are RGB [N, 3, H, W] in [−1, 1] (map [0, 1] images with 2x − 1 first). The trunk is
// torchvision's AlexNet or VGG16 `features`, cut into five slices whose outputs (after ReLU) are
// the taps; `lin_k` is a 1x1 convolution to one channel without bias (the package's Dropout before
// it is inactive in eval mode). Parameters are visited under the package's state-dict keys
// (`scaling_layer.shift`, `net.slice1.0.weight`, `lin0.model.1.weight`), so its checkpoints load
// as they are.

import Foundation
import NN
import Tensor

/// The LPIPS trunk network.
public enum LPIPSNet: String, CaseIterable, Sendable, Codable {
    /// AlexNet taps relu1...relu5 (64, 192, 384, 256, 256 channels): the package's default.
    case alex
    /// VGG16 taps relu1_2, relu2_2, relu3_3, relu4_3, relu5_3 (64, 128, 256, 512, 512 channels):
    /// what SyncDreamer's GSO evaluation uses.
    case vgg

    /// Channels of the five taps.
    public var tapChannels: [Int] {
        switch self {
        case .alex: return [64, 192, 384, 256, 256]
        case .vgg: return [64, 128, 256, 512, 512]
        }
    }

    /// The trunk as five slices of torchvision `features` layers.
    fileprivate var slices: [[TrunkSpec]] {
        switch self {
        case .alex:
            return [[.conv(64, kernel: 11, stride: 4, padding: 2)],
                    [.maxPool(kernel: 3, stride: 2), .conv(192, kernel: 5, stride: 1, padding: 2)],
                    [.maxPool(kernel: 3, stride: 2), .conv(384, kernel: 3, stride: 1, padding: 1)],
                    [.conv(256, kernel: 3, stride: 1, padding: 1)],
                    [.conv(256, kernel: 3, stride: 1, padding: 1)]]
        case .vgg:
            let c3 = { (c: Int) in TrunkSpec.conv(c, kernel: 3, stride: 1, padding: 1) }
            return [[c3(64), c3(64)],
                    [.maxPool(kernel: 2, stride: 2), c3(128), c3(128)],
                    [.maxPool(kernel: 2, stride: 2), c3(256), c3(256), c3(256)],
                    [.maxPool(kernel: 2, stride: 2), c3(512), c3(512), c3(512)],
                    [.maxPool(kernel: 2, stride: 2), c3(512), c3(512), c3(512)]]
        }
    }
}

/// One torchvision `features` entry; every convolution is followed by a ReLU (its own index).
private enum TrunkSpec {
    case conv(Int, kernel: Int, stride: Int, padding: Int)
    case maxPool(kernel: Int, stride: Int)
}

/// A built trunk layer, with its index in torchvision `features` (the checkpoint key).
private enum TrunkLayer {
    case conv(Conv2d, index: Int)
    case relu
    case maxPool(kernel: Int, stride: Int)
}

/// The LPIPS distance network. Build it, then load weights (`LPIPS.pretrained(net:)` for the real
/// v0.1 weights, or `load(_:)` with a state dict); a freshly built one has zero weights.
public final class LPIPS: Module {
    public let net: LPIPSNet
    /// ScalingLayer buffers [1, 3, 1, 1]: x' = (x − shift) / scale (ImageNet mean/std in [−1, 1]).
    public var shift = Tensor(shape: [1, 3, 1, 1], scalars: [-0.030, -0.088, -0.188])
    public var scale = Tensor(shape: [1, 3, 1, 1], scalars: [0.458, 0.448, 0.450])
    private let slices: [[TrunkLayer]]
    /// NetLinLayer k: Conv2d(C_k, 1, 1x1, no bias), key `lin{k}.model.1`.
    let lins: [Conv2d]

    public init(net: LPIPSNet) {
        self.net = net
        var index = 0, channels = 3
        slices = net.slices.map { specs in
            specs.flatMap { spec -> [TrunkLayer] in
                switch spec {
                case .conv(let out, let kernel, let stride, let padding):
                    let conv = Conv2d(channels, out, kernelSize: kernel, stride: stride, padding: padding)
                    channels = out
                    defer { index += 2 }
                    return [.conv(conv, index: index), .relu]
                case .maxPool(let kernel, let stride):
                    defer { index += 1 }
                    return [.maxPool(kernel: kernel, stride: stride)]
                }
            }
        }
        lins = net.tapChannels.map { Conv2d($0, 1, kernelSize: 1, bias: false) }
    }

    /// Distances [N] between image batches x0, x1 [N, 3, H, W] in [−1, 1] (`lpips.LPIPS.forward`
    /// with `normalize=False`). AlexNet needs H, W ≥ 31 for its last tap, VGG ≥ 16.
    public func callAsFunction(_ x0: Tensor, _ x1: Tensor) -> Tensor {
        let terms = layerDistances(x0, x1)
        return terms.dropFirst().reduce(terms[0], +)
    }

    /// The five per-tap terms [N] whose sum is the distance (`retPerLayer=True`).
    public func layerDistances(_ x0: Tensor, _ x1: Tensor) -> [Tensor] {
        precondition(x0.shape == x1.shape && x0.rank == 4 && x0.shape[1] == 3,
                     "LPIPS expects two [N, 3, H, W] batches, got \(x0.shape) and \(x1.shape)")
        let n = x0.shape[0]
        // Both batches go through the trunk together.
        let taps = features(Tensor.concatenated([x0, x1], axis: 0))
        return zip(taps, lins).map { tap, lin in
            let f = normalized(tap)
            let f0 = f.sliced(axis: 0, 0..<n), f1 = f.sliced(axis: 0, n..<(2 * n))
            let d = lin((f0 - f1).squared())           // [N, 1, h, w]
            return d.mean(axes: [1, 2, 3])             // spatial average -> [N]
        }
    }

    /// Trunk outputs (the five taps) for images [N, 3, H, W] in [−1, 1], after the ScalingLayer.
    public func features(_ x: Tensor) -> [Tensor] {
        var h = (x - shift) / scale
        var taps: [Tensor] = []
        for slice in slices {
            for layer in slice {
                switch layer {
                case .conv(let conv, _): h = conv(h)
                case .relu: h = h.relu()
                case .maxPool(let kernel, let stride): h = h.maxPooled2d(kernel: kernel, stride: stride)
                }
            }
            taps.append(h)
        }
        return taps
    }

    /// `normalize_tensor`: unit length across channels at each pixel, eps 1e-10.
    private func normalized(_ f: Tensor) -> Tensor {
        f / (f.squared().sum(axes: [1], keepDims: true).sqrt() + 1e-10)
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        body("scaling_layer.shift", &shift)
        body("scaling_layer.scale", &scale)
        for (s, slice) in slices.enumerated() {
            for case .conv(let conv, let index) in slice { visit(conv, "net.slice\(s + 1).\(index)", body) }
        }
        for (k, lin) in lins.enumerated() { visit(lin, "lin\(k).model.1", body) }
    }
}
