// Loss jitter (`hokusai train --jitter N`): the loss sees the network's output and the photo cropped at the same
// random offset in [0, N] per axis, a pure function of (seed, step): a resumed run draws the same, and every
// micro-batch of a step is cropped alike (so micro-batching still gives the whole-batch gradient).
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { Trainer, type LossFunction, type TrainableNet, type TrainerConfig } from '../src/trainer.ts';
import { TrainingData } from '../src/dataset.ts';
import { useCpu, generatedImageFiles, testIO } from './train-helpers.ts';

const S = 16;

let files: string[] = [];

beforeAll(async () => {
  await useCpu();
  files = await generatedImageFiles('jitter-data', 4);
});

function config(jitter: TrainerConfig['jitter']): TrainerConfig {
  return {
    out: 'unused',
    iterations: 1,
    batchSize: 2,
    imageSize: S,
    microBatch: 1,
    lr: 1e-2,
    lrDecay: 0,
    checkpointEvery: 1,
    keep: 1,
    sampleEvery: 0,
    logEvery: 1,
    prefetch: 1,
    backend: 'cpu',
    meta: { name: 'test' },
    ...(jitter ? { jitter } : {}),
  };
}

/** A network that returns its input times a trainable 1, so the output the loss sees is the photo itself. */
function identityNet(): TrainableNet & { dispose(): void } {
  const v = tf.variable(tf.scalar(1), true, 'identity_gain');
  return { variables: [v], apply: (x) => tf.mul(x, v), dispose: () => v.dispose() };
}

/** A loss that records what it is given (output and photo, as arrays) and returns a differentiable total. */
function recordingLoss(): LossFunction & { calls: { y: number[][][][]; c: number[][][][] }[] } {
  const calls: { y: number[][][][]; c: number[][][][] }[] = [];
  return {
    calls,
    compute(y, content) {
      calls.push({ y: y.arraySync(), c: content.arraySync() });
      const total = tf.mean(y) as tf.Scalar;
      return { total, weighted: { content: tf.scalar(0), style: tf.scalar(0), tv: tf.scalar(0) } };
    },
  };
}

/** The offset [dy, dx] at which `crop` ([h,w,3]) sits in `image` ([S,S,3]); throws when it is no crop of it. */
function offsetOf(crop: number[][][], image: number[][][]): [number, number] {
  const h = crop.length;
  const w = crop[0]!.length;
  for (let dy = 0; dy + h <= S; dy++) {
    for (let dx = 0; dx + w <= S; dx++) {
      if (crop.every((row, y) => row.every((px, x) => px.every((v, k) => v === image[y + dy]![x + dx]![k])))) return [dy, dx];
    }
  }
  throw new Error('not a crop of the image');
}

describe('trainer loss jitter', () => {
  it('crops output and photo at the same offset in [0, max], varying with the step, the same again at the same step', async () => {
    const data = new TrainingData(files, { imageSize: S, batchSize: 2, seed: 1, flip: false, maxScale: 1, maxPixels: 1e7, cacheBytes: 1e6 });
    const net = identityNet();
    const loss = recordingLoss();
    const trainer = new Trainer(net, loss, data, testIO, config({ max: 5, seed: 7 }), () => {});
    const before = tf.memory().numTensors;
    const offsets: string[] = [];
    for (let step = 0; step < 8; step++) {
      trainer.step = step;
      const batch = await data.batch(step);
      const images = tf.tidy(() => tf.tensor4d(Float32Array.from(batch.data), [batch.n, S, S, 3]).arraySync());
      for (let pass = 0; pass < 2; pass++) {
        loss.calls.length = 0;
        const { grads } = await trainer.gradients(batch);
        for (const g of grads) g.dispose();
        expect(loss.calls).toHaveLength(2); // one per micro-batch of 1
        const seen = loss.calls.map((call, i) => {
          expect([call.y.length, call.y[0]!.length, call.y[0]![0]!.length]).toEqual([1, S - 5, S - 5]);
          const at = offsetOf(call.c[0]!, images[i]!);
          expect(offsetOf(call.y[0]!, images[i]!)).toEqual(at); // the output is cropped where the photo is
          expect(Math.max(...at)).toBeLessThanOrEqual(5);
          return at.join(',');
        });
        expect(seen[1]).toBe(seen[0]); // both micro-batches of the step at the same offset
        if (pass === 0) offsets.push(...seen);
        else expect(seen).toEqual(offsets.slice(-2)); // same step, same draw (a resumed run sees the same crops)
      }
    }
    expect(new Set(offsets).size).toBeGreaterThan(3);
    expect(tf.memory().numTensors).toBe(before);
    trainer.dispose();
    net.dispose();
  });

  it('without jitter the loss sees the whole output and photo', async () => {
    const data = new TrainingData(files, { imageSize: S, batchSize: 2, seed: 1, flip: false, maxScale: 1, maxPixels: 1e7, cacheBytes: 1e6 });
    const net = identityNet();
    const loss = recordingLoss();
    const trainer = new Trainer(net, loss, data, testIO, config({ max: 0, seed: 7 }), () => {});
    const batch = await data.batch(0);
    const { grads } = await trainer.gradients(batch);
    for (const g of grads) g.dispose();
    expect(loss.calls.map((c) => [c.y[0]!.length, c.c[0]!.length])).toEqual([
      [S, S],
      [S, S],
    ]);
    trainer.dispose();
    net.dispose();
  });
});
