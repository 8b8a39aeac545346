/**
 * Stylising pixels with onnxruntime-node: a checkpoint's network is exported to ONNX in memory (onnx-export.ts) and
 * run in an InferenceSession on the CPU, with the same pre/post-processing as tfjs's `stylizeTensor`
 * (postprocess.ts's padding, @hokusai/model's `finishPixels`), so both engines give the same picture. The one home
 * of onnxruntime session code: the server's inference worker and the CLI's `stylize`/`export` use it (through
 * @hokusai/serve's index).
 */
import { finishPixels, TransformerNet } from '@hokusai/model';
import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { exportOnnx, ONNX_INPUT, ONNX_MIN_SIDE, ONNX_OUTPUT } from '@hokusai/export';
import { cropTopLeft, padToMin, toFloat } from './postprocess.ts';

export type Ort = typeof import('onnxruntime-node');

/** Loads onnxruntime-node (native); throws when its library does not load on this machine. */
export async function loadOnnxRuntime(): Promise<Ort> {
  return import('onnxruntime-node');
}

/** An engine that stylises 8-bit RGB pixels (interleaved, row-major) into new 8-bit RGB pixels of the same size. */
export interface PixelStylizer {
  run(pixels: Uint8Array, width: number, height: number, strength: number, preserveColors: boolean): Promise<Uint8Array>;
  /** Releases the session (and its memory arena). */
  dispose(): Promise<void>;
}

export interface OnnxStylizerOptions {
  /** onnxruntime intra-op threads. */
  threads: number;
  /** Stored in the ONNX model's metadata (shows in onnxruntime's profiling). */
  name?: string;
  /** Extra session options (e.g. memory arena settings), merged over ours. */
  session?: InferenceSession.SessionOptions;
  /** Options for every run (e.g. `extra.memory.enable_memory_arena_shrinkage`). */
  run?: InferenceSession.RunOptions;
}

/**
 * Builds an onnxruntime session for a network, or for an ONNX model it was exported to (exportOnnx's graph I/O).
 * The net is not kept: the caller may dispose of it afterwards.
 */
export async function createOnnxStylizer(ort: Ort, model: TransformerNet | Uint8Array, opts: OnnxStylizerOptions): Promise<PixelStylizer> {
  const bytes = model instanceof TransformerNet ? exportOnnx(model, { metadata: { name: opts.name ?? '' } }) : model;
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: opts.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    ...opts.session,
  });
  return {
    async run(pixels, width, height, strength, preserveColors) {
      const padded = padToMin(pixels, width, height, ONNX_MIN_SIDE);
      const input = new ort.Tensor('float32', toFloat(padded.pixels), [1, padded.height, padded.width, 3]);
      try {
        const out = (await session.run({ [ONNX_INPUT]: input }, opts.run ?? {}))[ONNX_OUTPUT] as OrtTensor;
        const styled = cropTopLeft(out.data as Float32Array, padded.width, width, height);
        out.dispose();
        return finishPixels(styled, pixels, strength, preserveColors);
      } finally {
        input.dispose();
      }
    },
    dispose() {
      return session.release();
    },
  };
}
