#!/usr/bin/env python3
"""Independent reference for @hokusai/losses (not run in CI): VGG19 features and losses computed with PyTorch
(float64) straight from the Keras notop .h5 (h5py), on PNG crops of real images from ../shared/images (PNG decodes
identically everywhere). Writes packages/losses/test/fixtures/vgg19-losses.json with scalar per-layer losses and
feature statistics only.

Definitions (docs/losses.md): Keras "caffe" preprocessing (RGB 0-255 -> BGR minus [103.939, 116.779, 123.68]);
3x3 same convs + ReLU, 2x2 pooling (max, or avg as in Gatys et al.); content_l = mean((phi_l(y) - phi_l(c))^2);
G_l = F F^T / (C H W); style_l = mean((G_l(y) - G_l(s))^2); TV = mean(dx^2) + mean(dy^2) on 0-255 RGB.

Run from the repository root: /usr/bin/python3 tools/make_loss_fixtures.py
"""
import hashlib
import json
import os

import h5py
import numpy as np
import torch
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, '..', 'shared')
H5 = os.path.join(SHARED, 'weights', 'vgg19-keras', 'vgg19_notop.h5')
OUT = os.path.join(ROOT, 'packages', 'losses', 'test', 'fixtures', 'vgg19-losses.json')
W, H = 128, 96
CROPS = {
    # role: (file under ../shared/images, left, top)
    'content': ('content/kodim23.png', 300, 200),
    'image': ('content/kodim05.png', 250, 180),
    'style': ('content/skimage_chelsea.png', 100, 60),
}
BLOCKS = [2, 2, 4, 4, 4]
MEAN_BGR = [103.939, 116.779, 123.68]

torch.set_num_threads(2)


def load_crop(rel, left, top):
    img = Image.open(os.path.join(SHARED, 'images', rel)).convert('RGB')
    arr = np.asarray(img.crop((left, top, left + W, top + H)), dtype=np.float64)
    assert arr.shape == (H, W, 3), arr.shape
    return arr


def read_weights():
    layers = []
    with h5py.File(H5, 'r') as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f.attrs['layer_names']]
        for b, count in enumerate(BLOCKS):
            for i in range(1, count + 1):
                name = f'block{b + 1}_conv{i}'
                assert name in names, name
                g = f[name]
                wn = [n.decode() if isinstance(n, bytes) else n for n in g.attrs['weight_names']]
                k = np.array(g[wn[0]], dtype=np.float64)  # [kh, kw, in, out]
                bias = np.array(g[wn[1]], dtype=np.float64)
                layers.append((f'relu{b + 1}_{i}', torch.from_numpy(k).permute(3, 2, 0, 1).contiguous(), torch.from_numpy(bias), i == count))
    return layers


def features(layers, rgb, pooling):
    x = torch.from_numpy(rgb[:, :, ::-1].copy()) - torch.tensor(MEAN_BGR, dtype=torch.float64)
    x = x.permute(2, 0, 1).unsqueeze(0)
    out = {}
    for name, k, b, last in layers:
        x = torch.relu(torch.nn.functional.conv2d(x, k, b, padding=1))
        out[name] = x
        if last:
            x = torch.nn.functional.max_pool2d(x, 2) if pooling == 'max' else torch.nn.functional.avg_pool2d(x, 2)
    return out


def gram(f):
    _, c, h, w = f.shape
    m = f.reshape(c, h * w)
    return m @ m.t() / (c * h * w)


def tv(rgb):
    x = torch.from_numpy(rgb)
    return float(((x[:, 1:] - x[:, :-1]) ** 2).mean() + ((x[1:] - x[:-1]) ** 2).mean())


def main():
    layers = read_weights()
    imgs = {role: load_crop(*spec) for role, spec in CROPS.items()}
    result = {
        'generatedBy': 'tools/make_loss_fixtures.py (PyTorch float64, h5py)',
        'weights': {'file': '../shared/weights/vgg19-keras/vgg19_notop.h5', 'sha256': hashlib.sha256(open(H5, 'rb').read()).hexdigest()},
        'size': {'width': W, 'height': H},
        'crops': {role: {'file': f'images/{spec[0]}', 'left': spec[1], 'top': spec[2]} for role, spec in CROPS.items()},
        'pixelSums': {role: float(a.sum()) for role, a in imgs.items()},
        'tv': tv(imgs['image']),
    }
    for pooling in ['max', 'avg']:
        fy = features(layers, imgs['image'], pooling)
        fc = features(layers, imgs['content'], pooling)
        fs = features(layers, imgs['style'], pooling)
        result[pooling] = {
            'content': {n: float(((fy[n] - fc[n]) ** 2).mean()) for n in fy},
            'style': {n: float(((gram(fy[n]) - gram(fs[n])) ** 2).mean()) for n in fy},
            'features': {n: {'mean': float(fy[n].mean()), 'std': float(fy[n].std(unbiased=False)), 'max': float(fy[n].max())} for n in fy},
        }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(result, f, indent=1)
    print(f'wrote {OUT}')


if __name__ == '__main__':
    main()
