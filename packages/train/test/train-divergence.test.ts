// Divergence guard: a NaN loss injected at step k (by a loss wrapped around the stand-in: the product has no hook)
// rolls back to the last good snapshot, halves the learning rate, says so, and training finishes; a loss that
// stays bad stops the run with DIVERGED.
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TransformerNet } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import { Trainer, type LossFunction, type TrainerConfig } from '../src/trainer.ts';
import { DivergenceGuard } from '../src/divergence.ts';
import { TrainingData } from '../src/dataset.ts';
import { useCpu, tempDir, generatedImageFiles, standInLoss, testIO } from './train-helpers.ts';

let files: string[] = [];
beforeAll(async () => {
  await useCpu();
  files = await generatedImageFiles('div-data', 4);
});

/** Poisons `inner`'s total with NaN at the given steps of the trainer (`once`: only on the first attempt of each). */
function poisonedLoss(inner: LossFunction, step: () => number, poison: { steps: number[]; once: boolean }): LossFunction {
  const tried = new Set<number>();
  return {
    compute(y, content) {
      const r = inner.compute(y, content);
      const k = step();
      if (!poison.steps.includes(k) || (poison.once && tried.has(k))) return r;
      tried.add(k);
      return { ...r, total: tf.mul(r.total, NaN) as tf.Scalar };
    },
  };
}

function setup(out: string, poison: { steps: number[]; once: boolean }, over: Partial<TrainerConfig> = {}): { trainer: Trainer; logs: string[]; dispose(): void } {
  const net = TransformerNet.create({ arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1 }, 1);
  const loss = standInLoss();
  let trainer: Trainer | null = null;
  const wrapped = poisonedLoss(loss, () => trainer?.step ?? 0, poison);
  const data = new TrainingData(files, { imageSize: 16, batchSize: 2, seed: 1, flip: false, maxScale: 1, maxPixels: 1e7, cacheBytes: 1e6 });
  const logs: string[] = [];
  trainer = new Trainer(
    net,
    wrapped,
    data,
    testIO,
    { out, iterations: 8, batchSize: 2, imageSize: 16, microBatch: 2, lr: 1e-2, lrDecay: 0, checkpointEvery: 4, keep: 2, sampleEvery: 0, logEvery: 1, prefetch: 2, backend: 'cpu', meta: {}, snapshotEvery: 2, ...over },
    (l) => logs.push(l),
  );
  const t = trainer;
  return {
    trainer: t,
    logs,
    dispose() {
      t.dispose();
      net.dispose();
      loss.dispose();
    },
  };
}

describe('divergence guard', () => {
  it('rolls back on a NaN loss, lowers the learning rate and finishes', async () => {
    const before = tf.memory().numTensors;
    const out = await tempDir('div-once');
    const t = setup(out, { steps: [5], once: true });
    const r = await t.trainer.run({});
    expect(r.step).toBe(8);
    expect(r.rollbacks).toBe(1);
    expect(t.trainer.lrScale).toBe(0.5);
    expect(t.logs.some((l) => /divergence at step 5: loss is NaN.*rolled back to step 4.*×0\.5/.test(l))).toBe(true);
    const records = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { step: number; lr: number; event?: string });
    expect(records.some((x) => x.event?.includes('rolled back'))).toBe(true);
    const last = records.filter((x) => !x.event).pop()!;
    expect(last.step).toBe(8);
    expect(last.lr).toBeCloseTo(5e-3, 10);
    t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops with DIVERGED when the loss stays bad', async () => {
    const t = setup(await tempDir('div-always'), { steps: [3], once: false }, { divergence: { maxRetries: 2 } });
    const err = await t.trainer.run({}).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HokusaiError);
    expect((err as HokusaiError).code).toBe('DIVERGED');
    expect((err as Error).message).toMatch(/^DIVERGED: training failed 3 times/);
    t.dispose();
  });

  it('flags exploding losses against the recent median', () => {
    const g = new DivergenceGuard({ warmup: 3, explodeFactor: 10 });
    for (let i = 0; i < 5; i++) expect(g.check(i, 1 + i * 0.1).ok).toBe(true);
    expect(g.check(5, 50).ok).toBe(false);
    expect(g.check(5, 5).ok).toBe(true);
    expect(g.check(6, Infinity).ok).toBe(false);
  });
});
