// The KL autoencoder's decoders, ported from generative-models
// sgm/modules/diffusionmodules/model.py `Decoder` (the image decoder, SV3D's first stage) and
// sgm/modules/autoencoding/temporal_ae.py `VideoDecoder` (time_mode "conv-only", SVD's first
// stage): with `config.video` set, every ResnetBlock is a VideoResBlock and conv_out is an
// AE3DConv. Keys (relative to `…decoder.`): conv_in, mid.{block_1,attn_1,block_2},
// up.<level>.block.<i>, up.<level>.attn.<i>, up.<level>.upsample.conv, norm_out, conv_out, and
// for video conv_out.time_mix_conv.

import Foundation
import NN
import Tensor

/// One decoder level: resBlockCount + 1 ResnetBlocks (each followed by attention at attention
/// resolutions), then an upsampler on every level but level 0.
public final class VAEDecoderLevel: Module {
    let blocks: [VAEResnetBlock]
    let attentions: [VAEAttentionBlock]
    let upsample: VAEUpsample?

    init(blocks: [VAEResnetBlock], attentions: [VAEAttentionBlock], upsample: VAEUpsample?) {
        self.blocks = blocks
        self.attentions = attentions
        self.upsample = upsample
    }

    public func callAsFunction(_ x: Tensor, frameCount: Int = 1) -> Tensor {
        var h = x
        for (i, block) in blocks.enumerated() {
            h = block(h, frameCount: frameCount)
            if !attentions.isEmpty { h = attentions[i](h) }
        }
        return upsample.map { $0(h) } ?? h
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(blocks, "block", body); visit(attentions, "attn", body); visit(upsample, "upsample", body)
    }
}

/// sgm `Decoder` / `VideoDecoder`: latents [B·T, z, h, w] -> images [B·T, 3, f·h, f·w].
public final class VAEDecoder: Module {
    public let config: AutoencoderConfig
    let convIn: Conv2d
    let mid: VAEMidBlock
    /// Indexed by level (as the `up.<level>` keys); run from the last level down to 0.
    let levels: [VAEDecoderLevel]
    let normOut: GroupNorm
    let convOut: Conv2d
    /// AE3DConv's `time_mix_conv` (video only).
    let timeMixConv: TemporalConv?

    public init(config: AutoencoderConfig, allocation: ParameterAllocation = .zeros) {
        self.config = config
        let top = config.channels(level: config.levelCount - 1)
        convIn = allocation.conv2d(config.latentChannels, top, kernelSize: 3, padding: 1)
        mid = VAEMidBlock(top, video: config.video, allocation: allocation)
        levels = Self.makeLevels(config, allocation)
        let bottom = config.channels(level: 0)
        normOut = vaeGroupNorm(bottom)
        convOut = allocation.conv2d(bottom, config.imageChannels, kernelSize: 3, padding: 1)
        timeMixConv = config.video.map {
            TemporalConv(config.imageChannels, config.imageChannels, kernelSize: $0.temporalKernelSize,
                         allocation: allocation)
        }
    }

    static func makeLevels(_ config: AutoencoderConfig, _ allocation: ParameterAllocation) -> [VAEDecoderLevel] {
        var width = config.channels(level: config.levelCount - 1)
        var size = config.resolution / config.downsamplingFactor
        var levels: [VAEDecoderLevel] = []
        for level in (0..<config.levelCount).reversed() {
            let out = config.channels(level: level)
            var blocks: [VAEResnetBlock] = [], attentions: [VAEAttentionBlock] = []
            for _ in 0...config.resBlockCount {
                blocks.append(VAEResnetBlock(width, out, video: config.video, allocation: allocation))
                width = out
                if config.attentionResolutions.contains(size) {
                    attentions.append(VAEAttentionBlock(out, allocation: allocation))
                }
            }
            if level != 0 { size *= 2 }
            levels.insert(VAEDecoderLevel(blocks: blocks, attentions: attentions,
                                          upsample: level == 0 ? nil : VAEUpsample(out, allocation: allocation)),
                          at: 0)
        }
        return levels
    }

    /// z [B·T, latentChannels, h, w] -> [B·T, imageChannels, f·h, f·w]. For the video decoder the
    /// rows are `frameCount`-frame videos (sgm's `timesteps`); temporal convolutions zero-pad at
    /// both ends of each video.
    public func callAsFunction(_ z: Tensor, frameCount: Int = 1) -> Tensor {
        var h = convIn(z)
        h = mid(h, frameCount: frameCount)
        for level in levels.reversed() { h = level(h, frameCount: frameCount) }
        h = convOut(normOut(h, thenSiLU: true))
        guard let timeMixConv else { return h }
        let (bt, c, hh, ww) = (h.shape[0], h.shape[1], h.shape[2], h.shape[3])
        precondition(bt % frameCount == 0, "VideoDecoder: \(bt) rows are not whole videos of \(frameCount) frames")
        let video = h.reshaped([bt / frameCount, frameCount, c, hh, ww]).permuted([0, 2, 1, 3, 4])
        return timeMixConv(video).permuted([0, 2, 1, 3, 4]).reshaped([bt, c, hh, ww])
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(convIn, "conv_in", body)
        visit(mid, "mid", body)
        visit(levels, "up", body)
        visit(normOut, "norm_out", body)
        visit(convOut, "conv_out", body)
        visit(timeMixConv, "conv_out.time_mix_conv", body)
    }
}
