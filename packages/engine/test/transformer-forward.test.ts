// The engine's inference graph against TransformerNet.apply on the tfjs cpu backend: full and half nets with
// random weights (random norm affines too), odd sizes that need padding (one and several reflection steps), batch 1
// and 2, input noise; the counters of a second run; what it refuses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { FULL_NET, HALF_NET, TransformerNet, johnsonWeightSpecs, padSpatialTo, type NetConfig } from '@hokusai/model';
import type { GpuContext } from '../src/gpu-context.ts';
import { TransformerForward, readNetWeights } from '../src/transformer-forward.ts';
import { reflectIndexMap } from '../src/kernels/pad-crop.ts';
import type { NamedWeights } from '../src/param-layout.ts';
import { randomFloats, relError, testContext } from './gpu-device.ts';

let ctx: GpuContext | undefined;
beforeAll(async () => {
  await tf.setBackend('cpu');
  ctx = await testContext();
});
afterAll(() => ctx?.dispose());

/** Random weights at PyTorch's init scale, with norm gammas around 1 and betas around 0 (not the identity). */
function randomWeights(config: Extract<NetConfig, { arch: 'johnson' }>, seed: number): NamedWeights {
  const out: NamedWeights = {};
  johnsonWeightSpecs(config.channels, config.residualBlocks).forEach((s, i) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    const r = randomFloats(size, seed * 101 + i, s.fanIn > 0 ? 1 / Math.sqrt(s.fanIn) : 0.3);
    if (s.init === 'ones') for (let j = 0; j < size; j++) r[j] = 1 + (r[j] as number);
    out[s.name] = r;
  });
  return out;
}

function tfjsReference(config: NetConfig, weights: NamedWeights, input: Float32Array, shape: [number, number, number, number]): Float32Array {
  const before = tf.memory().numTensors;
  const specs = johnsonWeightSpecs((config as { channels: [number, number, number] }).channels, (config as { residualBlocks: number }).residualBlocks);
  const tensors = Object.fromEntries(specs.map((s) => [s.name, tf.tensor(weights[s.name]!, s.shape)]));
  const net = TransformerNet.fromWeights(config, tensors);
  for (const t of Object.values(tensors)) t.dispose();
  const x = tf.tensor4d(input, shape);
  const y = net.apply(x);
  const out = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  net.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

const CASES: [string, Extract<NetConfig, { arch: 'johnson' }>, number, number, number][] = [
  ['half net 16x16 batch 1', HALF_NET as Extract<NetConfig, { arch: 'johnson' }>, 1, 16, 16],
  ['half net 13x19 batch 2 (padded to 16x20)', HALF_NET as Extract<NetConfig, { arch: 'johnson' }>, 2, 13, 19],
  ['half net 3x6 batch 1 (two reflection steps)', HALF_NET as Extract<NetConfig, { arch: 'johnson' }>, 1, 3, 6],
  ['full net 17x9 batch 2 + input noise', { ...(FULL_NET as Extract<NetConfig, { arch: 'johnson' }>), inputNoise: 8 }, 2, 17, 9],
];

describe('TransformerForward', () => {
  it('reflectIndexMap reproduces padSpatialTo, including size 1 and several steps', () => {
    for (const [n, target] of [[5, 8], [3, 8], [1, 8], [2, 8], [8, 8], [13, 16]] as const) {
      const x = tf.tensor4d(Float32Array.from({ length: n }, (_, i) => i), [1, n, 1, 1]);
      const { padded } = padSpatialTo(x, target, 1);
      const ref = Array.from(padded.dataSync());
      tf.dispose([x, padded]);
      expect(Array.from(reflectIndexMap(n, target))).toEqual(ref);
    }
  });

  it.each(CASES)('%s matches TransformerNet.apply within 1e-4', async (_name, config, n, h, w) => {
    if (!ctx) return;
    const weights = randomWeights(config, h * 31 + w);
    const input = randomFloats(n * h * w * 3, 7 + h).map((v) => 127.5 + 127.5 * v);
    let t = performance.now();
    const lap = (what: string): void => {
      if (process.env.DBG) console.log(what, Math.round(performance.now() - t));
      t = performance.now();
    };
    const fwd = await TransformerForward.create(ctx, { config, weights }, { n, h, w });
    lap('create');
    const got = await fwd.run(input);
    lap('run');
    const ref = tfjsReference(config, weights, input, [n, h, w, 3]);
    lap('ref');
    expect(got.length).toBe(ref.length);
    expect(relError(got, ref)).toBeLessThan(1e-4);
  });

  it('a second run creates no buffer or bind group and submits once; a TransformerNet works as the net', async () => {
    if (!ctx) return;
    const net = TransformerNet.create(HALF_NET, 3);
    const before = tf.memory().numTensors;
    const fwd = await TransformerForward.create(ctx, net, { n: 1, h: 10, w: 14 });
    const input = randomFloats(10 * 14 * 3, 5).map((v) => 128 + 100 * v);
    const first = await fwd.run(input);
    const snap = ctx.snapshot();
    const second = await fwd.run(input);
    const d = ctx.since(snap);
    expect(d.buffersCreated).toBe(0);
    expect(d.bindGroupsCreated).toBe(0);
    expect(d.pipelinesCreated).toBe(0);
    expect(d.submits).toBe(1);
    expect(d.dispatches).toBe(fwd.dispatches.length);
    expect(second).toEqual(first);
    const ref = tfjsReference(HALF_NET, await readNetWeights(net), input, [1, 10, 14, 3]);
    expect(relError(second, ref)).toBeLessThan(1e-4);
    expect(tf.memory().numTensors).toBe(before);
    console.log(`inference half net 10x14: ${d.dispatches} dispatches, ${d.submits} submit, ${d.buffersCreated} buffers per run`);
    net.dispose();
  });

  it('refuses the Engstrom network, wrong input sizes and missing weights with clear errors', async () => {
    if (!ctx) return;
    await expect(TransformerForward.create(ctx, { config: { arch: 'engstrom' }, weights: {} }, { n: 1, h: 8, w: 8 })).rejects.toThrow(
      /Johnson architecture only, got 'engstrom'/,
    );
    const weights = randomWeights(HALF_NET as Extract<NetConfig, { arch: 'johnson' }>, 1);
    const fwd = await TransformerForward.create(ctx, { config: HALF_NET, weights }, { n: 1, h: 8, w: 8 });
    await expect(fwd.run(new Float32Array(10))).rejects.toThrow(/expects 192 floats \(\[1,8,8,3\]\), got 10/);
    const partial = { ...weights };
    delete partial['in1.weight'];
    await expect(TransformerForward.create(ctx, { config: HALF_NET, weights: partial }, { n: 1, h: 8, w: 8 })).rejects.toMatchObject({
      code: 'WEIGHTS_INVALID',
    });
    await expect(TransformerForward.create(ctx, { config: HALF_NET, weights }, { n: 0, h: 8, w: 8 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
