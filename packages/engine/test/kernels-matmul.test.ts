// Batched GEMM with transpose flags, alpha and accumulate against tf.matMul on the cpu backend, at Gram-matrix
// shapes (FᵀF with F = [HW, C], C up to 256) and odd sizes that leave partial tiles in every dimension.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { GpuContext } from '../src/gpu-context.ts';
import { matmul, type MatmulShape } from '../src/kernels/matmul.ts';
import { bufferFrom, NO_GPU_REASON, randomFloats, relError, runAndRead, testContext } from './gpu-device.ts';

const ctx: GpuContext | undefined = await testContext();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe.skipIf(ctx === undefined)(`matmul vs tf.matMul on cpu${ctx ? '' : ` — SKIPPED: ${NO_GPU_REASON}`}`, () => {
  it.each([
    [2, 64, 64, 12 * 16, true, false, 1 / (64 * 192), false], // Gram of relu1_2 at 12x16
    [1, 256, 256, 35, true, false, 0.5, false], // wide Gram
    [2, 13 * 10, 32, 32, false, false, 2, true], // dF = F·G, accumulated
    [3, 7, 5, 9, false, true, -1.5, false],
    [1, 5, 70, 3, true, true, 1, true],
  ])('batch %i, %ix%i (k %i) transA=%s transB=%s alpha=%f accumulate=%s', async (batch, m, n, k, transA, transB, alpha, accumulate) => {
    const c = ctx!;
    const s: MatmulShape = { batch, m, n, k, transA, transB, alpha, accumulate };
    const a = randomFloats(batch * m * k, m + n), b = randomFloats(batch * k * n, k), c0 = randomFloats(batch * m * n, 5);
    const cBuf = bufferFrom(c, c0);
    const got = await runAndRead(c, matmul(c, s, { a: bufferFrom(c, a), b: bufferFrom(c, b), c: cBuf }), cBuf, c0.length);
    const before = tf.memory().numTensors;
    const ref = tf.tidy(() => {
      const at = tf.tensor3d(a, transA ? [batch, k, m] : [batch, m, k]);
      const bt = tf.tensor3d(b, transB ? [batch, n, k] : [batch, k, n]);
      let r = tf.mul(tf.matMul(at, bt, transA, transB), alpha);
      if (accumulate) r = tf.add(r, tf.tensor3d(c0, [batch, m, n]));
      return r.dataSync() as Float32Array;
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(relError(got, ref)).toBeLessThan(1e-4);
  });

  it('rejects a non-integer size', () => {
    const d = ctx!.createBuffer(4);
    expect(() => matmul(ctx!, { batch: 1, m: 2.5, n: 2, k: 2, transA: false, transB: false, alpha: 1 }, { a: d, b: d, c: d })).toThrow(/m must be an integer/);
  });
});
