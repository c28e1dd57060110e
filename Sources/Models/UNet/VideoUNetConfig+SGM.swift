// Reading sgm's `network_config.params` (the yaml of scripts/sampling/configs, as a JSON-like
// dictionary) into a VideoUNetConfig, refusing every option this port does not implement rather
// than ignoring it.

import Foundation

extension VideoUNetConfig {
    public struct UnsupportedSGMOption: Error, CustomStringConvertible {
        public let option: String
        public let value: String
        public var description: String { "unsupported sgm VideoUNet option \(option) = \(value)" }
    }

    /// `params`: sgm VideoUNet keyword arguments (in_channels, model_channels, channel_mult, ...).
    /// Options without numeric effect at inference are accepted and dropped: use_checkpoint,
    /// spatial_transformer_attn_type (softmax or softmax-xformers), dropout, extra_ff_mix_layer (see
    /// the note at the top of VideoUNetConfig.swift).
    public init(sgmNetworkConfig params: [String: Any]) throws {
        func value<T>(_ key: String, _ type: T.Type) throws -> T? {
            guard let raw = params[key] else { return nil }
            guard let v = raw as? T else { throw UnsupportedSGMOption(option: key, value: "\(raw)") }
            return v
        }
        func required<T>(_ key: String, _ type: T.Type) throws -> T {
            guard let v = try value(key, type) else { throw UnsupportedSGMOption(option: key, value: "missing") }
            return v
        }
        func refuse(_ key: String, unless accepted: (Any) -> Bool) throws {
            if let raw = params[key], !accepted(raw) { throw UnsupportedSGMOption(option: key, value: "\(raw)") }
        }
        let known: Set<String> = [
            "in_channels", "out_channels", "model_channels", "channel_mult", "num_res_blocks",
            "attention_resolutions", "num_head_channels", "num_heads", "num_heads_upsample",
            "transformer_depth", "transformer_depth_middle", "context_dim", "adm_in_channels", "num_classes",
            "merge_strategy", "merge_factor", "video_kernel_size", "extra_ff_mix_layer", "use_spatial_context",
            "disable_temporal_crossattention", "max_ddpm_temb_period", "use_linear_in_transformer",
            "use_checkpoint", "spatial_transformer_attn_type", "dropout", "use_scale_shift_norm",
            "resblock_updown", "time_downup", "conv_resample", "dims", "time_context_dim",
        ]
        for key in params.keys where !known.contains(key) {
            throw UnsupportedSGMOption(option: key, value: "\(params[key]!)")
        }
        try refuse("use_scale_shift_norm") { ($0 as? Bool) == false }
        try refuse("resblock_updown") { ($0 as? Bool) == false }
        try refuse("time_downup") { ($0 as? Bool) == false }
        try refuse("conv_resample") { ($0 as? Bool) == true }
        try refuse("dims") { ($0 as? Int) == 2 }
        try refuse("time_context_dim") { $0 is NSNull }
        try refuse("use_linear_in_transformer") { ($0 as? Bool) == true }
        try refuse("num_heads") { ($0 as? Int) == -1 }
        try refuse("num_heads_upsample") { ($0 as? Int) == -1 }
        try refuse("spatial_transformer_attn_type") { ["softmax", "softmax-xformers"].contains($0 as? String) }
        if try required("use_linear_in_transformer", Bool.self) == false {
            throw UnsupportedSGMOption(option: "use_linear_in_transformer", value: "false")
        }

        let multipliers = try required("channel_mult", [Int].self)
        var depths: [Int]
        if let depth = try? required("transformer_depth", Int.self) {
            depths = Array(repeating: depth, count: multipliers.count)
        } else {
            depths = try value("transformer_depth", [Int].self) ?? Array(repeating: 1, count: multipliers.count)
        }
        var vectorWidth: Int? = nil
        if let classes = params["num_classes"] {
            guard (classes as? String) == "sequential" else {
                throw UnsupportedSGMOption(option: "num_classes", value: "\(classes)")
            }
            vectorWidth = try required("adm_in_channels", Int.self)
        }
        let kernel: [Int]
        switch params["video_kernel_size"] {
        case nil: kernel = [3, 3, 3]  // sgm's default: a full 3×3×3 kernel, not supported below
        case let list as [Int]: kernel = list
        case let k as Int: kernel = [k, k, k]
        case let other?: throw UnsupportedSGMOption(option: "video_kernel_size", value: "\(other)")
        }
        guard kernel.count == 3, kernel[1] == 1, kernel[2] == 1 else {
            throw UnsupportedSGMOption(option: "video_kernel_size", value: "\(kernel)")
        }
        let strategyName = try value("merge_strategy", String.self) ?? "fixed"
        guard let strategy = UNet.MergeStrategy(rawValue: strategyName) else {
            throw UnsupportedSGMOption(option: "merge_strategy", value: strategyName)
        }
        self.init(inChannels: try required("in_channels", Int.self),
                  outChannels: try required("out_channels", Int.self),
                  modelChannels: try required("model_channels", Int.self),
                  channelMultipliers: multipliers,
                  resBlocksPerLevel: try required("num_res_blocks", Int.self),
                  attentionDownsampleFactors: try required("attention_resolutions", [Int].self),
                  headWidth: try required("num_head_channels", Int.self),
                  transformerDepths: depths,
                  middleTransformerDepth: try value("transformer_depth_middle", Int.self),
                  contextWidth: try required("context_dim", Int.self),
                  vectorWidth: vectorWidth,
                  mergeStrategy: strategy,
                  mergeFactor: Float(try value("merge_factor", Double.self) ?? 0.5),
                  temporalKernelSize: kernel[0],
                  usesSpatialContextForTime: try value("use_spatial_context", Bool.self) ?? false,
                  hasTemporalCrossAttention: !(try value("disable_temporal_crossattention", Bool.self) ?? false),
                  maxFramePeriod: Float(try value("max_ddpm_temb_period", Int.self) ?? 10_000))
    }
}
