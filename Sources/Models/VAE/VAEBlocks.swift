// Building blocks of the KL autoencoder, ported from generative-models
// sgm/modules/diffusionmodules/model.py (ResnetBlock, AttnBlock, Downsample, Upsample) and
// sgm/modules/autoencoding/temporal_ae.py (VideoResBlock's time_stack and mix, AE3DConv's
// time_mix_conv). Activations are (N, C, H, W); video activations are frames-flattened
// (B·T, C, H, W) with the T frames of a video adjacent, as in sgm.

import Foundation
import NN
import Tensor

/// sgm `Normalize`: GroupNorm with 32 groups, eps 1e-6.
func vaeGroupNorm(_ channels: Int) -> GroupNorm {
    GroupNorm(groups: AutoencoderConfig.normGroupCount, channels: channels, eps: 1e-6)
}

/// sgm `ResnetBlock` without time embedding (temb_channels 0), optionally followed by the
/// temporal mix of `VideoResBlock`. Keys: norm1, conv1, norm2, conv2, nin_shortcut (when the width
/// changes), and for video time_stack.* and mix_factor.
public final class VAEResnetBlock: Module {
    let norm1: GroupNorm, conv1: Conv2d, norm2: GroupNorm, conv2: Conv2d
    let ninShortcut: Conv2d?
    let temporal: TemporalResBlock?

    init(_ inChannels: Int, _ outChannels: Int, video: VideoDecoderConfig?, allocation: ParameterAllocation) {
        norm1 = vaeGroupNorm(inChannels)
        conv1 = allocation.conv2d(inChannels, outChannels, kernelSize: 3, padding: 1)
        norm2 = vaeGroupNorm(outChannels)
        conv2 = allocation.conv2d(outChannels, outChannels, kernelSize: 3, padding: 1)
        ninShortcut = inChannels == outChannels ? nil : allocation.conv2d(inChannels, outChannels, kernelSize: 1)
        temporal = video.map { TemporalResBlock(outChannels, config: $0, allocation: allocation) }
    }

    /// x [B·T, C, H, W] -> [B·T, C', H, W]; `frameCount` (T) is used only by the temporal mix.
    public func callAsFunction(_ x: Tensor, frameCount: Int = 1) -> Tensor {
        var h = conv1(norm1(x, thenSiLU: true))
        h = conv2(norm2(h, thenSiLU: true))
        let spatial = (ninShortcut.map { $0(x) } ?? x) + h
        guard let temporal else { return spatial }
        return temporal(spatial, frameCount: frameCount)
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(norm1, "norm1", body); visit(conv1, "conv1", body)
        visit(norm2, "norm2", body); visit(conv2, "conv2", body)
        visit(ninShortcut, "nin_shortcut", body)
        temporal?.visitParameters(body)
    }
}

/// The video part of sgm `VideoResBlock`: `time_stack`, an openaimodel `ResBlock` with dims 3,
/// kernel [k,1,1], no time embedding and GroupNorm32 (eps 1e-5, statistics over all frames of a
/// video), then out = α·temporal + (1−α)·spatial with α = sigmoid(mix_factor) ("learned") or
/// mix_factor ("fixed"). Keys: time_stack.in_layers.{0,2}, time_stack.out_layers.{0,3}, mix_factor.
final class TemporalResBlock: Module {
    let inNorm: GroupNorm, inConv: TemporalConv, outNorm: GroupNorm, outConv: TemporalConv
    var mixFactor: Tensor
    let isMixFactorLearned: Bool

    init(_ channels: Int, config: VideoDecoderConfig, allocation: ParameterAllocation) {
        inNorm = GroupNorm(groups: AutoencoderConfig.normGroupCount, channels: channels, eps: 1e-5)
        inConv = TemporalConv(channels, channels, kernelSize: config.temporalKernelSize, allocation: allocation)
        outNorm = GroupNorm(groups: AutoencoderConfig.normGroupCount, channels: channels, eps: 1e-5)
        outConv = TemporalConv(channels, channels, kernelSize: config.temporalKernelSize, allocation: allocation)
        mixFactor = Tensor(zeros: [1])
        isMixFactorLearned = config.isMixFactorLearned
    }

    /// spatial [B·T, C, H, W] -> [B·T, C, H, W].
    func callAsFunction(_ spatial: Tensor, frameCount t: Int) -> Tensor {
        let (bt, c, hh, ww) = (spatial.shape[0], spatial.shape[1], spatial.shape[2], spatial.shape[3])
        precondition(bt % t == 0, "VideoResBlock: \(bt) rows are not whole videos of \(t) frames")
        // (b t) c h w -> b c t h w
        let video = spatial.reshaped([bt / t, t, c, hh, ww]).permuted([0, 2, 1, 3, 4])
        var h = inConv(inNorm(video, thenSiLU: true))
        h = outConv(outNorm(h, thenSiLU: true))
        let temporal = video + h
        let alpha = isMixFactorLearned ? mixFactor.sigmoid() : mixFactor
        let mixed = alpha * temporal + (1 - alpha) * video
        return mixed.permuted([0, 2, 1, 3, 4]).reshaped([bt, c, hh, ww])
    }

    func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(inNorm, "time_stack.in_layers.0", body); visit(inConv, "time_stack.in_layers.2", body)
        visit(outNorm, "time_stack.out_layers.0", body); visit(outConv, "time_stack.out_layers.3", body)
        body("mix_factor", &mixFactor)
    }
}

/// torch.nn.Conv3d with kernel (k, 1, 1) and padding (k/2, 0, 0) over x [B, C, T, H, W].
final class TemporalConv: Module {
    /// [O, C, k, 1, 1], Float32 or half (see NN's LayerWeight.swift).
    var weight: LayerWeight, bias: Tensor

    init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, allocation: ParameterAllocation) {
        weight = LayerWeight(allocation.tensor([outChannels, inChannels, kernelSize, 1, 1]))
        bias = allocation.tensor([outChannels])
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.temporalConv(x, weight: weight.float, bias: bias, padding: weight.shape[2] / 2)
    }

    func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(&weight, "weight", body); body("bias", &bias)
    }
}

/// sgm `AttnBlock`: single-head self-attention over the H·W positions with 1x1-conv q, k, v and
/// proj_out, scale C^-1/2, residual. Keys: norm, q, k, v, proj_out.
public final class VAEAttentionBlock: Module {
    let norm: GroupNorm, q: Conv2d, k: Conv2d, v: Conv2d, projOut: Conv2d

    init(_ channels: Int, allocation: ParameterAllocation) {
        norm = vaeGroupNorm(channels)
        q = allocation.conv2d(channels, channels, kernelSize: 1)
        k = allocation.conv2d(channels, channels, kernelSize: 1)
        v = allocation.conv2d(channels, channels, kernelSize: 1)
        projOut = allocation.conv2d(channels, channels, kernelSize: 1)
    }

    /// x [N, C, H, W] -> [N, C, H, W].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (n, c, hh, ww) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let h = norm(x)
        func tokens(_ t: Tensor) -> Tensor { t.reshaped([n, c, hh * ww]).permuted([0, 2, 1]) }  // [N, HW, C]
        let attended = Tensor.attention(q: tokens(q(h)), k: tokens(k(h)), v: tokens(v(h)))
        return x + projOut(attended.permuted([0, 2, 1]).reshaped([n, c, hh, ww]))
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(norm, "norm", body); visit(q, "q", body); visit(k, "k", body); visit(v, "v", body)
        visit(projOut, "proj_out", body)
    }
}

/// sgm `Downsample` (with conv): zero-pad right and bottom by one, then a 3x3 stride-2 conv.
/// Key: conv.
public final class VAEDownsample: Module {
    let conv: Conv2d

    init(_ channels: Int, allocation: ParameterAllocation) {
        conv = allocation.conv2d(channels, channels, kernelSize: 3, stride: 2)
    }

    /// x [N, C, H, W] -> [N, C, H/2, W/2].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.conv2d(x, weight: conv.weight, bias: conv.bias, stride: 2,
                      padding: Padding2D(top: 0, bottom: 1, left: 0, right: 1))
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) { visit(conv, "conv", body) }
}

/// sgm `Upsample` (with conv): nearest 2x, then a 3x3 conv. Key: conv.
public final class VAEUpsample: Module {
    let conv: Conv2d

    init(_ channels: Int, allocation: ParameterAllocation) {
        conv = allocation.conv2d(channels, channels, kernelSize: 3, padding: 1)
    }

    /// x [N, C, H, W] -> [N, C, 2H, 2W].
    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x.upsampledNearest2x()) }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) { visit(conv, "conv", body) }
}

/// The middle of both encoder and decoder: block_1, attn_1 (always spatial), block_2.
public final class VAEMidBlock: Module {
    let block1: VAEResnetBlock, attention: VAEAttentionBlock, block2: VAEResnetBlock

    init(_ channels: Int, video: VideoDecoderConfig?, allocation: ParameterAllocation) {
        block1 = VAEResnetBlock(channels, channels, video: video, allocation: allocation)
        attention = VAEAttentionBlock(channels, allocation: allocation)
        block2 = VAEResnetBlock(channels, channels, video: video, allocation: allocation)
    }

    public func callAsFunction(_ x: Tensor, frameCount: Int = 1) -> Tensor {
        block2(attention(block1(x, frameCount: frameCount)), frameCount: frameCount)
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(block1, "block_1", body); visit(attention, "attn_1", body); visit(block2, "block_2", body)
    }
}
