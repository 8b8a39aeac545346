// TransformerNet (Johnson architecture): parameter counts, shapes for odd sizes, PyTorch-default init, seeding,
// weight validation, no tensor leaks, exact nearest upsampling and its gradient, and the forward pass against
// pytorch/examples' TransformerNet run with torch (fixtures/johnson_reference.py).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { needs, requirement } from '../../node/test/shared-data.ts';
import { FULL_NET, HALF_NET, TransformerNet, planReflectPad, upsampleNearest2x, weightSpecs, type NetConfig } from '@hokusai/model';
import { InvalidArgumentError, WeightsError } from '@hokusai/errors';

const TINY: NetConfig = { arch: 'johnson', channels: [4, 6, 8], residualBlocks: 2 };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('TransformerNet (Johnson)', () => {
  it('FULL_NET has exactly 1,679,235 parameters; HALF_NET 424,899; variables follow weightSpecs order', () => {
    const full = TransformerNet.create(FULL_NET);
    expect(full.parameterCount()).toBe(1_679_235);
    expect(full.variables.map((v) => v.shape)).toEqual(weightSpecs(FULL_NET).map((s) => s.shape));
    expect(Object.keys(full.namedWeights()).slice(0, 4)).toEqual(['conv1.conv2d.weight', 'conv1.conv2d.bias', 'in1.weight', 'in1.bias']);
    full.dispose();
    const half = TransformerNet.create(HALF_NET);
    // conv1 3·81·16+16, conv2 16·9·32+32, conv3 32·9·64+64, 10 res convs 64·9·64+64, deconv1 64·9·32+32,
    // deconv2 32·9·16+16, deconv3 16·81·3+3, plus 2·C per instance norm.
    const convs = 3 * 81 * 16 + 16 + (16 * 9 * 32 + 32) + (32 * 9 * 64 + 64) + 10 * (64 * 9 * 64 + 64) + (64 * 9 * 32 + 32) + (32 * 9 * 16 + 16) + (16 * 81 * 3 + 3);
    const norms = 2 * (16 + 32 + 64 + 10 * 64 + 32 + 16);
    expect(half.parameterCount()).toBe(convs + norms);
    half.dispose();
  });

  it('keeps any input size (odd, tiny, batch > 1) and does not leak tensors', () => {
    const net = TransformerNet.create(TINY, 7);
    const before = tf.memory().numTensors;
    for (const [n, h, w] of [
      [1, 1, 1],
      [2, 5, 7],
      [1, 13, 6],
      [1, 16, 12],
      [2, 3, 22],
    ] as const) {
      const x = tf.randomUniform([n, h, w, 3], 0, 255, 'float32', h * 100 + w) as tf.Tensor4D;
      const y = net.apply(x);
      expect(y.shape).toEqual([n, h, w, 3]);
      expect(Array.from(y.dataSync()).every(Number.isFinite)).toBe(true);
      tf.dispose([x, y]);
    }
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
    expect(tf.memory().numTensors).toBe(before - weightSpecs(TINY).length);
  });

  it('initialises like PyTorch (U(±1/√fan_in) weights and biases, IN gamma 1 beta 0) and is seeded', () => {
    const a = TransformerNet.create(FULL_NET, 42);
    const b = TransformerNet.create(FULL_NET, 42);
    const c = TransformerNet.create(FULL_NET, 43);
    const wa = a.namedWeights();
    const conv3 = Array.from(wa['conv3.conv2d.weight']!.dataSync());
    const bound = 1 / Math.sqrt(3 * 3 * 64);
    expect(Math.max(...conv3)).toBeLessThanOrEqual(bound);
    expect(Math.min(...conv3)).toBeGreaterThanOrEqual(-bound);
    // uniform on ±bound: std = bound/√3
    const mean = conv3.reduce((s, v) => s + v, 0) / conv3.length;
    const std = Math.sqrt(conv3.reduce((s, v) => s + (v - mean) ** 2, 0) / conv3.length);
    expect(Math.abs(std - bound / Math.sqrt(3)) / (bound / Math.sqrt(3))).toBeLessThan(0.02);
    expect(Math.max(...wa['deconv3.conv2d.bias']!.dataSync().map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(81 * 32));
    expect(Array.from(wa['in4.weight']!.dataSync()).every((v) => v === 1)).toBe(true);
    expect(Array.from(wa['res2.in1.bias']!.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(b.namedWeights()['conv3.conv2d.weight']!.dataSync())).toEqual(conv3);
    expect(Array.from(c.namedWeights()['conv3.conv2d.weight']!.dataSync())).not.toEqual(conv3);
    // different layers get different streams
    expect(wa['res1.conv1.conv2d.weight']!.dataSync()[0]).not.toBe(wa['res1.conv2.conv2d.weight']!.dataSync()[0]);
    [a, b, c].forEach((n) => n.dispose());
  });

  it('fromWeights copies and validates names, shapes and dtypes', () => {
    const src = TransformerNet.create(TINY, 1);
    const weights = src.namedWeights();
    const copy = TransformerNet.fromWeights(TINY, weights);
    src.dispose(); // the copy must not share storage that dies with the source
    expect(copy.namedWeights()['conv1.conv2d.weight']!.dataSync().length).toBe(9 * 9 * 3 * 4);
    const good = copy.namedWeights();
    const without = { ...good };
    delete without['in2.bias'];
    expect(() => TransformerNet.fromWeights(TINY, without)).toThrow(/missing 1 \(in2\.bias\)/);
    const extraT = tf.zeros([3]);
    expect(() => TransformerNet.fromWeights(TINY, { ...good, 'res9.in1.bias': extraT })).toThrow(/unexpected 1 \(res9\.in1\.bias\)/);
    const badShape = tf.zeros([3, 3, 4, 7]);
    expect(() => TransformerNet.fromWeights(TINY, { ...good, 'conv2.conv2d.weight': badShape })).toThrow(
      /conv2\.conv2d\.weight: expected shape \[3,3,4,6\], got \[3,3,4,7\]/,
    );
    const intT = tf.zeros([4], 'int32');
    expect(() => TransformerNet.fromWeights(TINY, { ...good, 'in1.weight': intT })).toThrow(WeightsError);
    tf.dispose([extraT, badShape, intT]);
    copy.dispose();
    expect(() => copy.apply(tf.zeros([1, 8, 8, 3]) as tf.Tensor4D)).toThrow(/after dispose/);
  });

  it('rejects invalid configs and inputs with messages saying what was expected', () => {
    expect(() => TransformerNet.create({ arch: 'johnson', channels: [4, 0, 8], residualBlocks: 1 })).toThrow(InvalidArgumentError);
    expect(() => TransformerNet.create({ arch: 'resnet' } as unknown as NetConfig)).toThrow(/arch:'johnson'/);
    const net = TransformerNet.create(TINY);
    const x = tf.zeros([1, 8, 8, 4]) as tf.Tensor4D;
    expect(() => net.apply(x)).toThrow(/\[N,H,W,3\].*\[1,8,8,4\]/);
    tf.dispose([x]);
    net.dispose();
  });
});

describe('TransformerNet gradients', () => {
  it('match finite differences for weights in every stage, and batch gradients are the sum of per-image ones', () => {
    const net = TransformerNet.create({ arch: 'johnson', channels: [2, 3, 4], residualBlocks: 1 }, 3);
    const x = tf.randomUniform([2, 9, 7, 3], 0, 255, 'float32', 21) as tf.Tensor4D;
    const target = tf.randomNormal([2, 9, 7, 3], 0, 1, 'float32', 22);
    const loss = (input: tf.Tensor4D, t: tf.Tensor): tf.Scalar => tf.mean(tf.square(tf.sub(net.apply(input), t)));
    const { grads } = tf.variableGrads(() => loss(x, target));
    const names = ['conv1.conv2d.weight', 'in2.weight', 'res1.conv2.conv2d.weight', 'in5.bias', 'deconv1.conv2d.weight', 'deconv3.conv2d.bias'];
    const named = net.namedWeights();
    for (const name of names) {
      const v = named[name] as tf.Variable;
      const g = grads[v.name]!.dataSync();
      const original = v.dataSync().slice();
      // probe the largest-gradient element of this tensor (conv biases followed by IN have zero gradient: not probed)
      let idx = 0;
      for (let i = 0; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[idx]!)) idx = i;
      const eps = 1e-3 * Math.max(0.1, Math.abs(original[idx]!));
      const at = (delta: number): number => {
        const values = original.slice();
        values[idx] = values[idx]! + delta;
        v.assign(tf.tensor(values, v.shape));
        return tf.tidy(() => loss(x, target).dataSync()[0]!);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      v.assign(tf.tensor(original, v.shape));
      expect(Math.abs(fd - g[idx]!) / Math.max(Math.abs(fd), 1e-8)).toBeLessThan(2e-2);
    }
    // batch 2 = mean of the two single-image losses → gradient = average of per-image gradients
    const single = [0, 1].map((b) =>
      tf.variableGrads(() => loss(tf.slice(x, [b, 0, 0, 0], [1, -1, -1, -1]), tf.slice(target, [b, 0, 0, 0], [1, -1, -1, -1]))),
    );
    for (const v of net.variables) {
      const both = grads[v.name]!.dataSync();
      const a = single[0]!.grads[v.name]!.dataSync();
      const b = single[1]!.grads[v.name]!.dataSync();
      const scale = Math.max(...both.map(Math.abs), 1e-12);
      for (let i = 0; i < both.length; i++) expect(Math.abs(both[i]! - (a[i]! + b[i]!) / 2) / scale).toBeLessThan(1e-4);
    }
    tf.dispose([x, target, ...Object.values(grads), ...single.flatMap((s) => [s.value, ...Object.values(s.grads)])]);
    net.dispose();
  });
});

describe('upsampleNearest2x', () => {
  it('equals nearest-neighbour ×2 and has the exact (summing) gradient for batch > 1', () => {
    const x = tf.randomNormal([2, 3, 4, 5], 0, 1, 'float32', 9) as tf.Tensor4D;
    const y = upsampleNearest2x(x);
    expect(y.shape).toEqual([2, 6, 8, 5]);
    const xs = x.dataSync();
    const ys = y.dataSync();
    let maxErr = 0;
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 6; i++)
        for (let j = 0; j < 8; j++)
          for (let k = 0; k < 5; k++) {
            const want = xs[((b * 3 + (i >> 1)) * 4 + (j >> 1)) * 5 + k]!;
            maxErr = Math.max(maxErr, Math.abs(ys[((b * 6 + i) * 8 + j) * 5 + k]! - want));
          }
    expect(maxErr).toBe(0);
    const w = tf.randomNormal([2, 6, 8, 5], 0, 1, 'float32', 10);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(upsampleNearest2x(t as tf.Tensor4D), w)))(x).dataSync();
    const ws = w.dataSync();
    let gErr = 0;
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 4; j++)
          for (let k = 0; k < 5; k++) {
            let want = 0;
            for (const di of [0, 1]) for (const dj of [0, 1]) want += ws[((b * 6 + 2 * i + di) * 8 + 2 * j + dj) * 5 + k]!;
            gErr = Math.max(gErr, Math.abs(g[((b * 3 + i) * 4 + j) * 5 + k]! - want));
          }
    expect(gErr).toBeLessThan(1e-5);
    tf.dispose([x, y, w]);
  });
});

describe('Johnson forward against pytorch/examples run by torch', () => {
  // Debian's python3-torch lives in /usr/bin/python3 (a pyenv python3 on PATH may lack it).
  const python = ['/usr/bin/python3', 'python3'].find((p) => spawnSync(p, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0);
  const torch = requirement('python3 with torch (Debian python3-torch)', python === undefined ? 'no python3 here imports torch' : null);
  it.runIf(needs('Johnson forward against torch', torch))('matches within 1e-4 of the output range, for a ×4 size and an odd size', () => {
    const config: NetConfig = { arch: 'johnson', channels: [4, 6, 8], residualBlocks: 2 };
    const net = TransformerNet.create(config, 5);
    // Perturb IN affine parameters so they are exercised too.
    for (const [name, v] of Object.entries(net.namedWeights())) {
      if (name.startsWith('in') || name.includes('.in')) (v as tf.Variable).assign(tf.randomUniform(v.shape, 0.5, 1.5, 'float32', name.length));
    }
    const weights = Object.fromEntries(
      Object.entries(net.namedWeights()).map(([k, v]) => [k, { shape: v.shape, data: Array.from(v.dataSync()) }]),
    );
    for (const [n, h, w] of [
      [2, 12, 16],
      [1, 10, 7],
    ] as const) {
      const x = tf.randomUniform([n, h, w, 3], 0, 255, 'float32', h);
      const ours = net.apply(x as tf.Tensor4D).dataSync();
      const ph = planReflectPad(h, Math.max(8, Math.ceil(h / 4) * 4));
      const pw = planReflectPad(w, Math.max(8, Math.ceil(w / 4) * 4));
      expect(ph.steps.length).toBeLessThanOrEqual(1);
      expect(pw.steps.length).toBeLessThanOrEqual(1);
      const pad = [...(ph.steps[0] ?? [0, 0]), ...(pw.steps[0] ?? [0, 0])];
      const req = JSON.stringify({ ...config, weights, input: { shape: [n, h, w, 3], data: Array.from(x.dataSync()) }, pad });
      const res = spawnSync(python as string, [join(import.meta.dirname, 'fixtures', 'johnson_reference.py')], {
        input: req,
        encoding: 'utf8',
        maxBuffer: 64 << 20,
      });
      expect(res.stderr).toBe('');
      const ref = JSON.parse(res.stdout) as number[];
      expect(ref.length).toBe(ours.length);
      const range = Math.max(...ref) - Math.min(...ref);
      let maxErr = 0;
      for (let i = 0; i < ref.length; i++) maxErr = Math.max(maxErr, Math.abs(ours[i]! - ref[i]!));
      console.log(`johnson vs torch [${n},${h},${w}]: max abs err ${maxErr.toExponential(2)}, output range ${range.toFixed(3)}`);
      expect(maxErr / range).toBeLessThan(1e-4);
      x.dispose();
    }
    net.dispose();
  });
});
