#!/usr/bin/python3
"""Independent reference for `hokusai optimize`: the same pixel optimisation (Gatys et al. 2015, arXiv 1508.06576)
in PyTorch (Debian python3-torch, CPU), used by bench/optimize-vs-torch.ts. Not part of CI.

Same everything as packages/optimize/src/optimize.ts + @hokusai/losses: VGG19 from the Keras notop .h5
(BGR, caffe mean, 3x3 same convs, 2x2 'valid' pooling), content loss mean((F_y - F_c)^2), Gram F^T F / (C H W),
style loss mean((G_y - G_s)^2) per layer, TV mean(dx^2) + mean(dy^2); weighted total. The optimiser is
torch.optim.LBFGS (lr, history, strong-Wolfe, max_eval as given). Our Lbfgs starts its first line search at
0.1*f/|g|^2 instead of torch's min(1, 1/|g|_1)*lr (lbfgs.ts says why): with firstStepLossFraction > 0 the first
iteration is a `step` whose lr makes torch's rule give that step, then one `step` for the rest (torch keeps its
state, history included, across calls). Inputs (content,
style, initial image, already resized by the TypeScript side so both start from identical pixels) come as raw
float32 HWC RGB 0-255 files in a directory with a settings.json; prints a JSON result on stdout.

usage: python3 tools/torch_optimize.py DIR
"""
import json
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn.functional as F

VGG19_BLOCKS = [2, 2, 4, 4, 4]
MEAN_BGR = [103.939, 116.779, 123.68]


def load_vgg19(path, deepest):
    convs = []
    with h5py.File(path, "r") as f:
        for b, n in enumerate(VGG19_BLOCKS, start=1):
            for i in range(1, n + 1):
                name = f"block{b}_conv{i}"
                g = f[name]
                names = [x.decode() if isinstance(x, bytes) else x for x in g.attrs["weight_names"]]
                k = np.array(g[names[0]], dtype=np.float32)  # [kh, kw, in, out]
                bias = np.array(g[names[1]], dtype=np.float32)
                w = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous()  # [out, in, kh, kw]
                convs.append((f"relu{b}_{i}", i == n, w, torch.from_numpy(bias)))
                if f"relu{b}_{i}" == deepest:
                    return convs
    return convs


def features(convs, rgb, wanted, pooling):
    """rgb: [1,3,H,W] float32 0-255 RGB."""
    bgr = rgb.flip(1)
    x = bgr - torch.tensor(MEAN_BGR).view(1, 3, 1, 1)
    out = {}
    remaining = len(wanted)
    for relu, last, w, b in convs:
        if remaining == 0:
            break
        x = F.relu(F.conv2d(x, w, b, padding=1))
        if relu in wanted:
            out[relu] = x
            remaining -= 1
        if last and remaining > 0:
            x = F.max_pool2d(x, 2, 2) if pooling == "max" else F.avg_pool2d(x, 2, 2)
    return out


def gram(f):
    _, c, h, w = f.shape
    m = f.reshape(c, h * w)
    return (m @ m.t()) / (c * h * w)


def main():
    d = sys.argv[1]
    s = json.load(open(f"{d}/settings.json"))
    torch.set_num_threads(s.get("threads", 1))
    torch.manual_seed(0)

    def read(name, h, w):
        a = np.fromfile(f"{d}/{name}", dtype=np.float32).reshape(h, w, 3)
        return torch.from_numpy(a).permute(2, 0, 1).unsqueeze(0).contiguous()

    H, W = s["height"], s["width"]
    content = read("content.f32", H, W)
    style = read("style.f32", s["styleHeight"], s["styleWidth"])
    init = read("init.f32", H, W)
    order = [f"relu{b}_{i}" for b, n in enumerate(VGG19_BLOCKS, start=1) for i in range(1, n + 1)]
    layers = set(s["contentLayers"]) | set(s["styleLayers"])
    deepest = max(layers, key=order.index)
    convs = load_vgg19(s["weights"], deepest)
    with torch.no_grad():
        fc = features(convs, content, set(s["contentLayers"]), s["pooling"])
        fs = features(convs, style, set(s["styleLayers"]), s["pooling"])
        targets = {l: gram(fs[l]) for l in s["styleLayers"]}

    def terms(x):
        fy = features(convs, x, layers, s["pooling"])
        c = sum(s["contentWeight"] * wgt * torch.mean((fy[l] - fc[l]) ** 2) for l, wgt in s["contentLayers"].items())
        st = sum(s["styleWeight"] * wgt * torch.mean((gram(fy[l]) - targets[l]) ** 2) for l, wgt in s["styleLayers"].items())
        dx = x[:, :, :, 1:] - x[:, :, :, :-1]
        dy = x[:, :, 1:, :] - x[:, :, :-1, :]
        tv = s["tvWeight"] * (torch.mean(dx ** 2) + torch.mean(dy ** 2))
        return c, st, tv

    x = init.clone().requires_grad_(True)
    with torch.no_grad():
        initial = [float(v) for v in terms(x)]
    opt = torch.optim.LBFGS(
        [x],
        lr=s["lr"],
        max_iter=s["iterations"],
        max_eval=s["maxEvals"],
        history_size=s["history"],
        line_search_fn="strong_wolfe" if s["lineSearch"] == "strong-wolfe" else None,
        tolerance_grad=1e-7,
        tolerance_change=1e-9,
    )
    evals = [0]
    losses = []

    def closure():
        opt.zero_grad()
        c, st, tv = terms(x)
        loss = c + st + tv
        loss.backward()
        evals[0] += 1
        losses.append(float(loss))
        return loss

    t0 = time.time()
    fraction = s.get("firstStepLossFraction", 0)
    group = opt.param_groups[0]
    if fraction > 0:
        loss = closure()
        g = x.grad.detach().flatten()
        first = fraction * float(loss) / float(g @ g) * s["lr"]
        l1 = float(g.abs().sum())
        group["lr"] = first * l1 if l1 > 1 else first  # torch's first step: min(1, 1/l1) * lr
        group["max_iter"] = 1
        opt.step(closure)
        evals[0] -= 1  # step() starts by evaluating the point closure() just did
        if s["iterations"] > 1:
            group["lr"] = s["lr"]
            group["max_iter"] = s["iterations"] - 1
            group["max_eval"] = s["maxEvals"] - evals[0]
            opt.step(closure)
            evals[0] -= 1  # the same: the line search already evaluated it
    else:
        opt.step(closure)
    seconds = time.time() - t0
    with torch.no_grad():
        final = [float(v) for v in terms(x)]
    state = opt.state[opt._params[0]]
    print(json.dumps({
        "torch": torch.__version__,
        "initialLoss": {"total": sum(initial), "content": initial[0], "style": initial[1], "tv": initial[2]},
        "finalLoss": {"total": sum(final), "content": final[0], "style": final[1], "tv": final[2]},
        "iterations": int(state.get("n_iter", 0)),
        "evals": evals[0],
        "seconds": seconds,
    }))


if __name__ == "__main__":
    main()
