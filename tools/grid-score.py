#!/usr/bin/env python3
"""Grid (checkerboard) score of stylised images: how much a fine periodic lattice dominates the image's fine detail.

A network that paints a regular lattice (the checkerboard of transposed convolutions, the period-2/4 pattern that
nearest-neighbour upsampling can leave early in training, or a weave it invents to match a painting's fine texture)
puts its energy into a few sharp points of the power spectrum at short periods; natural texture and brush strokes
spread theirs over all orientations of a frequency. Per 128x128 tile (Hann window, luminance): the strongest
spectral peak among periods under 6 px, divided by the median power on its own frequency ring (same period, every
orientation); the score is the median over the tiles, with the period of that peak. Photos score ~15; a visible
lattice scores ~100 and more. Dev tool (Debian python3 with numpy and PIL), not part of the product.

Usage: /usr/bin/python3 tools/grid-score.py IMAGE...
"""
import sys

import numpy as np
from PIL import Image

TILE = 128
MIN_RADIUS = TILE / 6  # periods under 6 px


def score(path: str) -> tuple[float, float]:
    img = np.asarray(Image.open(path).convert('L'), dtype=np.float64)
    h, w = img.shape
    if h < TILE or w < TILE:
        raise SystemExit(f'{path}: expected an image of at least {TILE}x{TILE} pixels, got {w}x{h}')
    c = TILE // 2
    yy, xx = np.mgrid[-c:c, -c:c]
    radius = np.hypot(yy, xx)
    high = radius >= MIN_RADIUS
    window = np.outer(np.hanning(TILE), np.hanning(TILE))
    scores, periods = [], []
    for y in range(0, h - TILE + 1, TILE // 2):
        for x in range(0, w - TILE + 1, TILE // 2):
            t = img[y:y + TILE, x:x + TILE]
            power = np.abs(np.fft.fftshift(np.fft.fft2((t - t.mean()) * window))) ** 2
            peak = np.argmax(np.where(high, power, 0))
            i, j = np.unravel_index(peak, power.shape)
            ring = np.abs(radius - radius[i, j]) < 1.5
            median = np.median(power[ring])
            scores.append(power[i, j] / median if median > 0 else 0.0)
            periods.append(TILE / radius[i, j])
    k = int(np.argsort(scores)[len(scores) // 2])
    return float(np.median(scores)), float(periods[k])


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    for path in sys.argv[1:]:
        s, p = score(path)
        print(f'{path}\tgrid score {s:.0f}\tperiod {p:.1f} px')


if __name__ == '__main__':
    main()
