// The stability loss of issue 21.3 (Gupta et al. 2017; `stabilityLoss`/`addSensorNoise` of @hokusai/losses, and
// `hokusai train --stability-weight w --stability-noise σ` in the trainer): zero for σ = 0, positive with a gradient
// that reaches the network's weights for σ > 0, the noise reproducible by seed, and the trainer adds the weighted
// term to the step's total (reported as `stability`) only when the weight is above 0, compared by squared or absolute
// differences (`--stability-norm`), borders left out with `--stability-margin`. No tensors leak.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { TransformerNet, type NetConfig } from '@hokusai/model';
import { addSensorNoise, innerWindow, shiftCrop, shiftWarp, stabilityLoss } from '@hokusai/losses';
import { Trainer, type LossFunction, type TrainableNet, type TrainerConfig } from '../src/trainer.ts';
import { TrainingData } from '../src/dataset.ts';
import { trainSchema } from '../src/options.ts';
import { generatedImageFiles, testIO, useCpu } from './train-helpers.ts';

const TINY: NetConfig = { arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1 };

let files: string[] = [];
beforeAll(async () => {
  await useCpu();
  files = await generatedImageFiles('stability-data', 4);
});

function photo(seed: number): tf.Tensor4D {
  return tf.tidy(() => tf.mul(tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', seed), 255) as tf.Tensor4D);
}

describe('stability loss', () => {
  it('is zero for σ = 0 and positive, with gradients on the weights, for σ > 0', () => {
    const net = TransformerNet.create(TINY, 3);
    const x = photo(1);
    const before = tf.memory().numTensors;
    const lossFor = (sigma: number) => () => stabilityLoss(net.apply(x), net.apply(addSensorNoise(x, sigma, 5)));
    const zero = tf.tidy(lossFor(0));
    expect(zero.dataSync()[0]).toBe(0);
    zero.dispose();
    const { value, grads } = tf.variableGrads(lossFor(8), net.variables);
    expect(value.dataSync()[0]).toBeGreaterThan(0);
    const norms = Object.values(grads).map((g) => tf.tidy(() => tf.norm(g).dataSync()[0]!));
    expect(norms.every(Number.isFinite)).toBe(true);
    expect(norms.filter((n) => n > 0).length).toBeGreaterThan(norms.length / 2);
    value.dispose();
    for (const g of Object.values(grads)) g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
    net.dispose();
  });

  it('compares by mean squared or mean absolute difference (--stability-norm), and refuses another norm', () => {
    const y = tf.tensor4d([0, 2, -3, 1], [1, 2, 2, 1]);
    const z = tf.zeros([1, 2, 2, 1]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const mse = stabilityLoss(y, z);
    const l1 = stabilityLoss(y, z, 'l1');
    expect(mse.dataSync()[0]).toBeCloseTo((0 + 4 + 9 + 1) / 4, 6);
    expect(l1.dataSync()[0]).toBeCloseTo((0 + 2 + 3 + 1) / 4, 6);
    expect(() => stabilityLoss(y, z, 'l2' as 'l1')).toThrow('expected norm mse or l1, got l2');
    tf.dispose([mse, l1]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([y, z]);
    expect(trainSchema.parse({}).stabilityNorm).toBe('mse');
    expect(() => trainSchema.parse({ stabilityNorm: 'l2' })).toThrow();
  });

  it('leaves a margin out of the comparison (--stability-margin), and refuses one that leaves nothing', () => {
    const t = tf.tensor4d(Array.from({ length: 6 * 5 }, (_, i) => i), [1, 6, 5, 1]);
    const inner = innerWindow(t, 2);
    expect(inner.shape).toEqual([1, 2, 1, 1]);
    expect(Array.from(inner.dataSync())).toEqual([12, 17]); // rows 2–3, column 2
    expect(innerWindow(t, 0)).toBe(t);
    expect(() => innerWindow(t, 3)).toThrow('expected a whole margin ≥ 0 that leaves pixels of 6×5, got 3');
    tf.dispose([t, inner]);
    expect(trainSchema.parse({}).stabilityMargin).toBe(0);
  });

  it('draws N(0, σ²) noise, clipped to 0–255, the same for the same seed', () => {
    const x = tf.fill([1, 32, 32, 3], 128) as tf.Tensor4D;
    const a = addSensorNoise(x, 4, 9);
    const b = addSensorNoise(x, 4, 9);
    const c = addSensorNoise(x, 4, 10);
    const d = Array.from(tf.sub(a, x).dataSync());
    const mean = d.reduce((s, v) => s + v, 0) / d.length;
    const sd = Math.sqrt(d.reduce((s, v) => s + (v - mean) ** 2, 0) / d.length);
    expect(Math.abs(mean)).toBeLessThan(0.3);
    expect(sd).toBeGreaterThan(3.6);
    expect(sd).toBeLessThan(4.4);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    const clipped = addSensorNoise(tf.fill([1, 8, 8, 3], 255) as tf.Tensor4D, 20, 1);
    expect(Math.max(...clipped.dataSync())).toBe(255);
    tf.dispose([x, a, b, c, clipped]);
    expect(() => addSensorNoise(photo(2), -1, 1)).toThrow(/expected ≥ 0/);
  });

  it('train options: off by default, recorded with the other options', () => {
    const o = trainSchema.parse({ stabilityWeight: 100 });
    expect(o.stabilityWeight).toBe(100);
    expect(o.stabilityNoise).toBe(4);
    expect(trainSchema.parse({}).stabilityWeight).toBe(0);
  });
});

describe('trainer with --stability-weight', () => {
  const constantLoss: LossFunction = {
    compute: (y) => ({ total: tf.mul(tf.mean(y), 0) as tf.Scalar, weighted: { content: tf.scalar(0), style: tf.scalar(0), tv: tf.scalar(0) } }),
  };

  function config(stability?: TrainerConfig['stability']): TrainerConfig {
    return {
      out: 'unused', iterations: 1, batchSize: 2, imageSize: 16, microBatch: 1, lr: 1e-2, lrDecay: 0, checkpointEvery: 1,
      keep: 1, sampleEvery: 0, logEvery: 1, prefetch: 1, backend: 'cpu', meta: { name: 'test' },
      ...(stability ? { stability } : {}),
    };
  }

  it('adds weight × the loss to the total and reports it; weight 0 adds nothing', async () => {
    const data = new TrainingData(files, { imageSize: 16, batchSize: 2, seed: 1, flip: false, maxScale: 1, maxPixels: 1e7, cacheBytes: 1e6 });
    const net = TransformerNet.create(TINY, 4);
    const batch = await data.batch(0);
    const on = new Trainer(net as TrainableNet, constantLoss, data, testIO, config({ weight: 2, sigma: 6, seed: 3 }), () => {});
    const off = new Trainer(net as TrainableNet, constantLoss, data, testIO, config({ weight: 0, sigma: 6, seed: 3 }), () => {});
    const before = tf.memory().numTensors; // after both trainers made their optimiser state
    const a = await on.gradients(batch);
    expect(a.losses.stability).toBeGreaterThan(0);
    expect(a.losses.total).toBeCloseTo(a.losses.stability!, 5);
    const gradNorm = tf.tidy(() => tf.addN(a.grads.map((g) => tf.sum(tf.abs(g)))).dataSync()[0]!);
    expect(gradNorm).toBeGreaterThan(0);
    tf.dispose(a.grads);
    const again = await on.gradients(batch); // the same step draws the same noise
    expect(again.losses.stability).toBeCloseTo(a.losses.stability!, 4);
    tf.dispose(again.grads);
    const b = await off.gradients(batch);
    expect(b.losses.stability).toBeUndefined();
    expect(b.losses.total).toBe(0);
    tf.dispose(b.grads);
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});

describe('stability loss with a shift (--stability-shift)', () => {
  it('is zero for a shift-equivariant (pointwise) network and positive for the transformation network', () => {
    const x = tf.tidy(() => tf.mul(tf.randomUniform([1, 24, 24, 3], 0, 1, 'float32', 3), 255) as tf.Tensor4D);
    const pointwise = (t: tf.Tensor4D) => tf.mul(t, 0.5) as tf.Tensor4D;
    const net = TransformerNet.create(TINY, 6);
    const before = tf.memory().numTensors;
    const shifted = (f: (t: tf.Tensor4D) => tf.Tensor4D) =>
      tf.tidy(() => stabilityLoss(shiftCrop(f(x), 3, 1, 5), f(addSensorNoise(shiftCrop(x, 3, 1, 5), 0, 1))).dataSync()[0]!);
    expect(shifted(pointwise)).toBe(0);
    expect(shifted((t) => net.apply(t))).toBeGreaterThan(0);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.tidy(() => shiftCrop(x, 5, 0, 5).shape)).toEqual([1, 16, 16, 3]); // 5 rounded up to 8
    expect(() => shiftCrop(x, 6, 0, 5)).toThrow(/offsets in \[0, 5\]/);
    x.dispose();
    net.dispose();
  });

  it('shiftWarp: whole offsets are shiftCrop; a fractional one interpolates bilinearly, with a gradient to the input', () => {
    const x = tf.tidy(() => tf.mul(tf.randomUniform([1, 12, 12, 2], 0, 1, 'float32', 5), 255) as tf.Tensor4D);
    const before = tf.memory().numTensors;
    const same = tf.tidy(() => tf.max(tf.abs(tf.sub(shiftWarp(x, 2, 1, 3), shiftCrop(x, 2, 1, 3)))).dataSync()[0]!);
    expect(same).toBe(0);
    const warped = tf.tidy(() => shiftWarp(x, 1.25, 2.5, 3).arraySync());
    const px = x.arraySync()[0]!;
    // window pixel (4, 3) sits at (5.25, 5.5) of x: bilinear from x[5..6][5..6]
    const at = (y: number, xx: number, c: number): number => px[y]![xx]![c]!;
    for (const c of [0, 1]) {
      const want = 0.75 * (0.5 * at(5, 5, c) + 0.5 * at(5, 6, c)) + 0.25 * (0.5 * at(6, 5, c) + 0.5 * at(6, 6, c));
      expect(warped[0]![4]![3]![c]!).toBeCloseTo(want, 3);
    }
    expect(tf.tidy(() => shiftWarp(x, 0.5, 0.5, 3).shape)).toEqual([1, 8, 8, 2]);
    const g = tf.tidy(() => tf.sum(tf.grad((t) => tf.sum(shiftWarp(t as tf.Tensor4D, 0.5, 0.25, 3)))(x)).dataSync()[0]!);
    expect(g).toBeCloseTo(8 * 8 * 2, 3); // the four weights of every window pixel sum to 1
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('the trainer draws the shift per step and still gives a finite loss and gradient', async () => {
    const data = new TrainingData(files, { imageSize: 16, batchSize: 2, seed: 1, flip: false, maxScale: 1, maxPixels: 1e7, cacheBytes: 1e6 });
    const net = TransformerNet.create(TINY, 4);
    const zeroLoss: LossFunction = {
      compute: (y) => ({ total: tf.mul(tf.mean(y), 0) as tf.Scalar, weighted: { content: tf.scalar(0), style: tf.scalar(0), tv: tf.scalar(0) } }),
    };
    const config: TrainerConfig = {
      out: 'unused', iterations: 1, batchSize: 2, imageSize: 16, microBatch: 2, lr: 1e-2, lrDecay: 0, checkpointEvery: 1,
      keep: 1, sampleEvery: 0, logEvery: 1, prefetch: 1, backend: 'cpu', meta: { name: 'test' },
      stability: { weight: 1, sigma: 0, seed: 3, shift: 3 },
    };
    const trainer = new Trainer(net as TrainableNet, zeroLoss, data, testIO, config, () => {});
    const r = await trainer.gradients(await data.batch(0));
    expect(r.losses.stability).toBeGreaterThan(0); // σ = 0: all of it comes from the shift
    expect(Number.isFinite(r.losses.total)).toBe(true);
    tf.dispose(r.grads);
    expect(trainSchema.parse({}).stabilityShift).toBe(0);
    expect(trainSchema.parse({}).stabilitySubpixel).toBe(false);
    const sub = new Trainer(net as TrainableNet, zeroLoss, data, testIO, { ...config, stability: { ...config.stability!, subpixel: true } }, () => {});
    const rs = await sub.gradients(await data.batch(0));
    expect(rs.losses.stability).toBeGreaterThan(0);
    expect(rs.losses.stability).not.toBe(r.losses.stability); // another shift: drawn from [0, 3) and warped
    tf.dispose(rs.grads);
    // norm l1, the same draws: mean|d| where mse is mean d², so l1² ≤ mse (Jensen), strictly for unequal |d|
    const l1 = new Trainer(net as TrainableNet, zeroLoss, data, testIO, { ...config, stability: { ...config.stability!, sigma: 4, norm: 'l1' } }, () => {});
    const sq = new Trainer(net as TrainableNet, zeroLoss, data, testIO, { ...config, stability: { ...config.stability!, sigma: 4 } }, () => {});
    const [ra, rq] = [await l1.gradients(await data.batch(0)), await sq.gradients(await data.batch(0))];
    expect(ra.losses.stability).toBeGreaterThan(0);
    expect(ra.losses.stability! ** 2).toBeLessThan(rq.losses.stability!);
    expect(Object.values(ra.grads).every((g) => Number.isFinite(g.dataSync()[0]))).toBe(true);
    tf.dispose([ra.grads, rq.grads]);
    // margin 2: the shifted window's border rows and columns are not compared, so the value changes and stays finite
    const inner = new Trainer(net as TrainableNet, zeroLoss, data, testIO, { ...config, stability: { ...config.stability!, margin: 2 } }, () => {});
    const rm = await inner.gradients(await data.batch(0));
    expect(rm.losses.stability).toBeGreaterThan(0);
    expect(rm.losses.stability).not.toBe(r.losses.stability);
    tf.dispose(rm.grads);
    net.dispose();
  });
});
