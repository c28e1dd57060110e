// Reading open_clip's model config JSON (src/open_clip/model_configs/<name>.json): `embed_dim`,
// `quick_gelu`, and `vision_cfg` {image_size, patch_size, width, layers, head_width (default 64),
// mlp_ratio (default 4)}. Towers this port does not implement (timm backbones, attentional
// pooling, layer scale, average pooling, no ln_pre, ...) are rejected, not silently ignored.

import Foundation

public struct UnsupportedOpenCLIPConfig: Error, CustomStringConvertible {
    public let reason: String
    public var description: String { "unsupported open_clip vision config: \(reason)" }
}

extension VisionTransformerConfig {
    private struct ModelJSON: Decodable {
        var embed_dim: Int
        var quick_gelu: Bool?
        var vision_cfg: VisionJSON
    }

    private struct VisionJSON: Decodable {
        var image_size: Int?
        var patch_size: Int?
        var width: Int?
        var layers: Int?
        var head_width: Int?
        var mlp_ratio: Double?
        var timm_model_name: String?
        var attentional_pool: Bool?
        var ls_init_value: Double?
        var pool_type: String?
        var no_ln_pre: Bool?
        var final_ln_after_pool: Bool?
        var pos_embed_type: String?
    }

    /// The image tower of an open_clip model config (`quickGELU` overrides the file's
    /// `quick_gelu`, as open_clip's `create_model(..., force_quick_gelu=True)` or the "openai"
    /// pretrained tag do).
    public init(openCLIPModelConfig data: Data, quickGELU: Bool? = nil) throws {
        let model = try JSONDecoder().decode(ModelJSON.self, from: data)
        let v = model.vision_cfg
        if let name = v.timm_model_name { throw UnsupportedOpenCLIPConfig(reason: "timm tower \(name)") }
        if v.attentional_pool == true { throw UnsupportedOpenCLIPConfig(reason: "attentional pooling") }
        if v.ls_init_value != nil { throw UnsupportedOpenCLIPConfig(reason: "layer scale") }
        if let pool = v.pool_type, pool != "tok" { throw UnsupportedOpenCLIPConfig(reason: "pool_type \(pool)") }
        if v.no_ln_pre == true || v.final_ln_after_pool == true {
            throw UnsupportedOpenCLIPConfig(reason: "ln_pre / ln_post placement")
        }
        if let pos = v.pos_embed_type, pos != "learnable" { throw UnsupportedOpenCLIPConfig(reason: "pos_embed_type \(pos)") }
        let width = v.width ?? 768, headWidth = v.head_width ?? 64
        guard width % headWidth == 0 else { throw UnsupportedOpenCLIPConfig(reason: "width \(width) / head_width \(headWidth)") }
        self.init(imageSize: v.image_size ?? 224, patchSize: v.patch_size ?? 16, width: width,
                  layerCount: v.layers ?? 12, headCount: width / headWidth,
                  mlpWidth: Int(Double(width) * (v.mlp_ratio ?? 4)), outputWidth: model.embed_dim,
                  activation: (quickGELU ?? model.quick_gelu ?? false) ? .quickGELU : .gelu)
    }
}
