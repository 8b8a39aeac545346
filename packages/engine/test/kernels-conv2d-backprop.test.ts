// conv2d's input and filter gradients (kernels/conv2d-backprop.ts) against tf.grad of the tfjs reference
// (upsample + mirror/zero pad + conv + bias on the cpu backend) on the networks' layer shapes, the fused ReLU mask,
// a reflect pad as wide as the input (3 copies of a row), multi-chunk filter gradients, and finite differences.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
// tf.grad references: tfjs-core's gradients with @hokusai/model's exact MirrorPad gradient (the lossy built-in
// one would be the reference otherwise), registered by importing the model package.
import '@hokusai/model';
import '@tensorflow/tfjs-backend-cpu';
import type { GpuContext } from '../src/gpu-context.ts';
import { conv2dOutSize, type Conv2dShape } from '../src/kernels/conv2d.ts';
import { conv2dBackpropFilter, conv2dBackpropFilterScratchFloats, conv2dBackpropInput } from '../src/kernels/conv2d-backprop.ts';
import { bufferFrom, NO_GPU_REASON, randomFloats, relError, runAndRead, testContext } from './gpu-device.ts';
import { convOp } from './conv-reference.ts';

const ctx: GpuContext | undefined = await testContext();
beforeAll(async () => {
  await tf.setBackend('cpu');
});

interface Grads {
  dx: Float32Array;
  dw: Float32Array;
  dbias: Float32Array;
}

async function gpuGrads(s: Conv2dShape, x: Float32Array, w: Float32Array, dy: Float32Array, mask?: Float32Array): Promise<Grads> {
  const c = ctx!;
  const dx = c.createBuffer(x.length * 4), dw = c.createBuffer(w.length * 4), dbias = c.createBuffer(s.outC * 4);
  const partial = c.createBuffer(conv2dBackpropFilterScratchFloats(s) * 4);
  const dyBuf = bufferFrom(c, dy);
  const ds = [
    ...conv2dBackpropInput(c, s, { dy: dyBuf, w: bufferFrom(c, w), dx, reluMaskY: mask === undefined ? undefined : bufferFrom(c, mask) }),
    ...conv2dBackpropFilter(c, s, { x: bufferFrom(c, x), dy: dyBuf, dw, dbias, partial }),
  ];
  return { dx: await runAndRead(c, ds, dx, x.length), dw: await c.read(dw, w.length * 4), dbias: await c.read(dbias, s.outC * 4) };
}

function refGrads(s: Conv2dShape, x: Float32Array, w: Float32Array, dy: Float32Array): Grads {
  const before = tf.memory().numTensors;
  const { outH, outW } = conv2dOutSize(s);
  const out = tf.tidy(() => {
    const f = (a: tf.Tensor, k: tf.Tensor, bias: tf.Tensor): tf.Tensor => convOp({ ...s, relu: false }, a as tf.Tensor4D, k as tf.Tensor4D, bias as tf.Tensor1D);
    const g = tf.grads(f)(
      [tf.tensor4d(x, [s.n, s.inH, s.inW, s.inC]), tf.tensor4d(w, [s.k, s.k, s.inC, s.outC]), tf.zeros([s.outC])],
      tf.tensor4d(dy, [s.n, outH, outW, s.outC]),
    );
    return { dx: g[0]!.dataSync() as Float32Array, dw: g[1]!.dataSync() as Float32Array, dbias: g[2]!.dataSync() as Float32Array };
  });
  expect(tf.memory().numTensors).toBe(before);
  return out;
}

function inputs(s: Conv2dShape, seed: number): { x: Float32Array; w: Float32Array; dy: Float32Array } {
  const { outH, outW } = conv2dOutSize(s);
  return {
    x: randomFloats(s.n * s.inH * s.inW * s.inC, seed),
    w: randomFloats(s.k * s.k * s.inC * s.outC, seed + 1, 0.2),
    dy: randomFloats(s.n * outH * outW * s.outC, seed + 2),
  };
}

async function check(s: Conv2dShape, seed: number): Promise<void> {
  const { x, w, dy } = inputs(s, seed);
  const got = await gpuGrads(s, x, w, dy);
  const ref = refGrads(s, x, w, dy);
  expect(relError(got.dx, ref.dx), 'dx').toBeLessThan(1e-4);
  expect(relError(got.dw, ref.dw), 'dw').toBeLessThan(1e-4);
  expect(relError(got.dbias, ref.dbias), 'dbias').toBeLessThan(1e-4);
}

type Layer = Omit<Conv2dShape, 'n' | 'inH' | 'inW'>;
const net = (inC: number, outC: number, k: number, stride: number, upsample: 1 | 2): Layer => ({
  inC, outC, k, stride, pad: Math.floor(k / 2), padMode: 'reflect', upsample,
});
const vgg = (inC: number, outC: number): Layer => ({ inC, outC, k: 3, stride: 1, pad: 1, padMode: 'zero', upsample: 1 });

describe.skipIf(ctx === undefined)(`conv2d gradients vs tf.grad on cpu${ctx ? '' : ` — SKIPPED: ${NO_GPU_REASON}`}`, () => {
  // One size per layer, alternating even/odd sizes and batch 2/1 (tf.grad on the cpu backend costs seconds here).
  it.each([
    ['conv1 9x9 3->32', 2, 12, 16, net(3, 32, 9, 1, 1)],
    ['conv2 3x3/2 32->64', 1, 13, 10, net(32, 64, 3, 2, 1)],
    ['conv3 3x3/2 64->128', 2, 6, 8, net(64, 128, 3, 2, 1)],
    ['res 3x3 128->128', 1, 5, 7, net(128, 128, 3, 1, 1)],
    ['up1 x2 3x3 128->64', 2, 3, 4, net(128, 64, 3, 1, 2)],
    ['up2 x2 3x3 64->32', 1, 6, 5, net(64, 32, 3, 1, 2)],
    ['conv out 9x9 32->3', 2, 12, 16, net(32, 3, 9, 1, 1)],
    ['vgg 3->64', 1, 13, 10, vgg(3, 64)],
    ['vgg 64->128', 2, 7, 8, vgg(64, 128)],
  ] as [string, number, number, number, Layer][])('%s: batch %i, %ix%i', async (_name, n, inH, inW, layer) => {
    await check({ ...layer, n, inH, inW }, 31 + n * inH * inW);
  });

  it('vgg 256->256 at 5x3; a reflect pad of 4 on a 5x6 input (rows read three times); upsample + stride 2', async () => {
    await check({ ...vgg(256, 256), n: 1, inH: 5, inW: 3 }, 41);
    await check({ ...net(3, 8, 9, 1, 1), n: 1, inH: 5, inW: 6 }, 43);
    await check({ ...net(4, 5, 3, 2, 2), n: 2, inH: 3, inW: 5 }, 47);
  });

  it('multi-chunk filter gradient at 64x64 (conv1) and 48x40 batch 2 (3->16 zero pad)', async () => {
    await check({ ...net(3, 32, 9, 1, 1), n: 1, inH: 64, inW: 64 }, 53);
    await check({ ...vgg(3, 16), n: 2, inH: 48, inW: 40 }, 59);
  });

  it('reluMaskY zeroes dx where the previous ReLU output was 0', async () => {
    const s: Conv2dShape = { ...vgg(16, 32), n: 1, inH: 7, inW: 9 };
    const { x, w, dy } = inputs(s, 61);
    const mask = randomFloats(x.length, 67).map((v) => Math.max(v, 0));
    const plain = await gpuGrads(s, x, w, dy);
    const masked = await gpuGrads(s, x, w, dy, mask);
    expect(relError(masked.dx, plain.dx.map((v, i) => (mask[i]! > 0 ? v : 0)))).toBeLessThan(1e-6);
    expect(masked.dx.some((v, i) => mask[i] === 0 && v !== 0)).toBe(false);
  });

  it('both gradients match central finite differences of a float64 conv (reflect, upsample 2, stride 2)', async () => {
    const s: Conv2dShape = { n: 1, inH: 3, inW: 4, inC: 2, outC: 3, k: 3, stride: 2, pad: 1, padMode: 'reflect', upsample: 2 };
    const { x, w, dy } = inputs(s, 71);
    const got = await gpuGrads(s, x, w, dy);
    const { outH, outW } = conv2dOutSize(s);
    const uh = s.inH * 2, uw = s.inW * 2;
    const src = (v: number, size: number): number => {
      const r = v < 0 ? -v : v >= size ? 2 * (size - 1) - v : v;
      return Math.floor(r / 2);
    };
    // L = Σ dy · conv(pad(upsample(x)), w), in float64.
    const loss = (xs: Float64Array, ws: Float64Array): number => {
      let total = 0;
      for (let oy = 0; oy < outH; oy++) for (let ox = 0; ox < outW; ox++) for (let co = 0; co < s.outC; co++) {
        let acc = 0;
        for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) for (let ci = 0; ci < s.inC; ci++) {
          const iy = src(oy * 2 + kh - 1, uh), ix = src(ox * 2 + kw - 1, uw);
          acc += xs[(iy * s.inW + ix) * s.inC + ci]! * ws[((kh * 3 + kw) * s.inC + ci) * s.outC + co]!;
        }
        total += acc * dy[(oy * outW + ox) * s.outC + co]!;
      }
      return total;
    };
    const xs = Float64Array.from(x), ws = Float64Array.from(w);
    const fd = (arr: Float64Array, i: number): number => {
      const old = arr[i]!;
      arr[i] = old + 1e-4;
      const up = loss(xs, ws);
      arr[i] = old - 1e-4;
      const down = loss(xs, ws);
      arr[i] = old;
      return (up - down) / 2e-4;
    };
    expect(relError(got.dx, Array.from(xs, (_, i) => fd(xs, i)))).toBeLessThan(1e-4);
    expect(relError(got.dw, Array.from(ws, (_, i) => fd(ws, i)))).toBeLessThan(1e-4);
  });

  it('rejects a partial buffer that is too small', () => {
    const s: Conv2dShape = { ...vgg(3, 8), n: 1, inH: 8, inW: 8 };
    const d = ctx!.createBuffer(4);
    expect(() => conv2dBackpropFilter(ctx!, s, { x: d, dy: d, dw: d, partial: d })).toThrow(/partial must hold \d+ floats, got 1/);
  });
});
