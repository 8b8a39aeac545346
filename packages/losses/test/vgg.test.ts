// VGG feature network: Keras "caffe" preprocessing folded in correctly, layer selection, pooling, errors, no leaks.
import { beforeAll, describe, expect, test } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { pool2x2, Vgg, VGG_LAYERS } from '../src/index.ts';
import { randomImageData, randomVggWeights } from './helpers.ts';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Vgg', () => {
  test('layer tables', () => {
    expect(VGG_LAYERS.vgg16).toHaveLength(13);
    expect(VGG_LAYERS.vgg19).toHaveLength(16);
    expect(VGG_LAYERS.vgg16.at(-1)).toBe('relu5_3');
    expect(VGG_LAYERS.vgg19.at(-1)).toBe('relu5_4');
  });

  test('relu1_1 equals Keras: conv of (BGR − [103.939, 116.779, 123.68]) with the stored kernel', () => {
    const w = randomVggWeights('vgg19', 1, 'block1_conv1');
    const vgg = Vgg.create(w, { layers: ['relu1_1'] });
    const x = tf.tensor4d(randomImageData(2 * 6 * 7 * 3, 2), [2, 6, 7, 3]);
    const got = vgg.features(x)['relu1_1']!;
    const cw = w.layers.get('block1_conv1')!;
    const want = tf.tidy(() => {
      const bgr = tf.sub(tf.reverse(x, -1), tf.tensor1d([103.939, 116.779, 123.68]));
      return tf.relu(tf.add(tf.conv2d(bgr as tf.Tensor4D, tf.tensor4d(cw.kernel, [3, 3, 3, 64]), 1, 'same'), tf.tensor1d(cw.bias)));
    });
    const diff = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0]!;
    expect(diff).toBeLessThan(1e-4 * Math.max(1, tf.max(want).dataSync()[0]!));
    tf.dispose([x, got, want]);
    vgg.dispose();
  });

  test('builds only the layers needed; deeper layers name the missing conv', () => {
    const w = randomVggWeights('vgg16', 2, 'block2_conv2');
    const vgg = Vgg.create(w, { layers: ['relu2_2', 'relu1_2'] });
    const x = tf.tensor4d(randomImageData(1 * 8 * 8 * 3, 3), [1, 8, 8, 3]);
    const f = vgg.features(x);
    expect(f['relu1_2']!.shape).toEqual([1, 8, 8, 64]);
    expect(f['relu2_2']!.shape).toEqual([1, 4, 4, 128]);
    expect(() => vgg.features(x, ['relu3_1'])).toThrow(/deeper than this Vgg/);
    expect(() => Vgg.create(w, { layers: ['relu3_1'] })).toThrow(/block3_conv1/);
    tf.dispose([x, ...Object.values(f)]);
    vgg.dispose();
  });

  test('unknown layer: LAYER_UNKNOWN naming the valid ones', () => {
    const w = randomVggWeights('vgg16', 2, 'block1_conv1');
    expect(() => Vgg.create(w, { layers: ['relu5_4'] })).toThrow(expect.objectContaining({ code: 'LAYER_UNKNOWN', message: expect.stringMatching(/relu5_4.*relu1_1, relu1_2/) }));
    expect(() => Vgg.create(w, { layers: ['conv1_1'] })).toThrow(expect.objectContaining({ code: 'LAYER_UNKNOWN' }));
  });

  test('average pooling differs from max pooling after block 1 only', () => {
    const w = randomVggWeights('vgg19', 5, 'block2_conv1');
    const maxNet = Vgg.create(w, { layers: ['relu1_2', 'relu2_1'] });
    const avgNet = Vgg.create(w, { layers: ['relu1_2', 'relu2_1'], pooling: 'avg' });
    const x = tf.tensor4d(randomImageData(1 * 8 * 8 * 3, 6), [1, 8, 8, 3]);
    const a = maxNet.features(x);
    const b = avgNet.features(x);
    expect(tf.max(tf.abs(tf.sub(a['relu1_2']!, b['relu1_2']!))).dataSync()[0]).toBe(0);
    expect(tf.max(tf.abs(tf.sub(a['relu2_1']!, b['relu2_1']!))).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, ...Object.values(a), ...Object.values(b)]);
    maxNet.dispose();
    avgNet.dispose();
  });

  test('max-blur pooling: dense 2×2 max, then [1,2,1]/4 blur with stride 2, same output size as max pooling', () => {
    // One channel, 4×6. By hand: dense max over x[i..i+1][j..j+1] (the last row/column see only what exists),
    // then the average over 2×2 windows at stride 1 (over the cells that exist), then over 2×2 at stride 2.
    const H = 4;
    const W = 6;
    const v = Array.from({ length: H * W }, (_, k) => ((k * 37) % 11) - 5);
    const at = (g: number[][], i: number, j: number): number[] => (i < g.length && j < g[0]!.length ? [g[i]![j]!] : []);
    const grid = Array.from({ length: H }, (_, i) => v.slice(i * W, (i + 1) * W));
    const window = (g: number[][], f: (xs: number[]) => number) =>
      g.map((row, i) => row.map((_, j) => f([...at(g, i, j), ...at(g, i, j + 1), ...at(g, i + 1, j), ...at(g, i + 1, j + 1)])));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const blurred = window(window(grid, (xs) => Math.max(...xs)), mean);
    const want = Array.from({ length: H / 2 }, (_, i) => Array.from({ length: W / 2 }, (_, j) => mean([blurred[2 * i]![2 * j]!, blurred[2 * i]![2 * j + 1]!, blurred[2 * i + 1]![2 * j]!, blurred[2 * i + 1]![2 * j + 1]!])));
    const x = tf.tensor4d(v, [1, H, W, 1]);
    const got = pool2x2(x, 'max-blur');
    expect(got.shape).toEqual(pool2x2(x, 'max').shape);
    const g = got.arraySync()[0]!.map((row) => row.map((c) => c[0]!));
    g.forEach((row, i) => row.forEach((c, j) => expect(c).toBeCloseTo(want[i]![j]!, 5)));
    tf.dispose([x, got]);
  });

  test('max-blur pooling follows a one-pixel shift of a fine lattice far better than max pooling (Zhang 2019)', () => {
    // A diagonal lattice of period 4 (the kind a network learns against plain max pooling), shifted by one pixel:
    // an ideal shift-invariant pooling would give the same mean energy; plain max pooling aliases it.
    const n = 32;
    const lattice = (dx: number) =>
      tf.tensor4d(Array.from({ length: n * n }, (_, k) => 100 + 100 * Math.cos((Math.PI / 2) * ((k % n) + dx + Math.floor(k / n)))), [1, n, n, 1]);
    const change = (pooling: 'max' | 'max-blur') =>
      tf.tidy(() => {
        const a = pool2x2(lattice(0), pooling);
        const b = pool2x2(lattice(1), pooling);
        return tf.div(tf.abs(tf.sub(tf.mean(a), tf.mean(b))), tf.mean(a)).dataSync()[0]!;
      });
    const max = change('max');
    const blur = change('max-blur');
    expect(max).toBeGreaterThan(0.1);
    expect(blur).toBeLessThan(max / 4);
  });

  test('max-blur pooling is differentiable (the trainer backpropagates through it)', () => {
    const x = tf.tensor4d(randomImageData(1 * 8 * 8 * 2, 4), [1, 8, 8, 2]);
    const g = tf.grad((t) => tf.sum(tf.square(pool2x2(t as tf.Tensor4D, 'max-blur'))))(x);
    expect(g.shape).toEqual(x.shape);
    expect(tf.sum(tf.abs(g)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([x, g]);
  });

  test('no tensor leaks: features in tidy, dispose frees the weights', () => {
    const before = tf.memory().numTensors;
    const vgg = Vgg.create(randomVggWeights('vgg16', 2, 'block1_conv2'), { layers: ['relu1_2'] });
    const x = tf.tensor4d(randomImageData(1 * 8 * 8 * 3, 3), [1, 8, 8, 3]);
    for (let i = 0; i < 3; i++) tf.dispose(vgg.features(x));
    x.dispose();
    vgg.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
