/**
 * Sum and Mean over a contiguous block of axes for the wasm backend: the input is viewed as [outer, R, inner]
 * and reduced in place order (inner loop contiguous, float64 accumulators), no transpose.
 *
 * Why: tfjs-backend-wasm 4.22 transposes the input whenever the reduced axes are not the innermost ones, and its
 * Transpose moves ~30 ns per element here. Instance norm (mean over H, W of NHWC) and every bias gradient (sum
 * over N, H, W) are exactly that case. Other axis sets and non-float32 dtypes go to the built-in.
 */
import * as tf from '@tensorflow/tfjs-core';
import { allocFloat32, float32View, type TensorInfo } from './kernel-call.ts';

/** out[o·inner + i] = Σ_r src[(o·R + r)·inner + i], accumulated in float64. */
export function reduceMiddle(src: Float32Array, outer: number, R: number, inner: number, scale: number, dst: Float32Array): void {
  const acc = new Float64Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    let off = o * R * inner;
    for (let r = 0; r < R; r++, off += inner) {
      for (let i = 0; i < inner; i++) acc[i] = (acc[i] as number) + (src[off + i] as number);
    }
    const base = o * inner;
    for (let i = 0; i < inner; i++) dst[base + i] = (acc[i] as number) * scale;
  }
}

export function makeReduceKernel(kind: 'sum' | 'mean') {
  return (builtin: tf.KernelConfig | undefined) =>
    (
      args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap },
      backendName: string,
    ): TensorInfo => {
      const { x } = args.inputs as { x?: TensorInfo };
      if (x === undefined) throw new Error(`${kind}: expected input x`);
      const fallback = (): TensorInfo => {
        if (builtin === undefined) throw new Error(`${kind} on ${backendName}: unsupported input`);
        return builtin.kernelFunc(args as never) as TensorInfo;
      };
      if (x.dtype !== 'float32' || x.shape.length === 0) return fallback();
      const rank = x.shape.length;
      const axes = [...new Set(tf.util.parseAxisParam((args.attrs?.['axis'] ?? null) as number | number[], x.shape))].sort(
        (a, b) => a - b,
      );
      if (axes.length === 0) return fallback();
      const lo = axes[0] as number;
      const hi = axes[axes.length - 1] as number;
      if (hi - lo + 1 !== axes.length) return fallback(); // not one contiguous block of axes
      const prod = (from: number, to: number): number => x.shape.slice(from, to).reduce((a, b) => a * b, 1);
      const outer = prod(0, lo);
      const R = prod(lo, hi + 1);
      const inner = prod(hi + 1, rank);
      const keepDims = Boolean(args.attrs?.['keepDims']);
      const outShape = keepDims
        ? x.shape.map((d, i) => (i >= lo && i <= hi ? 1 : d))
        : x.shape.filter((_, i) => i < lo || i > hi);
      const out = allocFloat32(args.backend, backendName, outShape);
      const dst = out.view();
      if (R === 0) {
        dst.fill(kind === 'sum' ? 0 : NaN);
        return out.info;
      }
      reduceMiddle(float32View(args.backend, backendName, x), outer, R, inner, kind === 'mean' ? 1 / R : 1, dst);
      return out.info;
    };
}
