/**
 * Inference worker (one worker_thread): holds every loaded style as a model of the engine the worker runs, and
 * stylises the pixels the main thread sends, so inference never runs on the server's event loop. Engines
 * (stylize-engines.ts, shared with `hokusai stylize`): 'gpu', Hokusai's WebGPU engine on one Dawn device per worker
 * (Dawn works inside worker_threads: docs/serve.md "Engines"), which `--engine auto` picks on a hardware adapter with
 * the limits it needs, else 'onnx', an onnxruntime session built from the checkpoint by our ONNX exporter
 * (onnx-stylizer.ts; 'onnx-webgpu' with onnxruntime's WebGPU execution provider); 'tfjs', a TransformerNet (also
 * when onnxruntime-node does not load). Under auto a network the GPU engine cannot run (Engstrom) runs on onnx.
 * Started by worker-pool.ts (from source through tsx + resolve hooks; in the CLI bundle, the bundle itself is the
 * worker).
 * Memory: an onnxruntime session's CPU arena grows to the largest image it ran (about 600 MB for a full network at
 * 1024² px) and never shrinks; after `idleReleaseMs` without a request, sessions that ran more than the warm-up
 * size are rebuilt, which hands that memory back (measured in docs/serve.md, "Memory"); GPU models free their
 * forward's buffers (rebuilt at the next request).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { parseCheckpoint, serializeCheckpoint, stylizeTensor, TransformerNet, type CheckpointFiles } from '@hokusai/model';
import { HokusaiError, type ErrorCode } from '@hokusai/errors';
import { initBackend } from '@hokusai/node';
import { exportOnnx } from '@hokusai/export';
import type { EngineDevice } from '@hokusai/engine';
import { createOnnxStylizer, type Ort } from './onnx-stylizer.ts';
import { toFloat } from './postprocess.ts';
import { engineDeviceFor, gpuEngine, gpuEngineRefusal, onnxRuntimeFor } from './stylize-engines.ts';
import type { EngineName, FromWorker, ToWorker, WireError, WorkerInit } from './worker-protocol.ts';

interface Model {
  engine: EngineName;
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

let ort: Ort | null | undefined;
let device: EngineDevice | null = null;
/** What the worker runs: init.engine with auto resolved (set up by setUp). */
let engine: EngineName = init.engine === 'auto' ? 'onnx' : init.engine;
const models = new Map<string, Model>();

/** onnxruntime-node, loaded once; null when it does not load (the reason goes to `said`). */
async function onnxRuntime(said: string[] = []): Promise<Ort | null> {
  if (ort === undefined) ort = await onnxRuntimeFor('auto', (line) => said.push(line));
  return ort;
}

/** The GPU engine's device for gpu and auto (null: auto chose onnx, the reason in `said`); a forced gpu throws. */
async function setUpGpu(said: string[]): Promise<string | null> {
  if (init.engine !== 'gpu' && init.engine !== 'auto') return null;
  device = await engineDeviceFor(null, init.engine, (line) => said.push(line));
  if (device === null) return null;
  engine = 'gpu';
  return `the GPU engine (WebGPU on ${device.adapter.description}${device.adapter.software ? ', a software adapter' : ''}, one device per worker)`;
}

async function setUp(): Promise<string> {
  // tfjs is needed by every engine (checkpoint parsing; the tfjs engine runs on it).
  const b = await initBackend(engine === 'tfjs' ? init.backend : 'cpu');
  const backendInfo = `tfjs ${b.name} (${b.reason})`;
  const said: string[] = [];
  const gpu = await setUpGpu(said);
  if (gpu !== null) return [...said, `${gpu}; ${backendInfo} for parsing`].join('; ');
  if (engine === 'tfjs') return backendInfo;
  const o = await onnxRuntime(said);
  if (o === null) {
    engine = 'tfjs';
    return [...said, backendInfo].join('; ');
  }
  const where = engine === 'onnx-webgpu' ? 'webgpu execution provider' : `${init.threads} thread(s)`;
  return [...said, `onnxruntime-node ${o.env.versions.common ?? ''} (${where}); ${backendInfo} for parsing`].join('; ');
}

async function onnxModel(o: Ort, net: TransformerNet, meta: Record<string, unknown>, provider: 'cpu' | 'webgpu'): Promise<Model> {
  const bytes = exportOnnx(net, { metadata: { name: String(meta.name ?? '') } });
  // logSeverityLevel 3: the WebGPU provider warns that it leaves shape ops on the CPU, as intended
  const session = provider === 'webgpu' ? { executionProviders: ['webgpu'], logSeverityLevel: 3 as const } : {};
  const create = () => createOnnxStylizer(o, bytes, { threads: init.threads, session });
  let stylizer = await create();
  let grown = false;
  return {
    engine: provider === 'webgpu' ? 'onnx-webgpu' : 'onnx',
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

/** The GPU engine on the worker's device (shared by its models); idle release frees the forward's GPU buffers. */
async function gpuModel(dev: EngineDevice, net: TransformerNet): Promise<Model> {
  const gpu = await gpuEngine(dev, net, { ownDevice: false });
  return {
    engine: 'gpu',
    active: 0,
    retired: false,
    async run(pixels, width, height, strength, preserveColors) {
      return (await gpu.stylize({ data: pixels, width, height }, { strength, preserveColors })).data;
    },
    dispose: () => gpu.dispose(),
    async shrink() {
      gpu.release?.();
    },
  };
}

function tfjsModel(net: TransformerNet): Model {
  return {
    engine: 'tfjs',
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

/**
 * The model of `net` for the worker's engine; every engine but tfjs reads the net and does not keep it. Under auto,
 * a network the GPU engine cannot run goes to onnxruntime; a forced gpu refuses it.
 */
async function modelFor(net: TransformerNet, meta: Record<string, unknown>): Promise<Model> {
  if (engine === 'gpu' && device !== null) {
    const refusal = gpuEngineRefusal(net.config);
    if (refusal === null) return gpuModel(device, net);
    if (init.engine === 'gpu') throw new HokusaiError('INVALID_ARGUMENT', `--engine gpu: ${refusal}; use --engine onnx (or auto)`);
  }
  const o = engine === 'tfjs' ? null : await onnxRuntime();
  return o === null ? tfjsModel(net) : onnxModel(o, net, meta, engine === 'onnx-webgpu' ? 'webgpu' : 'cpu');
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
    const model = await modelFor(net, meta);
    if (model.engine !== 'tfjs') {
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
    send({ type: 'loaded', id, version, ok: true, engine: model.engine, meta, config: { ...parsed.net.config }, warmupMs, ...(float16 ? { float16 } : {}) });
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
    send({ type: 'result', job: m.job, ok: true, pixels, inferenceMs, engine: model.engine }, [pixels.buffer as ArrayBuffer]);
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
      device?.device.destroy();
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
