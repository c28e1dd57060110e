"""PyTorch twin of `svdmv bench unet`: one sgm VideoUNet (sv3d_p network_config) evaluation with
random weights (PyTorch's default initialisation) in Float32 on the CPU, under torch.no_grad, on
the same inputs (torch.randn from a generator seeded 1: x, then context, then y; c_noise =
0.25 ln 700), batch = videos x frames rows. Prints the time and the peak resident memory
(getrusage ru_maxrss) in the same RESULT line format as the Swift side.

    python Scripts/bench/torch_unet.py --size 256 --frames 21 --videos 2 --threads 2
"""
import argparse
import contextlib
import io
import math
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from sgm_reference import import_sgm, sgm_root_from_args  # noqa: E402


def resident_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=576)
    p.add_argument("--frames", type=int, default=21)
    p.add_argument("--videos", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=1)
    p.add_argument("--sgm", default=None)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    src = import_sgm(args.sgm or sgm_root_from_args(sys.argv))
    from omegaconf import OmegaConf
    with contextlib.redirect_stdout(io.StringIO()):
        from sgm.modules.diffusionmodules.video_model import VideoUNet
    cfg = OmegaConf.load(os.path.join(src, "scripts", "sampling", "configs", "sv3d_p.yaml"))
    params = OmegaConf.to_container(cfg.model.params.network_config.params)
    # 'softmax-xformers' needs xformers; sgm's 'softmax' path is the same math through
    # torch's scaled_dot_product_attention.
    params["spatial_transformer_attn_type"] = "softmax"
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        net = VideoUNet(**params).eval()
    build = time.perf_counter() - start
    count = sum(t.numel() for t in net.parameters())
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}; build {build:.2f} s, "
          f"{count} parameters (float32), resident {resident_bytes() / 2**30:.2f} GiB", flush=True)
    rows = args.videos * args.frames
    latent = args.size // 8
    g = torch.Generator().manual_seed(1)
    x = torch.randn(rows, params["in_channels"], latent, latent, generator=g)
    timesteps = torch.full((rows,), 0.25 * math.log(700))
    context = torch.randn(rows, 1, params["context_dim"], generator=g)
    y = torch.randn(rows, params["adm_in_channels"], generator=g)
    indicator = torch.zeros(args.videos, args.frames)
    for i in range(args.repeats):
        start = time.perf_counter()
        with torch.no_grad():
            out = net(x, timesteps, context=context, y=y, num_video_frames=args.frames,
                      image_only_indicator=indicator)
        seconds = time.perf_counter() - start
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"eval {i + 1}: {seconds:.2f} s, x {list(x.shape)}, output mean {out.mean().item():.6f}, "
              f"peak resident {peak / 2**30:.2f} GiB", flush=True)
    print(f"RESULT size={args.size} frames={args.frames} videos={args.videos} precision=f32 "
          f"eval_s={seconds:.2f} peak_bytes={peak}")


if __name__ == "__main__":
    main()
