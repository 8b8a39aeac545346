// The split-K Gram kernel (kernels/gram.ts) against tf.matMul on the cpu backend: unsplit (short reductions) and
// split into chunks with a ragged last chunk, at the loss layers' channel counts (64 to 512).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { GpuContext } from '../src/gpu-context.ts';
import { gram, gramScratchFloats, gramSplit } from '../src/kernels/gram.ts';
import { bufferFrom, NO_GPU_REASON, randomFloats, relError, runAndRead, testContext } from './gpu-device.ts';

const ctx: GpuContext | undefined = await testContext();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('gramSplit', () => {
  it('splits relu1_2 at 256² batch 4 into many chunks and leaves short reductions whole', () => {
    expect(gramSplit({ n: 4, c: 64, hw: 256 * 256 }).chunks).toBeGreaterThanOrEqual(64);
    expect(gramSplit({ n: 1, c: 64, hw: 300 })).toEqual({ chunks: 1, chunkLength: 300 });
    expect(gramScratchFloats({ n: 1, c: 64, hw: 300 })).toBe(0);
    const { chunks, chunkLength } = gramSplit({ n: 2, c: 32, hw: 5000 });
    expect((chunks - 1) * chunkLength).toBeLessThan(5000);
    expect(chunks * chunkLength).toBeGreaterThanOrEqual(5000);
  });
});

describe.skipIf(ctx === undefined)(`gram vs tf.matMul on cpu${ctx ? '' : ` — SKIPPED: ${NO_GPU_REASON}`}`, () => {
  it.each([
    [2, 64, 12 * 16], // unsplit
    [2, 64, 64 * 64 + 37], // split, ragged last chunk
    [1, 128, 48 * 48],
    [1, 512, 32 * 32],
  ])('n %i, c %i, hw %i', async (n, c, hw) => {
    const g = ctx!;
    const alpha = 1 / (c * hw);
    const f = randomFloats(n * hw * c, c + hw);
    const out = bufferFrom(g, new Float32Array(n * c * c));
    const scratch = gramScratchFloats({ n, c, hw });
    const partial = scratch > 0 ? g.createBuffer(scratch * 4, 'partial') : undefined;
    const got = await runAndRead(g, gram(g, { n, c, hw, alpha }, { f: bufferFrom(g, f), gram: out, partial }), out, n * c * c);
    const before = tf.memory().numTensors;
    const ref = tf.tidy(() => {
      const ft = tf.tensor3d(f, [n, hw, c]);
      return tf.mul(tf.matMul(ft, ft, true, false), alpha).dataSync() as Float32Array;
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(relError(got, ref)).toBeLessThan(1e-4);
  });

  it('refuses a split without a large enough scratch', () => {
    const d = ctx!.createBuffer(16);
    expect(() => gram(ctx!, { n: 2, c: 64, hw: 8192, alpha: 1 }, { f: d, gram: d, partial: d })).toThrow(/partial must hold \d+ floats, got 4/);
  });
});
