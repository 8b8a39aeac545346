// Lattice penalty: a period-4 pattern scores its power whatever its phase, noise and smooth images score little (on
// cpu and wasm alike), its gradient is right on both, and bad arguments fail with clear messages.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, test } from 'vitest';
import { initBackend } from '@hokusai/node';
import { latticePenalty } from '../src/index.ts';
import { rng } from './helpers.ts';

/** [1,H,W,3]: gray 128 + amplitude·pattern(y, x) + uniform noise of ±noise. */
function image(h: number, w: number, amplitude: number, pattern: (y: number, x: number) => number, noise = 0, seed = 1): tf.Tensor4D {
  const rand = rng(seed);
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = 128 + amplitude * pattern(y, x) + noise * (2 * rand() - 1);
  return tf.tensor4d(data, [1, h, w, 3]);
}

const value = (x: tf.Tensor4D, opts = {}) => tf.tidy(() => latticePenalty(x, opts).dataSync()[0]!);
// The starry-night weave: period 4 on both axes, i.e. diagonal stripes of period 2.8 px.
const diagonal = (y: number, x: number) => Math.cos((Math.PI / 2) * (x + y));
const checker = (y: number, x: number) => ((x + y) % 2 === 0 ? 1 : -1);

afterAll(async () => {
  await initBackend('cpu');
});

describe.each(['cpu', 'wasm'] as const)('latticePenalty on %s', (backend) => {
  test('a period-4 or period-2 lattice scores about amplitude²/2 at any phase; a constant image 0', async () => {
    await initBackend(backend);
    for (const shift of [0, 1, 3]) {
      expect(value(image(128, 128, 6, (y, x) => diagonal(y, x + shift)))).toBeCloseTo(18, 3);
    }
    expect(value(image(128, 128, 6, checker))).toBeCloseTo(36, 3); // a square wave has amplitude² of power
    expect(value(image(128, 128, 0, () => 0))).toBe(0);
  });

  test('noise, a smooth ramp and a period-5 pattern (not the network\'s stride) score little', async () => {
    await initBackend(backend);
    const noise = value(image(128, 128, 0, () => 0, 40, 3)); // variance 533: its phase means differ by ~533/1024
    expect(noise).toBeGreaterThan(0.1);
    expect(noise).toBeLessThan(1.5);
    expect(value(image(128, 128, 100, (y, x) => (x + 2 * y) / 384))).toBeLessThan(0.5);
    expect(value(image(160, 160, 6, (y, x) => Math.cos((2 * Math.PI * (x + y)) / 5)))).toBeLessThan(0.5);
    // A lattice under noise still shows: 18 plus the noise's share.
    expect(value(image(128, 128, 6, diagonal, 40, 3))).toBeGreaterThan(17);
  });

  test('windows: smaller images use fewer cells; partial windows at the edges are left out', async () => {
    await initBackend(backend);
    const x = image(40, 70, 6, diagonal, 10, 5);
    // 40 px: 10 blocks of 4 -> windows of 10 cells (40 px): one row, one whole column of windows.
    const inWindow = tf.slice(x, [0, 0, 0, 0], [1, 40, 40, 3]);
    expect(value(x)).toBeCloseTo(value(inWindow), 5);
    expect(value(x, { cells: 5 })).not.toBeCloseTo(value(x), 3);
    expect(value(x, { period: 2 })).toBeLessThan(1); // a period-4 pattern has no period-2 part
  });

  test('gradient matches finite differences', async () => {
    await initBackend(backend);
    const x = image(64, 64, 5, diagonal, 30, 7);
    const rand = rng(9);
    const d = tf.tensor4d(Float32Array.from({ length: 64 * 64 * 3 }, () => 2 * rand() - 1), [1, 64, 64, 3]);
    const analytic = tf.tidy(() => tf.sum(tf.mul(tf.grad((y: tf.Tensor) => latticePenalty(y as tf.Tensor4D))(x), d)).dataSync()[0]!);
    const eps = 0.5; // the penalty is quadratic: central differences are exact up to rounding
    const numeric = (value(tf.add(x, tf.mul(d, eps)) as tf.Tensor4D) - value(tf.sub(x, tf.mul(d, eps)) as tf.Tensor4D)) / (2 * eps);
    expect(analytic / numeric).toBeCloseTo(1, 2); // float32 differences of values ~50: ~1e-3 rounding
  });

  test('leaves no tensors behind', async () => {
    await initBackend(backend);
    const x = image(64, 64, 5, diagonal);
    const before = tf.memory().numTensors;
    value(x);
    tf.tidy(() => {
      tf.grad((y: tf.Tensor) => latticePenalty(y as tf.Tensor4D))(x);
    });
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});

test('bad arguments fail with what was expected and what arrived', async () => {
  await initBackend('cpu');
  expect(() => latticePenalty(tf.zeros([1, 6, 64, 3]) as tf.Tensor4D)).toThrow(/H,W >= 8 \(twice the period\), but got \[1, 6, 64, 3\]/);
  expect(() => latticePenalty(tf.zeros([1, 64, 64, 3]) as tf.Tensor4D, { period: 1.5 })).toThrow(/integer period >= 2, but got 1.5/);
  expect(() => latticePenalty(tf.zeros([1, 64, 64, 3]) as tf.Tensor4D, { cells: 0 })).toThrow(/integer cells >= 1, but got 0/);
});
