/**
 * Slice for the wasm backend: copies contiguous runs straight between views of the wasm heap.
 *
 * Why: tfjs-backend-wasm 4.22's Slice first calls readSync, which copies the *whole* input out of the heap, for
 * every slice; the tile and reflection-pad gradients of our network slice thin strips off large tensors, so a
 * training step spent more time in Slice than in its instance norms.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type TensorInfo } from './kernel-call.ts';

type NumericArray = Float32Array | Int32Array | Uint8Array;

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
  typedArrayFromHeap(i: TensorInfo): NumericArray;
}

/** Copies the box `begin`/`size` of `src` (shape `shape`) into `dst`, one contiguous run at a time. */
export function sliceInto(src: NumericArray, shape: readonly number[], begin: readonly number[], size: readonly number[], dst: NumericArray): void {
  const rank = shape.length;
  if (rank === 0) {
    dst[0] = src[0] as number;
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = (strides[i + 1] as number) * (shape[i + 1] as number);
  // Axis k: every axis after it is taken whole, so a run spans size[k]·strides[k] elements.
  let k = rank - 1;
  while (k > 0 && begin[k] === 0 && size[k] === shape[k]) k--;
  const run = (size[k] as number) * (strides[k] as number);
  const outer = size.slice(0, k).reduce((a, b) => a * b, 1);
  if (run === 0 || outer === 0) return;
  const idx = new Array<number>(k).fill(0);
  let dstOff = 0;
  for (let o = 0; o < outer; o++) {
    let off = (begin[k] as number) * (strides[k] as number);
    for (let i = 0; i < k; i++) off += ((begin[i] as number) + (idx[i] as number)) * (strides[i] as number);
    dst.set(src.subarray(off, off + run), dstOff);
    dstOff += run;
    for (let i = k - 1; i >= 0; i--) {
      idx[i] = (idx[i] as number) + 1;
      if ((idx[i] as number) < (size[i] as number)) break;
      idx[i] = 0;
    }
  }
}

export function makeSliceKernel(builtin: tf.KernelConfig | undefined) {
  return (
    args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap },
    backendName: string,
  ): TensorInfo => {
    const { x } = args.inputs as { x?: TensorInfo };
    if (x === undefined) throw new Error('Slice: expected input x');
    if (backendName !== 'wasm' || (x.dtype !== 'float32' && x.dtype !== 'int32' && x.dtype !== 'bool')) {
      if (builtin === undefined) throw new Error(`Slice on ${backendName}: dtype ${x.dtype} is not supported`);
      return builtin.kernelFunc(args as never) as TensorInfo;
    }
    const params = tf.slice_util.parseSliceParams(
      x as unknown as tf.Tensor,
      args.attrs?.['begin'] as number[],
      args.attrs?.['size'] as number[],
    );
    const begin = params[0] as number[];
    const size = params[1] as number[];
    tf.slice_util.assertParamsValid(x as unknown as tf.Tensor, begin, size);
    const wasm = args.backend as unknown as WasmBackendLike;
    const out = wasm.makeOutput(size, x.dtype);
    // Views after the allocation: a growing heap detaches older ones.
    sliceInto(wasm.typedArrayFromHeap(x), x.shape, begin, size, wasm.typedArrayFromHeap(out));
    return out;
  };
}
