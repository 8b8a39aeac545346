// The engine's glue kernels (kernels/pad-crop.ts, kernels/loss-terms.ts) against tfjs on the cpu backend: input
// noise + reflection pad to a multiple of 4 vs padSpatialTo, crop, VGG preprocessing vs Vgg's, ReLU gradient mask,
// content difference and gradient, Gram minus target, TV and its gradient (tf.grad of totalVariation).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { inputNoiseField, padSpatialTo } from '@hokusai/model';
import { totalVariation } from '@hokusai/losses';
import type { GpuContext } from '../src/gpu-context.ts';
import { cropImage, noiseField, paddedSide, padInput, reflectIndexMap } from '../src/kernels/pad-crop.ts';
import { contentDiff, gramMinusTarget, reluBackward, tvAndOutputGrad, vggPreprocess } from '../src/kernels/loss-terms.ts';
import { bufferFrom, randomFloats, relError, runAndRead, testContext } from './gpu-device.ts';

let ctx: GpuContext | undefined;
beforeAll(async () => {
  await tf.setBackend('cpu');
  ctx = await testContext();
});
afterAll(() => ctx?.dispose());

describe('glue kernels', () => {
  it.each([
    [2, 5, 7, 0],
    [1, 3, 1, 8],
    [1, 9, 12, 4],
  ])('padInput n=%i %ix%i with noise σ=%i matches padSpatialTo(x + noise); cropImage undoes it', async (n, h, w, sigma) => {
    if (!ctx) return;
    const th = paddedSide(h);
    const tw = paddedSide(w);
    const x = randomFloats(n * h * w * 3, h * w).map((v) => 128 + 127 * v);
    const ref = tf.tidy(() => {
      let t = tf.tensor4d(x, [n, h, w, 3]);
      if (sigma > 0) t = tf.add(t, inputNoiseField(h, w, sigma));
      return padSpatialTo(t, th, tw).padded.dataSync() as Float32Array;
    });
    const maps = new Int32Array(th + tw);
    maps.set(reflectIndexMap(h, th), 0);
    maps.set(reflectIndexMap(w, tw), th);
    const y = ctx.createBuffer(n * th * tw * 3 * 4);
    const noise = sigma > 0 ? { noise: bufferFrom(ctx, noiseField(h, w, sigma)) } : {};
    const xb = bufferFrom(ctx, x);
    const ds = padInput(ctx, { n, h, w, th, tw, noise: sigma > 0 }, { x: xb, maps: bufferFrom(ctx, new Float32Array(maps.buffer)), y, ...noise });
    const got = await runAndRead(ctx, ds, y, n * th * tw * 3);
    expect(relError(got, ref)).toBeLessThan(1e-6);
    if (sigma > 0) return;
    const back = ctx.createBuffer(x.byteLength);
    const { padded, top, left } = padSpatialTo(tf.zeros([1, h, w, 1]), th, tw);
    padded.dispose();
    const crop = cropImage(ctx, { n, th, tw, h, w, top, left, c: 3 }, { x: y, y: back });
    expect(await runAndRead(ctx, crop, back, x.length)).toEqual(x);
  });

  it('vggPreprocess is RGB→BGR minus the Keras caffe mean; reluBackward masks', async () => {
    if (!ctx) return;
    const x = randomFloats(2 * 5 * 3, 3).map((v) => 128 + 127 * v);
    const y = ctx.createBuffer(x.byteLength);
    const got = await runAndRead(ctx, vggPreprocess(ctx, { pixels: 10 }, { x: bufferFrom(ctx, x), y }), y, x.length);
    const mean = [103.939, 116.779, 123.68];
    const ref = x.map((_, i) => x[i - (i % 3) + 2 - (i % 3)]! - mean[i % 3]!);
    expect(relError(got, ref)).toBeLessThan(1e-6);
    const g = randomFloats(300, 4);
    const act = randomFloats(300, 5);
    const gb = bufferFrom(ctx, g);
    const masked = await runAndRead(ctx, reluBackward(ctx, { count: 300 }, { g: gb, y: bufferFrom(ctx, act) }), gb, 300);
    expect(masked).toEqual(g.map((v, i) => (act[i]! > 0 ? v : 0)));
  });

  it('contentDiff writes the difference and (accumulates) the scaled gradient; gramMinusTarget subtracts per image', async () => {
    if (!ctx) return;
    const fy = randomFloats(777, 6);
    const fc = randomFloats(777, 7);
    const prev = randomFloats(777, 8);
    const diff = ctx.createBuffer(777 * 4);
    const grad = bufferFrom(ctx, prev);
    const ds = contentDiff(ctx, { count: 777, scale: 0.25, accumulate: true }, { fy: bufferFrom(ctx, fy), fc: bufferFrom(ctx, fc), diff, grad });
    const g = await runAndRead(ctx, ds, grad, 777);
    expect(relError(g, prev.map((p, i) => p + 0.25 * (fy[i]! - fc[i]!)))).toBeLessThan(1e-6);
    expect(relError(await ctx.read(diff), fy.map((v, i) => v - fc[i]!))).toBeLessThan(1e-6);
    const grams = randomFloats(2 * 16, 9);
    const target = randomFloats(16, 10);
    const gb = bufferFrom(ctx, grams);
    const got = await runAndRead(ctx, gramMinusTarget(ctx, { n: 2, c: 4 }, { gram: gb, target: bufferFrom(ctx, target) }), gb, 32);
    expect(relError(got, grams.map((v, i) => v - target[i % 16]!))).toBeLessThan(1e-6);
  });

  it('tvAndOutputGrad: terms sum to totalVariation, gradient = BGR→RGB input gradient + weight·∂tv/∂y', async () => {
    if (!ctx) return;
    const [n, h, w] = [2, 6, 9];
    const count = n * h * w * 3;
    const y = randomFloats(count, 11).map((v) => 128 + 100 * v);
    const dBgr = randomFloats(count, 12);
    const weight = 0.7;
    const [tv, dtv] = tf.tidy(() => {
      const t = tf.tensor4d(y, [n, h, w, 3]);
      const value = totalVariation(t).dataSync()[0]!;
      const g = tf.grad((v: tf.Tensor) => totalVariation(v as tf.Tensor4D))(t).dataSync() as Float32Array;
      return [value, g] as const;
    });
    const dy = ctx.createBuffer(count * 4);
    const terms = ctx.createBuffer(count * 4);
    const ds = tvAndOutputGrad(ctx, { n, h, w, weight }, { y: bufferFrom(ctx, y), dBgr: bufferFrom(ctx, dBgr), dy, terms });
    const got = await runAndRead(ctx, ds, dy, count);
    const ref = dtv.map((g, i) => dBgr[i - (i % 3) + 2 - (i % 3)]! + weight * g);
    expect(relError(got, ref)).toBeLessThan(1e-5);
    const sum = (await ctx.read(terms)).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - tv) / tv).toBeLessThan(1e-5);
  });
});
