"""The VideoUNet hyperparameters of a checkpoint (ours: the `svdmv.config` metadata; official
sv3d_u / sv3d_p / svd / svd_xt files: recognised by the label embedding's input width, as
Sources/Generation/StableVideoModel.swift does) and the diffusers
`UNetSpatioTemporalConditionModel` config that builds the same network.

Field names are those of Sources/Models/UNet/VideoUNetConfig.swift (its JSON encoding), so the
metadata of our checkpoints is read as it is written."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

METADATA_KEY = "svdmv.config"
UNET_PREFIX = "model.diffusion_model."


class UnsupportedConfig(ValueError):
    """A VideoUNet option diffusers' UNetSpatioTemporalConditionModel cannot build."""


@dataclass
class VideoUNetConfig:
    inChannels: int = 8
    outChannels: int = 4
    modelChannels: int = 320
    channelMultipliers: list = field(default_factory=lambda: [1, 2, 4, 4])
    resBlocksPerLevel: int = 2
    attentionDownsampleFactors: list = field(default_factory=lambda: [4, 2, 1])
    headWidth: int = 64
    transformerDepths: list | None = None
    middleTransformerDepth: int | None = None
    contextWidth: int = 1024
    vectorWidth: int | None = 1280
    mergeStrategy: str = "learned_with_images"
    mergeFactor: float = 0.5
    temporalKernelSize: int = 3
    usesSpatialContextForTime: bool = True
    hasTemporalCrossAttention: bool = True
    maxFramePeriod: float = 10000

    def __post_init__(self):
        if self.transformerDepths is None:
            self.transformerDepths = [1] * len(self.channelMultipliers)

    @property
    def level_widths(self) -> list:
        return [m * self.modelChannels for m in self.channelMultipliers]

    def level_has_attention(self, level: int) -> bool:
        return (2 ** level) in self.attentionDownsampleFactors

    @classmethod
    def from_json(cls, obj: dict) -> "VideoUNetConfig":
        known = {k: v for k, v in obj.items() if k in cls.__dataclass_fields__}
        unknown = sorted(set(obj) - set(known))
        if unknown:
            raise UnsupportedConfig(f"unet config has fields this companion does not know: {unknown}")
        return cls(**known)

    def to_json(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}

    def check_diffusers_can_build(self, context: str = "checkpoint") -> None:
        """Raises UnsupportedConfig naming every option diffusers' SVD UNet hard-codes otherwise."""
        problems = []
        if self.vectorWidth is None:
            problems.append("no vector conditioning (label_emb); diffusers always has add_embedding")
        if self.mergeStrategy != "learned_with_images":
            problems.append(f"mergeStrategy {self.mergeStrategy} (diffusers: learned_with_images)")
        if self.temporalKernelSize != 3:
            problems.append(f"temporalKernelSize {self.temporalKernelSize} (diffusers: 3)")
        if not self.usesSpatialContextForTime:
            problems.append("usesSpatialContextForTime false (diffusers: true)")
        if not self.hasTemporalCrossAttention:
            problems.append("no temporal cross-attention (diffusers always builds attn2)")
        if self.maxFramePeriod != 10000:
            problems.append(f"maxFramePeriod {self.maxFramePeriod} (diffusers: 10000)")
        if self.middleTransformerDepth not in (None, self.transformerDepths[-1]):
            problems.append(f"middleTransformerDepth {self.middleTransformerDepth} != last level's "
                            f"{self.transformerDepths[-1]} (diffusers ties them)")
        for w in self.level_widths:
            if w % self.headWidth:
                problems.append(f"level width {w} is not a multiple of headWidth {self.headWidth}")
        if problems:
            raise UnsupportedConfig(f"{context}: diffusers cannot build this VideoUNet: " + "; ".join(problems))

    def diffusers_config(self, num_frames: int = 21) -> dict:
        self.check_diffusers_can_build()
        levels = range(len(self.channelMultipliers))
        down = tuple("CrossAttnDownBlockSpatioTemporal" if self.level_has_attention(l) else "DownBlockSpatioTemporal"
                     for l in levels)
        up = tuple("CrossAttnUpBlockSpatioTemporal" if self.level_has_attention(l) else "UpBlockSpatioTemporal"
                   for l in reversed(levels))
        return dict(in_channels=self.inChannels, out_channels=self.outChannels,
                    down_block_types=down, up_block_types=up,
                    block_out_channels=tuple(self.level_widths),
                    addition_time_embed_dim=256,
                    projection_class_embeddings_input_dim=self.vectorWidth,
                    layers_per_block=self.resBlocksPerLevel,
                    cross_attention_dim=self.contextWidth,
                    transformer_layers_per_block=tuple(self.transformerDepths),
                    num_attention_heads=tuple(w // self.headWidth for w in self.level_widths),
                    num_frames=num_frames)


# The released networks (scripts/sampling/configs/*.yaml): they differ only in adm_in_channels.
RELEASED = {"sv3d_p": VideoUNetConfig(vectorWidth=1280), "sv3d_u": VideoUNetConfig(vectorWidth=256),
            "svd": VideoUNetConfig(vectorWidth=768)}
# VideoUNetConfig.tinySV3DP / wideSV3DP (the small and bundled default models' UNets).
TINY_SV3DP = VideoUNetConfig(modelChannels=32, channelMultipliers=[1, 2], resBlocksPerLevel=1,
                             attentionDownsampleFactors=[2, 1], headWidth=16, contextWidth=32, vectorWidth=1280)
WIDE_SV3DP = VideoUNetConfig(modelChannels=64, channelMultipliers=[1, 2], resBlocksPerLevel=1,
                             attentionDownsampleFactors=[2, 1], headWidth=32, contextWidth=32, vectorWidth=1280)
_BY_LABEL_WIDTH = {1280: "sv3d_p", 256: "sv3d_u", 768: "svd"}


def model_config(metadata: dict | None, shapes: dict, path: str) -> tuple[str, VideoUNetConfig]:
    """(variant, unet config) of a checkpoint: ours from its metadata, official ones from the
    shape of model.diffusion_model.label_emb.0.0.weight. `shapes`: key -> shape."""
    if metadata and METADATA_KEY in metadata:
        try:
            cfg = json.loads(metadata[METADATA_KEY])
            return cfg["variant"], VideoUNetConfig.from_json(cfg["unet"])
        except (ValueError, KeyError) as error:
            raise UnsupportedConfig(f"{path}: metadata {METADATA_KEY} is not a model config ({error})") from error
    key = UNET_PREFIX + "label_emb.0.0.weight"
    if key not in shapes:
        raise UnsupportedConfig(f"{path} has no {key} (and no {METADATA_KEY} metadata)")
    shape = list(shapes[key])
    if len(shape) != 2 or shape[0] != 1280 or shape[1] not in _BY_LABEL_WIDTH:
        raise UnsupportedConfig(f"{path}: {key} has shape {shape}; sv3d_p has [1280, 1280], "
                                "sv3d_u [1280, 256], svd and svd_xt [1280, 768]")
    variant = _BY_LABEL_WIDTH[shape[1]]
    return variant, RELEASED[variant]
