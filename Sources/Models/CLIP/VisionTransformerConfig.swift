// Config of the OpenCLIP image tower (open_clip src/open_clip/transformer.py `VisionTransformer`,
// `vision_cfg` in src/open_clip/model_configs/*.json), with the towers SVD/SV3D and the evaluator use.

import Foundation

public struct VisionTransformerConfig: Codable, Equatable, Sendable {
    /// Activation of the MLP: exact-erf GELU (open_clip default) or OpenAI's QuickGELU
    /// x·sigmoid(1.702x) (the `-quickgelu` configs and OpenAI's pretrained weights).
    public enum Activation: String, Codable, Sendable { case gelu, quickGELU }

    /// `image_size`: input side in pixels (square).
    public var imageSize: Int
    /// `patch_size`: side of the patches of `conv1` (kernel = stride).
    public var patchSize: Int
    /// `width`: token width.
    public var width: Int
    /// `layers`: residual attention blocks.
    public var layerCount: Int
    /// Attention heads: open_clip derives them as width / `head_width` (default 64).
    public var headCount: Int
    /// MLP hidden width (`mlp_ratio` 4 · width).
    public var mlpWidth: Int
    /// `embed_dim`: width of the projected image embedding (`proj` is width x outputWidth).
    public var outputWidth: Int
    public var activation: Activation
    /// LayerNorm eps (torch default).
    public var layerNormEps: Float

    public init(imageSize: Int = 224, patchSize: Int, width: Int, layerCount: Int, headCount: Int,
                mlpWidth: Int? = nil, outputWidth: Int, activation: Activation = .gelu,
                layerNormEps: Float = 1e-5) {
        self.imageSize = imageSize
        self.patchSize = patchSize
        self.width = width
        self.layerCount = layerCount
        self.headCount = headCount
        self.mlpWidth = mlpWidth ?? 4 * width
        self.outputWidth = outputWidth
        self.activation = activation
        self.layerNormEps = layerNormEps
    }

    /// Patches per side.
    public var gridSize: Int { imageSize / patchSize }
    /// Patches + the class token.
    public var tokenCount: Int { gridSize * gridSize + 1 }

    /// ViT-H-14 (SVD/SV3D's image conditioner, laion2b_s32b_b79k): 32 x 1280, 16 heads of 80, -> 1024.
    public static let vitH14 = VisionTransformerConfig(patchSize: 14, width: 1280, layerCount: 32, headCount: 16,
                                                       outputWidth: 1024)
    /// ViT-L-14: 24 x 1024, 16 heads of 64, -> 768.
    public static let vitL14 = VisionTransformerConfig(patchSize: 14, width: 1024, layerCount: 24, headCount: 16,
                                                       outputWidth: 768)
    /// ViT-B-32: 12 x 768, 12 heads of 64, -> 512.
    public static let vitB32 = VisionTransformerConfig(patchSize: 32, width: 768, layerCount: 12, headCount: 12,
                                                       outputWidth: 512)
    /// OpenAI's pretrained ViT-L/14 (open_clip `ViT-L-14-quickgelu` / pretrained "openai").
    public static let vitL14OpenAI: VisionTransformerConfig = {
        var config = vitL14
        config.activation = .quickGELU
        return config
    }()
    /// OpenAI's pretrained ViT-B/32 (open_clip `ViT-B-32-quickgelu` / pretrained "openai").
    public static let vitB32OpenAI: VisionTransformerConfig = {
        var config = vitB32
        config.activation = .quickGELU
        return config
    }()
}
