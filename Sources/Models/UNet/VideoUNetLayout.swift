// The block plan of sgm `VideoUNet.__init__` as plain values: which layers each of input_blocks,
// middle_block and output_blocks holds, with their widths. The module tree is built from it
// (VideoUNet.init) and so is the parameter-shape list (`parameterShapes`), which allocates nothing:
// the full 1.5-billion-parameter networks can be checked against sgm's state dict key by key.

import Foundation

extension UNet {
    /// One layer of a block before it is built.
    public enum LayerSpec: Equatable, Sendable {
        /// input_blocks.0: Conv2d 3×3.
        case inputConv(inChannels: Int, outChannels: Int)
        case resBlock(inChannels: Int, outChannels: Int)
        case transformer(channels: Int, heads: Int, depth: Int)
        case downsample(channels: Int)
        case upsample(channels: Int)
    }
}

public struct VideoUNetLayout: Equatable, Sendable {
    public var inputBlocks: [[UNet.LayerSpec]] = []
    public var middleBlock: [UNet.LayerSpec] = []
    public var outputBlocks: [[UNet.LayerSpec]] = []

    /// The loops of sgm VideoUNet.__init__ (conv_resample, no resblock_updown).
    public init(_ config: VideoUNetConfig) {
        let mc = config.modelChannels
        let lastLevel = config.channelMultipliers.count - 1
        func transformer(_ ch: Int, depth: Int) -> UNet.LayerSpec {
            precondition(ch % config.headWidth == 0, "width \(ch) is not a multiple of the head width")
            return .transformer(channels: ch, heads: ch / config.headWidth, depth: depth)
        }
        inputBlocks = [[.inputConv(inChannels: config.inChannels, outChannels: mc)]]
        var skipWidths = [mc]
        var ch = mc
        var ds = 1
        for (level, mult) in config.channelMultipliers.enumerated() {
            for _ in 0..<config.resBlocksPerLevel {
                var layers: [UNet.LayerSpec] = [.resBlock(inChannels: ch, outChannels: mult * mc)]
                ch = mult * mc
                if config.attentionDownsampleFactors.contains(ds) {
                    layers.append(transformer(ch, depth: config.transformerDepths[level]))
                }
                inputBlocks.append(layers)
                skipWidths.append(ch)
            }
            if level != lastLevel {
                ds *= 2
                inputBlocks.append([.downsample(channels: ch)])
                skipWidths.append(ch)
            }
        }
        middleBlock = [.resBlock(inChannels: ch, outChannels: ch),
                       transformer(ch, depth: config.middleTransformerDepth ?? config.transformerDepths[lastLevel]),
                       .resBlock(inChannels: ch, outChannels: ch)]
        for (level, mult) in config.channelMultipliers.enumerated().reversed() {
            for i in 0...config.resBlocksPerLevel {
                let skip = skipWidths.removeLast()
                var layers: [UNet.LayerSpec] = [.resBlock(inChannels: ch + skip, outChannels: mc * mult)]
                ch = mc * mult
                if config.attentionDownsampleFactors.contains(ds) {
                    layers.append(transformer(ch, depth: config.transformerDepths[level]))
                }
                if level > 0 && i == config.resBlocksPerLevel {
                    ds /= 2
                    layers.append(.upsample(channels: ch))
                }
                outputBlocks.append(layers)
            }
        }
    }
}

// MARK: - Parameter shapes without building the model

extension VideoUNet {
    /// Every parameter key (relative to `model.diffusion_model.`) and shape of the model `config`
    /// describes, in the order `VideoUNet.visitParameters` visits them (= sgm's state-dict order).
    /// Allocates no tensors.
    public static func parameterShapes(_ config: VideoUNetConfig) -> [(key: String, shape: [Int])] {
        var list = ParameterShapeList(config: config)
        let e = config.timeEmbeddingWidth
        list.linear("time_embed.0", config.modelChannels, e)
        list.linear("time_embed.2", e, e)
        if let adm = config.vectorWidth {
            list.linear("label_emb.0.0", adm, e)
            list.linear("label_emb.0.2", e, e)
        }
        let layout = VideoUNetLayout(config)
        for (i, block) in layout.inputBlocks.enumerated() {
            for (j, spec) in block.enumerated() { list.layer("input_blocks.\(i).\(j)", spec) }
        }
        for (j, spec) in layout.middleBlock.enumerated() { list.layer("middle_block.\(j)", spec) }
        for (i, block) in layout.outputBlocks.enumerated() {
            for (j, spec) in block.enumerated() { list.layer("output_blocks.\(i).\(j)", spec) }
        }
        let width = config.levelWidths[0]
        list.norm("out.0", width)
        list.conv("out.2", width, config.outChannels, [3, 3])
        return list.items
    }

    /// Number of parameters of the model `config` describes, without building it.
    public static func parameterCount(_ config: VideoUNetConfig) -> Int {
        parameterShapes(config).reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
}

/// (key, shape) pairs appended in the visiting order of the modules they describe; each method
/// mirrors one module's `visitParameters`.
struct ParameterShapeList {
    let config: VideoUNetConfig
    var items: [(key: String, shape: [Int])] = []

    init(config: VideoUNetConfig) { self.config = config }

    mutating func linear(_ key: String, _ inWidth: Int, _ outWidth: Int, bias: Bool = true) {
        items.append((key + ".weight", [outWidth, inWidth]))
        if bias { items.append((key + ".bias", [outWidth])) }
    }

    mutating func conv(_ key: String, _ inChannels: Int, _ outChannels: Int, _ kernel: [Int]) {
        items.append((key + ".weight", [outChannels, inChannels] + kernel))
        items.append((key + ".bias", [outChannels]))
    }

    mutating func norm(_ key: String, _ channels: Int) {
        items.append((key + ".weight", [channels]))
        items.append((key + ".bias", [channels]))
    }

    /// UNet.CrossAttention.
    mutating func attention(_ key: String, _ c: Int, context: Int) {
        linear(key + ".to_q", c, c, bias: false)
        linear(key + ".to_k", context, c, bias: false)
        linear(key + ".to_v", context, c, bias: false)
        linear(key + ".to_out.0", c, c)
    }

    /// UNet.FeedForward.
    mutating func feedForward(_ key: String, _ c: Int) {
        linear(key + ".net.0.proj", c, 8 * c)
        linear(key + ".net.2", 4 * c, c)
    }

    mutating func layer(_ key: String, _ spec: UNet.LayerSpec) {
        switch spec {
        case let .inputConv(inC, outC): conv(key, inC, outC, [3, 3])
        case let .resBlock(inC, outC): videoResBlock(key, inC, outC)
        case let .transformer(c, _, depth): spatialVideoTransformer(key, c, depth: depth)
        case let .downsample(c): conv(key + ".op", c, c, [3, 3])
        case let .upsample(c): conv(key + ".conv", c, c, [3, 3])
        }
    }

    /// UNet.VideoResBlock.
    mutating func videoResBlock(_ key: String, _ inC: Int, _ outC: Int) {
        let e = config.timeEmbeddingWidth, k = [config.temporalKernelSize, 1, 1]
        norm(key + ".in_layers.0", inC)
        conv(key + ".in_layers.2", inC, outC, [3, 3])
        linear(key + ".emb_layers.1", e, outC)
        norm(key + ".out_layers.0", outC)
        conv(key + ".out_layers.3", outC, outC, [3, 3])
        if inC != outC { conv(key + ".skip_connection", inC, outC, [1, 1]) }
        norm(key + ".time_stack.in_layers.0", outC)
        conv(key + ".time_stack.in_layers.2", outC, outC, k)
        linear(key + ".time_stack.emb_layers.1", e, outC)
        norm(key + ".time_stack.out_layers.0", outC)
        conv(key + ".time_stack.out_layers.3", outC, outC, k)
        items.append((key + ".time_mixer.mix_factor", [1]))
    }

    /// UNet.SpatialVideoTransformer.
    mutating func spatialVideoTransformer(_ key: String, _ c: Int, depth: Int) {
        norm(key + ".norm", c)
        linear(key + ".proj_in", c, c)
        for d in 0..<depth {
            let b = "\(key).transformer_blocks.\(d)"
            attention(b + ".attn1", c, context: c)
            feedForward(b + ".ff", c)
            attention(b + ".attn2", c, context: config.contextWidth)
            for n in ["norm1", "norm2", "norm3"] { norm(b + "." + n, c) }
        }
        linear(key + ".proj_out", c, c)
        for d in 0..<depth {
            let b = "\(key).time_stack.\(d)"
            norm(b + ".norm_in", c)  // always built in a VideoUNet, whatever extra_ff_mix_layer says
            feedForward(b + ".ff_in", c)
            attention(b + ".attn1", c, context: c)
            feedForward(b + ".ff", c)
            if config.hasTemporalCrossAttention {
                norm(b + ".norm2", c)
                attention(b + ".attn2", c, context: config.usesSpatialContextForTime ? config.contextWidth : c)
            }
            norm(b + ".norm1", c)
            norm(b + ".norm3", c)
        }
        linear(key + ".time_pos_embed.0", c, 4 * c)
        linear(key + ".time_pos_embed.2", 4 * c, c)
        items.append((key + ".time_mixer.mix_factor", [1]))
    }
}
