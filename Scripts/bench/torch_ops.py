#!/usr/bin/env python3
"""PyTorch twin of `svdmv bench`: the same cases, shapes and FLOP counts, timed on the CPU with
the same thread count. Prints one JSON object per case (name, shape, gflop, seconds).

    .venv/bin/python Scripts/bench/torch_ops.py --threads 2 --frames 21 --repeats 2
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F


def cases(frames):
    g = torch.Generator().manual_seed(0)
    r = lambda *s: torch.randn(*s, generator=g)

    def sgemm():
        n = 2048
        a, b = r(n, n), r(n, n)
        return "sgemm_ceiling", "2048x2048x2048", 2 * n ** 3 / 1e9, lambda: a @ b

    def linear():
        rows = frames * 5184
        x, w, b = r(rows, 320), r(320, 320), r(320)
        return "linear_320", f"[{rows},320]x[320,320]T", 2 * rows * 320 * 320 / 1e9, lambda: F.linear(x, w, b)

    def conv(c, s):
        def make():
            x, w, b = r(frames, c, s, s), r(c, c, 3, 3) * 0.01, r(c)
            return (f"conv3x3_{c}@{s}", f"[{frames},{c},{s},{s}] k3 p1", 2 * frames * c * c * 9 * s * s / 1e9,
                    lambda: F.conv2d(x, w, b, padding=1))
        return make

    def attn_spatial():
        q, k, v = r(5, 5184, 64), r(5, 5184, 64), r(5, 5184, 64)
        return ("attention_spatial", "5 heads x 5184 tokens x 64 (one frame)", 4 * 5 * 5184 * 5184 * 64 / 1e9,
                lambda: F.scaled_dot_product_attention(q, k, v))

    def pointwise(name, op):
        def make():
            x, y, b = r(frames, 320, 72, 72), r(frames, 320, 72, 72), r(320, 1, 1)
            return (f"{name}_320@72", f"[{frames},320,72,72] (G elements)", frames * 320 * 72 * 72 / 1e9,
                    lambda: op(x, y, b))
        return make

    pointwise_ops = [pointwise("silu", lambda x, y, b: F.silu(x)), pointwise("gelu", lambda x, y, b: F.gelu(x)),
                     pointwise("add_bias", lambda x, y, b: x + b), pointwise("add", lambda x, y, b: x + y)]

    def group_norm():
        x, w, b = r(frames, 320, 72, 72), torch.ones(320), r(320)
        return ("group_norm_320@72", "32 groups (G elements)", frames * 320 * 72 * 72 / 1e9,
                lambda: F.group_norm(x, 32, w, b, 1e-5))

    def softmax_rows():
        x = r(5 * 5184, 5184)
        return "softmax_rows", "[25920, 5184] (G elements)", 5 * 5184 * 5184 / 1e9, lambda: torch.softmax(x, -1)

    def attn_temporal():
        heads = 5184 * 5
        q, k, v = r(heads, frames, 64), r(heads, frames, 64), r(heads, frames, 64)
        return ("attention_temporal", f"{heads} x {frames} frames x 64", 4 * heads * frames * frames * 64 / 1e9,
                lambda: F.scaled_dot_product_attention(q, k, v))

    def resblock():
        c, s = 320, 72
        x, emb = r(frames, c, s, s), r(frames, 1280)
        w1, w2, we, b = r(c, c, 3, 3) * 0.01, r(c, c, 3, 3) * 0.01, r(c, 1280) * 0.01, r(c)
        ones = torch.ones(c)

        def run():
            h = F.silu(F.group_norm(x, 32, ones, b, 1e-5))
            h = F.conv2d(h, w1, b, padding=1)
            h = h + F.linear(F.silu(emb), we, b)[:, :, None, None]
            h = F.silu(F.group_norm(h, 32, ones, b, 1e-5))
            h = F.conv2d(h, w2, b, padding=1)
            return x + h
        return "resblock_320@72", f"[{frames},320,72,72]", 2 * 2 * frames * c * c * 9 * s * s / 1e9, run

    return [sgemm, linear, conv(320, 72), conv(640, 36), conv(1280, 18), conv(1280, 9), *pointwise_ops, group_norm, attn_spatial,
            softmax_rows, attn_temporal, resblock]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--frames", type=int, default=21)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--filter", default="")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    with torch.inference_mode():
        for make in cases(a.frames):
            name, shape, gflop, fn = make()
            if a.filter not in name:
                continue
            fn()
            best = float("inf")
            for _ in range(a.repeats):
                t = time.perf_counter()
                fn()
                best = min(best, time.perf_counter() - t)
            print(json.dumps({"name": name, "shape": shape, "gflop": gflop, "seconds": best}), flush=True)


if __name__ == "__main__":
    main()
