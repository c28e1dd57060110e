// The OpenCLIP image tower, ported from open_clip src/open_clip/transformer.py `VisionTransformer`
// (learned positional embedding, class-token pooling, ln_pre, no attentional pooler, no patch
// dropout, no layer scale) and `ResidualAttentionBlock` (pre-LN, torch.nn.MultiheadAttention with
// fused in_proj, MLP c_fc -> activation -> c_proj). Keys (relative to `…visual.`): conv1,
// class_embedding, positional_embedding, ln_pre, transformer.resblocks.<i>.{ln_1,
// attn.in_proj_weight, attn.in_proj_bias, attn.out_proj, ln_2, mlp.c_fc, mlp.c_proj}, ln_post, proj.
// Shorthands: N images, L tokens (patches + 1), W width.

import Foundation
import NN
import Tensor

/// open_clip `ResidualAttentionBlock`: x + attn(ln_1(x)), then + mlp(ln_2(x)). x [N, L, W].
public final class ResidualAttentionBlock: Module {
    let headCount: Int
    let activation: VisionTransformerConfig.Activation
    let ln1: LayerNorm, ln2: LayerNorm
    /// torch.nn.MultiheadAttention's fused q, k, v projection: [3W, W] (Float32 or half, see NN's
    /// LayerWeight.swift) and [3W].
    var inProjWeight: LayerWeight, inProjBias: Tensor
    let outProj: Linear, fc: Linear, proj: Linear

    init(_ config: VisionTransformerConfig, allocation: ParameterAllocation) {
        let w = config.width
        headCount = config.headCount
        activation = config.activation
        ln1 = LayerNorm(w, eps: config.layerNormEps)
        ln2 = LayerNorm(w, eps: config.layerNormEps)
        inProjWeight = LayerWeight(allocation.tensor([3 * w, w]))
        inProjBias = allocation.tensor([3 * w])
        outProj = allocation.linear(w, w)
        fc = allocation.linear(w, config.mlpWidth)
        proj = allocation.linear(config.mlpWidth, w)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let w = x.shape[2]
        // attention
        let qkv = Tensor.linear(ln1(x), weight: inProjWeight.float, bias: inProjBias).split(axis: -1, sizes: [w, w, w])
        var h = x + outProj(Tensor.multiHeadAttention(q: qkv[0], k: qkv[1], v: qkv[2], heads: headCount))
        // MLP
        let hidden = fc(ln2(h))
        let activated = activation == .gelu ? hidden.gelu() : hidden * (hidden * 1.702).sigmoid()
        h = h + proj(activated)
        return h
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(ln1, "ln_1", body)
        visit(&inProjWeight, "attn.in_proj_weight", body)
        body("attn.in_proj_bias", &inProjBias)
        visit(outProj, "attn.out_proj", body)
        visit(ln2, "ln_2", body)
        visit(fc, "mlp.c_fc", body)
        visit(proj, "mlp.c_proj", body)
    }
}

/// open_clip `VisionTransformer`: normalised images [N, 3, S, S] -> embeddings [N, outputWidth]
/// (not L2-normalised).
public final class VisionTransformer: Module {
    public let config: VisionTransformerConfig
    let conv1: Conv2d
    var classEmbedding: Tensor
    var positionalEmbedding: Tensor
    let lnPre: LayerNorm
    let blocks: [ResidualAttentionBlock]
    let lnPost: LayerNorm
    /// [W, outputWidth], applied as pooled @ proj.
    var proj: Tensor

    public init(config: VisionTransformerConfig, allocation: ParameterAllocation = .zeros) {
        self.config = config
        let w = config.width
        conv1 = allocation.conv2d(3, w, kernelSize: config.patchSize, stride: config.patchSize, bias: false)
        classEmbedding = allocation.tensor([w])
        positionalEmbedding = allocation.tensor([config.tokenCount, w])
        lnPre = LayerNorm(w, eps: config.layerNormEps)
        blocks = (0..<config.layerCount).map { _ in ResidualAttentionBlock(config, allocation: allocation) }
        lnPost = LayerNorm(w, eps: config.layerNormEps)
        proj = allocation.tensor([w, config.outputWidth])
    }

    /// Tokens after ln_pre: [N, L, W] (open_clip `_embeds`).
    public func embeddings(_ x: Tensor) -> Tensor {
        precondition(x.rank == 4 && x.shape[1] == 3 && x.shape[2] == config.imageSize && x.shape[3] == config.imageSize,
                     "VisionTransformer expects [N, 3, \(config.imageSize), \(config.imageSize)], got \(x.shape)")
        let (n, w) = (x.shape[0], config.width)
        let patches = conv1(x).reshaped([n, w, config.tokenCount - 1]).permuted([0, 2, 1])  // [N, L-1, W]
        let classToken = classEmbedding.reshaped([1, 1, w]).broadcast(to: [n, 1, w])
        let tokens = Tensor.concatenated([classToken, patches], axis: 1) + positionalEmbedding
        return lnPre(tokens)
    }

    /// x [N, 3, S, S] (already preprocessed) -> [N, outputWidth].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = embeddings(x)
        for block in blocks { h = block(h) }
        let pooled = lnPost(h).sliced(axis: 1, 0..<1).reshaped([x.shape[0], config.width])  // class token
        return Tensor.matmul(pooled, proj)
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        body("class_embedding", &classEmbedding)
        body("positional_embedding", &positionalEmbedding)
        body("proj", &proj)
        visit(conv1, "conv1", body)
        visit(lnPre, "ln_pre", body)
        visit(blocks, "transformer.resblocks", body)
        visit(lnPost, "ln_post", body)
    }
}
