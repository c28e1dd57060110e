// The hyperparameters of sgm's `VideoUNet` (generative-models
// sgm/modules/diffusionmodules/video_model.py), the `network_config.params` of the sampling configs
// scripts/sampling/configs/{svd,svd_xt,sv3d_u,sv3d_p}.yaml, under honest Swift names; each property's
// comment gives the sgm name. Options the released models do not use (use_scale_shift_norm,
// resblock_updown, time_downup, conv 1x1 proj_in, num_heads instead of num_head_channels, a separate
// time_context) are not represented: the model always behaves as sgm does with those off.
// `extra_ff_mix_layer` is not represented either, because it changes nothing in a VideoUNet:
// SpatialVideoTransformer passes `inner_dim` to VideoTransformerBlock, and `ff_in = ff_in or inner_dim
// is not None` then always builds `norm_in` / `ff_in` (checked against sgm with the flag off).

import Foundation

extension UNet {
    /// How a learned mixing factor blends a spatial and a temporal branch (sgm `AlphaBlender`):
    /// out = α·spatial + (1 − α)·temporal.
    public enum MergeStrategy: String, Codable, Sendable {
        /// α = mix_factor as stored (a buffer).
        case fixed
        /// α = sigmoid(mix_factor).
        case learned
        /// α = 1 for rows flagged by `image_only_indicator`, else sigmoid(mix_factor). The UNet's choice.
        case learnedWithImages = "learned_with_images"
    }
}

public struct VideoUNetConfig: Codable, Equatable, Sendable {
    /// `in_channels`: noisy latent (4) + concatenated conditioning latent (4).
    public var inChannels: Int
    /// `out_channels`.
    public var outChannels: Int
    /// `model_channels`: width of level 0; the time embedding is 4× this.
    public var modelChannels: Int
    /// `channel_mult`: level widths as multiples of `modelChannels`.
    public var channelMultipliers: [Int]
    /// `num_res_blocks`: resblocks per level going down (one more per level going up).
    public var resBlocksPerLevel: Int
    /// `attention_resolutions`: despite the name, the *downsampling factors* (1, 2, 4, ...) at which
    /// each resblock is followed by a SpatialVideoTransformer. The middle block always has one.
    public var attentionDownsampleFactors: [Int]
    /// `num_head_channels`: width of one attention head; heads = channels / headWidth.
    public var headWidth: Int
    /// `transformer_depth` per level (an int in the yaml means the same for every level).
    public var transformerDepths: [Int]
    /// `transformer_depth_middle`; nil means the last level's depth.
    public var middleTransformerDepth: Int?
    /// `context_dim`: width of the cross-attention tokens (CLIP image embedding).
    public var contextWidth: Int
    /// `adm_in_channels` with `num_classes: sequential`: width of the vector conditioning `y`;
    /// nil for a model without `label_emb`.
    public var vectorWidth: Int?
    /// `merge_strategy` of every AlphaBlender (resblocks and transformers).
    public var mergeStrategy: UNet.MergeStrategy
    /// `merge_factor`: the initial mix_factor (only matters before weights are loaded).
    public var mergeFactor: Float
    /// `video_kernel_size` [k, 1, 1]: frames covered by the temporal resblock convolutions.
    public var temporalKernelSize: Int
    /// `use_spatial_context`: temporal cross-attention attends to the first frame's context tokens.
    public var usesSpatialContextForTime: Bool
    /// `not disable_temporal_crossattention`: the temporal transformer block has `attn2`.
    public var hasTemporalCrossAttention: Bool
    /// `max_ddpm_temb_period`: max period of the frame-index sinusoid inside the transformers.
    public var maxFramePeriod: Float

    /// `time_embed_dim` = 4 · model_channels.
    public var timeEmbeddingWidth: Int { 4 * modelChannels }
    /// Width of each level.
    public var levelWidths: [Int] { channelMultipliers.map { $0 * modelChannels } }

    public init(inChannels: Int = 8, outChannels: Int = 4, modelChannels: Int = 320,
                channelMultipliers: [Int] = [1, 2, 4, 4], resBlocksPerLevel: Int = 2,
                attentionDownsampleFactors: [Int] = [4, 2, 1], headWidth: Int = 64,
                transformerDepths: [Int]? = nil, middleTransformerDepth: Int? = nil,
                contextWidth: Int = 1024, vectorWidth: Int?,
                mergeStrategy: UNet.MergeStrategy = .learnedWithImages, mergeFactor: Float = 0.5,
                temporalKernelSize: Int = 3,
                usesSpatialContextForTime: Bool = true, hasTemporalCrossAttention: Bool = true,
                maxFramePeriod: Float = 10_000) {
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.modelChannels = modelChannels
        self.channelMultipliers = channelMultipliers
        self.resBlocksPerLevel = resBlocksPerLevel
        self.attentionDownsampleFactors = attentionDownsampleFactors
        self.headWidth = headWidth
        self.transformerDepths = transformerDepths ?? Array(repeating: 1, count: channelMultipliers.count)
        self.middleTransformerDepth = middleTransformerDepth
        self.contextWidth = contextWidth
        self.vectorWidth = vectorWidth
        self.mergeStrategy = mergeStrategy
        self.mergeFactor = mergeFactor
        self.temporalKernelSize = temporalKernelSize
        self.usesSpatialContextForTime = usesSpatialContextForTime
        self.hasTemporalCrossAttention = hasTemporalCrossAttention
        self.maxFramePeriod = maxFramePeriod
    }
}

// MARK: - Released models (scripts/sampling/configs/*.yaml; they differ only in adm_in_channels)

extension VideoUNetConfig {
    /// svd.yaml: y = [fps_id 256 | motion_bucket_id 256 | cond_aug 256].
    public static let svd = VideoUNetConfig(vectorWidth: 768)
    /// svd_xt.yaml / svd_xt_1_1.yaml: the same network as SVD.
    public static let svdXT = VideoUNetConfig(vectorWidth: 768)
    /// sv3d_u.yaml: y = [cond_aug 256].
    public static let sv3dU = VideoUNetConfig(vectorWidth: 256)
    /// sv3d_p.yaml: y = [cond_aug 256 | polar 512 | azimuth 512].
    public static let sv3dP = VideoUNetConfig(vectorWidth: 1280)
}

// MARK: - Tiny parity configurations (in 8, out 4, context 32, adm 96)
//
// Shapes that sgm's `VideoUNet` and diffusers' `UNetSpatioTemporalConditionModel` both build (every
// level width a multiple of 32 for GroupNorm32 and of the head width). Parameter counts are sgm's;
// the letters are those of Scripts/fixtures/make_unet_fixtures.py.

extension VideoUNetConfig {
    private static func tiny(_ modelChannels: Int, _ multipliers: [Int], _ attention: [Int],
                             _ resBlocks: Int, _ headWidth: Int, vectorWidth: Int = 96) -> VideoUNetConfig {
        VideoUNetConfig(modelChannels: modelChannels, channelMultipliers: multipliers,
                        resBlocksPerLevel: resBlocks, attentionDownsampleFactors: attention,
                        headWidth: headWidth, contextWidth: 32, vectorWidth: vectorWidth)
    }
    /// Config A: 1,793,078 parameters (the diffusers unit-test shape, 2 heads of 16 per 32 channels).
    public static let tinyA = tiny(32, [1, 2], [1], 2, 16)
    /// Config B: 2,056,083 parameters.
    public static let tinyB = tiny(32, [1, 2], [1, 2], 1, 16)
    /// Config C: 502,893 parameters; every block type, no resampling.
    public static let tinyC = tiny(32, [1], [1], 1, 32)
    /// Config D: 10,088,470 parameters.
    public static let tinyD = tiny(64, [1, 2, 2], [2, 1], 1, 32)
    /// SV3D_p-shaped tiny model: the real vector width (256 + 512 + 512), two levels with
    /// attention at both: 2,207,635 parameters.
    public static let tinySV3DP = tiny(32, [1, 2], [2, 1], 1, 16, vectorWidth: 1280)
    /// `tinySV3DP` at twice the width (64 channels, heads of 32): 8,353,555 parameters, the UNet
    /// of `StableVideoModelConfig.wide` (the bundled default model's).
    public static let wideSV3DP = tiny(64, [1, 2], [2, 1], 1, 32, vectorWidth: 1280)
}
