// Loss definitions (docs/losses.md) checked against direct JS computations, and gradients against finite differences.
import { beforeAll, describe, expect, test } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// tf.grad references: tfjs-core's gradients, registered by the packages that differentiate, not by this one
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { contentLoss, gram, styleLoss, totalVariation, Vgg } from '../src/index.ts';
import { randomImageData, randomVggWeights, rng } from './helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function jsGram(f: Float32Array, h: number, w: number, c: number): Float64Array {
  const g = new Float64Array(c * c);
  for (let i = 0; i < c; i++)
    for (let j = 0; j < c; j++) {
      let s = 0;
      for (let p = 0; p < h * w; p++) s += f[p * c + i]! * f[p * c + j]!;
      g[i * c + j] = s / (c * h * w);
    }
  return g;
}

describe('gram', () => {
  test('equals F Fᵀ / (C·H·W) per image', () => {
    const [n, h, w, c] = [2, 3, 5, 4];
    const data = randomImageData(n * h * w * c, 1);
    const g = gram(tf.tensor4d(data, [n, h, w, c]));
    expect(g.shape).toEqual([n, c, c]);
    const got = g.dataSync();
    for (let b = 0; b < n; b++) {
      const want = jsGram(data.subarray(b * h * w * c, (b + 1) * h * w * c), h, w, c);
      want.forEach((v, i) => expect(got[b * c * c + i]).toBeCloseTo(v, 1));
    }
    g.dispose();
  });
});

describe('content, style and TV losses', () => {
  test('content loss is the mean squared feature difference', () => {
    const a = randomImageData(2 * 4 * 4 * 3, 2);
    const b = randomImageData(2 * 4 * 4 * 3, 3);
    const want = a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / a.length;
    const got = contentLoss(tf.tensor4d(a, [2, 4, 4, 3]), tf.tensor4d(b, [2, 4, 4, 3])).dataSync()[0]!;
    expect(got / want).toBeCloseTo(1, 5);
  });

  test('style loss is the mean over C·C (and batch) of the squared Gram difference', () => {
    const [n, h, w, c] = [2, 4, 3, 5];
    const f = randomImageData(n * h * w * c, 4).map((v) => v / 255);
    const s = randomImageData(1 * 6 * 7 * c, 5).map((v) => v / 255);
    const gs = jsGram(s, 6, 7, c);
    let want = 0;
    for (let b = 0; b < n; b++) {
      const gy = jsGram(f.subarray(b * h * w * c, (b + 1) * h * w * c), h, w, c);
      want += gy.reduce((acc, v, i) => acc + (v - gs[i]!) ** 2, 0) / (c * c);
    }
    want /= n;
    const target = tf.tidy(() => tf.squeeze(gram(tf.tensor4d(s, [1, 6, 7, c])), [0]) as tf.Tensor2D);
    const got = styleLoss(tf.tensor4d(f, [n, h, w, c]), target).dataSync()[0]!;
    expect(got / want).toBeCloseTo(1, 4);
  });

  test('TV is mean squared horizontal + mean squared vertical difference', () => {
    const [n, h, w] = [2, 5, 6];
    const x = randomImageData(n * h * w * 3, 6);
    let sx = 0;
    let sy = 0;
    const at = (b: number, i: number, j: number, k: number) => x[((b * h + i) * w + j) * 3 + k]!;
    for (let b = 0; b < n; b++)
      for (let i = 0; i < h; i++)
        for (let j = 0; j < w; j++)
          for (let k = 0; k < 3; k++) {
            if (j + 1 < w) sx += (at(b, i, j + 1, k) - at(b, i, j, k)) ** 2;
            if (i + 1 < h) sy += (at(b, i + 1, j, k) - at(b, i, j, k)) ** 2;
          }
    const want = sx / (n * h * (w - 1) * 3) + sy / (n * (h - 1) * w * 3);
    const got = totalVariation(tf.tensor4d(x, [n, h, w, 3])).dataSync()[0]!;
    expect(got / want).toBeCloseTo(1, 5);
  });

  test('TV of a constant image is 0 and shape errors are clear', () => {
    expect(totalVariation(tf.fill([1, 4, 4, 3], 7) as tf.Tensor4D).dataSync()[0]).toBe(0);
    expect(() => totalVariation(tf.zeros([1, 1, 4, 3]) as tf.Tensor4D)).toThrow(/H,W >= 2/);
  });
});

/** Directional derivative check: <∇f(y), d> vs (f(y+εd) − f(y−εd)) / 2ε (small ε: ReLU/max-pool kinks). */
function checkGradient(f: (y: tf.Tensor4D) => tf.Scalar, shape: [number, number, number, number], seed: number, eps: number) {
  const size = shape.reduce((a, b) => a * b, 1);
  const y = tf.tensor4d(randomImageData(size, seed), shape);
  const rand = rng(seed + 100);
  const d = tf.tensor4d(Float32Array.from({ length: size }, () => 2 * rand() - 1), shape);
  const analytic = tf.tidy(() => tf.sum(tf.mul(tf.grad((x: tf.Tensor) => f(x as tf.Tensor4D))(y), d)).dataSync()[0]!);
  const numeric = tf.tidy(() => {
    const plus = f(tf.add(y, tf.mul(d, eps)) as tf.Tensor4D).dataSync()[0]!;
    const minus = f(tf.sub(y, tf.mul(d, eps)) as tf.Tensor4D).dataSync()[0]!;
    return (plus - minus) / (2 * eps);
  });
  y.dispose();
  d.dispose();
  expect(Math.abs(analytic)).toBeGreaterThan(0);
  if (process.env.HOKUSAI_DEBUG) console.log('gradcheck', analytic, numeric);
  expect(Math.abs(analytic - numeric) / Math.abs(analytic)).toBeLessThan(2e-2);
}

describe('gradients match finite differences', () => {
  const shape: [number, number, number, number] = [2, 8, 10, 3];

  test('TV', () => checkGradient((y) => totalVariation(y), shape, 11, 0.5));

  test('content loss through VGG (relu2_2)', () => {
    const vgg = Vgg.create(randomVggWeights('vgg16', 7, 'block2_conv2'), { layers: ['relu2_2'] });
    const c = tf.tensor4d(randomImageData(2 * 8 * 10 * 3, 12), shape);
    const target = vgg.features(c)['relu2_2']!;
    checkGradient((y) => tf.tidy(() => contentLoss(vgg.features(y)['relu2_2']!, target)), shape, 13, 0.02);
    tf.dispose([c, target]);
    vgg.dispose();
  });

  test('style loss through VGG (relu1_2, avg pooling to relu2_1)', () => {
    const vgg = Vgg.create(randomVggWeights('vgg19', 8, 'block2_conv1'), { layers: ['relu1_2', 'relu2_1'], pooling: 'avg' });
    const s = tf.tensor4d(randomImageData(12 * 12 * 3, 14), [1, 12, 12, 3]);
    const targets = tf.tidy(() => {
      const f = vgg.features(s);
      return [tf.squeeze(gram(f['relu1_2']!), [0]), tf.squeeze(gram(f['relu2_1']!), [0])] as tf.Tensor2D[];
    });
    checkGradient(
      (y) =>
        tf.tidy(() => {
          const f = vgg.features(y);
          return tf.add(styleLoss(f['relu1_2']!, targets[0]!), styleLoss(f['relu2_1']!, targets[1]!)) as tf.Scalar;
        }),
      shape,
      15,
      0.05,
    );
    tf.dispose([s, ...targets]);
    vgg.dispose();
  });
});
