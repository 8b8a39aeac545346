// The flicker measure of issue 21.2 (src/flicker/): clips from a still with exact sub-pixel motion plus noise, and
// flicker = mean |out_t − warp(out_{t−1})| / mean |in_t − warp(in_{t−1})|. An identity "network" gives 1, one
// that adds frame-independent noise gives much more, a constant output gives 0; the warp undoes the true motion
// (a noise-free clip of a smooth image warps onto itself); and `hokusai flicker` runs a bundled checkpoint.
import { describe, expect, it } from 'vitest';
import { resolve } from 'node:path';
import { gaussianSampler } from '@hokusai/model';
import type { RgbImage } from '@hokusai/node';
import { makeMotionClip, measureFlicker, warpedDifference, type MotionKind } from '@hokusai/node';
import { flickerSchema, runFlicker } from '../src/commands/flicker.ts';

const ROOT = resolve(import.meta.dirname, '../../..');

/** A smooth synthetic still: low-frequency colour waves (so interpolation error is small). */
function still(w: number, h: number): RgbImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      data[i] = 128 + 100 * Math.sin(x / 9);
      data[i + 1] = 128 + 100 * Math.cos(y / 7);
      data[i + 2] = 128 + 60 * Math.sin((x + y) / 13);
    }
  }
  return { data, width: w, height: h };
}

const STILL = still(80, 60);
const clip = (kind: MotionKind, noise = 2) => makeMotionClip(STILL, { width: 64, height: 48, frames: 6, kind, noise });

function map(frames: RgbImage[], f: (v: number, i: number) => number): RgbImage[] {
  return frames.map((fr) => ({ ...fr, data: Uint8Array.from(fr.data, f) }));
}

describe('motion clips and the flicker measure', () => {
  it('warping the previous frame by the true motion matches the next one (noise-free smooth still)', () => {
    for (const kind of ['pan', 'zoom'] as const) {
      // larger steps than the defaults, so that the unwarped difference is large
      const c = makeMotionClip(STILL, { width: 64, height: 48, frames: 3, kind, noise: 0, panStep: [2.3, 1.7], zoomStep: 1.03 });
      const d = warpedDifference(c.frames[0]!, c.frames[1]!, c.poses[0]!, c.poses[1]!);
      expect(d).toBeLessThan(0.6); // rounding to 8 bits and interpolation only
      // without the warp (poses taken as static) the frames differ clearly: the motion is real
      const still0 = { zoom: 1, dx: 0, dy: 0 };
      expect(warpedDifference(c.frames[0]!, c.frames[1]!, still0, still0)).toBeGreaterThan(2 * d + 0.5);
    }
  });

  it('a sharp texture moved exactly measures almost no flicker: the warp follows sub-pixel motion without blurring', () => {
    // stroke-like detail up to 0.3 cycles/px, where bilinear resampling blurs by an amount that depends on the phase
    const sharp = still(80, 60);
    for (let i = 0; i < sharp.data.length; i += 3) {
      const p = i / 3;
      const [x, y] = [p % 80, Math.floor(p / 80)];
      sharp.data[i] = 128 + 60 * Math.sin(1.9 * x + 0.7 * y) + 40 * Math.cos(1.3 * y);
    }
    for (const kind of ['pan', 'zoom'] as const) {
      const inputs = clip(kind);
      const painted = makeMotionClip(sharp, { width: 64, height: 48, frames: 6, kind, noise: 0 });
      const r = measureFlicker(inputs.frames, painted.frames, inputs.poses);
      // 8-bit rounding alone leaves ~0.15; bilinear resampling measured 1.7 on the pan, 0.26 on the zoom
      expect(r.flicker).toBeLessThan(kind === 'pan' ? 0.5 : 0.2);
    }
  });

  it('identity ≈ 1, frame-independent noise ≫ 1, constant output 0', () => {
    for (const kind of ['pan', 'zoom', 'static'] as const) {
      const c = clip(kind);
      expect(measureFlicker(c.frames, c.frames, c.poses).flicker).toBeCloseTo(1, 6);
      const gauss = gaussianSampler(7);
      const noisy = map(c.frames, (v) => Math.min(255, Math.max(0, Math.round(v + 12 * gauss()))));
      expect(measureFlicker(c.frames, noisy, c.poses).flicker).toBeGreaterThan(3);
      const constant = map(c.frames, () => 90);
      expect(measureFlicker(c.frames, constant, c.poses).flicker).toBe(0);
    }
  });

  it('the static clip changes by its noise only: E|a − b| = 2σ/√π for two independent N(0, σ²) draws', () => {
    const c = clip('static', 4);
    const r = measureFlicker(c.frames, c.frames, c.poses);
    expect(r.inputChange).toBeGreaterThan(0.85 * (8 / Math.sqrt(Math.PI)));
    expect(r.inputChange).toBeLessThan(1.15 * (8 / Math.sqrt(Math.PI)));
  });

  it('refuses a still too small for the window and mismatched frame lists', () => {
    expect(() => makeMotionClip(still(64, 48), { width: 64, height: 48, frames: 4, kind: 'pan', noise: 0 })).toThrow(/too small/);
    const c = clip('pan');
    expect(() => measureFlicker(c.frames, c.frames.slice(1), c.poses)).toThrow(/expected ≥ 2 frames/);
  });
});

describe('hokusai flicker', () => {
  it('measures a bundled checkpoint on all three clips and prints a table', async () => {
    let printed = '';
    const report = await runFlicker(
      flickerSchema.parse({ checkpoint: [resolve(ROOT, 'checkpoints/great-wave')], photo: resolve(ROOT, 'examples/photos/chelsea.jpg'), size: 64, frames: 3 }),
      { log: () => {}, out: (t) => void (printed += t), signal: new AbortController().signal },
    );
    expect(report.width).toBe(64);
    const clips = report.results[0]!.clips;
    for (const kind of ['pan', 'zoom', 'static'] as const) {
      expect(clips[kind].flicker).toBeGreaterThan(0);
      expect(Number.isFinite(clips[kind].flicker)).toBe(true);
    }
    // the floor, its painting of the still moved exactly: above 0 under motion (the painted texture is sharp), below
    // the network's own flicker, and 0 on the static clip (nothing moves, no noise)
    for (const kind of ['pan', 'zoom'] as const) {
      expect(clips[kind].floor).toBeGreaterThan(0);
      expect(clips[kind].floor).toBeLessThan(0.7 * clips[kind].flicker);
    }
    expect(clips.static.floor).toBe(0);
    expect(printed).toMatch(/\| checkpoint \| pan flicker \| zoom flicker \| static flicker \| pan floor \| zoom floor \|/);
  }, 120_000);
});
