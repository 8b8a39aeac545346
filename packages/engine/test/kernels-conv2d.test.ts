// conv2d forward (implicit GEMM with folded upsample + reflect/zero padding) against the tfjs cpu backend on the
// transformation network's and VGG's real layer shapes at small sizes, plus multi-tile sizes and bad input.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { GpuContext } from '../src/gpu-context.ts';
import { conv2d, conv2dOutSize, type Conv2dShape, type ConvTiles } from '../src/kernels/conv2d.ts';
import { bufferFrom, NO_GPU_REASON, randomFloats, relError, runAndRead, testContext } from './gpu-device.ts';
import { conv2dReference } from './conv-reference.ts';

const ctx: GpuContext | undefined = await testContext();
beforeAll(async () => {
  await tf.setBackend('cpu');
});
afterAll(() => ctx?.dispose());

async function check(s: Conv2dShape, seed: number, tiles?: ConvTiles, withBias = true): Promise<number> {
  const c = ctx!;
  const { outH, outW } = conv2dOutSize(s);
  const x = randomFloats(s.n * s.inH * s.inW * s.inC, seed);
  const w = randomFloats(s.k * s.k * s.inC * s.outC, seed + 1, 0.2);
  const bias = randomFloats(s.outC, seed + 2, 0.5);
  const count = s.n * outH * outW * s.outC;
  const yBuf = c.createBuffer(count * 4);
  const ds = conv2d(c, s, { x: bufferFrom(c, x), w: bufferFrom(c, w), bias: withBias ? bufferFrom(c, bias) : undefined, y: yBuf }, tiles);
  const got = await runAndRead(c, ds, yBuf, count);
  const before = tf.memory().numTensors;
  const ref = conv2dReference(s, x, w, withBias ? bias : undefined);
  expect(tf.memory().numTensors).toBe(before);
  return relError(got, ref);
}

const net = (inC: number, outC: number, k: number, stride: number, upsample: 1 | 2, relu = false): Omit<Conv2dShape, 'n' | 'inH' | 'inW'> => ({
  inC, outC, k, stride, pad: Math.floor(k / 2), padMode: 'reflect', upsample, relu,
});
const vgg = (inC: number, outC: number): Omit<Conv2dShape, 'n' | 'inH' | 'inW'> => ({
  inC, outC, k: 3, stride: 1, pad: 1, padMode: 'zero', upsample: 1, relu: true,
});

// The wide VGG layers run at 13x10 batch 1 only (the cpu reference costs seconds per call on a shared 2-core box).
const LAYERS: [string, Omit<Conv2dShape, 'n' | 'inH' | 'inW'>][] = [
  ['conv1 9x9 3->32', net(3, 32, 9, 1, 1)],
  ['conv2 3x3/2 32->64', net(32, 64, 3, 2, 1)],
  ['conv3 3x3/2 64->128', net(64, 128, 3, 2, 1)],
  ['res 3x3 128->128', net(128, 128, 3, 1, 1)],
  ['up1 x2 3x3 128->64', net(128, 64, 3, 1, 2)],
  ['up2 x2 3x3 64->32', net(64, 32, 3, 1, 2)],
  ['conv out 9x9 32->3', net(32, 3, 9, 1, 1)],
  ['vgg 3->64', vgg(3, 64)],
  ['vgg 64->128', vgg(64, 128)],
  ['vgg 128->256', vgg(128, 256)],
];

describe.skipIf(ctx === undefined)(`conv2d forward vs tfjs cpu${ctx ? '' : ` — SKIPPED: ${NO_GPU_REASON}`}`, () => {
  for (const [name, layer] of LAYERS) {
    it(`${name}: 12x16 batch 2 and 13x10 batch 1`, async () => {
      if (layer.inC * layer.outC <= 128 * 128) expect(await check({ ...layer, n: 2, inH: 12, inW: 16 }, 11)).toBeLessThan(1e-4);
      expect(await check({ ...layer, n: 1, inH: 13, inW: 10 }, 23)).toBeLessThan(1e-4);
    });
  }
  it('multi-tile 64x64 (conv1 with ReLU, VGG conv1_1 without bias)', async () => {
    expect(await check({ ...net(3, 32, 9, 1, 1, true), n: 1, inH: 64, inW: 64 }, 5)).toBeLessThan(1e-4);
    expect(await check({ ...vgg(3, 64), n: 1, inH: 64, inW: 64 }, 7, undefined, false)).toBeLessThan(1e-4);
    expect(await check({ ...vgg(256, 256), n: 1, inH: 9, inW: 7 }, 9)).toBeLessThan(1e-4);
  });
  it('other tilings give the same answer (edge tiles in M, N and K)', async () => {
    const s: Conv2dShape = { ...net(32, 64, 3, 2, 1), n: 2, inH: 13, inW: 10 };
    expect(await check(s, 3, { tm: 32, tn: 16, tk: 8, rm: 2, rn: 2 })).toBeLessThan(1e-4);
    expect(await check(s, 3, { tm: 64, tn: 64, tk: 16, rm: 8, rn: 8 })).toBeLessThan(1e-4);
  });
  it('rejects shapes it cannot run, saying what arrived', () => {
    const dummy = ctx!.createBuffer(4);
    const b = { x: dummy, w: dummy, y: dummy };
    expect(() => conv2d(ctx!, { ...net(3, 32, 9, 1, 1), n: 1, inH: 4, inW: 4 }, b)).toThrow(/reflect padding 4/);
    expect(() => conv2d(ctx!, { ...net(3, 32, 3, 1, 1), n: 0, inH: 4, inW: 4 }, b)).toThrow(/n must be an integer/);
    expect(() => conv2d(ctx!, { ...net(3, 32, 3, 1, 1), n: 1, inH: 4, inW: 4 }, b, { tm: 64, tn: 64, tk: 16, rm: 1, rn: 1 })).toThrow(/threads/);
  });
});
