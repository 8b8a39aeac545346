// A 200-step training run on the engine reaches the tfjs path's loss (issue #18.4): Adam from the same weights on
// the same batches (a tiny Johnson net, 16x16, batch 2, VGG19 with random weights to relu1_2) with train/adam.ts on
// the tfjs cpu backend as the reference; the mean loss of the last 25 steps within 2%.
// The data are smooth images (bilinear 4x4 noise), 8 batches cycled, as training data repeat and are smooth at this
// scale. On fresh white noise every step the run is chaotic: perturbing only the tfjs run's initial weights by 1e-6
// (relative) moved its per-step loss by up to ±15% by step 150 (measured 2026-12-05), so no second implementation
// can land within 2% there. On these data the runs contract instead (the engine's per-step gap fell from ±1.5% at
// step 100 to ±0.3% at step 190; 0.05% over the last 25 steps). That the engine computes each step exactly is
// checked along its own trajectory: at the last step, tfjs given the engine's weights gets the same loss.
import { afterAll, beforeAll, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { TransformerNet, johnsonWeightSpecs, type NetConfig } from '@hokusai/model';
import { PerceptualLoss, convSpecs, type VggWeights } from '@hokusai/losses';
import { Adam } from '../../train/src/adam.ts';
import type { GpuContext } from '../src/gpu-context.ts';
import { EngineTrainStep } from '../src/train-step.ts';
import { vggConvsFromKeras } from '../src/vgg-graph.ts';
import { randomFloats, testContext } from './gpu-device.ts';

const CONFIG: NetConfig = { arch: 'johnson', channels: [8, 16, 16], residualBlocks: 1 };
const N = 2;
const S = 16;
const STEPS = 200;
const CYCLE = 8;
const LR = 1e-3;
const LOSS = { contentLayers: { relu1_2: 1 }, styleLayers: { relu1_1: 1, relu1_2: 1 }, contentWeight: 1, styleWeight: 2, tvWeight: 0.2 };

let ctx: GpuContext | undefined;
beforeAll(async () => {
  await tf.setBackend('cpu');
  ctx = await testContext();
});
afterAll(() => ctx?.dispose());

function vgg(): VggWeights {
  const layers = new Map<string, { kernel: Float32Array; kernelShape: number[]; bias: Float32Array }>();
  convSpecs('vgg19')
    .filter((s) => s.block === 1)
    .forEach((s, i) => {
      const fanIn = 9 * s.inChannels;
      layers.set(s.conv, { kernel: randomFloats(fanIn * s.outChannels, 50 + i, Math.sqrt(6 / fanIn)), kernelShape: [3, 3, s.inChannels, s.outChannels], bias: randomFloats(s.outChannels, 60 + i, 0.1) });
    });
  return { net: 'vgg19', layers };
}

/** A smooth batch [N, S, S, 3] in 0–255: 4x4 random colours per image, bilinearly interpolated. */
function smoothBatch(seed: number): Float32Array {
  const g = randomFloats(N * 4 * 4 * 3, seed);
  const out = new Float32Array(N * S * S * 3);
  const t = (i: number): [number, number] => {
    const f = (i / (S - 1)) * 3;
    const i0 = Math.min(2, Math.floor(f));
    return [i0, f - i0];
  };
  for (let b = 0; b < N; b++) {
    for (let y = 0; y < S; y++) {
      const [y0, ty] = t(y);
      for (let x = 0; x < S; x++) {
        const [x0, tx] = t(x);
        for (let c = 0; c < 3; c++) {
          const at = (yy: number, xx: number): number => g[((b * 4 + yy) * 4 + xx) * 3 + c]!;
          const top = (1 - tx) * at(y0, x0) + tx * at(y0, x0 + 1);
          const bottom = (1 - tx) * at(y0 + 1, x0) + tx * at(y0 + 1, x0 + 1);
          out[((b * S + y) * S + x) * 3 + c] = 127.5 + 100 * ((1 - ty) * top + ty * bottom);
        }
      }
    }
  }
  return out;
}

it('200 engine steps reach the tfjs path loss within 2%', { timeout: 900_000 }, async () => {
  if (!ctx) return;
  const weights = vgg();
  const loss = PerceptualLoss.fromWeights(weights, LOSS);
  const style = tf.tensor3d(randomFloats(20 * 20 * 3, 7).map((v) => 128 + 120 * v), [20, 20, 3]);
  loss.setStyle([{ image: style, weight: 1 }]);
  style.dispose();
  const targets = new Map([...loss.styleTargets!].map(([k, t]) => [k, t.dataSync() as Float32Array]));
  const net = TransformerNet.create(CONFIG, 5);
  const specs = johnsonWeightSpecs([8, 16, 16], 1);
  const init = Object.fromEntries(net.variables.map((v, i) => [specs[i]!.name, v.dataSync() as Float32Array]));
  const batches = Array.from({ length: CYCLE }, (_, s) => smoothBatch(100 + s));
  const engine = new EngineTrainStep(ctx, {
    config: CONFIG, weights: init, vgg: vggConvsFromKeras(weights.layers, convSpecs('vgg19'), 'relu1_2'), loss: LOSS,
    styleTargets: targets, n: N, size: S, adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  });
  const adam = new Adam(net.variables);
  // tfjs's loss for the engine's weights on a batch, in a network of its own.
  const tfjsLossAt = async (w: Record<string, Float32Array>, batch: Float32Array): Promise<number> => {
    const probe = TransformerNet.create(CONFIG, 5);
    tf.tidy(() => probe.variables.forEach((v, i) => v.assign(tf.tensor(w[specs[i]!.name]!, v.shape))));
    const value = tf.tidy(() => {
      const x = tf.tensor4d(batch, [N, S, S, 3]);
      return loss.compute(probe.apply(x), x).total;
    });
    const out = (await value.data())[0]!;
    value.dispose();
    probe.dispose();
    return out;
  };
  let engineAtLast = Number.NaN;
  const tensorsBefore = tf.memory().numTensors;
  const tfjsLosses: number[] = [];
  const engineLosses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const batch = batches[s % CYCLE]!;
    const x = tf.tensor4d(batch, [N, S, S, 3]);
    const { value, grads } = tf.variableGrads(() => loss.compute(net.apply(x), x).total, net.variables);
    tfjsLosses.push(value.dataSync()[0]!);
    adam.apply(net.variables.map((v) => grads[v.name]!), LR);
    tf.dispose([x, value, ...Object.values(grads)]);
    if (s === STEPS - 1) engineAtLast = await tfjsLossAt(await engine.readWeights(), batch);
    engine.step(batch, LR);
    engineLosses.push((await engine.readLosses()).total);
  }
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  const last = (a: number[]): number => a.slice(-25).reduce((x, y) => x + y, 0) / 25;
  console.log(`loss tfjs ${tfjsLosses[0]!.toPrecision(5)} → ${last(tfjsLosses).toPrecision(5)}, engine ${engineLosses[0]!.toPrecision(5)} → ${last(engineLosses).toPrecision(5)}`);
  expect(Math.abs(engineLosses[0]! - tfjsLosses[0]!) / tfjsLosses[0]!).toBeLessThan(1e-4);
  expect(Math.abs(engineLosses.at(-1)! - engineAtLast) / engineAtLast).toBeLessThan(1e-4); // the engine's last step is exact
  expect(last(tfjsLosses)).toBeLessThan(0.5 * tfjsLosses[0]!); // the run trains at all
  expect(Math.abs(last(engineLosses) - last(tfjsLosses)) / last(tfjsLosses)).toBeLessThan(0.02);
  adam.dispose();
  net.dispose();
  loss.dispose();
});
