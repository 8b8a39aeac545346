// A short training run on the engine reaches the tfjs path's loss: 20 Adam steps from the same weights on the same
// batches (a tiny Johnson net, 16x16, batch 2, VGG19 with random weights to relu1_2) with train/adam.ts on the tfjs
// cpu backend as the reference; final losses within 2%.
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
const STEPS = 20;
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

it('20 engine steps reach the tfjs path loss within 2%', { timeout: 600_000 }, async () => {
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
  const batches = Array.from({ length: STEPS }, (_, s) => randomFloats(N * S * S * 3, 100 + s).map((v) => 127.5 + 127.5 * v));
  const engine = new EngineTrainStep(ctx, {
    config: CONFIG, weights: init, vgg: vggConvsFromKeras(weights.layers, convSpecs('vgg19'), 'relu1_2'), loss: LOSS,
    styleTargets: targets, n: N, size: S, adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
  });
  const adam = new Adam(net.variables);
  const tfjsLosses: number[] = [];
  const engineLosses: number[] = [];
  for (let s = 0; s < STEPS; s++) {
    const x = tf.tensor4d(batches[s]!, [N, S, S, 3]);
    const { value, grads } = tf.variableGrads(() => loss.compute(net.apply(x), x).total, net.variables);
    tfjsLosses.push(value.dataSync()[0]!);
    adam.apply(net.variables.map((v) => grads[v.name]!), LR);
    tf.dispose([x, value, ...Object.values(grads)]);
    engine.step(batches[s]!, LR);
    engineLosses.push((await engine.readLosses()).total);
  }
  const last = (a: number[]): number => a.slice(-3).reduce((x, y) => x + y, 0) / 3;
  console.log(`loss tfjs ${tfjsLosses[0]!.toPrecision(5)} → ${last(tfjsLosses).toPrecision(5)}, engine ${engineLosses[0]!.toPrecision(5)} → ${last(engineLosses).toPrecision(5)}`);
  expect(Math.abs(engineLosses[0]! - tfjsLosses[0]!) / tfjsLosses[0]!).toBeLessThan(1e-3);
  expect(last(tfjsLosses)).toBeLessThan(0.9 * tfjsLosses[0]!); // the run trains at all
  expect(Math.abs(last(engineLosses) - last(tfjsLosses)) / last(tfjsLosses)).toBeLessThan(0.02);
  adam.dispose();
  net.dispose();
  loss.dispose();
});
