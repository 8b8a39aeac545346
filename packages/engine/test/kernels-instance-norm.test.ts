// Instance norm forward (+ReLU, +residual) and backward against tfjs on the cpu backend (the model's instanceNorm,
// tf.grad for the gradients) on the transformation network's channel counts, multi-chunk sizes, and against
// central finite differences of a float64 forward on a tiny shape.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { instanceNorm as tfInstanceNorm } from '@hokusai/model';
import type { GpuContext } from '../src/gpu-context.ts';
import { instanceNorm, instanceNormBackward, type InstanceNormShape } from '../src/kernels/instance-norm.ts';
import { bufferFrom, NO_GPU_REASON, randomFloats, relError, runAndRead, testContext } from './gpu-device.ts';

const ctx: GpuContext | undefined = await testContext();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Case {
  s: InstanceNormShape;
  x: Float32Array;
  gamma: Float32Array;
  beta: Float32Array;
  res: Float32Array;
  dy: Float32Array;
}

function makeCase(n: number, h: number, w: number, c: number, relu: boolean, residual: boolean, seed: number): Case {
  const s = { n, hw: h * w, c, relu, residual, eps: 1e-5 };
  const x = randomFloats(n * h * w * c, seed, 3).map((v, i) => v + (i % c) * 0.5); // per-channel offsets
  return {
    s, x,
    gamma: randomFloats(c, seed + 1).map((v) => 1 + 0.5 * v),
    beta: randomFloats(c, seed + 2, 0.5),
    res: randomFloats(x.length, seed + 3),
    dy: randomFloats(x.length, seed + 4),
  };
}

function tfForward(k: Case, x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D): tf.Tensor4D {
  let y = tfInstanceNorm(x, gamma, beta, k.s.eps);
  if (k.s.relu) y = tf.relu(y);
  if (k.s.residual) y = tf.add(y, tf.tensor4d(k.res, x.shape));
  return y;
}

async function runGpu(k: Case): Promise<{ y: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array }> {
  const c = ctx!;
  const { s } = k;
  const count = k.x.length;
  const buf = (a: Float32Array): GPUBuffer => bufferFrom(c, a);
  const x = buf(k.x), gamma = buf(k.gamma), beta = buf(k.beta);
  const y = c.createBuffer(count * 4), mean = c.createBuffer(s.n * s.c * 4), invStd = c.createBuffer(s.n * s.c * 4);
  const dx = c.createBuffer(count * 4), dgamma = c.createBuffer(s.c * 4), dbeta = c.createBuffer(s.c * 4);
  const fwd = instanceNorm(c, s, { x, gamma, beta, y, mean, invStd, res: s.residual ? buf(k.res) : undefined });
  const bwd = instanceNormBackward(c, s, { x, gamma, beta, mean, invStd, dy: buf(k.dy), dx, dgamma, dbeta });
  return {
    y: await runAndRead(c, fwd, y, count),
    dx: await runAndRead(c, bwd, dx, count),
    dgamma: await c.read(dgamma, s.c * 4),
    dbeta: await c.read(dbeta, s.c * 4),
  };
}

function reference(k: Case): { y: Float32Array; dx: Float32Array; dgamma: Float32Array; dbeta: Float32Array } {
  const before = tf.memory().numTensors;
  const h = 1;
  const shape: [number, number, number, number] = [k.s.n, h, k.s.hw, k.s.c];
  const out = tf.tidy(() => {
    const x = tf.tensor4d(k.x, shape), gamma = tf.tensor1d(k.gamma), beta = tf.tensor1d(k.beta);
    const dy = tf.tensor4d(k.dy, shape);
    const y = tfForward(k, x, gamma, beta);
    const grads = tf.grads((a: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
      tfForward(k, a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D))([x, gamma, beta], dy);
    return { y: y.dataSync() as Float32Array, dx: grads[0]!.dataSync() as Float32Array, dgamma: grads[1]!.dataSync() as Float32Array, dbeta: grads[2]!.dataSync() as Float32Array };
  });
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

describe.skipIf(ctx === undefined)(`instance norm kernels vs tfjs cpu${ctx ? '' : ` — SKIPPED: ${NO_GPU_REASON}`}`, () => {
  it.each([
    [2, 12, 16, 32, true, false],
    [1, 13, 10, 64, true, false],
    [2, 6, 8, 128, false, true],
    [1, 13, 10, 128, false, false],
    [1, 3, 4, 3, true, true],
    [2, 64, 64, 32, true, false], // 4 chunks per image
    [1, 50, 30, 20, false, true], // 2 chunks, the last one partial; channels not a multiple of 16
  ])('n=%i %ix%i c=%i relu=%s residual=%s', async (n, h, w, c, relu, residual) => {
    const k = makeCase(n, h, w, c, relu, residual, n * 1000 + h * w + c);
    const got = await runGpu(k);
    const ref = reference(k);
    expect(relError(got.y, ref.y)).toBeLessThan(1e-4);
    expect(relError(got.dx, ref.dx)).toBeLessThan(1e-4);
    expect(relError(got.dgamma, ref.dgamma)).toBeLessThan(1e-4);
    expect(relError(got.dbeta, ref.dbeta)).toBeLessThan(1e-4);
  });

  it('backward matches central finite differences of a float64 forward (tiny shape, with ReLU)', async () => {
    const k = makeCase(2, 3, 3, 2, true, false, 77);
    const got = await runGpu(k);
    const { n, hw, c, eps } = k.s;
    // L = Σ dy·relu(IN(x)), evaluated in float64.
    const loss = (x: Float64Array, gamma: Float64Array, beta: Float64Array): number => {
      let total = 0;
      for (let ni = 0; ni < n; ni++) {
        for (let ch = 0; ch < c; ch++) {
          let mean = 0;
          for (let p = 0; p < hw; p++) mean += x[(ni * hw + p) * c + ch]! / hw;
          let v = 0;
          for (let p = 0; p < hw; p++) v += (x[(ni * hw + p) * c + ch]! - mean) ** 2 / hw;
          for (let p = 0; p < hw; p++) {
            const e = (ni * hw + p) * c + ch;
            const y = ((x[e]! - mean) / Math.sqrt(v + eps)) * gamma[ch]! + beta[ch]!;
            total += k.dy[e]! * Math.max(y, 0);
          }
        }
      }
      return total;
    };
    const x = Float64Array.from(k.x), gamma = Float64Array.from(k.gamma), beta = Float64Array.from(k.beta);
    const fd = (arr: Float64Array, i: number): number => {
      const h = 1e-5;
      const old = arr[i]!;
      arr[i] = old + h;
      const up = loss(x, gamma, beta);
      arr[i] = old - h;
      const down = loss(x, gamma, beta);
      arr[i] = old;
      return (up - down) / (2 * h);
    };
    expect(relError(got.dx, Array.from(x, (_, i) => fd(x, i)))).toBeLessThan(1e-3);
    expect(relError(got.dgamma, Array.from(gamma, (_, i) => fd(gamma, i)))).toBeLessThan(1e-3);
    expect(relError(got.dbeta, Array.from(beta, (_, i) => fd(beta, i)))).toBeLessThan(1e-3);
  });

  it('rejects a residual layer without res, and a bad eps', () => {
    const d = ctx!.createBuffer(4);
    const b = { x: d, gamma: d, beta: d, y: d, mean: d, invStd: d };
    expect(() => instanceNorm(ctx!, { n: 1, hw: 4, c: 2, relu: false, residual: true, eps: 1e-5 }, b)).toThrow(/no res binding/);
    expect(() => instanceNorm(ctx!, { n: 1, hw: 4, c: 2, relu: false, residual: false, eps: 0 }, b)).toThrow(/eps must be/);
  });
});
