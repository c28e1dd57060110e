// sgm `SpatialVideoTransformer` (sgm/modules/video_attention.py), a `SpatialTransformer`
// (attention.py, use_linear) whose every spatial block is followed by a temporal block mixed in by
// an AlphaBlender.

import Foundation
import NN
import Tensor

extension UNet {
    /// On [B·T, C, h, w] (inner width = heads·headWidth = C):
    /// 1. tokens = proj_in(norm(x) as [B·T, S, C]); GroupNorm 32 groups, eps 1e-6.
    /// 2. frame embedding e_t = time_pos_embed(sinusoid(t, C)) for frame index t (per row).
    /// 3. per depth d: x = transformer_blocks.d(x, context); x_t = time_stack.d(x + e_t, first-frame
    ///    context); x = α·x + (1 − α)·x_t (α per row, pattern "b t -> (b t) 1 1").
    /// 4. proj_out, back to [B·T, C, h, w], + input.
    public final class SpatialVideoTransformer: Module {
        public let norm: GroupNorm
        public let projectionIn: Linear
        public let blocks: [BasicTransformerBlock]
        public let projectionOut: Linear
        public let timeStack: [VideoTransformerBlock]
        public let framePositionEmbedding: EmbeddingMLP
        public let timeMixer: AlphaBlender
        public let usesSpatialContextForTime: Bool
        public let maxFramePeriod: Float

        public init(channels: Int, heads: Int, depth: Int, config: VideoUNetConfig) {
            let headWidth = channels / heads
            norm = GroupNorm(groups: 32, channels: channels, eps: 1e-6)
            projectionIn = Linear(channels, channels)
            blocks = (0..<depth).map { _ in
                BasicTransformerBlock(width: channels, heads: heads, headWidth: headWidth,
                                      contextWidth: config.contextWidth)
            }
            projectionOut = Linear(channels, channels)
            timeStack = (0..<depth).map { _ in
                VideoTransformerBlock(width: channels, heads: heads, headWidth: headWidth,
                                      timeContextWidth: config.usesSpatialContextForTime ? config.contextWidth : nil,
                                      hasFeedForwardIn: true,  // sgm: always (see VideoUNetConfig)
                                      hasCrossAttention: config.hasTemporalCrossAttention)
            }
            framePositionEmbedding = EmbeddingMLP(channels, channels, hidden: 4 * channels)
            timeMixer = AlphaBlender(strategy: config.mergeStrategy, factor: config.mergeFactor)
            usesSpatialContextForTime = config.usesSpatialContextForTime
            maxFramePeriod = config.maxFramePeriod
        }

        public func callAsFunction(_ x: Tensor, _ inputs: BlockInputs) -> Tensor {
            let (rows, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
            let frames = inputs.frames
            let videos = rows / frames
            let context = inputs.context
            // time context: the context of frame 0 of each video, [B, M, ctx]
            var timeContext: Tensor? = nil
            if usesSpatialContextForTime {
                let (m, width) = (context.shape[1], context.shape[2])
                timeContext = context.reshaped([videos, frames, m, width]).sliced(axis: 1, 0..<1)
                    .reshaped([videos, m, width])
            }
            var tokens = projectionIn(norm(x).reshaped([rows, c, h * w]).permuted([0, 2, 1]))
            // frame index t = row mod T, embedded with sgm's cos-first sinusoid
            let frameIndices = (0..<rows).map { Float($0 % frames) }
            let frameEmbedding = framePositionEmbedding(
                timestepEmbedding(frameIndices, dim: c, maxPeriod: maxFramePeriod)).reshaped([rows, 1, c])
            let alpha = timeMixer.alpha(imageOnlyIndicator: inputs.imageOnlyIndicator).reshaped([-1, 1, 1])
            for (block, temporalBlock) in zip(blocks, timeStack) {
                tokens = block(tokens, context: context)
                let temporal = temporalBlock(tokens + frameEmbedding, timeContext: timeContext, frames: frames)
                tokens = timeMixer.blend(spatial: tokens, temporal: temporal, alpha: alpha)
            }
            let out = projectionOut(tokens).permuted([0, 2, 1]).reshaped([rows, c, h, w])
            return out + x
        }

        // sgm registration order: norm, proj_in, transformer_blocks, proj_out, time_stack,
        // time_pos_embed, time_mixer.
        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(norm, "norm", body)
            visit(projectionIn, "proj_in", body)
            visit(blocks, "transformer_blocks", body)
            visit(projectionOut, "proj_out", body)
            visit(timeStack, "time_stack", body)
            visit(framePositionEmbedding, "time_pos_embed", body)
            visit(timeMixer, "time_mixer", body)
        }
    }
}
