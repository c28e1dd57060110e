#!/usr/bin/env python3
"""PyTorch twin of `svdmv bench lpips`: times lpips.LPIPS(net) (the `lpips` package, v0.1) on random
[pairs, 3, size, size] inputs in [-1, 1]; one warm-up call, the fastest of --repeats, one JSON line.
The trunk weights do not change the cost; when PyPI's torchvision cannot import beside the CPU torch,
the trunk is rebuilt without it (see Scripts/fixtures/make_metrics_fixtures.py)."""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
p = argparse.ArgumentParser()
p.add_argument("--net", default="alex")
p.add_argument("--size", type=int, default=256)
p.add_argument("--pairs", type=int, default=1)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--threads", type=int, default=os.cpu_count())
a = p.parse_args()
torch.set_num_threads(a.threads)
try:
    import torchvision  # noqa: F401
except Exception:
    from torchvision_stub import install_torchvision_stub
    install_torchvision_stub()
import lpips  # noqa: E402

m = lpips.LPIPS(net=a.net, pnet_rand=True, verbose=False).eval()
g = torch.Generator().manual_seed(0)
x0 = torch.rand(a.pairs, 3, a.size, a.size, generator=g) * 2 - 1
x1 = torch.rand(a.pairs, 3, a.size, a.size, generator=g) * 2 - 1
with torch.inference_mode():
    m(x0, x1)
    best = float("inf")
    for _ in range(a.repeats):
        t = time.perf_counter()
        m(x0, x1)
        best = min(best, time.perf_counter() - t)
print(json.dumps({"name": f"lpips_{a.net}", "size": a.size, "pairs": a.pairs, "seconds": best,
                  "threads": a.threads, "torch": torch.__version__}))
