/**
 * Our kernel fixes, per backend: which tfjs 4.22 kernels we add or replace, and why. `initBackend` calls
 * `registerKernelFixes` once the backend is set; the replaced built-ins stay reachable through
 * `builtinKernel` (benches compare against them).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterIm2col } from './conv2d-backprop-filter.ts';
export { setIm2colChunkFloats } from './conv2d-backprop-filter.ts';
import { conv2DBackpropInputViaConv } from './conv2d-backprop-input.ts';
import { resizeNearestNeighborGradScatter } from './resize-nearest-grad.ts';
import { makeTileKernel } from './tile.ts';
import { makeSliceKernel } from './slice.ts';
import { makeReduceKernel } from './reduce.ts';

type Impl = typeof conv2DBackpropFilterIm2col;

export interface KernelFix {
  kernelName: string;
  backendName: string;
  /** Our kernel; `makeImpl` variants receive the built-in they replace (to delegate dtypes they do not handle). */
  impl?: Impl;
  makeImpl?: (builtin: tf.KernelConfig | undefined) => Impl;
  why: string;
}

export const KERNEL_FIXES: readonly KernelFix[] = [
  {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    impl: conv2DBackpropFilterIm2col,
    why: 'missing in tfjs-backend-wasm 4.22 (tfjs#8474): im2col + XNNPACK matMul',
  },
  {
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    impl: conv2DBackpropInputViaConv,
    why: 'built-in is a scalar loop: XNNPACK conv2d(s) of the padded dy with the flipped (sub-)filter, one per output phase',
  },
  {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'cpu',
    impl: conv2DBackpropFilterIm2col,
    why: 'built-in is a 7-deep TensorBuffer.get loop: im2col + matMul',
  },
  {
    kernelName: 'Slice',
    backendName: 'wasm',
    makeImpl: makeSliceKernel,
    why: 'built-in copies the whole input out of the heap (readSync) for every slice: contiguous runs, heap to heap',
  },
  {
    kernelName: 'Sum',
    backendName: 'wasm',
    makeImpl: makeReduceKernel('sum'),
    why: 'built-in transposes (~30 ns/element) unless the reduced axes are innermost: [outer, R, inner] reduction',
  },
  {
    kernelName: 'Mean',
    backendName: 'wasm',
    makeImpl: makeReduceKernel('mean'),
    why: 'built-in transposes (~30 ns/element) unless the reduced axes are innermost: [outer, R, inner] reduction',
  },
  {
    kernelName: 'Tile',
    backendName: 'wasm',
    makeImpl: makeTileKernel,
    why: 'built-in computes a multi-index per element (~140 ns/element): contiguous block copies',
  },
  {
    kernelName: 'Tile',
    backendName: 'cpu',
    makeImpl: makeTileKernel,
    why: 'built-in goes through TensorBuffer.get/set per element: contiguous block copies',
  },
  {
    kernelName: 'ResizeNearestNeighborGrad',
    backendName: 'cpu',
    impl: resizeNearestNeighborGradScatter,
    why: 'built-in is wrong for batch > 1 and ignores halfPixelCenters: exact scatter with the forward index formula',
  },
];

const builtins = new Map<string, tf.KernelConfig | undefined>();
const installed = new Set<string>();

/** The tfjs kernel we replaced (undefined where tfjs had none); undefined too if nothing was replaced. */
export function builtinKernel(kernelName: string, backendName: string): tf.KernelConfig | undefined {
  return builtins.get(`${backendName}_${kernelName}`);
}

/** Registers our fixes for `backendName` (idempotent); returns the ones registered. */
export function registerKernelFixes(backendName: string): KernelFix[] {
  const fixes = KERNEL_FIXES.filter((f) => f.backendName === backendName);
  for (const fix of fixes) {
    const key = `${backendName}_${fix.kernelName}`;
    if (installed.has(key)) continue;
    const existing = tf.getKernel(fix.kernelName, backendName);
    builtins.set(key, existing);
    if (existing !== undefined) tf.unregisterKernel(fix.kernelName, backendName);
    const impl = fix.impl ?? fix.makeImpl?.(existing);
    if (impl === undefined) throw new Error(`kernel fix ${key} has no implementation`);
    tf.registerKernel({
      kernelName: fix.kernelName,
      backendName,
      kernelFunc: (args) => impl(args as Parameters<Impl>[0], backendName),
    });
    installed.add(key);
  }
  return fixes;
}

/** Puts the tfjs built-ins back (benches measure before/after with it). */
export function unregisterKernelFixes(backendName: string): void {
  for (const fix of KERNEL_FIXES.filter((f) => f.backendName === backendName)) {
    const key = `${backendName}_${fix.kernelName}`;
    if (!installed.has(key)) continue;
    tf.unregisterKernel(fix.kernelName, backendName);
    const original = builtins.get(key);
    if (original !== undefined) tf.registerKernel(original);
    installed.delete(key);
  }
}
