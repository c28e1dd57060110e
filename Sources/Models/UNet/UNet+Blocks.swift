// sgm `Downsample` / `Upsample` (openaimodel.py, conv_resample, dims 2) and `TimestepEmbedSequential`:
// one entry of input_blocks / middle_block / output_blocks.

import Foundation
import NN
import Tensor

extension UNet {
    /// 3×3 convolution with stride 2, padding 1; key "op".
    public final class Downsample: Module {
        public let op: Conv2d
        public init(channels: Int) { op = Conv2d(channels, channels, kernelSize: 3, stride: 2, padding: 1) }
        public func callAsFunction(_ x: Tensor) -> Tensor { op(x) }
        public func visitParameters(_ body: (String, inout Tensor) -> Void) { visit(op, "op", body) }
    }

    /// Nearest-neighbour ×2 then a 3×3 convolution, padding 1; key "conv".
    public final class Upsample: Module {
        public let conv: Conv2d
        public init(channels: Int) { conv = Conv2d(channels, channels, kernelSize: 3, padding: 1) }
        public func callAsFunction(_ x: Tensor) -> Tensor { conv(x.upsampledNearest2x()) }
        public func visitParameters(_ body: (String, inout Tensor) -> Void) { visit(conv, "conv", body) }
    }

    /// One layer of a block, as `TimestepEmbedSequential` dispatches on its type.
    public enum Layer {
        case conv(Conv2d)
        case resBlock(VideoResBlock)
        case transformer(SpatialVideoTransformer)
        case downsample(Downsample)
        case upsample(Upsample)

        var module: Module {
            switch self {
            case .conv(let m): return m
            case .resBlock(let m): return m
            case .transformer(let m): return m
            case .downsample(let m): return m
            case .upsample(let m): return m
            }
        }
    }

    /// sgm `TimestepEmbedSequential`: layers keyed "0", "1", "2" applied in order.
    public final class Block: Module {
        public let layers: [Layer]

        public init(_ layers: [Layer]) { self.layers = layers }

        /// Builds the layers of one block from its layout entry.
        public convenience init(_ specs: [LayerSpec], config: VideoUNetConfig) {
            self.init(specs.map { spec -> Layer in
                switch spec {
                case let .inputConv(inChannels, outChannels):
                    return .conv(Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1))
                case let .resBlock(inChannels, outChannels):
                    return .resBlock(VideoResBlock(inChannels: inChannels, outChannels: outChannels, config: config))
                case let .transformer(channels, heads, depth):
                    return .transformer(SpatialVideoTransformer(channels: channels, heads: heads, depth: depth,
                                                                config: config))
                case let .downsample(channels): return .downsample(Downsample(channels: channels))
                case let .upsample(channels): return .upsample(Upsample(channels: channels))
                }
            })
        }

        public func callAsFunction(_ x: Tensor, _ inputs: BlockInputs) -> Tensor {
            var h = x
            for layer in layers {
                switch layer {
                case .conv(let m): h = m(h)
                case .resBlock(let m): h = m(h, inputs)
                case .transformer(let m): h = m(h, inputs)
                case .downsample(let m): h = m(h)
                case .upsample(let m): h = m(h)
                }
            }
            return h
        }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            for (i, layer) in layers.enumerated() {
                layer.module.visitParameters { key, t in body("\(i).\(key)", &t) }
            }
        }
    }
}
