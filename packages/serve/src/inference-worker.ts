/**
 * Inference worker (one worker_thread): holds every loaded style, as an onnxruntime session built from the
 * checkpoint by our ONNX exporter (engine 'onnx') or as a tfjs TransformerNet (engine 'tfjs', or when
 * onnxruntime-node does not load), and stylises the pixels the main thread sends, so inference never runs on the
 * server's event loop. The onnxruntime sessions are onnx-stylizer.ts's. Started by worker-pool.ts (from source
 * through tsx + resolve hooks; in the CLI bundle, the bundle itself is the worker).
 * Memory: an onnxruntime session's CPU arena grows to the largest image it ran (about 600 MB for a full network at
 * 1024² px) and never shrinks; after `idleReleaseMs` without a request, sessions that ran more than the warm-up
 * size are rebuilt, which hands that memory back (measured in docs/serve.md, "Memory").
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { parseCheckpoint, serializeCheckpoint, stylizeTensor, TransformerNet, type CheckpointFiles } from '@hokusai/model';
import { HokusaiError, type ErrorCode } from '@hokusai/errors';
import { initBackend } from '@hokusai/node';
import { exportOnnx } from '@hokusai/export';
import { createOnnxStylizer, loadOnnxRuntime, type Ort } from './onnx-stylizer.ts';
import { toFloat } from './postprocess.ts';
import type { EngineName, FromWorker, ToWorker, WireError, WorkerInit } from './worker-protocol.ts';

interface Model {
  run(pixels: Uint8Array, width: number, height: number, strength: number, preserveColors: boolean): Promise<Uint8Array>;
  dispose(): void;
  /** Gives back memory that runs larger than the warm-up grew (onnx: rebuilds the session); no-op when none. */
  shrink(): Promise<void>;
  /** Runs in progress; a replaced model is disposed when this reaches 0. */
  active: number;
  retired: boolean;
}

const port = parentPort;
if (!port) throw new Error('inference-worker must run in a worker thread');
const init = workerData as WorkerInit;
const send = (m: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

function wire(error: unknown): WireError {
  if (error instanceof HokusaiError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  const code: ErrorCode = /memory|alloc/i.test(message) ? 'OUT_OF_MEMORY' : 'INTERNAL';
  return { code, message };
}

let ort: Ort | undefined;
let engine: EngineName = init.engine;
const models = new Map<string, Model>();

async function setUp(): Promise<string> {
  // tfjs is needed in both engines (checkpoint parsing; the tfjs engine runs on it).
  const b = await initBackend(engine === 'tfjs' ? init.backend : 'cpu');
  const backendInfo = `tfjs ${b.name} (${b.reason})`;
  if (engine === 'onnx') {
    try {
      ort = await loadOnnxRuntime();
      return `onnxruntime-node ${ort.env.versions.common ?? ''} (${init.threads} thread(s)); ${backendInfo} for parsing`;
    } catch (error) {
      engine = 'tfjs';
      return `onnxruntime-node did not load (${(error as Error).message}); using ${backendInfo}`;
    }
  }
  return backendInfo;
}

async function onnxModel(net: TransformerNet, meta: Record<string, unknown>): Promise<Model> {
  const o = ort as Ort;
  const bytes = exportOnnx(net, { metadata: { name: String(meta.name ?? '') } });
  const create = () => createOnnxStylizer(o, bytes, { threads: init.threads });
  let stylizer = await create();
  let grown = false;
  return {
    active: 0,
    retired: false,
    run(pixels, width, height, strength, preserveColors) {
      grown ||= width * height > init.warmupSize * init.warmupSize;
      return stylizer.run(pixels, width, height, strength, preserveColors);
    },
    dispose() {
      void stylizer.dispose();
    },
    async shrink() {
      if (!grown) return;
      const old = stylizer;
      stylizer = await create();
      grown = false;
      await old.dispose();
    },
  };
}

function tfjsModel(net: TransformerNet): Model {
  return {
    active: 0,
    retired: false,
    async run(pixels, width, height, strength, preserveColors) {
      const out = tf.tidy(() => stylizeTensor(net, tf.tensor3d(toFloat(pixels), [height, width, 3]), { strength, preserveColors }));
      try {
        const values = await out.data();
        const result = new Uint8Array(values.length);
        for (let i = 0; i < values.length; i++) result[i] = Math.round(values[i]!);
        return result;
      } finally {
        out.dispose();
      }
    },
    dispose() {
      net.dispose();
    },
    // tfjs: the cpu backend's arrays are garbage-collected; the wasm heap never shrinks (see docs/serve.md).
    async shrink() {},
  };
}

function release(model: Model): void {
  if (model.retired && model.active === 0) model.dispose();
}

async function load(id: string, version: number, files: CheckpointFiles) {
  let net: TransformerNet | undefined;
  try {
    const parsed = parseCheckpoint(files);
    net = parsed.net;
    const meta = parsed.meta as Record<string, unknown>;
    let float16: CheckpointFiles | undefined;
    try {
      float16 = serializeCheckpoint(net, parsed.meta, { float16: true });
    } catch {
      float16 = undefined; // a weight beyond float16's range: no half-size variant
    }
    const model = engine === 'onnx' ? await onnxModel(net, meta) : tfjsModel(net);
    if (engine === 'onnx') {
      net.dispose();
      net = undefined;
    }
    const started = performance.now();
    const s = init.warmupSize;
    await model.run(new Uint8Array(s * s * 3).fill(128), s, s, 1, false);
    const warmupMs = performance.now() - started;
    const previous = models.get(id);
    models.set(id, model);
    if (previous) {
      previous.retired = true;
      release(previous);
    }
    send({ type: 'loaded', id, version, ok: true, engine, meta, config: { ...parsed.net.config }, warmupMs, ...(float16 ? { float16 } : {}) });
  } catch (error) {
    net?.dispose();
    send({ type: 'loaded', id, version, ok: false, error: wire(error) });
  }
}

async function run(m: Extract<ToWorker, { type: 'run' }>) {
  const model = models.get(m.id);
  if (!model) {
    send({ type: 'result', job: m.job, ok: false, error: { code: 'NOT_FOUND', message: `Style "${m.id}" is not loaded in this worker` } });
    return;
  }
  model.active++;
  const started = performance.now();
  try {
    const pixels = await model.run(m.pixels, m.width, m.height, m.strength, m.preserveColors);
    const inferenceMs = performance.now() - started;
    send({ type: 'result', job: m.job, ok: true, pixels, inferenceMs, engine }, [pixels.buffer as ArrayBuffer]);
  } catch (error) {
    send({ type: 'result', job: m.job, ok: false, error: wire(error) });
  } finally {
    model.active--;
    release(model);
  }
}

const ready = setUp().then(
  (detail) => send({ type: 'ready', engine, detail }),
  (error: unknown) => send({ type: 'init-failed', error: wire(error) }),
);

// Messages are handled one at a time, in order, after set-up (a load never interleaves with a run).
let chain: Promise<void> = ready;
let idleTimer: NodeJS.Timeout | undefined;

/** (Re)starts the idle countdown; when it ends, every model gives back what large runs grew. */
function armIdleRelease(): void {
  clearTimeout(idleTimer);
  if (init.idleReleaseMs <= 0) return;
  idleTimer = setTimeout(() => {
    chain = chain.then(async () => {
      // A rebuild that fails keeps the old session (still grown): the next idle period tries again.
      for (const model of models.values()) if (!model.retired) await model.shrink().catch(() => {});
    });
  }, init.idleReleaseMs);
  idleTimer.unref();
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'run') clearTimeout(idleTimer); // no release while a request runs; the countdown restarts after it
  chain = chain.then(async () => {
    if (m.type === 'load') await load(m.id, m.version, m.files);
    else if (m.type === 'close') {
      clearTimeout(idleTimer);
      for (const model of models.values()) model.dispose();
      models.clear();
      port.close();
      process.exit(0);
    }
    else if (m.type === 'unload') {
      const model = models.get(m.id);
      models.delete(m.id);
      if (model) {
        model.retired = true;
        release(model);
      }
    } else {
      await run(m);
      armIdleRelease();
    }
  });
});
