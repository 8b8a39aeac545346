// The Adam kernel against the tf op sequence of packages/train/src/adam.ts (same float32 order) on the cpu
// backend, over three steps on a flat buffer at a 256-byte aligned offset, with lr changing between steps.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { GpuContext } from '../src/gpu-context.ts';
import { adam, adamHyper, ADAM_HYPER_FLOATS } from '../src/kernels/adam.ts';
import { bufferFrom, NO_GPU_REASON, randomFloats, relError, runAndRead, testContext } from './gpu-device.ts';

const ctx: GpuContext | undefined = await testContext();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

const CFG = { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 };

/** adam.ts's update, op for op. */
function tfAdamStep(p: tf.Tensor, m: tf.Tensor, v: tf.Tensor, g: tf.Tensor, lr: number, t: number): tf.Tensor[] {
  const bc1 = 1 - Math.pow(CFG.beta1, t);
  const bc2 = Math.sqrt(1 - Math.pow(CFG.beta2, t));
  const m1 = tf.add(tf.mul(tf.scalar(CFG.beta1), m), tf.mul(tf.scalar(1 - CFG.beta1), g));
  const v1 = tf.add(tf.mul(tf.scalar(CFG.beta2), v), tf.mul(tf.scalar(1 - CFG.beta2), tf.square(g)));
  const denom = tf.add(tf.div(tf.sqrt(v1), tf.scalar(bc2)), tf.scalar(CFG.epsilon));
  return [tf.sub(p, tf.mul(tf.scalar(lr / bc1), tf.div(m1, denom))), m1, v1];
}

describe.skipIf(ctx === undefined)(`adam kernel vs train/adam.ts's update${ctx ? '' : ` — SKIPPED: ${NO_GPU_REASON}`}`, () => {
  it('three steps over 70,001 floats at offset 256 bytes match within 1e-6 relative', async () => {
    const c = ctx!;
    const count = 70_001, offset = 64; // floats
    const p0 = randomFloats(count, 1), grads = [2, 3, 4].map((seed) => randomFloats(count, seed, 0.01));
    const flat = new Float32Array(offset + count);
    flat.set(p0, offset);
    const param = bufferFrom(c, flat), grad = c.createBuffer((offset + count) * 4);
    const m = c.createBuffer(count * 4), v = c.createBuffer(count * 4), hyper = c.createBuffer(ADAM_HYPER_FLOATS * 4);
    const range = (buffer: GPUBuffer) => ({ buffer, offset: offset * 4, size: count * 4 });
    const step = adam(c, { count }, { param: range(param), grad: range(grad), m, v, hyper });
    const lrs = [1e-3, 1e-3, 5e-4];
    let got: Float32Array = new Float32Array(0);
    for (let t = 1; t <= 3; t++) {
      c.upload(grad, grads[t - 1]!, offset * 4);
      c.upload(hyper, adamHyper({ ...CFG, lr: lrs[t - 1]!, t }));
      got = (await runAndRead(c, step, param, offset + count)).subarray(offset);
    }
    const before = tf.memory().numTensors;
    const ref = tf.tidy(() => {
      let [p, mm, vv]: tf.Tensor[] = [tf.tensor1d(p0), tf.zeros([count]), tf.zeros([count])];
      for (let t = 1; t <= 3; t++) [p, mm, vv] = tfAdamStep(p!, mm!, vv!, tf.tensor1d(grads[t - 1]!), lrs[t - 1]!, t) as [tf.Tensor, tf.Tensor, tf.Tensor];
      return p!.dataSync() as Float32Array;
    });
    expect(tf.memory().numTensors).toBe(before);
    const delta = (a: Float32Array) => a.map((x, i) => x - p0[i]!);
    expect(relError(got, ref)).toBeLessThan(1e-6);
    expect(relError(delta(got), delta(ref))).toBeLessThan(1e-3); // the updates themselves (≈ 3·lr), not just p
  });

  it('adamHyper rejects t = 0', () => {
    expect(() => adamHyper({ ...CFG, lr: 1e-3, t: 0 })).toThrow(/t must be an integer ≥ 1/);
  });
});
