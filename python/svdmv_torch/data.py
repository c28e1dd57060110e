"""Our WebDataset orbit shards (`svdmv dataset ...`: per sample `<key>.json` with the
SequenceMetadata and frames `<key>.000.png`..., Sources/MultiViewData/Shards.swift) read with the
`webdataset` package, for any number of ranks, gradient-accumulation steps and loader workers.

Deterministic "slots": a run with W ranks and A accumulation steps has W·A slots; the micro-batch
`a` of rank `r` always comes from slot r·A + a. So 2 ranks × 1 step and 1 rank × 2 steps read
the same samples at every optimiser step. A slot reads its share of the shards (shard i goes to
slot i mod S when there are at least S shards, else every slot reads every shard and keeps sample
j mod S), shuffles the shard order per epoch and the samples in a buffer, both seeded by
(seed, epoch, slot), and loops over epochs forever. Its position is the number of samples it has
handed out: a resumed run recreates the stream and skips that many raw samples before decoding,
so it continues exactly where the killed one was. Loader workers split a slot's stream by sample
index (round robin, as DataLoader asks them in turn)."""
from __future__ import annotations

import glob
import io
import itertools
import json
import os
import random

import numpy as np
import torch
import webdataset as wds
from PIL import Image


class ShardError(ValueError):
    pass


def shard_urls(path: str) -> list[str]:
    """The .tar shards of a folder (sorted), or one shard file."""
    if os.path.isdir(path):
        urls = sorted(glob.glob(os.path.join(path, "*.tar")))
        if not urls:
            raise ShardError(f"{path} holds no .tar shards")
        return urls
    if not os.path.exists(path):
        raise ShardError(f"{path}: no such file or folder")
    return [path]


def decode_sample(sample: dict, size: int | None = None) -> dict:
    """A raw webdataset sample -> frames [T, 3, H, W] float32 in [-1, 1] (v / 127.5 − 1, as the
    Swift TrainingSequence), elevations/azimuths (degrees) and the metadata; checks what
    TrainingShards.check checks (conditioning view last, the model's size)."""
    key = sample.get("__key__", "?")
    context = f"{sample.get('__url__', '?')} sample {key}"
    if "json" not in sample:
        raise ShardError(f"{context}: no .json member")
    meta = json.loads(sample["json"])
    n = len(meta["elevations_deg"])
    if len(meta["azimuths_deg"]) != n:
        raise ShardError(f"{context}: azimuths_deg has {len(meta['azimuths_deg'])} entries, elevations_deg {n}")
    if meta["cond_index"] != n - 1:
        raise ShardError(f"{context}: the conditioning view must be the last frame")
    if size is not None and (meta["width"] != size or meta["height"] != size):
        raise ShardError(f"{context}: is {meta['width']}x{meta['height']}; the model takes {size}x{size}")
    frames = []
    for i in range(n):
        data = sample.get(f"{i:03d}.png") or sample.get(f"{i:03d}.jpg")
        if data is None:
            raise ShardError(f"{context}: frame {i:03d} missing")
        image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        if image.shape != (meta["height"], meta["width"], 3):
            raise ShardError(f"{context}: frame {i:03d} is {image.shape}")
        frames.append(image)
    pixels = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).float()
    return {"key": key, "frames": pixels / 127.5 - 1, "elevations_deg": meta["elevations_deg"],
            "azimuths_deg": meta["azimuths_deg"], "metadata": meta}


def _seed(*parts) -> int:
    return int.from_bytes(repr(parts).encode(), "little") % (2 ** 63)


def slot_raw_samples(urls: list[str], slot: int, slots: int, seed: int, shuffle_buffer: int = 64):
    """The endless raw sample stream of one slot (before decoding)."""
    by_shard = len(urls) >= slots
    mine = urls[slot::slots] if by_shard else list(urls)
    for epoch in itertools.count():
        order = list(mine)
        # Splitting by sample index needs the same shard order in every slot.
        random.Random(_seed(seed, epoch, slot if by_shard else "all", "shards")).shuffle(order)
        stream = wds.tarfile_to_samples()(iter([{"url": u} for u in order]))
        if not by_shard:
            stream = (s for j, s in enumerate(stream) if j % slots == slot)
        if shuffle_buffer > 1:
            stream = wds.filters._shuffle(stream, bufsize=shuffle_buffer, initial=shuffle_buffer,
                                          rng=random.Random(_seed(seed, epoch, slot, "samples")))
        yielded = False
        for sample in stream:
            yielded = True
            yield sample
        if not yielded:
            raise ShardError(f"slot {slot} of {slots}: its shards {order} hold no samples")


class OrbitShards(torch.utils.data.IterableDataset):
    """Decoded samples of one slot, starting after `skip` samples (the slot's saved position)."""

    def __init__(self, path: str, slot: int = 0, slots: int = 1, seed: int = 0, skip: int = 0,
                 size: int | None = None, shuffle_buffer: int = 64):
        self.urls = shard_urls(path)
        self.slot, self.slots, self.seed, self.skip = slot, slots, seed, skip
        self.size, self.shuffle_buffer = size, shuffle_buffer

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info else (0, 1)
        stream = slot_raw_samples(self.urls, self.slot, self.slots, self.seed, self.shuffle_buffer)
        for index, sample in enumerate(stream):
            # Sample `index` goes to worker (index − skip) mod workers: DataLoader asks the workers
            # in turn from worker 0 (batch size 1), so they hand the samples out in index order.
            if index < self.skip or (index - self.skip) % workers != worker:
                continue
            yield {**decode_sample(sample, self.size), "index": index}


def collate_one(samples):
    """Batches of one video (the objective's unit): the sample itself."""
    assert len(samples) == 1
    return samples[0]


def slot_loader(path: str, slot: int, slots: int, seed: int, skip: int, size: int | None = None,
                workers: int = 0, shuffle_buffer: int = 64):
    """An iterator over one slot's decoded samples from position `skip`."""
    dataset = OrbitShards(path, slot, slots, seed, skip, size, shuffle_buffer)
    if workers == 0:
        return iter(dataset)
    return iter(torch.utils.data.DataLoader(dataset, batch_size=1, num_workers=workers, collate_fn=collate_one,
                                            prefetch_factor=2, persistent_workers=False))
