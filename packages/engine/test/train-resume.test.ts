// Resuming an engine training run: N steps, then the weights and Adam's state (m, v, step count) read back and
// restored into a NEW EngineTrainStep, then M more steps, must land where N+M steps in one go land (same kernels,
// same batches: equal to float rounding). A restart that drops Adam's state must not (so the check can fail).
// Tiny Johnson net, 16x16, batch 2, VGG19 with random weights to relu1_2.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { convSpecs } from '@hokusai/losses';
import { johnsonWeightSpecs, type NetConfig } from '@hokusai/model';
import type { GpuContext } from '../src/gpu-context.ts';
import type { NamedWeights } from '../src/param-layout.ts';
import { EngineTrainStep, type TrainStepSpec } from '../src/train-step.ts';
import { vggConvsFromKeras } from '../src/vgg-graph.ts';
import { randomFloats, relError, testContext } from './gpu-device.ts';

const CONFIG: NetConfig = { arch: 'johnson', channels: [8, 16, 16], residualBlocks: 1 };
const N = 2;
const S = 16;
const FIRST = 3;
const THEN = 3;
const LR = 1e-3;

let ctx: GpuContext | undefined;
beforeAll(async () => {
  ctx = await testContext();
});
afterAll(() => ctx?.dispose());

function spec(): TrainStepSpec {
  const layers = new Map<string, { kernel: Float32Array; kernelShape: number[]; bias: Float32Array }>();
  convSpecs('vgg19')
    .filter((s) => s.block === 1)
    .forEach((s, i) => {
      const fanIn = 9 * s.inChannels;
      layers.set(s.conv, { kernel: randomFloats(fanIn * s.outChannels, 70 + i, Math.sqrt(6 / fanIn)), kernelShape: [3, 3, s.inChannels, s.outChannels], bias: randomFloats(s.outChannels, 80 + i, 0.1) });
    });
  const weights: NamedWeights = {};
  for (const [i, w] of johnsonWeightSpecs([8, 16, 16], 1).entries()) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    const r = randomFloats(size, 90 + i, w.fanIn > 0 ? 1 / Math.sqrt(w.fanIn) : 0.1);
    weights[w.name] = w.init === 'ones' ? r.map((v) => 1 + v) : r;
  }
  return {
    config: CONFIG,
    weights,
    vgg: vggConvsFromKeras(layers, convSpecs('vgg19'), 'relu1_2'),
    loss: { contentLayers: { relu1_2: 1 }, styleLayers: { relu1_1: 1, relu1_2: 1 }, contentWeight: 1, styleWeight: 2, tvWeight: 0.2 },
    styleTargets: new Map([
      ['relu1_1', randomFloats(64 * 64, 5, 100).map(Math.abs)],
      ['relu1_2', randomFloats(64 * 64, 6, 100).map(Math.abs)],
    ]),
    n: N,
    size: S,
    adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  };
}

const batch = (s: number): Float32Array => randomFloats(N * S * S * 3, 500 + s).map((v) => 127.5 + 127.5 * v);

function worst(a: NamedWeights, b: NamedWeights): number {
  return Math.max(...Object.keys(a).map((k) => relError(a[k]!, b[k]!)));
}

it('N steps, restore weights + Adam state into a new step, M steps = N+M steps in one go', { timeout: 600_000 }, async () => {
  if (!ctx) return;
  const sp = spec();
  const straight = new EngineTrainStep(ctx, sp);
  for (let s = 0; s < FIRST + THEN; s++) straight.step(batch(s), LR);
  const want = await straight.readWeights();
  const wantLoss = (await straight.readLosses()).total;

  const first = new EngineTrainStep(ctx, sp);
  for (let s = 0; s < FIRST; s++) first.step(batch(s), LR);
  const weights = await first.readWeights();
  const moments = await first.readMoments();
  expect(moments.t).toBe(FIRST);

  const resumed = new EngineTrainStep(ctx, { ...sp, weights });
  resumed.setMoments(moments);
  for (let s = FIRST; s < FIRST + THEN; s++) resumed.step(batch(s), LR);
  expect(resumed.t).toBe(FIRST + THEN);
  const got = await resumed.readWeights();
  const gotLoss = (await resumed.readLosses()).total;
  const err = worst(got, want);
  console.log(`resume ${FIRST}+${THEN} vs ${FIRST + THEN} steps: worst weight rel. error ${err.toExponential(2)}, loss ${gotLoss} vs ${wantLoss}`);
  expect(err).toBeLessThan(1e-6);
  expect(Math.abs(gotLoss - wantLoss) / wantLoss).toBeLessThan(1e-6);

  // Without Adam's state (fresh moments, t = 0) the same restart lands measurably elsewhere.
  const cold = new EngineTrainStep(ctx, { ...sp, weights });
  for (let s = FIRST; s < FIRST + THEN; s++) cold.step(batch(s), LR);
  expect(worst(await cold.readWeights(), want)).toBeGreaterThan(1e-4);
});

it('setMoments refuses a state of the wrong size or step count', async () => {
  if (!ctx) return;
  const step = new EngineTrainStep(ctx, spec());
  const n = step.layout.totalFloats;
  expect(() => step.setMoments({ t: 1, m: new Float32Array(n - 1), v: new Float32Array(n) })).toThrow(/expected \d+ floats/);
  expect(() => step.setMoments({ t: -1, m: new Float32Array(n), v: new Float32Array(n) })).toThrow(/step count/);
});
