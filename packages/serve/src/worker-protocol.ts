/**
 * Messages between the server's main thread and its inference workers (worker_threads). Pixels travel as
 * transferred ArrayBuffers (no copy). Checkpoint bytes come from the registry (read from the checkpoints
 * directory), never from a request.
 */
import type { ErrorCode } from '@hokusai/errors';
import type { CheckpointFiles } from '@hokusai/model';
import type { EngineChoice } from './stylize-engines.ts';

/** The engines a worker runs (what `--engine auto` became, or what onnx fell back to). */
export const ENGINE_NAMES = ['gpu', 'onnx', 'onnx-webgpu', 'tfjs'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

export interface WorkerInit {
  /** What --engine asked for; the worker says in 'ready' what it runs. */
  engine: EngineChoice;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  threads: number;
  warmupSize: number;
  /** ms without a request after which a worker gives back the memory large images grew (0 = never). */
  idleReleaseMs: number;
}

export type ToWorker =
  | { type: 'load'; id: string; version: number; files: CheckpointFiles }
  | { type: 'unload'; id: string }
  /** Finish queued messages, release every model, end the thread (terminating a thread inside onnxruntime aborts the process). */
  | { type: 'close' }
  | {
      type: 'run';
      job: number;
      id: string;
      /** RGB interleaved 8-bit, height × width × 3. */
      pixels: Uint8Array;
      width: number;
      height: number;
      strength: number;
      preserveColors: boolean;
    };

export interface WireError {
  code: ErrorCode;
  message: string;
}

export type FromWorker =
  | { type: 'ready'; engine: EngineName; detail: string }
  | { type: 'init-failed'; error: WireError }
  | {
      type: 'loaded';
      id: string;
      version: number;
      ok: true;
      engine: EngineName;
      meta: Record<string, unknown>;
      config: Record<string, unknown>;
      warmupMs: number;
      /** The same network with float16 weights (browser download half the size), when every weight fits. */
      float16?: CheckpointFiles;
    }
  | { type: 'loaded'; id: string; version: number; ok: false; error: WireError }
  | { type: 'result'; job: number; ok: true; pixels: Uint8Array; inferenceMs: number; engine: EngineName }
  | { type: 'result'; job: number; ok: false; error: WireError };
