// finishPixels: the post-processing of engines that hand back plain numbers (onnxruntime, the WebGPU engine in Node
// and the browser) gives stylizeTensor's picture, for RGB and RGBA layouts.
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { finishPixels, stylizeTensor, type TransformerNet } from '../src/index.ts';

describe('finishPixels', () => {
  it('clips, transfers colour and blends as stylizeTensor does, in RGB and RGBA', async () => {
    await tf.setBackend('cpu');
    const h = 12;
    const w = 16;
    const rgb = new Uint8Array(h * w * 3).map((_, i) => (i * 37 + (i % 7) * 11) % 256);
    const frame = tf.tensor3d(Float32Array.from(rgb), [h, w, 3]);
    // A "network output" beyond 0–255 on both sides, so the first clip matters.
    const raw = tf.tidy(() => tf.sub(tf.mul(tf.reverse(frame, 1), 1.4), 40));
    const fakeNet = { apply: () => tf.expandDims(raw, 0) } as unknown as TransformerNet;
    const styled = raw.dataSync() as Float32Array;
    const rgba = new Uint8Array(h * w * 4).map((_, i) => (i % 4 === 3 ? 7 : rgb[Math.floor(i / 4) * 3 + (i % 4)]!));
    for (const opts of [{ strength: 1, preserveColors: false }, { strength: 0.35, preserveColors: false }, { strength: 0.6, preserveColors: true }]) {
      const expected = tf.tidy(() => tf.round(stylizeTensor(fakeNet, frame, opts)).dataSync());
      const got3 = finishPixels(styled, rgb, opts.strength, opts.preserveColors);
      const got4 = finishPixels(styled, rgba, opts.strength, opts.preserveColors, 4);
      const diff3 = Array.from(got3, (v, i) => Math.abs(v - expected[i]!));
      const diff4 = Array.from(expected, (v, i) => Math.abs(v - got4[Math.floor(i / 3) * 4 + (i % 3)]!));
      expect(Math.max(...diff3)).toBeLessThanOrEqual(1); // rounding of exact halves may differ
      expect(Math.max(...diff4)).toBeLessThanOrEqual(1);
      expect(got4.filter((_, i) => i % 4 === 3).every((a) => a === 255)).toBe(true);
    }
    tf.dispose([frame, raw]);
  });
});
