// The engine's training step against the tfjs cpu path: loss values and every parameter gradient of the half
// network (16x16, batch 2) through a VGG19 with random weights up to relu2_2 (content relu2_2; style relu1_2,
// relu2_2; TV) vs tf.variableGrads of PerceptualLoss.compute; one Adam step vs train/adam.ts's formula; the
// per-step counters. (Small: lavapipe compiles every new pipeline on the CPU, seconds each on a loaded machine.)
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { HALF_NET, TransformerNet, johnsonWeightSpecs, type NetConfig } from '@hokusai/model';
import { PerceptualLoss, convSpecs, type VggWeights } from '@hokusai/losses';
import type { GpuContext } from '../src/gpu-context.ts';
import { EngineTrainStep } from '../src/train-step.ts';
import { vggConvsFromKeras } from '../src/vgg-graph.ts';
import type { NamedWeights } from '../src/param-layout.ts';
import { randomFloats, relError, testContext } from './gpu-device.ts';

type Johnson = Extract<NetConfig, { arch: 'johnson' }>;
const CONFIG = HALF_NET as Johnson;
const N = 2;
const S = 16;
const LOSS = {
  contentLayers: { relu2_2: 1 },
  styleLayers: { relu1_2: 1, relu2_2: 0.5 },
  contentWeight: 1,
  styleWeight: 2,
  tvWeight: 0.2,
};

let ctx: GpuContext | undefined;
beforeAll(async () => {
  await tf.setBackend('cpu');
  ctx = await testContext();
});
afterAll(() => ctx?.dispose());

/** VGG19 weights with He-scaled random values for blocks 1-2 (enough for relu2_2). */
function randomVgg(): VggWeights {
  const layers = new Map<string, { kernel: Float32Array; kernelShape: number[]; bias: Float32Array }>();
  convSpecs('vgg19')
    .filter((s) => s.block <= 2)
    .forEach((s, i) => {
      const fanIn = 9 * s.inChannels;
      layers.set(s.conv, {
        kernel: randomFloats(fanIn * s.outChannels, 1000 + i, Math.sqrt(6 / fanIn)),
        kernelShape: [3, 3, s.inChannels, s.outChannels],
        bias: randomFloats(s.outChannels, 2000 + i, 0.1),
      });
    });
  return { net: 'vgg19', layers };
}

function randomWeights(seed: number): NamedWeights {
  const out: NamedWeights = {};
  johnsonWeightSpecs(CONFIG.channels, CONFIG.residualBlocks).forEach((s, i) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const r = randomFloats(size, seed * 101 + i, s.fanIn > 0 ? 1 / Math.sqrt(s.fanIn) : 0.3);
    if (s.init === 'ones') for (let j = 0; j < size; j++) r[j] = 1 + (r[j] as number);
    out[s.name] = r;
  });
  return out;
}

interface Reference {
  grads: NamedWeights;
  total: number;
  content: number;
  style: Record<string, number>;
  tv: number;
  targets: Map<string, Float32Array>;
}

function tfjsReference(vgg: VggWeights, weights: NamedWeights, content: Float32Array, style: Float32Array): Reference {
  const before = tf.memory().numTensors;
  const specs = johnsonWeightSpecs(CONFIG.channels, CONFIG.residualBlocks);
  const loss = PerceptualLoss.fromWeights(vgg, LOSS);
  const styleImage = tf.tensor3d(style, [24, 24, 3]);
  loss.setStyle([{ image: styleImage, weight: 1 }]);
  styleImage.dispose();
  const targets = new Map([...loss.styleTargets!].map(([k, t]) => [k, t.dataSync() as Float32Array]));
  const tensors = Object.fromEntries(specs.map((s) => [s.name, tf.tensor(weights[s.name]!, s.shape)]));
  const net = TransformerNet.fromWeights(CONFIG, tensors);
  tf.dispose(Object.values(tensors));
  const x = tf.tensor4d(content, [N, S, S, 3]);
  let parts: Record<string, number> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = loss.compute(net.apply(x), x);
    parts = { content: r.content.relu2_2!.dataSync()[0]!, tv: r.tv.dataSync()[0]! };
    for (const [k, v] of Object.entries(r.style)) parts[`style ${k}`] = v.dataSync()[0]!;
    return r.total;
  }, net.variables);
  const named: NamedWeights = {};
  net.variables.forEach((v, i) => {
    named[specs[i]!.name] = grads[v.name]!.dataSync() as Float32Array;
  });
  const total = value.dataSync()[0]!;
  tf.dispose([value, x, ...Object.values(grads)]);
  net.dispose();
  loss.dispose();
  expect(tf.memory().numTensors).toBe(before);
  const styleParts = Object.fromEntries(Object.keys(LOSS.styleLayers).map((k) => [k, parts[`style ${k}`]!]));
  return { grads: named, total, content: parts.content!, style: styleParts, tv: parts.tv!, targets };
}

describe('EngineTrainStep', () => {
  const vgg = randomVgg();
  const weights = randomWeights(11);
  const content = randomFloats(N * S * S * 3, 21).map((v) => 127.5 + 127.5 * v);
  const style = randomFloats(24 * 24 * 3, 31).map((v) => 127.5 + 127.5 * v);

  /** The engine step on this file's network, VGG (to relu2_2), loss and batch, with the reference's style targets. */
  const stepFor = (c: GpuContext, styleTargets: ReturnType<typeof tfjsReference>['targets']): EngineTrainStep =>
    new EngineTrainStep(c, {
      config: CONFIG,
      weights,
      vgg: vggConvsFromKeras(vgg.layers, convSpecs('vgg19'), 'relu2_2'),
      loss: LOSS,
      styleTargets,
      n: N,
      size: S,
      adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    });

  it('loss values and every parameter gradient match tf.variableGrads of PerceptualLoss within 1e-3', { timeout: 600_000 }, async () => {
    if (!ctx) return;
    const ref = tfjsReference(vgg, weights, content, style);
    const step = stepFor(ctx, ref.targets);
    const { grads, losses } = await step.gradients(content);
    expect(Math.abs(losses.total - ref.total) / ref.total).toBeLessThan(1e-3);
    expect(Math.abs(losses.content.relu2_2! - ref.content) / ref.content).toBeLessThan(1e-3);
    expect(Math.abs(losses.tv - ref.tv) / ref.tv).toBeLessThan(1e-3);
    for (const [k, v] of Object.entries(ref.style)) expect(Math.abs(losses.style[k]! - v) / v, k).toBeLessThan(1e-3);
    const worst: [string, number][] = [];
    for (const s of johnsonWeightSpecs(CONFIG.channels, CONFIG.residualBlocks)) {
      // Analytically zero: a bias right before an instance norm, and a residual block's last norm shift (a per-channel
      // constant carried by the skips into deconv1, whose norm removes it). Both sides must be rounding noise.
      const isZero = (s.name.endsWith('conv2d.bias') && !s.name.startsWith('deconv3')) || /^res\d+\.in2\.bias$/.test(s.name);
      if (isZero) {
        const wScale = Math.max(...Array.from(ref.grads[s.name.replace('.bias', '.weight')]!, Math.abs));
        expect(Math.max(...Array.from(grads[s.name]!, Math.abs)) / wScale, s.name).toBeLessThan(1e-3);
        continue;
      }
      const err = relError(grads[s.name]!, ref.grads[s.name]!);
      worst.push([s.name, err]);
      expect(err, s.name).toBeLessThan(1e-3);
    }
    worst.sort((a, b) => b[1] - a[1]);
    console.log(`gradient rel. errors, worst 3: ${worst.slice(0, 3).map(([k, e]) => `${k} ${e.toExponential(2)}`).join(', ')}`);
  });

  it('a step after the first creates no buffer, records ≤ 300 dispatches in one submit, and applies Adam', { timeout: 600_000 }, async () => {
    if (!ctx) return;
    const ref = tfjsReference(vgg, weights, content, style);
    const step = stepFor(ctx, ref.targets);
    const lr = 1e-3;
    step.step(content, lr);
    await step.readLosses();
    const snap = ctx.snapshot();
    step.step(content, lr);
    const d = ctx.since(snap);
    expect(d.buffersCreated).toBe(0);
    expect(d.bindGroupsCreated).toBe(0);
    expect(d.submits).toBe(1);
    expect(d.dispatches).toBeLessThanOrEqual(300);
    console.log(`training step half net ${S}x${S} batch ${N}: ${d.dispatches} dispatches, ${d.submits} submit, ${d.buffersCreated} buffers`);
    // After the first step from zero moments, Adam moves every parameter by lr·g/(|g|+ε·…) ≈ ±lr where g ≠ 0.
    const fresh = new EngineTrainStep(ctx, { ...step.spec });
    fresh.step(content, lr);
    const after = await fresh.readWeights();
    const g = ref.grads['conv1.conv2d.weight']!;
    const w0 = weights['conv1.conv2d.weight']!;
    const w1 = after['conv1.conv2d.weight']!;
    let maxErr = 0;
    const gMax = Math.max(...Array.from(g, Math.abs));
    for (let i = 0; i < g.length; i++) {
      const gi = g[i]!;
      if (Math.abs(gi) < 1e-2 * gMax) continue; // near 0 the sign is rounding noise
      // PyTorch Adam at t=1: p − lr·ĝ/(|ĝ|+ε) with m̂ = g, √v̂ = |g|.
      const expected = w0[i]! - (lr * gi) / (Math.abs(gi) + 1e-8);
      maxErr = Math.max(maxErr, Math.abs(w1[i]! - expected));
    }
    expect(maxErr).toBeLessThan(lr * 1e-2);
  });
});
