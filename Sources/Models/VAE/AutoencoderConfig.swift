// Configs of the KL autoencoder ("kl-f8", sgm `Encoder`/`Decoder`/`VideoDecoder` `ddconfig`) with
// the presets used by SVD and SV3D (scripts/sampling/configs/{svd,sv3d_p}.yaml).

import Foundation

/// sgm `ddconfig`. Swift names; the yaml name is in each comment. `double_z` is always true here
/// (a KL autoencoder's encoder emits mean and log-variance), and `embed_dim` equals the latent
/// channel count in every released config, so neither is a field.
public struct AutoencoderConfig: Codable, Equatable, Sendable {
    /// `ch`: width of the first level.
    public var baseChannels: Int
    /// `ch_mult`: width of level i = baseChannels · channelMultipliers[i]; one 2x resampling between levels.
    public var channelMultipliers: [Int]
    /// `num_res_blocks`: ResnetBlocks per encoder level (the decoder has one more per level).
    public var resBlockCount: Int
    /// `attn_resolutions`: feature sizes (`resolution` halved per level) that get attention blocks
    /// after every ResnetBlock of their level; empty in SVD/SV3D (only the mid block attends).
    public var attentionResolutions: [Int]
    /// `resolution`: nominal image size, used only to place `attentionResolutions`.
    public var resolution: Int
    /// `in_channels` / `out_ch`: image channels.
    public var imageChannels: Int
    /// `z_channels`: latent channels.
    public var latentChannels: Int
    /// The legacy `AutoencoderKL` wrapper (SV3D's and SVD's conditioning encoder) has 1x1
    /// `quant_conv` (2z -> 2z) and `post_quant_conv` (z -> z); sgm's `AutoencodingEngine` first
    /// stage has neither.
    public var hasQuantConvs: Bool
    /// The temporal decoder (`VideoDecoder`) when set; the image `Decoder` when nil.
    public var video: VideoDecoderConfig?
    /// sgm `scale_factor`: diffusion latents = scaleFactor · encoder latents.
    public var scaleFactor: Float

    public init(baseChannels: Int, channelMultipliers: [Int], resBlockCount: Int,
                attentionResolutions: [Int] = [], resolution: Int = 256, imageChannels: Int = 3,
                latentChannels: Int = 4, hasQuantConvs: Bool, video: VideoDecoderConfig? = nil,
                scaleFactor: Float = 0.18215) {
        self.baseChannels = baseChannels
        self.channelMultipliers = channelMultipliers
        self.resBlockCount = resBlockCount
        self.attentionResolutions = attentionResolutions
        self.resolution = resolution
        self.imageChannels = imageChannels
        self.latentChannels = latentChannels
        self.hasQuantConvs = hasQuantConvs
        self.video = video
        self.scaleFactor = scaleFactor
    }

    /// Width of level `i`.
    public func channels(level i: Int) -> Int { baseChannels * channelMultipliers[i] }

    /// Whether the two configs build the same networks, so weights move between them: every
    /// field but the latent scale factor (a statistic of the training data, not of the
    /// architecture), and, with `ignoringWidth`, but `baseChannels`.
    public func hasSameArchitecture(as other: AutoencoderConfig, ignoringWidth: Bool = false) -> Bool {
        var (a, b) = (self, other)
        a.scaleFactor = 0; b.scaleFactor = 0
        if ignoringWidth { a.baseChannels = 0; b.baseChannels = 0 }
        return a == b
    }

    /// Groups of every GroupNorm in the autoencoder (sgm `Normalize`: 32).
    public static let normGroupCount = 32

    /// Why this architecture cannot be built, or nil: every level's width must be a positive
    /// multiple of the GroupNorm group count.
    public var architectureProblem: String? {
        guard !channelMultipliers.isEmpty, baseChannels > 0, channelMultipliers.allSatisfy({ $0 > 0 }) else {
            return "ch \(baseChannels) and ch_mult \(channelMultipliers) must be positive and non-empty"
        }
        let widths = channelMultipliers.indices.map(channels(level:))
        guard widths.allSatisfy({ $0 % Self.normGroupCount == 0 }) else {
            return "level widths \(widths) (ch \(baseChannels) x ch_mult \(channelMultipliers)) must be multiples of \(Self.normGroupCount), the GroupNorm group count"
        }
        return nil
    }
    public var levelCount: Int { channelMultipliers.count }
    /// Image size / latent size.
    public var downsamplingFactor: Int { 1 << (levelCount - 1) }

    /// The SD 2.1 kl-f8 architecture shared by SVD and SV3D: ch 128, ch_mult [1,2,4,4], 2 blocks.
    static func klF8(hasQuantConvs: Bool, video: VideoDecoderConfig?) -> AutoencoderConfig {
        AutoencoderConfig(baseChannels: 128, channelMultipliers: [1, 2, 4, 4], resBlockCount: 2,
                          hasQuantConvs: hasQuantConvs, video: video)
    }

    /// SVD / SVD-XT `first_stage_model`: Encoder + temporal VideoDecoder, no quant convs.
    public static let svdFirstStage = klF8(hasQuantConvs: false, video: VideoDecoderConfig())
    /// SV3D `first_stage_model`: image Decoder only in the checkpoint (its encoder is Identity).
    public static let sv3dFirstStage = klF8(hasQuantConvs: false, video: nil)
    /// The conditioning-frame encoder (`AutoencoderKLModeOnly`, keys
    /// `conditioner.embedders.<i>.encoder.*`): the legacy KL autoencoder with quant convs.
    public static let conditioningEncoder = klF8(hasQuantConvs: true, video: nil)
}

/// sgm `VideoDecoder` options (time_mode "conv-only", the only mode released checkpoints use):
/// every decoder ResnetBlock gets a temporal `time_stack` blended by a learned `mix_factor`, and
/// `conv_out` gets a temporal `time_mix_conv`. The mid attention stays spatial.
public struct VideoDecoderConfig: Codable, Equatable, Sendable {
    /// `video_kernel_size` [k, 1, 1]: frames seen by each temporal convolution.
    public var temporalKernelSize: Int
    /// `merge_strategy` "learned": mix = sigmoid(mix_factor); "fixed": mix = mix_factor (a buffer).
    public var isMixFactorLearned: Bool

    public init(temporalKernelSize: Int = 3, isMixFactorLearned: Bool = true) {
        self.temporalKernelSize = temporalKernelSize
        self.isMixFactorLearned = isMixFactorLearned
    }
}
