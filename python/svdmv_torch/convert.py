"""Checkpoint conversion, both ways (command line):

    python -m svdmv_torch.convert to-diffusers MODEL.safetensors OUT_DIR [--dtype f16|bf16|f32]
        the UNet as a diffusers UNetSpatioTemporalConditionModel folder (save_pretrained), with our
        config beside it (svdmv_unet_config.json)
    python -m svdmv_torch.convert to-sgm DIFFUSERS_DIR --base MODEL.safetensors --out NEW.safetensors [--dtype ...]
        the diffusers UNet back under sgm keys, with every other tensor (CLIP, VAEs) and the
        metadata of the base checkpoint, written atomically

Both are strict: every tensor is used and every target key filled, else the error names them."""
from __future__ import annotations

import argparse
import json
import os
import sys

from .checkpoint import (DTYPES, read_checkpoint, unet_from_checkpoint, unet_state_for_checkpoint, with_unet,
                         write_checkpoint)

CONFIG_FILE = "svdmv_unet_config.json"


def to_diffusers(source: str, out_dir: str, dtype: str | None) -> None:
    checkpoint = read_checkpoint(source)
    unet = unet_from_checkpoint(checkpoint, dtype=DTYPES[dtype] if dtype else None)
    unet.save_pretrained(out_dir, safe_serialization=True)
    with open(os.path.join(out_dir, CONFIG_FILE), "w") as f:
        json.dump({"variant": checkpoint.variant, "unet": checkpoint.unet_config.to_json()}, f, indent=1)
    print(f"{source}: {checkpoint.variant}, {len(checkpoint.unet)} UNet tensors -> {out_dir}")


def to_sgm(diffusers_dir: str, base: str, out: str, dtype: str | None) -> None:
    from diffusers import UNetSpatioTemporalConditionModel
    checkpoint = read_checkpoint(base)
    unet = UNetSpatioTemporalConditionModel.from_pretrained(diffusers_dir)
    state = unet_state_for_checkpoint(unet, checkpoint.unet_config, context=diffusers_dir)
    write_checkpoint(out, with_unet(checkpoint, state), dtype=DTYPES[dtype] if dtype else None)
    print(f"{diffusers_dir} + {base} -> {out}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m svdmv_torch.convert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("to-diffusers")
    a.add_argument("checkpoint")
    a.add_argument("out_dir")
    a.add_argument("--dtype", choices=["f16", "bf16", "f32"])
    b = sub.add_parser("to-sgm")
    b.add_argument("diffusers_dir")
    b.add_argument("--base", required=True, help="the checkpoint the other parts and the metadata come from")
    b.add_argument("--out", required=True)
    b.add_argument("--dtype", choices=["f16", "bf16", "f32"])
    args = parser.parse_args(argv)
    try:
        if args.command == "to-diffusers":
            to_diffusers(args.checkpoint, args.out_dir, args.dtype)
        else:
            to_sgm(args.diffusers_dir, args.base, args.out, args.dtype)
    except (KeyError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
