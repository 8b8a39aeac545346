#!/usr/bin/python3
"""Independent reference for `hokusai train`: one training step of fast style transfer (Johnson et al. 2016,
arXiv 1603.08155) in PyTorch (Debian python3-torch, CPU), used by bench/train-vs-torch.ts. Not part of CI.

Same network and losses as packages/model (Johnson net as in pytorch/examples fast_neural_style: reflection
padding, affine instance norm, nearest-upsample + conv decoder, widths c1,c2,c3 and R residual blocks) and
@hokusai/losses (VGG19 from the Keras notop .h5, BGR caffe mean, content mean((F_y-F_x)^2) at relu2_2, Gram
F F^T/(C H W), style mean((G_y-G_s)^2) at relu1_2/2_2/3_3/4_3, weighted sum), Adam. A step = forward through the
transformation net and VGG, backward, Adam update, on a random batch. Prints JSON {size: ms_per_image}.

usage: python3 tools/torch_train_step.py SETTINGS.json
  settings: {"weights": path, "sizes": [128, 256], "batch": 4, "channels": [32,64,128], "residualBlocks": 5,
             "steps": 3, "warmup": 1, "threads": 2, "styleWeight": 1, "contentWeight": 1}
"""
import json
import sys
import time

import h5py
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

VGG19_BLOCKS = [2, 2, 4, 4, 4]
MEAN_BGR = [103.939, 116.779, 123.68]
CONTENT = ["relu2_2"]
STYLE = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]


def load_vgg19(path, deepest):
    convs = []
    with h5py.File(path, "r") as f:
        for b, n in enumerate(VGG19_BLOCKS, start=1):
            for i in range(1, n + 1):
                g = f[f"block{b}_conv{i}"]
                names = [x.decode() if isinstance(x, bytes) else x for x in g.attrs["weight_names"]]
                k = np.array(g[names[0]], dtype=np.float32)
                bias = np.array(g[names[1]], dtype=np.float32)
                w = torch.from_numpy(k).permute(3, 2, 0, 1).contiguous()
                convs.append((f"relu{b}_{i}", i == n, w, torch.from_numpy(bias)))
                if f"relu{b}_{i}" == deepest:
                    return convs
    return convs


_MEAN = {}


def mean_bgr(device):
    """The caffe mean as a [1,3,1,1] tensor on `device`, made once (no host-to-device copy per call)."""
    if device not in _MEAN:
        _MEAN[device] = torch.tensor(MEAN_BGR, device=device).view(1, 3, 1, 1)
    return _MEAN[device]


def features(convs, rgb, wanted):
    x = rgb.flip(1) - mean_bgr(rgb.device)
    out = {}
    for relu, last, w, b in convs:
        x = F.relu(F.conv2d(x, w, b, padding=1))
        if relu in wanted:
            out[relu] = x
        if len(out) == len(wanted):
            break
        if last:
            x = F.max_pool2d(x, 2, 2)
    return out


def gram(f):
    n, c, h, w = f.shape
    m = f.reshape(n, c, h * w)
    return m @ m.transpose(1, 2) / (c * h * w)


class ConvLayer(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.pad = nn.ReflectionPad2d(k // 2)
        self.conv2d = nn.Conv2d(cin, cout, k, stride)

    def forward(self, x):
        return self.conv2d(self.pad(x))


class Residual(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1, self.in1 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)
        self.conv2, self.in2 = ConvLayer(c, c, 3, 1), nn.InstanceNorm2d(c, affine=True)

    def forward(self, x):
        return x + self.in2(self.conv2(F.relu(self.in1(self.conv1(x)))))


class TransformerNet(nn.Module):
    def __init__(self, ch, blocks):
        super().__init__()
        c1, c2, c3 = ch
        self.conv1, self.in1 = ConvLayer(3, c1, 9, 1), nn.InstanceNorm2d(c1, affine=True)
        self.conv2, self.in2 = ConvLayer(c1, c2, 3, 2), nn.InstanceNorm2d(c2, affine=True)
        self.conv3, self.in3 = ConvLayer(c2, c3, 3, 2), nn.InstanceNorm2d(c3, affine=True)
        self.res = nn.Sequential(*[Residual(c3) for _ in range(blocks)])
        self.deconv1, self.in4 = ConvLayer(c3, c2, 3, 1), nn.InstanceNorm2d(c2, affine=True)
        self.deconv2, self.in5 = ConvLayer(c2, c1, 3, 1), nn.InstanceNorm2d(c1, affine=True)
        self.deconv3 = ConvLayer(c1, 3, 9, 1)

    def forward(self, x):
        y = F.relu(self.in1(self.conv1(x)))
        y = F.relu(self.in2(self.conv2(y)))
        y = F.relu(self.in3(self.conv3(y)))
        y = self.res(y)
        y = F.relu(self.in4(self.deconv1(F.interpolate(y, scale_factor=2, mode="nearest"))))
        y = F.relu(self.in5(self.deconv2(F.interpolate(y, scale_factor=2, mode="nearest"))))
        return self.deconv3(y)


def main():
    s = json.load(open(sys.argv[1]))
    torch.set_num_threads(s.get("threads", 2))
    torch.manual_seed(0)
    convs = load_vgg19(s["weights"], "relu4_3")
    for _, _, w, b in convs:
        w.requires_grad_(False)
        b.requires_grad_(False)
    net = TransformerNet(s.get("channels", [32, 64, 128]), s.get("residualBlocks", 5))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    batch = s.get("batch", 4)
    result = {}
    for size in s["sizes"]:
        style = torch.rand(1, 3, size, size) * 255
        with torch.no_grad():
            targets = {k: gram(v) for k, v in features(convs, style, set(STYLE)).items()}
        times = []
        for i in range(s.get("warmup", 1) + s.get("steps", 3)):
            x = torch.rand(batch, 3, size, size) * 255
            t0 = time.perf_counter()
            opt.zero_grad()
            y = net(x)
            fy = features(convs, y, set(STYLE + CONTENT))
            with torch.no_grad():
                fx = features(convs, x, set(CONTENT))
            content = sum(F.mse_loss(fy[l], fx[l]) for l in CONTENT)
            style_loss = sum(F.mse_loss(gram(fy[l]), targets[l].expand(batch, -1, -1)) for l in STYLE)
            loss = s.get("contentWeight", 1) * content + s.get("styleWeight", 1) * style_loss
            loss.backward()
            opt.step()
            dt = time.perf_counter() - t0
            if i >= s.get("warmup", 1):
                times.append(dt)
        result[str(size)] = 1000 * float(np.median(times)) / batch
    print(json.dumps({"msPerImage": result, "threads": torch.get_num_threads(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
