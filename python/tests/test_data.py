"""Our shards through webdataset: decoding as the Swift side does, the slot split (every sample
once per epoch across slots, 2 ranks x 1 step = 1 rank x 2 steps), loader workers, and resuming
at a saved position."""
import itertools

import pytest
import torch

from svdmv_torch.data import OrbitShards, ShardError, slot_loader

from shards import write_shards


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    keys = write_shards(str(folder), shards=3, per_shard=4, frames=5, size=16)
    return str(folder), keys


def take(iterator, n):
    return [s["key"] for s in itertools.islice(iterator, n)]


def test_decodes_frames_and_angles(shards):
    folder, keys = shards
    sample = next(iter(OrbitShards(folder, size=16)))
    assert sample["frames"].shape == (5, 3, 16, 16)
    assert sample["frames"].min() >= -1 and sample["frames"].max() <= 1
    assert sample["key"] in keys and len(sample["azimuths_deg"]) == 5 and sample["azimuths_deg"][-1] == 0
    assert torch.allclose((sample["frames"] + 1) * 127.5, ((sample["frames"] + 1) * 127.5).round(), atol=1e-3)


def test_wrong_size_is_refused_with_the_sample_named(shards):
    folder, _ = shards
    with pytest.raises(ShardError, match=r"sample obj_\d_\d: is 16x16; the model takes 32x32"):
        next(iter(OrbitShards(folder, size=32)))


@pytest.mark.parametrize("slots", [1, 2, 3, 5])
def test_slots_cover_every_sample_once_per_epoch(shards, slots):
    folder, keys = shards
    seen = []
    for slot in range(slots):
        stream = slot_loader(folder, slot, slots, seed=3, skip=0)
        # one epoch of this slot: its shards (3 shards, <= 3 slots) or every slots-th sample
        count = (4 * len(range(slot, 3, slots))) if slots <= 3 else len(range(slot, len(keys), slots))
        seen += take(stream, count)
    assert sorted(seen) == sorted(keys)


def test_epochs_reshuffle_deterministically(shards):
    folder, keys = shards
    a = take(slot_loader(folder, 0, 1, seed=1, skip=0), 24)
    b = take(slot_loader(folder, 0, 1, seed=1, skip=0), 24)
    c = take(slot_loader(folder, 0, 1, seed=2, skip=0), 24)
    assert a == b and a != c
    assert sorted(a[:12]) == sorted(keys) and sorted(a[12:]) == sorted(keys) and a[:12] != a[12:]


def test_resume_continues_the_stream(shards):
    folder, _ = shards
    whole = take(slot_loader(folder, 1, 2, seed=4, skip=0), 15)
    resumed = take(slot_loader(folder, 1, 2, seed=4, skip=7), 8)
    assert resumed == whole[7:]


@pytest.mark.parametrize("skip", [0, 3])
def test_workers_keep_the_order(shards, skip):
    folder, _ = shards
    plain = take(slot_loader(folder, 0, 1, seed=5, skip=skip), 10)
    workers = take(slot_loader(folder, 0, 1, seed=5, skip=skip, workers=2), 10)
    assert workers == plain


def test_reads_shards_written_by_svdmv(tmp_path):
    """A shard from `svdmv dataset renders` (over an orbit folder `svdmv generate` wrote): the
    frames are the orbit's PNGs exactly, the angles its cameras.json's."""
    import json
    import subprocess

    import numpy as np
    from PIL import Image

    from seeded import ROOT
    from test_swift_unet_parity import swift_binary
    svdmv = swift_binary("svdmv")
    if svdmv is None:
        pytest.skip("svdmv not built (swift build)")
    orbit = tmp_path / "orbits" / "obj1"
    subprocess.run([svdmv, "generate", f"{ROOT}/Sources/svdmv/Resources/example-input.png", "--out", str(orbit),
                    "--frames", "5", "--elevation", "15", "--keep-framing"], check=True, capture_output=True)
    subprocess.run([svdmv, "dataset", "renders", str(tmp_path / "orbits"), "--out", str(tmp_path / "shards"),
                    "--frames", "5"], check=True, capture_output=True)
    sample = next(iter(OrbitShards(str(tmp_path / "shards"), size=64)))
    for i in range(5):
        png = np.asarray(Image.open(orbit / f"{i:03d}.png").convert("RGB")).astype(np.float32)
        ours = ((sample["frames"][i] + 1) * 127.5).round().permute(1, 2, 0).numpy()
        assert np.array_equal(ours, png), f"frame {i}"
    cameras = json.loads((orbit / "cameras.json").read_text())
    assert sample["elevations_deg"] == [v["elevation_deg"] for v in cameras["views"]]
    assert sample["azimuths_deg"] == [v["azimuth_deg"] for v in cameras["views"]]
