// Our kernels (packages/tfjs-kernels/src) against the plain-loop references in kernel-reference.ts, on every
// backend each is registered for (cpu, wasm): strides 1 and 2, SAME / VALID / explicit padding, odd sizes,
// batch > 1, 1×1 to 9×9 filters, chunked im2col; plus no tensor or backend-memory leaks.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@hokusai/node';
import { setIm2colChunkFloats, KERNEL_FIXES } from '../src/index.ts';
import {
  tileRef,
  conv2dBackpropFilterRef,
  conv2dBackpropInputRef,
  randomValues,
  relativeError,
  resizeNearestGradRef,
  type ConvGeometry,
} from './kernel-reference.ts';

type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  N: number;
  H: number;
  W: number;
  Ci: number;
  Co: number;
  KH: number;
  KW: number;
  strides: [number, number];
  pad: Pad;
}

const CASES: Case[] = [
  { N: 2, H: 7, W: 5, Ci: 3, Co: 4, KH: 3, KW: 3, strides: [1, 1], pad: 'same' },
  { N: 3, H: 8, W: 6, Ci: 5, Co: 2, KH: 3, KW: 3, strides: [2, 2], pad: 'same' },
  { N: 2, H: 9, W: 7, Ci: 4, Co: 3, KH: 3, KW: 3, strides: [2, 2], pad: 'valid' },
  { N: 2, H: 9, W: 9, Ci: 3, Co: 2, KH: 4, KW: 4, strides: [2, 2], pad: 'same' },
  { N: 1, H: 11, W: 10, Ci: 3, Co: 8, KH: 9, KW: 9, strides: [1, 1], pad: 'same' },
  { N: 2, H: 6, W: 7, Ci: 2, Co: 3, KH: 3, KW: 2, strides: [2, 1], pad: [[0, 0], [1, 2], [3, 0], [0, 0]] },
  { N: 2, H: 5, W: 5, Ci: 6, Co: 4, KH: 1, KW: 1, strides: [1, 1], pad: 'valid' },
  { N: 3, H: 13, W: 11, Ci: 8, Co: 5, KH: 3, KW: 3, strides: [1, 1], pad: [[0, 0], [1, 1], [1, 1], [0, 0]] },
  { N: 2, H: 7, W: 6, Ci: 3, Co: 2, KH: 1, KW: 1, strides: [2, 2], pad: 'valid' },
  { N: 1, H: 10, W: 11, Ci: 2, Co: 3, KH: 5, KW: 4, strides: [3, 2], pad: 'same' },
];

/** Output size and leading padding by the TensorFlow rules, computed here independently of tfjs. */
function geometry(c: Case): ConvGeometry {
  const [sh, sw] = c.strides;
  const dim = (size: number, k: number, s: number, explicit?: [number, number]): [number, number] => {
    if (explicit !== undefined) return [Math.floor((size + explicit[0] + explicit[1] - k) / s) + 1, explicit[0]];
    if (c.pad === 'valid') return [Math.ceil((size - k + 1) / s), 0];
    const out = Math.ceil(size / s);
    return [out, Math.floor(Math.max((out - 1) * s + k - size, 0) / 2)];
  };
  const [OH, top] = dim(c.H, c.KH, sh, Array.isArray(c.pad) ? c.pad[1] : undefined);
  const [OW, left] = dim(c.W, c.KW, sw, Array.isArray(c.pad) ? c.pad[2] : undefined);
  return { N: c.N, H: c.H, W: c.W, Ci: c.Ci, Co: c.Co, KH: c.KH, KW: c.KW, sh, sw, top, left, OH, OW };
}

function label(c: Case): string {
  const pad = Array.isArray(c.pad) ? `explicit ${JSON.stringify(c.pad.slice(1, 3))}` : c.pad;
  return `N${c.N} ${c.H}×${c.W}×${c.Ci}→${c.Co} k${c.KH}×${c.KW} s${c.strides.join('×')} ${pad}`;
}

function backendDataIds(): number {
  return tf.engine().backend.numDataIds();
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`our kernels on ${backend}`, () => {
    beforeAll(async () => {
      const info = await initBackend(backend);
      expect(info.name).toBe(backend);
    });

    it('registers the fixes listed for this backend', () => {
      const names = KERNEL_FIXES.filter((f) => f.backendName === backend).map((f) => f.kernelName);
      expect(names.length).toBeGreaterThan(0);
      for (const name of names) expect(tf.getKernel(name, backend)).toBeDefined();
    });

    for (const c of CASES) {
      const g = geometry(c);
      const x = randomValues(c.N * c.H * c.W * c.Ci, 1 + c.H * 7 + c.KH);
      const w = randomValues(c.KH * c.KW * c.Ci * c.Co, 2 + c.W * 5 + c.Co);
      const dy = randomValues(c.N * g.OH * g.OW * c.Co, 3 + c.Ci * 11 + c.N);

      it(`Conv2DBackpropFilter ${label(c)}`, () => {
        const want = conv2dBackpropFilterRef(g, x, dy);
        const tensors0 = tf.memory().numTensors;
        const ids0 = backendDataIds();
        const run = (): Float32Array =>
          tf.tidy(() => {
            const xt = tf.tensor4d(x, [c.N, c.H, c.W, c.Ci]);
            const dyt = tf.tensor4d(dy, [c.N, g.OH, g.OW, c.Co]);
            const out = tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: dyt }, {
              strides: c.strides,
              pad: c.pad,
              dataFormat: 'NHWC',
              filterShape: [c.KH, c.KW, c.Ci, c.Co],
            }) as tf.Tensor;
            expect(out.shape).toEqual([c.KH, c.KW, c.Ci, c.Co]);
            return out.dataSync() as Float32Array;
          });
        expect(relativeError(run(), want)).toBeLessThan(1e-4);
        // Chunked im2col (a few output rows per chunk) must give the same answer.
        const previous = setIm2colChunkFloats(c.KH * c.KW * c.Ci * g.OW * 2);
        try {
          expect(relativeError(run(), want)).toBeLessThan(1e-4);
        } finally {
          setIm2colChunkFloats(previous);
        }
        expect(tf.memory().numTensors).toBe(tensors0);
        expect(backendDataIds()).toBe(ids0);
      });

      it(`Conv2DBackpropInput ${label(c)}`, () => {
        const want = conv2dBackpropInputRef(g, dy, w);
        const tensors0 = tf.memory().numTensors;
        const ids0 = backendDataIds();
        const got = tf.tidy(() => {
          const dyt = tf.tensor4d(dy, [c.N, g.OH, g.OW, c.Co]);
          const wt = tf.tensor4d(w, [c.KH, c.KW, c.Ci, c.Co]);
          const out = tf.engine().runKernel('Conv2DBackpropInput', { dy: dyt, filter: wt }, {
            strides: c.strides,
            pad: c.pad,
            dataFormat: 'NHWC',
            inputShape: [c.N, c.H, c.W, c.Ci],
          }) as tf.Tensor;
          expect(out.shape).toEqual([c.N, c.H, c.W, c.Ci]);
          return out.dataSync() as Float32Array;
        });
        expect(relativeError(got, want)).toBeLessThan(1e-4);
        expect(tf.memory().numTensors).toBe(tensors0);
        expect(backendDataIds()).toBe(ids0);
      });
    }

    const TILES: { shape: number[]; reps: number[] }[] = [
      { shape: [5], reps: [3] },
      { shape: [2, 3], reps: [1, 1] },
      { shape: [3, 1, 4], reps: [2, 3, 1] },
      { shape: [6, 5, 1, 3], reps: [1, 1, 2, 1] },
      { shape: [2, 3, 1, 15], reps: [1, 1, 2, 1] },
      { shape: [2, 3, 2, 2, 3], reps: [2, 1, 3, 1, 2] },
      { shape: [2, 0, 3], reps: [2, 2, 2] },
    ];
    for (const t of TILES) {
      for (const dtype of ['float32', 'int32', 'bool'] as const) {
        it(`Tile ${dtype} [${t.shape.join(',')}] × [${t.reps.join(',')}]`, () => {
          const size = t.shape.reduce((a, b) => a * b, 1);
          const raw = randomValues(size, size + 3);
          const values = dtype === 'float32' ? raw : Int32Array.from(raw, (v) => (dtype === 'bool' ? (v > 0 ? 1 : 0) : Math.round(v * 100)));
          const ids0 = backendDataIds();
          const got = tf.tidy(() => Array.from(tf.tile(tf.tensor(values, t.shape, dtype), t.reps).dataSync()));
          expect(got).toEqual(Array.from(tileRef(Array.from(values), t.shape, t.reps)));
          expect(backendDataIds()).toBe(ids0);
        });
      }
    }

    const SLICES: { shape: number[]; begin: number[]; size: number[] }[] = [
      { shape: [7], begin: [2], size: [4] },
      { shape: [4, 5], begin: [1, 0], size: [2, 5] },
      { shape: [4, 5], begin: [1, 2], size: [3, -1] },
      { shape: [2, 6, 5, 3], begin: [0, 1, 0, 0], size: [2, 4, 5, 3] },
      { shape: [3, 6, 5, 3], begin: [1, 2, 1, 1], size: [2, 3, 3, 2] },
      { shape: [2, 6, 5, 3], begin: [0, 0, 4, 0], size: [-1, -1, 1, -1] },
      { shape: [2, 3, 4, 2, 3], begin: [1, 0, 1, 0, 2], size: [1, 3, 2, 2, 1] },
      { shape: [2, 3, 4], begin: [0, 1, 0], size: [2, 0, 4] },
    ];
    for (const c of SLICES) {
      it(`Slice [${c.shape.join(',')}] begin [${c.begin.join(',')}] size [${c.size.join(',')}]`, () => {
        const n = c.shape.reduce((a, b) => a * b, 1);
        const values = randomValues(n, n + 1);
        const size = c.size.map((s, i) => (s === -1 ? (c.shape[i] as number) - (c.begin[i] as number) : s));
        const want: number[] = [];
        const total = size.reduce((a, b) => a * b, 1);
        for (let flat = 0; flat < total; flat++) {
          let rem = flat;
          let src = 0;
          let stride = 1;
          const idx: number[] = [];
          for (let i = size.length - 1; i >= 0; i--) {
            idx[i] = rem % (size[i] as number);
            rem = Math.floor(rem / (size[i] as number));
          }
          for (let i = c.shape.length - 1; i >= 0; i--) {
            src += ((c.begin[i] as number) + (idx[i] as number)) * stride;
            stride *= c.shape[i] as number;
          }
          want.push(values[src] as number);
        }
        const ids0 = backendDataIds();
        const got = tf.tidy(() => Array.from(tf.slice(tf.tensor(values, c.shape), c.begin, c.size).dataSync()));
        expect(got).toEqual(want);
        expect(backendDataIds()).toBe(ids0);
      });
    }

    for (const [shape, axis, keepDims] of [
      [[2, 5, 4, 3], [1, 2], false],
      [[2, 5, 4, 3], [0, 1, 2], false],
      [[2, 5, 4, 3], [1, 2], true],
      [[2, 5, 4, 3], [3], false],
      [[2, 5, 4, 3], [0, 2], false],
      [[6, 7], null, false],
      [[3, 0, 2], [1], false],
    ] as [number[], number[] | null, boolean][]) {
      // Mean over an empty axis differs between built-ins (cpu: not NaN); only Sum is checked there.
      for (const kind of shape.includes(0) ? (['sum'] as const) : (['sum', 'mean'] as const)) {
        it(`${kind} [${shape.join(',')}] axes ${JSON.stringify(axis)} keepDims=${keepDims}`, () => {
          const n = shape.reduce((a, b) => a * b, 1);
          const values = randomValues(n, n + 5);
          const reduced = axis ?? shape.map((_, i) => i);
          const outShape = shape.map((d, i) => (reduced.includes(i) ? 1 : d));
          const R = reduced.reduce((p, a) => p * (shape[a] as number), 1);
          const want = new Float64Array(outShape.reduce((a, b) => a * b, 1));
          for (let flat = 0; flat < n; flat++) {
            let rem = flat;
            const idx: number[] = [];
            for (let i = shape.length - 1; i >= 0; i--) {
              idx[i] = rem % (shape[i] as number);
              rem = Math.floor(rem / (shape[i] as number));
            }
            let o = 0;
            for (let i = 0; i < shape.length; i++) o = o * (outShape[i] as number) + (reduced.includes(i) ? 0 : (idx[i] as number));
            want[o] = (want[o] as number) + (values[flat] as number);
          }
          if (kind === 'mean') for (let i = 0; i < want.length; i++) want[i] = (want[i] as number) / R;
          const ids0 = backendDataIds();
          const got = tf.tidy(() => {
            const t = tf.tensor(values, shape);
            const r = kind === 'sum' ? tf.sum(t, axis ?? undefined, keepDims) : tf.mean(t, axis ?? undefined, keepDims);
            expect(r.shape).toEqual(keepDims ? outShape : shape.filter((_, i) => !reduced.includes(i)));
            return r.dataSync() as Float32Array;
          });
          expect(relativeError(got, Float32Array.from(want))).toBeLessThan(1e-4);
          expect(backendDataIds()).toBe(ids0);
        });
      }
    }

    it('Tile gradient (used by the network\'s nearest upsampling) sums the copies', () => {
      const x = randomValues(2 * 3 * 1 * 4, 9);
      const dy = randomValues(2 * 6 * 2 * 4, 10);
      const got = tf.tidy(() =>
        tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.tile(t, [1, 2, 2, 1]), tf.tensor4d(dy, [2, 6, 2, 4]))))(tf.tensor4d(x, [2, 3, 1, 4])).dataSync(),
      );
      const want = new Float32Array(x.length);
      for (let n = 0; n < 2; n++)
        for (let h = 0; h < 6; h++)
          for (let w = 0; w < 2; w++)
            for (let c = 0; c < 4; c++) {
              const i = ((n * 3 + (h % 3)) * 1 + 0) * 4 + c;
              want[i] = (want[i] as number) + (dy[((n * 6 + h) * 2 + w) * 4 + c] as number);
            }
      expect(relativeError(got, want)).toBeLessThan(1e-4);
    });

    it('tf.grads of conv2d (the path training takes) matches the references', () => {
      const c = CASES[1] as Case;
      const g = geometry(c);
      const x = randomValues(c.N * c.H * c.W * c.Ci, 41);
      const w = randomValues(c.KH * c.KW * c.Ci * c.Co, 42);
      const dy = randomValues(c.N * g.OH * g.OW * c.Co, 43);
      const [dx, dw] = tf.tidy(() => {
        const f = (xt: tf.Tensor, wt: tf.Tensor): tf.Tensor =>
          tf.sum(tf.mul(tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, c.strides, 'same'), tf.tensor4d(dy, [c.N, g.OH, g.OW, c.Co])));
        const grads = tf.grads(f)([tf.tensor4d(x, [c.N, c.H, c.W, c.Ci]), tf.tensor4d(w, [c.KH, c.KW, c.Ci, c.Co])]);
        return grads.map((t) => t.dataSync() as Float32Array);
      });
      expect(relativeError(dx as Float32Array, conv2dBackpropInputRef(g, dy, w))).toBeLessThan(1e-4);
      expect(relativeError(dw as Float32Array, conv2dBackpropFilterRef(g, x, dy))).toBeLessThan(1e-4);
    });

    it('rejects NCHW with a message saying what was expected', () => {
      expect(() =>
        tf.tidy(() =>
          tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.zeros([1, 1, 4, 4]), dy: tf.zeros([1, 1, 4, 4]) }, {
            strides: [1, 1],
            pad: 'same',
            dataFormat: 'NCHW',
            filterShape: [3, 3, 1, 1],
          }),
        ),
      ).toThrow(/expected dataFormat NHWC/);
    });
  });
}

describe('Tile on cpu falls back to the built-in for strings', () => {
  it('tiles a string tensor', async () => {
    await initBackend('cpu');
    const got = tf.tidy(() => tf.tile(tf.tensor(['a', 'b'], [2], 'string'), [2]).dataSync());
    expect(Array.from(got as unknown as string[])).toEqual(['a', 'b', 'a', 'b']);
  });
});

describe('ResizeNearestNeighborGrad on cpu (ours)', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });
  afterAll(() => undefined);

  const shapes: { inH: number; inW: number; outH: number; outW: number }[] = [
    { inH: 4, inW: 5, outH: 8, outW: 10 },
    { inH: 5, inW: 3, outH: 7, outW: 8 },
    { inH: 6, inW: 7, outH: 3, outW: 4 },
  ];
  for (const s of shapes) {
    for (const [alignCorners, halfPixelCenters] of [
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      it(`batch 3, ${s.inH}×${s.inW}→${s.outH}×${s.outW}, alignCorners=${alignCorners}, halfPixelCenters=${halfPixelCenters}`, () => {
        const N = 3;
        const C = 2;
        const x = randomValues(N * s.inH * s.inW * C, 7);
        const dy = randomValues(N * s.outH * s.outW * C, 8);
        const want = resizeNearestGradRef(dy, [N, s.outH, s.outW, C], s.inH, s.inW, alignCorners, halfPixelCenters);
        const tensors0 = tf.memory().numTensors;
        const got = tf.tidy(() => {
          const f = (img: tf.Tensor): tf.Tensor =>
            tf.sum(
              tf.mul(
                tf.image.resizeNearestNeighbor(img as tf.Tensor4D, [s.outH, s.outW], alignCorners, halfPixelCenters),
                tf.tensor4d(dy, [N, s.outH, s.outW, C]),
              ),
            );
          return tf.grad(f)(tf.tensor4d(x, [N, s.inH, s.inW, C])).dataSync() as Float32Array;
        });
        expect(relativeError(got, want)).toBeLessThan(1e-4);
        expect(tf.memory().numTensors).toBe(tensors0);
      });
    }
  }
});
