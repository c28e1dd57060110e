#!/usr/bin/env python3
"""PyTorch twin of `svdmv bench clip`: times open_clip's image tower (random weights; the cost does
not depend on them) after open_clip's evaluation transform applied to tensors by torchvision
(Resize(224, bicubic, antialias) -> CenterCrop(224) -> Normalize), on random [images, 3, size,
size] inputs in [0, 1], under torch.inference_mode; one warm-up call, the fastest of --repeats,
one JSON line."""
import argparse
import json
import os
import time

import torch

p = argparse.ArgumentParser()
p.add_argument("--model", default="ViT-B-32")
p.add_argument("--size", type=int, default=224)
p.add_argument("--images", type=int, default=1)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--threads", type=int, default=os.cpu_count())
a = p.parse_args()
torch.set_num_threads(a.threads)
import open_clip  # noqa: E402
from torchvision import transforms as T  # noqa: E402

visual = open_clip.create_model(a.model, pretrained=None).visual.eval()
transform = T.Compose([T.Resize(224, interpolation=T.InterpolationMode.BICUBIC, antialias=True), T.CenterCrop(224),
                       T.Normalize([0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711])])
x = torch.rand(a.images, 3, a.size, a.size, generator=torch.Generator().manual_seed(0))
with torch.inference_mode():
    visual(transform(x))
    best = float("inf")
    for _ in range(a.repeats):
        t = time.perf_counter()
        visual(transform(x))
        best = min(best, time.perf_counter() - t)
print(json.dumps({"name": f"clip_{a.model}", "size": a.size, "images": a.images, "seconds": best,
                  "threads": a.threads, "torch": torch.__version__, "open_clip": open_clip.__version__}))
