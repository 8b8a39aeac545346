/**
 * Tile for the cpu and wasm backends by contiguous block copies: working from the innermost tiled axis outwards,
 * each row of the (already tiled) inner block is copied reps[i] times with TypedArray.set (memcpy speed).
 *
 * Why: tfjs 4.22's wasm Tile computes a multi-index per output element (~140 ns/element measured here) and the
 * cpu one goes through TensorBuffer.get/set; our network's nearest ×2 upsampling (reshape + tile, see
 * @hokusai/model upsampleNearest2x) spent as long in Tile as in all its convolutions on wasm.
 */
import * as tf from '@tensorflow/tfjs-core';
import { type TensorInfo } from './kernel-call.ts';

type NumericArray = Float32Array | Int32Array | Uint8Array;

function numericView(backend: tf.KernelBackend, backendName: string, info: TensorInfo): NumericArray | undefined {
  if (info.dtype !== 'float32' && info.dtype !== 'int32' && info.dtype !== 'bool') return undefined;
  if (backendName === 'wasm') {
    return (backend as unknown as { typedArrayFromHeap(i: TensorInfo): NumericArray }).typedArrayFromHeap(info);
  }
  if (backendName === 'cpu') {
    const values = (backend as unknown as { data: { get(id: tf.DataId): { values: unknown } } }).data.get(info.dataId).values;
    return values instanceof Float32Array || values instanceof Int32Array || values instanceof Uint8Array ? values : undefined;
  }
  return undefined;
}

function emptyLike(a: NumericArray, n: number): NumericArray {
  if (a instanceof Float32Array) return new Float32Array(n);
  if (a instanceof Int32Array) return new Int32Array(n);
  return new Uint8Array(n);
}

/** Tiles `src` (shape `shape`) by `reps` into a fresh array of the same type. */
export function tileValues(src: NumericArray, shape: readonly number[], reps: readonly number[]): NumericArray {
  let cur = src;
  // inner = elements of one (already tiled) slice below axis i.
  let inner = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i] as number;
    const r = reps[i] as number;
    const block = d * inner;
    if (r !== 1) {
      const rows = block === 0 ? 0 : cur.length / block;
      const next = emptyLike(cur, cur.length * r);
      for (let row = 0; row < rows; row++) {
        const piece = cur.subarray(row * block, (row + 1) * block);
        const base = row * block * r;
        for (let k = 0; k < r; k++) next.set(piece, base + k * block);
      }
      cur = next;
    }
    inner = block * r;
  }
  return cur === src ? src.slice() : cur;
}

export function makeTileKernel(builtin: tf.KernelConfig | undefined) {
  return (
    args: { inputs: tf.NamedTensorInfoMap; backend: tf.KernelBackend; attrs?: tf.NamedAttrMap },
    backendName: string,
  ): TensorInfo => {
    const { x } = args.inputs as { x?: TensorInfo };
    if (x === undefined) throw new Error('Tile: expected input x');
    const reps = (args.attrs?.['reps'] ?? []) as number[];
    if (reps.length !== x.shape.length) {
      throw new Error(`Tile: expected ${x.shape.length} reps for a rank-${x.shape.length} tensor, got [${reps.join(',')}]`);
    }
    const view = numericView(args.backend, backendName, x);
    if (view === undefined) {
      // Strings / complex: the built-in handles them.
      if (builtin === undefined) throw new Error(`Tile on ${backendName}: dtype ${x.dtype} is not supported`);
      return builtin.kernelFunc(args as never) as TensorInfo;
    }
    const outShape = x.shape.map((d, i) => d * (reps[i] as number));
    const values = tileValues(view, x.shape, reps);
    if (backendName === 'wasm') {
      const wasm = args.backend as unknown as {
        makeOutput(shape: number[], dtype: tf.DataType): TensorInfo;
        typedArrayFromHeap(i: TensorInfo): NumericArray;
      };
      const out = wasm.makeOutput(outShape, x.dtype);
      wasm.typedArrayFromHeap(out).set(values);
      return out;
    }
    const cpu = args.backend as unknown as { makeTensorInfo(shape: number[], dtype: tf.DataType, values: NumericArray): TensorInfo };
    return cpu.makeTensorInfo(outShape, x.dtype, values);
  };
}
