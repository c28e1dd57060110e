// generative-models sgm/modules/diffusionmodules/video_model.py `VideoUNet`: the denoising network
// of SVD, SVD-XT, SV3D_u and SV3D_p. Built from a `VideoUNetConfig`; parameters are visited under the
// sgm state-dict keys relative to `model.diffusion_model.` (time_embed.0.weight, label_emb.0.0.weight,
// input_blocks.1.0.in_layers.0.weight, ...), so `load` takes a checkpoint's tensors with that prefix
// removed, strictly.

import Foundation
import NN
import Tensor

public final class VideoUNet: Module {
    public let config: VideoUNetConfig
    /// `time_embed`: Linear(mc→4mc), SiLU, Linear(4mc→4mc) on the sinusoid of c_noise.
    public let timeEmbedding: UNet.EmbeddingMLP
    /// `label_emb.0`: Linear(adm→4mc), SiLU, Linear(4mc→4mc) on the vector conditioning y.
    public let labelEmbedding: UNet.EmbeddingMLP?
    public let inputBlocks: [UNet.Block]
    public let middleBlock: UNet.Block
    public let outputBlocks: [UNet.Block]
    /// `out.0` GroupNorm32 (eps 1e-5), SiLU, `out.2` Conv2d 3×3 to outChannels.
    public let outNorm: GroupNorm
    public let outConv: Conv2d

    /// Builds the network with placeholder weights (zeros; norms ones; mix factors `mergeFactor`):
    /// load real ones with `load(_:)`. Allocates every parameter (6.1 GB for the released configs);
    /// use `VideoUNet.parameterShapes(_:)` to inspect a configuration without building it.
    public init(_ config: VideoUNetConfig) {
        self.config = config
        let layout = VideoUNetLayout(config)
        let e = config.timeEmbeddingWidth
        timeEmbedding = UNet.EmbeddingMLP(config.modelChannels, e)
        labelEmbedding = config.vectorWidth.map { UNet.EmbeddingMLP($0, e) }
        inputBlocks = layout.inputBlocks.map { UNet.Block($0, config: config) }
        middleBlock = UNet.Block(layout.middleBlock, config: config)
        outputBlocks = layout.outputBlocks.map { UNet.Block($0, config: config) }
        let width = config.levelWidths[0]
        outNorm = GroupNorm(groups: 32, channels: width, eps: 1e-5)
        outConv = Conv2d(width, config.outChannels, kernelSize: 3, padding: 1)
    }

    /// The time embedding for c_noise per row plus the label embedding of y: [B·T, 4·mc].
    public func embedding(timesteps: Tensor, y: Tensor?) -> Tensor {
        let t = timeEmbedding(timestepEmbedding(timesteps.scalars, dim: config.modelChannels))
        guard let labelEmbedding else {
            precondition(y == nil, "y given to a model without label_emb")
            return t
        }
        guard let y else { preconditionFailure("this model needs the vector conditioning y") }
        precondition(y.shape == [t.shape[0], config.vectorWidth!],
                     "y \(y.shape), expected [\(t.shape[0]), \(config.vectorWidth!)]")
        return t + labelEmbedding(y)
    }

    /// sgm VideoUNet.forward.
    /// - x: [B·T, inChannels, h, w], h and w divisible by 2^(levels − 1).
    /// - timesteps: [B·T], the denoiser's c_noise (0.25·ln σ) per row.
    /// - context: [B·T, N, contextWidth] cross-attention tokens (CLIP image embedding, N = 1).
    /// - y: [B·T, vectorWidth] vector conditioning (see `VectorConditioner`).
    /// - frames: T (`num_video_frames`).
    /// - imageOnlyIndicator: [B, T] of 0/1; nil = zeros, as at sampling time.
    /// Returns [B·T, outChannels, h, w].
    public func callAsFunction(_ x: Tensor, timesteps: Tensor, context: Tensor, y: Tensor?, frames: Int,
                               imageOnlyIndicator: Tensor? = nil) -> Tensor {
        let rows = x.shape[0]
        precondition(x.rank == 4 && x.shape[1] == config.inChannels, "x \(x.shape)")
        precondition(frames > 0 && rows % frames == 0, "\(rows) rows are not videos of \(frames) frames")
        precondition(timesteps.count == rows, "timesteps \(timesteps.shape) for \(rows) rows")
        precondition(context.rank == 3 && context.shape[0] == rows && context.shape[2] == config.contextWidth,
                     "context \(context.shape)")
        if let imageOnlyIndicator {
            precondition(imageOnlyIndicator.shape == [rows / frames, frames],
                         "imageOnlyIndicator \(imageOnlyIndicator.shape), expected [\(rows / frames), \(frames)]")
        }
        let inputs = UNet.BlockInputs(embedding: embedding(timesteps: timesteps, y: y), context: context,
                                      frames: frames, imageOnlyIndicator: imageOnlyIndicator)
        // down: keep every block's output for the skip connections
        var skips: [Tensor] = []
        var h = x
        for block in inputBlocks {
            h = block(h, inputs)
            skips.append(h)
        }
        h = middleBlock(h, inputs)
        // up: concatenate the matching skip on the channel axis before each block
        for block in outputBlocks {
            h = block(Tensor.concatenated([h, skips.removeLast()], axis: 1), inputs)
        }
        return outConv(outNorm(h, thenSiLU: true))
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(timeEmbedding, "time_embed", body)
        visit(labelEmbedding, "label_emb.0", body)
        visit(inputBlocks, "input_blocks", body)
        visit(middleBlock, "middle_block", body)
        visit(outputBlocks, "output_blocks", body)
        visit(outNorm, "out.0", body)
        visit(outConv, "out.2", body)
    }
}
