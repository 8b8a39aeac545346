#!/usr/bin/env python3
"""PyTorch side of bench/gpu.ts (issue #18): the same work on the same machine, so the ratio comes from one run.

Network, VGG19 (Keras notop .h5, BGR caffe mean) and losses are tools/torch_train_step.py's (pytorch/examples
fast_neural_style TransformerNet, Johnson et al. 2016; content relu2_2, Gram style relu1_2/2_2/3_3/4_3, Adam):
  inference   full net on a 1x3xSxS image: with host copies (pixels in, pixels out, like our engines) and without
  train step  SxS batch B: transformer forward, VGG19 to relu4_3 of output and content, losses, backward, Adam
  gatys eval  one VGG19 forward + backward to relu5_1 of an image (Gatys et al. 2016 layers: content relu4_2,
              style relu1_1..relu5_1), gradient w.r.t. the pixels
On CUDA each is timed with CUDA events after warm-up, in two modes: "fp32" (TF32 off for matmul and cuDNN) and
"tf32" (both on; cuDNN convolutions use TF32 by default). Without CUDA it runs on the CPU (mode "cpu fp32"): the
table's format only.

usage: python3 bench/gpu_torch.py SETTINGS.json   (written by bench/gpu.ts)
  settings: {"weights": path, "sizes": [256, 512, 1024], "trainSize": 256, "batch": 4, "steps": 5, "runs": 10,
             "gatysSizes": [512, 1024], "parts": ["infer", "train", "gatys"]}
prints one JSON line: {"device": ..., "torch": version, "rows": [{work, size, batch, mode, ms, msResident?}]}
"""
import json
import os
import statistics
import sys
import time

import types

import torch
import torch.nn.functional as F

MISSING = []
for _mod in ("h5py", "numpy"):  # only load_vgg19 needs them; a GPU machine's torch may come without them
    try:
        __import__(_mod)
    except ImportError:
        MISSING.append(_mod)
        sys.modules[_mod] = types.ModuleType(_mod)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from torch_train_step import CONTENT, STYLE, VGG19_BLOCKS, TransformerNet, features, gram, load_vgg19  # noqa: E402

VGG19_WIDTHS = [64, 128, 256, 512, 512]

GATYS_CONTENT = ["relu4_2"]
GATYS_STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def timer(device):
    """Returns time(fn, runs, warmup) -> median ms, synchronised (CUDA events on a GPU)."""
    def run(fn, runs, warmup):
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(runs):
            if device.type == "cuda":
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                end.record()
                torch.cuda.synchronize()
                times.append(start.elapsed_time(end))
            else:
                t0 = time.perf_counter()
                fn()
                times.append(1000 * (time.perf_counter() - t0))
        return statistics.median(times)
    return run


def random_vgg19(deepest):
    """VGG19's conv shapes with random weights: the same work as the real ones, for timing only."""
    convs, cin = [], 3
    for b, n in enumerate(VGG19_BLOCKS, start=1):
        cout = VGG19_WIDTHS[b - 1]
        for i in range(1, n + 1):
            convs.append((f"relu{b}_{i}", i == n, torch.randn(cout, cin, 3, 3) * (2 / (9 * cin)) ** 0.5, torch.zeros(cout)))
            cin = cout
            if f"relu{b}_{i}" == deepest:
                return convs
    return convs


def vgg_on(path, deepest, device):
    convs = random_vgg19(deepest) if MISSING else load_vgg19(path, deepest)
    return [(r, last, w.to(device), b.to(device)) for r, last, w, b in convs]


def inference(s, device, t):
    net = TransformerNet([32, 64, 128], 5).to(device).eval()
    rows = []
    for size in s["sizes"]:
        host = torch.rand(1, 3, size, size) * 255
        x = host.to(device)
        with torch.no_grad():
            resident = t(lambda: net(x), s["runs"], 2)
            copied = t(lambda: net(host.to(device)).cpu(), s["runs"], 2)
        rows.append({"work": "inference", "size": size, "batch": 1, "ms": copied, "msResident": resident})
    return rows


def train_step(s, device, t, convs):
    torch.manual_seed(0)
    size, batch = s["trainSize"], s["batch"]
    net = TransformerNet([32, 64, 128], 5).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    with torch.no_grad():
        targets = {k: gram(v) for k, v in features(convs, torch.rand(1, 3, size, size, device=device) * 255, set(STYLE)).items()}
    x = torch.rand(batch, 3, size, size, device=device) * 255

    def step():
        opt.zero_grad()
        y = net(x)
        fy = features(convs, y, set(STYLE + CONTENT))
        with torch.no_grad():
            fx = features(convs, x, set(CONTENT))
        content = sum(F.mse_loss(fy[k], fx[k]) for k in CONTENT)
        style = sum(F.mse_loss(gram(fy[k]), targets[k].expand(batch, -1, -1)) for k in STYLE)
        (content + style).backward()
        opt.step()

    return [{"work": "train step", "size": size, "batch": batch, "ms": t(step, s["steps"], 2)}]


def gatys(s, device, t, convs):
    rows = []
    for size in s["gatysSizes"]:
        content = torch.rand(1, 3, size, size, device=device) * 255
        with torch.no_grad():
            fc = features(convs, content, set(GATYS_CONTENT))
            gs = {k: gram(v) for k, v in features(convs, torch.rand(1, 3, size, size, device=device) * 255, set(GATYS_STYLE)).items()}
        x = content.clone().requires_grad_(True)

        def evaluate():
            f = features(convs, x, set(GATYS_CONTENT + GATYS_STYLE))
            loss = sum(F.mse_loss(f[k], fc[k]) for k in GATYS_CONTENT) + 100 * sum(F.mse_loss(gram(f[k]), gs[k]) for k in GATYS_STYLE)
            x.grad = None
            loss.backward()

        rows.append({"work": "gatys eval", "size": size, "batch": 1, "ms": t(evaluate, max(2, min(s["runs"], 5)), 1)})
    return rows


def main():
    s = json.load(open(sys.argv[1]))
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    t = timer(device)
    train_vgg = vgg_on(s["weights"], "relu4_3", device)
    gatys_vgg = vgg_on(s["weights"], "relu5_1", device)
    modes = [("fp32", False), ("tf32", True)] if cuda else [("cpu fp32", False)]
    rows = []
    for mode, tf32 in modes:
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        parts = s.get("parts", ["infer", "train", "gatys"])
        done = (inference(s, device, t) if "infer" in parts else []) + (train_step(s, device, t, train_vgg) if "train" in parts else [])
        for r in done + (gatys(s, device, t, gatys_vgg) if "gatys" in parts else []):
            rows.append({**r, "mode": mode})
            print(f"torch {mode} {r['work']} {r['size']}x{r['size']} x{r['batch']}: {r['ms']:.2f} ms", file=sys.stderr)
    name = torch.cuda.get_device_name(0) if cuda else f"CPU ({torch.get_num_threads()} threads)"
    weights = f"random (no {' or '.join(MISSING)} here)" if MISSING else s["weights"]
    print(json.dumps({"device": name, "torch": torch.__version__, "weights": weights, "rows": rows}))


if __name__ == "__main__":
    main()
