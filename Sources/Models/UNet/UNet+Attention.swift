// sgm/modules/attention.py `CrossAttention` (= `MemoryEfficientCrossAttention`: same weights and
// math, only the kernel differs), `FeedForward` with `GEGLU`, `BasicTransformerBlock`, and
// sgm/modules/video_attention.py `VideoTransformerBlock`.

import Foundation
import NN
import Tensor

extension UNet {
    /// Multi-head attention: to_q (C→inner), to_k / to_v (contextWidth→inner), no biases;
    /// to_out.0 Linear(inner→C). Heads split as (h d) on the channel axis, scale 1/√d.
    public final class CrossAttention: Module {
        public let toQ: Linear, toK: Linear, toV: Linear, toOut: Linear
        public let heads: Int

        public init(queryWidth: Int, contextWidth: Int? = nil, heads: Int, headWidth: Int) {
            let inner = heads * headWidth
            self.heads = heads
            toQ = Linear(queryWidth, inner, bias: false)
            toK = Linear(contextWidth ?? queryWidth, inner, bias: false)
            toV = Linear(contextWidth ?? queryWidth, inner, bias: false)
            toOut = Linear(inner, queryWidth)
        }

        /// x [B, N, C]; context [B, M, contextWidth] (nil: self-attention) -> [B, N, C].
        public func callAsFunction(_ x: Tensor, context: Tensor? = nil) -> Tensor {
            let c = context ?? x
            return attend(x, keys: toK(c), values: toV(c))
        }

        /// Attention with keys and values already projected ([B, M, inner]).
        public func attend(_ x: Tensor, keys: Tensor, values: Tensor) -> Tensor {
            toOut(Tensor.multiHeadAttention(q: toQ(x), k: keys, v: values, heads: heads))
        }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(toQ, "to_q", body)
            visit(toK, "to_k", body)
            visit(toV, "to_v", body)
            visit(toOut, "to_out.0", body)
        }
    }

    /// FeedForward(glu=True, mult 4): net.0 = GEGLU (proj Linear(C→8C), halves [a | g] -> a·gelu(g)),
    /// net.1 Dropout(0), net.2 Linear(4C→out).
    public final class FeedForward: Module {
        public let projection: Linear, output: Linear

        public init(_ width: Int, outWidth: Int? = nil, multiplier: Int = 4) {
            projection = Linear(width, 2 * multiplier * width)
            output = Linear(multiplier * width, outWidth ?? width)
        }

        public func callAsFunction(_ x: Tensor) -> Tensor { output(projection(x).geglu()) }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(projection, "net.0.proj", body)
            visit(output, "net.2", body)
        }
    }

    /// sgm `BasicTransformerBlock` (pre-LN, LayerNorm eps 1e-5) on tokens [B·T, S, C]:
    /// x += attn1(norm1 x); x += attn2(norm2 x, context); x += ff(norm3 x).
    public final class BasicTransformerBlock: Module {
        public let selfAttention: CrossAttention, feedForward: FeedForward
        public let crossAttention: CrossAttention
        public let norm1: LayerNorm, norm2: LayerNorm, norm3: LayerNorm

        public init(width: Int, heads: Int, headWidth: Int, contextWidth: Int) {
            selfAttention = CrossAttention(queryWidth: width, heads: heads, headWidth: headWidth)
            feedForward = FeedForward(width)
            crossAttention = CrossAttention(queryWidth: width, contextWidth: contextWidth, heads: heads,
                                            headWidth: headWidth)
            norm1 = LayerNorm(width)
            norm2 = LayerNorm(width)
            norm3 = LayerNorm(width)
        }

        public func callAsFunction(_ x: Tensor, context: Tensor) -> Tensor {
            var h = selfAttention(norm1(x)) + x
            h = crossAttention(norm2(h), context: context) + h
            return feedForward(norm3(h)) + h
        }

        // sgm registration order: attn1, ff, attn2, norm1, norm2, norm3.
        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(selfAttention, "attn1", body)
            visit(feedForward, "ff", body)
            visit(crossAttention, "attn2", body)
            visit(norm1, "norm1", body)
            visit(norm2, "norm2", body)
            visit(norm3, "norm3", body)
        }
    }

    /// sgm `VideoTransformerBlock` (a `time_stack.d`): tokens regrouped (B·T, S, C) -> (B·S, T, C) so
    /// each location attends over the frames of its video:
    /// x += ff_in(norm_in x) [if extra_ff_mix_layer]; x += attn1(norm1 x); x += attn2(norm2 x, time
    /// context) [unless disabled]; x += ff(norm3 x).
    public final class VideoTransformerBlock: Module {
        public let normIn: LayerNorm?, feedForwardIn: FeedForward?
        public let selfAttention: CrossAttention, feedForward: FeedForward
        public let norm2: LayerNorm?, crossAttention: CrossAttention?
        public let norm1: LayerNorm, norm3: LayerNorm

        /// `timeContextWidth`: width of the time-context tokens (the spatial context width when
        /// use_spatial_context); nil makes attn2 a self-attention.
        public init(width: Int, heads: Int, headWidth: Int, timeContextWidth: Int?,
                    hasFeedForwardIn: Bool, hasCrossAttention: Bool) {
            normIn = hasFeedForwardIn ? LayerNorm(width) : nil
            feedForwardIn = hasFeedForwardIn ? FeedForward(width) : nil
            selfAttention = CrossAttention(queryWidth: width, heads: heads, headWidth: headWidth)
            feedForward = FeedForward(width)
            norm2 = hasCrossAttention ? LayerNorm(width) : nil
            crossAttention = hasCrossAttention
                ? CrossAttention(queryWidth: width, contextWidth: timeContextWidth, heads: heads,
                                 headWidth: headWidth)
                : nil
            norm1 = LayerNorm(width)
            norm3 = LayerNorm(width)
        }

        /// x [B·T, S, C]; timeContext [B, M, ctx] (one set of tokens per video, shared by its S
        /// locations; nil: attn2 attends to x itself) -> [B·T, S, C].
        public func callAsFunction(_ x: Tensor, timeContext: Tensor?, frames: Int) -> Tensor {
            let (rows, s, c) = (x.shape[0], x.shape[1], x.shape[2])
            let videos = rows / frames
            // (b t) s c -> (b s) t c
            var h = x.reshaped([videos, frames, s, c]).permuted([0, 2, 1, 3]).reshaped([videos * s, frames, c])
            if let normIn, let feedForwardIn { h = feedForwardIn(normIn(h)) + h }
            h = selfAttention(norm1(h)) + h
            if let norm2, let crossAttention {
                let q = norm2(h)
                if let timeContext {
                    // Project each video's tokens once, then repeat them for its S locations
                    // (sgm repeats the context h·w times before projecting: the same numbers).
                    let m = timeContext.shape[1]
                    func perLocation(_ t: Tensor) -> Tensor {
                        let inner = t.shape[2]
                        return t.reshaped([videos, 1, m, inner]).broadcast(to: [videos, s, m, inner])
                            .reshaped([videos * s, m, inner])
                    }
                    h = crossAttention.attend(q, keys: perLocation(crossAttention.toK(timeContext)),
                                              values: perLocation(crossAttention.toV(timeContext))) + h
                } else {
                    h = crossAttention(q) + h
                }
            }
            h = feedForward(norm3(h)) + h
            // (b s) t c -> (b t) s c
            return h.reshaped([videos, s, frames, c]).permuted([0, 2, 1, 3]).reshaped([rows, s, c])
        }

        // sgm registration order: norm_in, ff_in, attn1, ff, norm2, attn2, norm1, norm3.
        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(normIn, "norm_in", body)
            visit(feedForwardIn, "ff_in", body)
            visit(selfAttention, "attn1", body)
            visit(feedForward, "ff", body)
            visit(norm2, "norm2", body)
            visit(crossAttention, "attn2", body)
            visit(norm1, "norm1", body)
            visit(norm3, "norm3", body)
        }
    }
}
