// sgm `ResBlock` (sgm/modules/diffusionmodules/openaimodel.py) in its two UNet uses, and
// `VideoResBlock` (video_model.py) that chains them with an AlphaBlender. use_scale_shift_norm,
// up/down and use_conv skips are off in every released config and not implemented.

import Foundation
import NN
import Tensor

extension UNet {
    /// The spatial ResBlock on frames-flattened [B·T, Cin, h, w] -> [B·T, Cout, h, w]:
    /// h = conv(silu(norm(x))) + Linear(silu(emb)); h = conv(silu(norm(h))); skip(x) + h.
    /// GroupNorm32 (32 groups, eps 1e-5) per frame. Keys: in_layers.{0,2}, emb_layers.1,
    /// out_layers.{0,3}, skip_connection (1×1 conv, only when Cin ≠ Cout).
    public final class ResBlock: Module {
        public let inNorm: GroupNorm, inConv: Conv2d, embeddingProjection: Linear
        public let outNorm: GroupNorm, outConv: Conv2d, skip: Conv2d?

        public init(inChannels: Int, outChannels: Int, embeddingWidth: Int) {
            inNorm = GroupNorm(groups: 32, channels: inChannels, eps: 1e-5)
            inConv = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1)
            embeddingProjection = Linear(embeddingWidth, outChannels)
            outNorm = GroupNorm(groups: 32, channels: outChannels, eps: 1e-5)
            outConv = Conv2d(outChannels, outChannels, kernelSize: 3, padding: 1)
            skip = inChannels == outChannels ? nil : Conv2d(inChannels, outChannels, kernelSize: 1)
        }

        /// x [B·T, Cin, h, w], embedding [B·T, E].
        public func callAsFunction(_ x: Tensor, embedding: Tensor) -> Tensor {
            var h = inConv(inNorm(x, thenSiLU: true))
            h = h + embeddingProjection(embedding.silu()).reshaped([x.shape[0], -1, 1, 1])
            h = outConv(outNorm(h, thenSiLU: true))
            return (skip.map { $0(x) } ?? x) + h
        }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(inNorm, "in_layers.0", body)
            visit(inConv, "in_layers.2", body)
            visit(embeddingProjection, "emb_layers.1", body)
            visit(outNorm, "out_layers.0", body)
            visit(outConv, "out_layers.3", body)
            visit(skip, "skip_connection", body)
        }
    }

    /// The `time_stack` ResBlock (dims 3, kernel (k,1,1), exchange_temb_dims) on [B, C, T, h, w]:
    /// the same structure as `ResBlock` with temporal convolutions, identity skip, GroupNorm
    /// statistics over (channel group, T, h, w) of each video, and the embedding added per frame.
    public final class TemporalResBlock: Module {
        public let inNorm: GroupNorm, inConv: TemporalConv, embeddingProjection: Linear
        public let outNorm: GroupNorm, outConv: TemporalConv

        public init(channels: Int, embeddingWidth: Int, kernelSize: Int) {
            inNorm = GroupNorm(groups: 32, channels: channels, eps: 1e-5)
            inConv = TemporalConv(channels, channels, kernelSize: kernelSize)
            embeddingProjection = Linear(embeddingWidth, channels)
            outNorm = GroupNorm(groups: 32, channels: channels, eps: 1e-5)
            outConv = TemporalConv(channels, channels, kernelSize: kernelSize)
        }

        /// x [B, C, T, h, w], embedding [B·T, E].
        public func callAsFunction(_ x: Tensor, embedding: Tensor) -> Tensor {
            let (videos, channels, frames) = (x.shape[0], x.shape[1], x.shape[2])
            var h = inConv(inNorm(x, thenSiLU: true))
            // emb (b t) e -> b t c -> b c t 1 1
            let e = embeddingProjection(embedding.silu()).reshaped([videos, frames, channels])
            h = h + e.permuted([0, 2, 1]).reshaped([videos, channels, frames, 1, 1])
            h = outConv(outNorm(h, thenSiLU: true))
            return x + h
        }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(inNorm, "in_layers.0", body)
            visit(inConv, "in_layers.2", body)
            visit(embeddingProjection, "emb_layers.1", body)
            visit(outNorm, "out_layers.0", body)
            visit(outConv, "out_layers.3", body)
        }
    }

    /// sgm `VideoResBlock`: spatial ResBlock, then `time_stack` over the frames of each video, blended
    /// by `time_mixer` (α per frame, pattern "b t -> b 1 t 1 1"): α·spatial + (1 − α)·temporal.
    public final class VideoResBlock: Module {
        public let spatial: ResBlock
        public let timeStack: TemporalResBlock
        public let timeMixer: AlphaBlender

        public init(inChannels: Int, outChannels: Int, config: VideoUNetConfig) {
            spatial = ResBlock(inChannels: inChannels, outChannels: outChannels,
                               embeddingWidth: config.timeEmbeddingWidth)
            timeStack = TemporalResBlock(channels: outChannels, embeddingWidth: config.timeEmbeddingWidth,
                                         kernelSize: config.temporalKernelSize)
            timeMixer = AlphaBlender(strategy: config.mergeStrategy, factor: config.mergeFactor)
        }

        /// x [B·T, Cin, h, w] -> [B·T, Cout, h, w].
        public func callAsFunction(_ x: Tensor, _ inputs: BlockInputs) -> Tensor {
            let s = spatial(x, embedding: inputs.embedding)
            let (rows, c, h, w) = (s.shape[0], s.shape[1], s.shape[2], s.shape[3])
            let frames = inputs.frames
            let videos = rows / frames
            // (b t) c h w -> b c t h w
            let s5 = s.reshaped([videos, frames, c, h, w]).permuted([0, 2, 1, 3, 4])
            let t5 = timeStack(s5, embedding: inputs.embedding)
            let alpha = timeMixer.alpha(imageOnlyIndicator: inputs.imageOnlyIndicator)
            let a5 = alpha.count == 1 ? alpha.reshaped([1, 1, 1, 1, 1]) : alpha.reshaped([videos, 1, frames, 1, 1])
            let mixed = timeMixer.blend(spatial: s5, temporal: t5, alpha: a5)
            return mixed.permuted([0, 2, 1, 3, 4]).reshaped([rows, c, h, w])
        }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            spatial.visitParameters(body)
            visit(timeStack, "time_stack", body)
            visit(timeMixer, "time_mixer", body)
        }
    }
}
