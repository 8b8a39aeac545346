/**
 * Kernel composition helper: lets one of our kernels call other kernels of the *same* backend directly
 * (below the engine, so nothing is taped or tracked) and dispose every intermediate it made.
 * This is how tfjs' own backends compose kernels (e.g. wasm BatchMatMul calls reshape()).
 */
import * as tf from '@tensorflow/tfjs-core';
import { HokusaiError } from '@hokusai/errors';

export type TensorInfo = tf.TensorInfo;

export class KernelCalls {
  private readonly owned: TensorInfo[] = [];

  constructor(
    readonly backend: tf.KernelBackend,
    readonly backendName: string,
  ) {}

  /** Runs kernel `name` of this backend; the result is disposed by `finish()` unless it is the kept one. */
  run(name: string, inputs: tf.NamedTensorInfoMap | TensorInfo[], attrs: tf.NamedAttrMap = {}): TensorInfo {
    const kernel = tf.getKernel(name, this.backendName);
    if (kernel === undefined) {
      throw new Error(`kernel ${name} is not registered for backend '${this.backendName}' (needed by a Hokusai kernel)`);
    }
    const out = kernel.kernelFunc({ inputs: inputs as tf.NamedTensorInfoMap, backend: this.backend, attrs });
    const info = Array.isArray(out) ? out[0] : out;
    if (info === undefined) throw new Error(`kernel ${name} on '${this.backendName}' returned no output`);
    this.owned.push(info);
    return info;
  }

  /** Takes ownership of a TensorInfo created directly on the backend (disposed by `finish()` unless kept). */
  own(info: TensorInfo): TensorInfo {
    this.owned.push(info);
    return info;
  }

  /** Disposes one intermediate now (to bound peak memory in loops). */
  release(info: TensorInfo): void {
    const i = this.owned.indexOf(info);
    if (i >= 0) {
      this.owned.splice(i, 1);
      this.backend.disposeData(info.dataId);
    }
  }

  /** Disposes every intermediate except `keep` (backends refcount data, so reshapes of `keep` are safe). */
  finish(keep: TensorInfo): TensorInfo {
    for (const info of this.owned) {
      if (info !== keep) this.backend.disposeData(info.dataId);
    }
    this.owned.length = 0;
    return keep;
  }

  /** Disposes every intermediate (on error paths). */
  abort(): void {
    for (const info of this.owned) this.backend.disposeData(info.dataId);
    this.owned.length = 0;
  }
}

/** Float32 view of a tensor's values on the cpu or wasm backend, without copying. */
export function float32View(backend: tf.KernelBackend, backendName: string, info: TensorInfo): Float32Array {
  if (info.dtype !== 'float32') throw new Error(`expected a float32 tensor, got ${info.dtype}`);
  if (backendName === 'wasm') {
    const wasm = backend as unknown as { typedArrayFromHeap(i: TensorInfo): Float32Array };
    return wasm.typedArrayFromHeap(info);
  }
  if (backendName === 'cpu') {
    const cpu = backend as unknown as { data: { get(id: tf.DataId): { values: Float32Array } } };
    return cpu.data.get(info.dataId).values;
  }
  throw new Error(`no direct memory access on backend '${backendName}'`);
}

/** Allocates a float32 output on the cpu or wasm backend and returns it with a writable view of its memory. */
export function allocFloat32(
  backend: tf.KernelBackend,
  backendName: string,
  shape: number[],
): { info: TensorInfo; view: () => Float32Array } {
  if (backendName === 'wasm') {
    const wasm = backend as unknown as {
      makeOutput(shape: number[], dtype: 'float32'): TensorInfo;
      dataIdMap: { get(id: tf.DataId): { memoryOffset: number | null } | undefined };
      disposeData(id: tf.DataId): boolean;
    };
    const info = wasm.makeOutput(shape, 'float32');
    const size = shape.reduce((a, b) => a * b, 1);
    if (size > 0 && !wasm.dataIdMap.get(info.dataId)?.memoryOffset) {
      // malloc returned NULL: the wasm heap (4 GiB at most) is full. Writing there would corrupt memory.
      wasm.disposeData(info.dataId);
      throw new HokusaiError(
        'OUT_OF_MEMORY',
        `wasm heap exhausted: could not allocate ${((size * 4) / 2 ** 20).toFixed(0)} MiB for [${shape.join(',')}] ` +
          '(the wasm backend has at most 4 GiB): use a smaller batch or image size (micro-batches)',
      );
    }
    // The wasm heap can grow (detaching old views) on any later allocation: take views lazily.
    return { info, view: () => float32View(backend, backendName, info) };
  }
  if (backendName === 'cpu') {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const cpu = backend as unknown as { makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo };
    const info = cpu.makeTensorInfo(shape, 'float32', values);
    return { info, view: () => values };
  }
  throw new Error(`no direct memory access on backend '${backendName}'`);
}
