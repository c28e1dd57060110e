"""sgm VideoUNet state-dict keys (as in our checkpoints under `model.diffusion_model.`) <->
diffusers UNetSpatioTemporalConditionModel keys, both ways, strictly.

The map is built from the block plan of sgm's VideoUNet.__init__ (the same loops as
Sources/Models/UNet/VideoUNetLayout.swift): input_blocks.k / middle_block / output_blocks.k become
down_blocks.l.{resnets,attentions,downsamplers} / mid_block / up_blocks.i.{...}; inside a block
only a few layer names differ (tables below). Every key must be used and every target present
with its shape, else the error names the keys."""
from __future__ import annotations

from .unet_config import VideoUNetConfig

# Inside sgm's VideoResBlock -> diffusers' SpatioTemporalResBlock.
_RESBLOCK = [("in_layers.0", "spatial_res_block.norm1"), ("in_layers.2", "spatial_res_block.conv1"),
             ("emb_layers.1", "spatial_res_block.time_emb_proj"), ("out_layers.0", "spatial_res_block.norm2"),
             ("out_layers.3", "spatial_res_block.conv2"), ("skip_connection", "spatial_res_block.conv_shortcut"),
             ("time_stack.in_layers.0", "temporal_res_block.norm1"),
             ("time_stack.in_layers.2", "temporal_res_block.conv1"),
             ("time_stack.emb_layers.1", "temporal_res_block.time_emb_proj"),
             ("time_stack.out_layers.0", "temporal_res_block.norm2"),
             ("time_stack.out_layers.3", "temporal_res_block.conv2"), ("time_mixer", "time_mixer")]
# Inside sgm's SpatialVideoTransformer -> diffusers' TransformerSpatioTemporalModel (the spatial
# and temporal transformer blocks name their layers alike: norm_in, ff_in, norm1..3, attn1/2, ff).
_TRANSFORMER = [("time_stack", "temporal_transformer_blocks"), ("time_pos_embed.0", "time_pos_embed.linear_1"),
                ("time_pos_embed.2", "time_pos_embed.linear_2"), ("norm", "norm"), ("proj_in", "proj_in"),
                ("proj_out", "proj_out"), ("transformer_blocks", "transformer_blocks"), ("time_mixer", "time_mixer")]


class KeyMismatch(KeyError):
    """Keys a conversion could not use or could not fill, named."""

    def __str__(self):
        return str(self.args[0])


def _blocks(config: VideoUNetConfig) -> list[tuple[str, str, str]]:
    """(sgm prefix, diffusers prefix, kind) for every layer of the network."""
    out = [("time_embed.0", "time_embedding.linear_1", "plain"), ("time_embed.2", "time_embedding.linear_2", "plain"),
           ("label_emb.0.0", "add_embedding.linear_1", "plain"), ("label_emb.0.2", "add_embedding.linear_2", "plain"),
           ("input_blocks.0.0", "conv_in", "plain"), ("out.0", "conv_norm_out", "plain"), ("out.2", "conv_out", "plain")]
    levels = len(config.channelMultipliers)
    r = config.resBlocksPerLevel
    k = 1
    for level in range(levels):
        attention = config.level_has_attention(level)
        for j in range(r):
            out.append((f"input_blocks.{k}.0", f"down_blocks.{level}.resnets.{j}", "res"))
            if attention:
                out.append((f"input_blocks.{k}.1", f"down_blocks.{level}.attentions.{j}", "attn"))
            k += 1
        if level != levels - 1:
            out.append((f"input_blocks.{k}.0.op", f"down_blocks.{level}.downsamplers.0.conv", "plain"))
            k += 1
    out += [("middle_block.0", "mid_block.resnets.0", "res"), ("middle_block.1", "mid_block.attentions.0", "attn"),
            ("middle_block.2", "mid_block.resnets.1", "res")]
    k = 0
    for i, level in enumerate(reversed(range(levels))):
        attention = config.level_has_attention(level)
        for j in range(r + 1):
            out.append((f"output_blocks.{k}.0", f"up_blocks.{i}.resnets.{j}", "res"))
            if attention:
                out.append((f"output_blocks.{k}.1", f"up_blocks.{i}.attentions.{j}", "attn"))
            if level > 0 and j == r:
                n = 2 if attention else 1
                out.append((f"output_blocks.{k}.{n}.conv", f"up_blocks.{i}.upsamplers.0.conv", "plain"))
            k += 1
    return out


def prefix_pairs(config: VideoUNetConfig) -> list[tuple[str, str]]:
    """(sgm prefix, diffusers prefix) pairs; a key is renamed by its longest matching prefix."""
    pairs = []
    for sgm, diffusers, kind in _blocks(config):
        if kind == "plain":
            pairs.append((sgm, diffusers))
        else:
            for a, b in _RESBLOCK if kind == "res" else _TRANSFORMER:
                pairs.append((f"{sgm}.{a}", f"{diffusers}.{b}"))
    return pairs


def _rename(key: str, table: dict[str, str]) -> str | None:
    """`key` with its longest prefix in `table` replaced; None when none matches."""
    parts = key.split(".")
    for n in range(len(parts) - 1, 0, -1):  # longest prefix first, never the whole key
        head = ".".join(parts[:n])
        if head in table:
            return table[head] + "." + ".".join(parts[n:])
    return None


def check_exact(state: dict, expected: dict, what: str, context: str, origin: dict | None = None) -> None:
    """Raises KeyMismatch unless `state` has exactly the keys of `expected` with its shapes;
    `origin` (new key -> source key) names where an unexpected key came from."""
    origin = origin or {}
    unused = sorted(f"{origin[k]} (-> {k})" if k in origin and origin[k] != k else k for k in set(state) - set(expected))
    missing = sorted(set(expected) - set(state))
    bad = sorted(f"{k}: {tuple(state[k].shape)}, needs {tuple(expected[k])}"
                 for k in set(state) & set(expected) if tuple(state[k].shape) != tuple(expected[k]))
    if not (unused or missing or bad):
        return
    lines = [f"{context}: the tensors do not fit the {what} model"]
    for label, items in (("unused", unused), ("missing", missing), ("of the wrong shape", bad)):
        if items:
            lines.append(f"  {len(items)} keys {label}: " + ", ".join(items[:20]) + (" ..." if len(items) > 20 else ""))
    raise KeyMismatch("\n".join(lines))


def _renamed(state: dict, table: dict[str, str], source: str, context: str) -> tuple[dict, dict]:
    out, origin, unmapped = {}, {}, []
    for key, value in state.items():
        new = _rename(key, table)
        if new is None:
            unmapped.append(key)
            continue
        if new in out:
            raise KeyMismatch(f"{context}: {source} keys {origin[new]} and {key} both map to {new}")
        out[new], origin[new] = value, key
    if unmapped:
        raise KeyMismatch(f"{context}: {len(unmapped)} {source} keys outside the network's blocks: "
                          + ", ".join(sorted(unmapped)[:20]))
    return out, origin


def sgm_to_diffusers(state: dict, config: VideoUNetConfig, diffusers_shapes: dict, context: str = "UNet") -> dict:
    """sgm-keyed UNet tensors (no `model.diffusion_model.` prefix) -> diffusers keys, strictly
    against `diffusers_shapes` (key -> shape of the target model). Tensors are not copied or cast."""
    out, origin = _renamed(state, dict(prefix_pairs(config)), "sgm", context)
    check_exact(out, diffusers_shapes, "diffusers", context, origin)
    return out


def diffusers_to_sgm(state: dict, config: VideoUNetConfig, diffusers_shapes: dict, context: str = "UNet") -> dict:
    """diffusers UNet tensors -> sgm keys (no prefix); `state` must hold exactly the model's keys."""
    check_exact(state, diffusers_shapes, "diffusers", context)
    out, _ = _renamed(state, {b: a for a, b in prefix_pairs(config)}, "diffusers", context)
    return out


def rename(key: str, table: dict[str, str]) -> str:
    """`key` renamed by a prefix table (prefix_pairs or its inverse); KeyError when it fits none."""
    new = _rename(key, table)
    if new is None:
        raise KeyMismatch(f"{key} is not a key of the network's blocks")
    return new
