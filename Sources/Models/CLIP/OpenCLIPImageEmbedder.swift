// sgm's `FrozenOpenCLIPImageEmbedder` (generative-models sgm/modules/encoders/modules.py) as used
// by SVD/SV3D's `FrozenOpenCLIPImagePredictionEmbedder` (n_cond_frames 1, n_copies 1): preprocess
// (CLIPPreprocess), the open_clip image tower, output [N, outputWidth] (the conditioner adds the
// token axis). Keys relative to `conditioner.embedders.<i>.`: open_clip.model.visual.*.

import Foundation
import NN
import Tensor

public final class OpenCLIPImageEmbedder: Module {
    public let visual: VisionTransformer

    public init(config: VisionTransformerConfig = .vitH14, allocation: ParameterAllocation = .zeros) {
        visual = VisionTransformer(config: config, allocation: allocation)
    }

    /// The text-tower leftovers sgm keeps in the checkpoint (it deletes only `model.transformer`):
    /// pass them to `load(_:ignoring:)`.
    public static let unusedCheckpointKeys: Set<String> = [
        "open_clip.model.token_embedding.weight", "open_clip.model.positional_embedding",
        "open_clip.model.ln_final.weight", "open_clip.model.ln_final.bias",
        "open_clip.model.text_projection", "open_clip.model.logit_scale",
    ]

    /// Images [N, 3, H, W] in [-1, 1] -> image embeddings [N, outputWidth].
    public func callAsFunction(_ images: Tensor) -> Tensor {
        visual(CLIPPreprocess.conditioningTransform(images, size: visual.config.imageSize))
    }

    public func visitParameters(_ body: (String, inout Tensor) -> Void) {
        visit(visual, "open_clip.model.visual", body)
    }
}
