// 2x2 max/avg pooling forward and backward against tf.maxPool / tf.avgPool ('valid') and tf.grad on the cpu backend:
// odd sizes (the last row/column dropped), VGG channel counts, and ties (the first maximum takes the gradient).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-core/dist/register_all_gradients'; // tf.grad of the reference (nothing else here loads @hokusai/model)
import type { GpuContext } from '../src/gpu-context.ts';
import { avgPool2x2, avgPool2x2Backward, maxPool2x2, maxPool2x2Backward, poolOutSize, type PoolShape } from '../src/kernels/pool.ts';
import { bufferFrom, NO_GPU_REASON, randomFloats, relError, runAndRead, testContext } from './gpu-device.ts';

const ctx: GpuContext | undefined = await testContext();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

async function check(s: PoolShape, kind: 'max' | 'avg', ties: boolean): Promise<void> {
  const c = ctx!;
  const { outH, outW } = poolOutSize(s);
  const raw = randomFloats(s.n * s.h * s.w * s.c, s.h * 7 + s.c);
  const x = ties ? raw.map((v) => Math.round(v * 2) / 2) : raw; // 5 levels: many tied windows
  const dy = randomFloats(s.n * outH * outW * s.c, 99);
  const xBuf = bufferFrom(c, x), dyBuf = bufferFrom(c, dy);
  const y = c.createBuffer(dy.length * 4), dx = c.createBuffer(x.length * 4);
  const fwd = kind === 'max' ? maxPool2x2(c, s, { x: xBuf, y }) : avgPool2x2(c, s, { x: xBuf, y });
  const bwd = kind === 'max' ? maxPool2x2Backward(c, s, { x: xBuf, dy: dyBuf, dx }) : avgPool2x2Backward(c, s, { dy: dyBuf, dx });
  const gotY = await runAndRead(c, fwd, y, dy.length);
  const gotDx = await runAndRead(c, bwd, dx, x.length);
  const before = tf.memory().numTensors;
  const ref = tf.tidy(() => {
    const f = (t: tf.Tensor): tf.Tensor => (kind === 'max' ? tf.maxPool : tf.avgPool)(t as tf.Tensor4D, 2, 2, 'valid');
    const xt = tf.tensor4d(x, [s.n, s.h, s.w, s.c]);
    return { y: f(xt).dataSync() as Float32Array, dx: tf.grad(f)(xt, tf.tensor4d(dy, [s.n, outH, outW, s.c])).dataSync() as Float32Array };
  });
  expect(tf.memory().numTensors).toBe(before);
  expect(relError(gotY, ref.y)).toBeLessThan(1e-6);
  expect(relError(gotDx, ref.dx)).toBeLessThan(1e-6);
}

describe.skipIf(ctx === undefined)(`2x2 pooling vs tfjs cpu${ctx ? '' : ` — SKIPPED: ${NO_GPU_REASON}`}`, () => {
  it.each([
    [2, 12, 16, 64],
    [1, 13, 11, 128],
    [1, 7, 6, 256],
    [2, 5, 5, 3],
  ])('n=%i %ix%i c=%i, max and avg, with and without ties', async (n, h, w, c) => {
    for (const kind of ['max', 'avg'] as const) {
      await check({ n, h, w, c }, kind, false);
      await check({ n, h, w, c }, kind, true);
    }
  });

  it('rejects an input smaller than one window', () => {
    const d = ctx!.createBuffer(4);
    expect(() => maxPool2x2(ctx!, { n: 1, h: 1, w: 4, c: 1 }, { x: d, y: d })).toThrow(/h must be an integer ≥ 2, got 1/);
  });
});
