// The KL autoencoder's encoder, ported from generative-models sgm/modules/diffusionmodules/model.py
// `Encoder` (double_z, no time embedding). Keys (relative to `…encoder.`): conv_in,
// down.<level>.block.<i>, down.<level>.attn.<i>, down.<level>.downsample.conv, mid.block_1,
// mid.attn_1, mid.block_2, norm_out, conv_out.

import Foundation
import NN
import Tensor

/// One encoder level: ResnetBlocks (each followed by attention at attention resolutions), then a
/// downsampler on every level but the last.
public final class VAEEncoderLevel: Module {
    let blocks: [VAEResnetBlock]
    let attentions: [VAEAttentionBlock]
    let downsample: VAEDownsample?

    init(blocks: [VAEResnetBlock], attentions: [VAEAttentionBlock], downsample: VAEDownsample?) {
        self.blocks = blocks
        self.attentions = attentions
        self.downsample = downsample
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for (i, block) in blocks.enumerated() {
            h = block(h)
            if !attentions.isEmpty { h = attentions[i](h) }
        }
        return downsample.map { $0(h) } ?? h
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(blocks, "block", body); visit(attentions, "attn", body); visit(downsample, "downsample", body)
    }
}

/// sgm `Encoder`: image [N, 3, H, W] -> moments [N, 2·z, H/f, W/f] (mean and log-variance
/// stacked on the channel axis; f = `config.downsamplingFactor`).
public final class VAEEncoder: Module {
    public let config: AutoencoderConfig
    let convIn: Conv2d
    let levels: [VAEEncoderLevel]
    let mid: VAEMidBlock
    let normOut: GroupNorm
    let convOut: Conv2d

    public init(config: AutoencoderConfig, allocation: ParameterAllocation = .zeros) {
        self.config = config
        convIn = allocation.conv2d(config.imageChannels, config.baseChannels, kernelSize: 3, padding: 1)
        levels = Self.makeLevels(config, allocation)
        let top = config.channels(level: config.levelCount - 1)
        mid = VAEMidBlock(top, video: nil, allocation: allocation)
        normOut = vaeGroupNorm(top)
        convOut = allocation.conv2d(top, 2 * config.latentChannels, kernelSize: 3, padding: 1)
    }

    static func makeLevels(_ config: AutoencoderConfig, _ allocation: ParameterAllocation) -> [VAEEncoderLevel] {
        var width = config.baseChannels
        var size = config.resolution
        return (0..<config.levelCount).map { level in
            let out = config.channels(level: level)
            var blocks: [VAEResnetBlock] = [], attentions: [VAEAttentionBlock] = []
            for _ in 0..<config.resBlockCount {
                blocks.append(VAEResnetBlock(width, out, video: nil, allocation: allocation))
                width = out
                if config.attentionResolutions.contains(size) {
                    attentions.append(VAEAttentionBlock(out, allocation: allocation))
                }
            }
            let isLast = level == config.levelCount - 1
            if !isLast { size /= 2 }
            return VAEEncoderLevel(blocks: blocks, attentions: attentions,
                                   downsample: isLast ? nil : VAEDownsample(out, allocation: allocation))
        }
    }

    /// x [N, imageChannels, H, W] -> [N, 2·latentChannels, H/f, W/f].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = convIn(x)
        for level in levels { h = level(h) }
        h = mid(h)
        return convOut(normOut(h, thenSiLU: true))
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(convIn, "conv_in", body)
        visit(levels, "down", body)
        visit(mid, "mid", body)
        visit(normOut, "norm_out", body)
        visit(convOut, "conv_out", body)
    }
}
