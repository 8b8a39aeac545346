// Exact resume: a run stopped at step k and resumed from its checkpoint ends with bit-identical weights to a
// run never stopped (weights, Adam moments, step, data order all restored); micro-batching matches whole batches.
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TransformerNet, type NetConfig } from '@hokusai/model';
import { Trainer, type TrainerConfig } from '../src/trainer.ts';
import { TrainingData } from '../src/dataset.ts';
import { listCheckpoints } from '../src/run-dir.ts';
import { useCpu, tempDir, generatedImageFiles, standInLoss, testIO, weightsOf } from './train-helpers.ts';

const TINY: NetConfig = { arch: 'johnson', channels: [4, 8, 8], residualBlocks: 1 };

function config(out: string, over: Partial<TrainerConfig> = {}): TrainerConfig {
  return {
    out,
    iterations: 6,
    batchSize: 2,
    imageSize: 16,
    microBatch: 2,
    lr: 1e-2,
    lrDecay: 0,
    checkpointEvery: 3,
    keep: 5,
    sampleEvery: 0,
    logEvery: 1,
    prefetch: 2,
    backend: 'cpu',
    meta: { name: 'test' },
    ...over,
  };
}

let files: string[] = [];

beforeAll(async () => {
  await useCpu();
  files = await generatedImageFiles('resume-data', 7);
});

function data(): TrainingData {
  return new TrainingData(files, { imageSize: 16, batchSize: 2, seed: 3, flip: true, maxScale: 1.3, maxPixels: 1e7, cacheBytes: 1e6 });
}

async function train(out: string, over: Partial<TrainerConfig>, resumeFrom?: string): Promise<{ weights: Float32Array[]; trainer: Trainer; net: { dispose(): void } }> {
  const model = TransformerNet.create(TINY, 5);
  const loss = standInLoss();
  const trainer = new Trainer(model, loss, data(), testIO, config(out, over), () => {});
  if (resumeFrom) await trainer.restore(resumeFrom);
  const t0 = performance.now();
  await trainer.run({});
  if (process.env.HOKUSAI_TEST_TIMING) console.log(`run ${out}: ${(performance.now() - t0).toFixed(0)} ms`);
  const weights = await weightsOf(model.variables);
  const net = {
    dispose() {
      model.dispose();
      loss.dispose();
    },
  };
  return { weights, trainer, net };
}

describe('trainer resume', () => {
  it('a run resumed at step 3 ends bit-identical to one never stopped', async () => {
    const before = tf.memory().numTensors;
    const outA = await tempDir('resume-a');
    const a = await train(outA, {});
    expect(a.trainer.step).toBe(6);
    const outB = await tempDir('resume-b');
    const b1 = await train(outB, { iterations: 3 });
    expect(b1.trainer.step).toBe(3);
    // the stopped run differs from the full one (the test can fail)
    expect(b1.weights.some((w, i) => w.some((x, k) => x !== a.weights[i]![k]))).toBe(true);
    const ckpts = await listCheckpoints(outB);
    expect(ckpts.map((c) => c.step)).toEqual([3]);
    const b2 = await train(outB, {}, ckpts[0]!.dir);
    expect(b2.trainer.step).toBe(6);
    for (let i = 0; i < a.weights.length; i++) expect(Array.from(b2.weights[i]!)).toEqual(Array.from(a.weights[i]!));
    // metrics.jsonl of the resumed run continues the same file: steps 1..6 once each
    const steps = (await readFile(join(outB, 'metrics.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { step: number; event?: string })
      .filter((r) => !r.event)
      .map((r) => r.step);
    expect(steps).toEqual([1, 2, 3, 4, 5, 6]);
    for (const r of [a, b1, b2]) {
      r.trainer.dispose();
      r.net.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('micro-batches of 1 give the whole-batch gradient (within float tolerance)', async () => {
    const net = TransformerNet.create(TINY, 5);
    const loss = standInLoss();
    const d = data();
    const batch = await d.batch(0);
    const whole = new Trainer(net, loss, d, testIO, config('unused', { microBatch: 2 }), () => {});
    const micro = new Trainer(net, loss, d, testIO, config('unused', { microBatch: 1 }), () => {});
    const a = await whole.gradients(batch);
    const b = await micro.gradients(batch);
    expect(b.losses.total).toBeCloseTo(a.losses.total, 4);
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < a.grads.length; i++) {
      const ga = a.grads[i]!.dataSync();
      const gb = b.grads[i]!.dataSync();
      ga.forEach((x, k) => {
        maxDiff = Math.max(maxDiff, Math.abs(x - gb[k]!));
        maxAbs = Math.max(maxAbs, Math.abs(x));
      });
    }
    expect(maxAbs).toBeGreaterThan(0);
    expect(maxDiff).toBeLessThan(1e-4 * maxAbs);
    for (const t of [...a.grads, ...b.grads]) t.dispose();
    whole.dispose();
    micro.dispose();
    net.dispose();
    loss.dispose();
  });

  // A signal handler runs on the event loop (a macrotask) while a step's awaits are microtasks: the trainer must
  // yield after each step, or SIGINT is seen only when the prefetch queue runs dry, steps later.
  it.each([
    ['during the step', 2, (abort: () => void) => abort()],
    ['from a signal handler (a macrotask)', 1, (abort: () => void) => void setTimeout(abort, 0)],
  ])('an abort %s finishes that step and writes a checkpoint there', async (_how, at, deliver) => {
    const out = await tempDir(`abort-${at}`);
    const model = TransformerNet.create(TINY, 5);
    const loss = standInLoss();
    const trainer = new Trainer(model, loss, data(), testIO, config(out, { checkpointEvery: 100 }), () => {});
    const controller = new AbortController();
    const r = await trainer.run({ signal: controller.signal, onProgress: (step) => void (step === at && deliver(() => controller.abort())) });
    expect(r.interrupted).toBe(true);
    expect(r.step).toBe(at);
    expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([at]);
    trainer.dispose();
    model.dispose();
    loss.dispose();
  });

  it('keeps only the newest K checkpoints', async () => {
    const out = await tempDir('keep');
    const r = await train(out, { iterations: 6, checkpointEvery: 1, keep: 2 });
    expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([5, 6]);
    r.trainer.dispose();
    r.net.dispose();
  });
});
