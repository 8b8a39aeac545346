// The exact MirrorPad gradient (reflection-pad.ts) against a plain-TS reference and finite differences, and
// instance norm against a plain-TS reference.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { instanceNorm, mirrorPadBackward, reflectionPad2d } from '@hokusai/model';
import { InvalidArgumentError } from '@hokusai/errors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Plain reference: index in the source for padded index p along a dimension of size n. */
function srcIndex(p: number, before: number, n: number, mode: 'reflect' | 'symmetric'): number {
  let i = p - before;
  if (i < 0) i = mode === 'reflect' ? -i : -i - 1;
  if (i >= n) i = mode === 'reflect' ? 2 * (n - 1) - i : 2 * n - 1 - i;
  return i;
}

/** Gradient of sum(w ⊙ pad(x)) w.r.t. x for a 4-D NHWC x padded in H and W, by scattering w back. */
function referenceGrad(shape: number[], pads: Array<[number, number]>, w: Float32Array, mode: 'reflect' | 'symmetric'): Float32Array {
  const [n, h, wd, c] = shape as [number, number, number, number];
  const [[pt, pb], [pl, pr]] = [pads[1] as [number, number], pads[2] as [number, number]];
  const ph = h + pt + pb;
  const pw = wd + pl + pr;
  const g = new Float32Array(n * h * wd * c);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < ph; y++)
      for (let x = 0; x < pw; x++)
        for (let k = 0; k < c; k++) {
          const sy = srcIndex(y, pt, h, mode);
          const sx = srcIndex(x, pl, wd, mode);
          g[((b * h + sy) * wd + sx) * c + k]! += w[((b * ph + y) * pw + x) * c + k]!;
        }
  return g;
}

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let err = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
  }
  return err / Math.max(scale, 1e-12);
}

describe('MirrorPad gradient', () => {
  for (const mode of ['reflect', 'symmetric'] as const) {
    it(`${mode}: tf.grad equals the plain scatter reference (uneven pads, batch 2)`, () => {
      const shape = [2, 5, 6, 3];
      const pads: Array<[number, number]> = [
        [0, 0],
        [3, 2],
        [1, 4],
        [0, 0],
      ];
      const before = tf.memory().numTensors;
      const x = tf.randomNormal(shape, 0, 1, 'float32', 1);
      const w = tf.randomNormal([2, 10, 11, 3], 0, 1, 'float32', 2);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(t, pads, mode), w)))(x);
      const ref = referenceGrad(shape, pads, w.dataSync() as Float32Array, mode);
      expect(maxRelErr(g.dataSync(), ref)).toBeLessThan(1e-5);
      tf.dispose([x, w, g]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  it('matches central finite differences of a non-linear loss through reflectionPad2d', () => {
    const x = tf.randomUniform([1, 4, 5, 2], -1, 1, 'float32', 3);
    const f = (t: tf.Tensor): tf.Scalar => tf.sum(tf.square(tf.sin(reflectionPad2d(t as tf.Tensor4D, 2, 3, 3, 1))));
    const g = tf.grad(f)(x).dataSync();
    const xs = x.dataSync() as Float32Array;
    const eps = 1e-2;
    const fd = new Float64Array(xs.length);
    for (let i = 0; i < xs.length; i++) {
      // float64 finite differences on the plain definition, so rounding does not limit the comparison
      const plus = Float64Array.from(xs);
      const minus = Float64Array.from(xs);
      plus[i]! += eps;
      minus[i]! -= eps;
      fd[i] = (plainLoss(plus) - plainLoss(minus)) / (2 * eps);
    }
    function plainLoss(v: Float64Array): number {
      let s = 0;
      for (let y = 0; y < 4 + 5; y++)
        for (let xx = 0; xx < 5 + 4; xx++)
          for (let k = 0; k < 2; k++) {
            const sy = srcIndex(y, 2, 4, 'reflect');
            const sx = srcIndex(xx, 3, 5, 'reflect');
            s += Math.sin(v[(sy * 5 + sx) * 2 + k]!) ** 2;
          }
      return s;
    }
    expect(maxRelErr(g, fd)).toBeLessThan(1e-4);
    x.dispose();
  });

  it("replaces tfjs's lossy gradient (border contributions are kept)", () => {
    // d/dx sum(pad(x)) counts how often each pixel appears; tfjs's own gradient would give all ones.
    const x = tf.ones([1, 3, 1, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(reflectionPad2d(t as tf.Tensor4D, 1, 1, 0, 0)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 3, 1]);
    tf.dispose([x, g]);
  });

  it('reflectionPad2d re-installs the exact gradient if another library registered a lossy one later', () => {
    tf.registerGradient({
      kernelName: tf.MirrorPad,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const { paddings } = attrs as unknown as { paddings: Array<[number, number]> };
        return { x: () => tf.slice(dy as tf.Tensor, paddings.map((p) => p[0]), saved[0]!.shape) };
      },
    });
    const x = tf.ones([1, 3, 1, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(reflectionPad2d(t as tf.Tensor4D, 1, 1, 0, 0)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 3, 1]);
    tf.dispose([x, g]);
  });

  it('mirrorPadBackward of zero pads is the identity', () => {
    const dy = tf.tensor4d([1, 2, 3, 4], [1, 2, 2, 1]);
    const dx = mirrorPadBackward(dy, [1, 2, 2, 1], [[0, 0], [0, 0], [0, 0], [0, 0]], 'reflect');
    expect(Array.from(dx.dataSync())).toEqual([1, 2, 3, 4]);
    tf.dispose([dy, dx]);
  });

  it('reflectionPad2d rejects pads not smaller than the dimension, saying which', () => {
    const x = tf.zeros([1, 3, 2, 1]) as tf.Tensor4D;
    expect(() => reflectionPad2d(x, 1, 1, 2, 0)).toThrow(InvalidArgumentError);
    expect(() => reflectionPad2d(x, 3)).toThrow(/height 3 with pads 3\/3/);
    x.dispose();
  });
});

describe('instanceNorm', () => {
  it('normalises per image and channel with population variance and eps, then scales and shifts', () => {
    const [n, h, w, c] = [2, 3, 4, 2];
    const x = tf.randomNormal([n, h, w, c], 3, 2, 'float32', 5) as tf.Tensor4D;
    const gamma = tf.tensor1d([1.5, -0.5]);
    const beta = tf.tensor1d([0.25, 2]);
    const eps = 1e-3;
    const y = instanceNorm(x, gamma, beta, eps).dataSync();
    const xs = x.dataSync();
    let maxErr = 0;
    for (let b = 0; b < n; b++)
      for (let k = 0; k < c; k++) {
        let mean = 0;
        for (let i = 0; i < h * w; i++) mean += xs[(b * h * w + i) * c + k]!;
        mean /= h * w;
        let v = 0;
        for (let i = 0; i < h * w; i++) v += (xs[(b * h * w + i) * c + k]! - mean) ** 2;
        v /= h * w;
        for (let i = 0; i < h * w; i++) {
          const idx = (b * h * w + i) * c + k;
          const want = [1.5, -0.5][k]! * ((xs[idx]! - mean) / Math.sqrt(v + eps)) + [0.25, 2][k]!;
          maxErr = Math.max(maxErr, Math.abs(y[idx]! - want));
        }
      }
    expect(maxErr).toBeLessThan(1e-4);
    tf.dispose([x, gamma, beta]);
  });
});
