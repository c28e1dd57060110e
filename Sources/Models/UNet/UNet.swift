// Namespace for the VideoUNet's building blocks (sgm names: ResBlock, VideoResBlock, AlphaBlender,
// CrossAttention, ...). They live under `UNet.` so that the VAE's blocks of the same sgm names can
// sit in the same `Models` target.
//
// Shorthands: B videos, T frames, C channels, h·w latent size, S = h·w tokens, E time-embedding width.
// Activations are frames-flattened (B·T, C, h, w) with the frames of one video adjacent, as in sgm.

import Foundation
import NN
import Tensor

public enum UNet {}

extension UNet {
    /// What every block of the UNet receives besides its input (sgm passes these as keywords
    /// through `TimestepEmbedSequential`).
    public struct BlockInputs {
        /// Time (+ label) embedding, [B·T, E].
        public var embedding: Tensor
        /// Cross-attention tokens, [B·T, N, contextWidth].
        public var context: Tensor
        /// T, the frames per video (`num_video_frames`).
        public var frames: Int
        /// [B, T] of 0/1; nil means all zeros (every row is a video frame), as at sampling time.
        public var imageOnlyIndicator: Tensor?

        public init(embedding: Tensor, context: Tensor, frames: Int, imageOnlyIndicator: Tensor? = nil) {
            self.embedding = embedding
            self.context = context
            self.frames = frames
            self.imageOnlyIndicator = imageOnlyIndicator
        }
    }

    /// nn.Sequential(Linear(in→out), SiLU, Linear(out→out)), keys "0.*" and "2.*" (sgm `time_embed`,
    /// the inner Sequential of `label_emb`, and `time_pos_embed`).
    public final class EmbeddingMLP: Module {
        public let first: Linear
        public let second: Linear

        public init(_ inWidth: Int, _ outWidth: Int, hidden: Int? = nil) {
            first = Linear(inWidth, hidden ?? outWidth)
            second = Linear(hidden ?? outWidth, outWidth)
        }

        public func callAsFunction(_ x: Tensor) -> Tensor { second(first(x).silu()) }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(first, "0", body)
            visit(second, "2", body)
        }
    }

    /// sgm's Conv3d with kernel (k, 1, 1) and padding (k/2, 0, 0): a convolution over the frames of
    /// each video. Weight [O, C, k, 1, 1], bias [O]; input/output [B, C, T, h, w].
    public final class TemporalConv: Module {
        /// Float32 or half (see NN's LayerWeight.swift).
        public var weight: LayerWeight
        public var bias: Tensor

        public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int) {
            weight = LayerWeight(Tensor(zeros: [outChannels, inChannels, kernelSize, 1, 1]))
            bias = Tensor(zeros: [outChannels])
        }

        public func callAsFunction(_ x: Tensor) -> Tensor {
            Tensor.temporalConv(x, weight: weight.float, bias: bias, padding: weight.shape[2] / 2)
        }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            visit(&weight, "weight", body)
            body("bias", &bias)
        }
    }

    /// sgm `AlphaBlender` (sgm/modules/diffusionmodules/util.py): out = α·spatial + (1 − α)·temporal
    /// with α from `mix_factor` per `MergeStrategy`. Key: "mix_factor" [1] (a buffer for `.fixed`).
    public final class AlphaBlender: Module {
        public var mixFactor: Tensor
        public let strategy: UNet.MergeStrategy

        public init(strategy: UNet.MergeStrategy, factor: Float) {
            self.strategy = strategy
            mixFactor = Tensor(shape: [1], scalars: [factor])
        }

        /// α per row of the [B, T] indicator flattened to [B·T], or [1] when α does not depend on it.
        public func alpha(imageOnlyIndicator: Tensor?) -> Tensor {
            switch strategy {
            case .fixed: return mixFactor
            case .learned: return mixFactor.sigmoid()
            case .learnedWithImages:
                let learned = mixFactor.sigmoid()
                guard let indicator = imageOnlyIndicator else { return learned }
                let flags = indicator.reshaped([indicator.count])
                // torch.where(indicator, 1, sigmoid(mix)) for 0/1 flags, exactly.
                return learned * (1 - flags) + flags
            }
        }

        /// α·spatial + (1 − α)·temporal; `alpha` already shaped to broadcast against both.
        public func blend(spatial: Tensor, temporal: Tensor, alpha: Tensor) -> Tensor {
            alpha * spatial + (1 - alpha) * temporal
        }

        public func visitParameters(_ body: (String, inout Tensor) -> Void) {
            body("mix_factor", &mixFactor)
        }
    }
}
