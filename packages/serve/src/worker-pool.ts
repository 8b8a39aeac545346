/**
 * A fixed pool of inference worker threads with a bounded FIFO queue: concurrency = number of workers; requests
 * beyond `queueSize` waiting ones are refused at once (QUEUE_FULL → 503 + Retry-After); a job still queued at its
 * deadline is dropped (TIMEOUT → 503). Every worker holds every loaded style; a crashed worker is replaced and
 * given the current styles again. The TypeScript worker runs through tsx, registered inside the thread (in the
 * CLI bundle, the bundle itself is the worker).
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { HokusaiError } from '@hokusai/errors';
import type { CheckpointFiles } from '@hokusai/model';
import type { EngineName, FromWorker, ToWorker, WireError, WorkerInit } from './worker-protocol.ts';

/** Resolve hook source: tfjs-core's ESM gradient files use extensionless imports; retry them with `.js`. */
const RESOLVE_HOOK = `export async function resolve(s, c, next) {
  try { return await next(s, c); } catch (e) {
    if (typeof c.parentURL === 'string' && c.parentURL.includes('/node_modules/@tensorflow/') && s.startsWith('.') && !s.endsWith('.js')) return next(s + '.js', c);
    throw e;
  }
}`;

/** tsx's API, resolved from this package (an eval'd worker would resolve bare names from the working directory). */
const TSX_API =
  typeof import.meta.resolve === 'function'
    ? import.meta.resolve('tsx/esm/api')
    : pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href;

/** Defined only inside the CLI bundle (tools/build-cli.mjs): its URL; that file is also the worker's entry there. */
declare const HOKUSAI_BUNDLE_URL: string | undefined;

function bootstrap(entry: string): string {
  return `
const { register } = require('node:module');
import(${JSON.stringify(TSX_API)}).then((tsx) => {
  tsx.register();
  register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(RESOLVE_HOOK)}`)});
  return import(${JSON.stringify(entry)});
}).catch((e) => { require('node:worker_threads').parentPort.postMessage({ type: 'init-failed', error: { code: 'INTERNAL', message: String(e && e.stack || e) } }); });
`;
}

export interface RunRequest {
  id: string;
  pixels: Uint8Array;
  width: number;
  height: number;
  strength: number;
  preserveColors: boolean;
}

export interface RunResult {
  pixels: Uint8Array;
  inferenceMs: number;
  queueMs: number;
  engine: EngineName;
}

export interface LoadResult {
  engine: EngineName;
  meta: Record<string, unknown>;
  config: Record<string, unknown>;
  warmupMs: number;
  float16?: CheckpointFiles;
}

interface Job {
  no: number;
  request: RunRequest;
  enqueued: number;
  resolve: (r: RunResult) => void;
  reject: (e: unknown) => void;
  timer: NodeJS.Timeout | undefined;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  job: Job | undefined;
  pendingLoads: Map<string, { version: number; resolve: (r: LoadResult) => void; reject: (e: unknown) => void }>;
}

export interface PoolOptions extends WorkerInit {
  workers: number;
  queueSize: number;
  log: (line: string) => void;
}

export const fromWire = (e: WireError) => new HokusaiError(e.code, e.message);

export class InferencePool {
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private jobNo = 0;
  private closed = false;
  /** Current styles, re-sent to replacement workers. */
  private readonly styles = new Map<string, { version: number; files: CheckpointFiles }>();
  /** Engine the workers actually run (auto resolved; onnx may fall back to tfjs). */
  engine: EngineName;
  engineDetail = '';
  onQueueChange: (depth: number, busy: number) => void = () => {};

  constructor(private readonly opts: PoolOptions) {
    this.engine = opts.engine === 'auto' ? 'onnx' : opts.engine; // until the workers say what they run
  }

  /** Starts the workers; resolves when every one reported ready. */
  async start(): Promise<void> {
    await Promise.all(Array.from({ length: this.opts.workers }, () => this.spawn()));
  }

  private spawn(): Promise<Slot> {
    const init: WorkerInit = { engine: this.opts.engine, backend: this.opts.backend, threads: this.opts.threads, warmupSize: this.opts.warmupSize, idleReleaseMs: this.opts.idleReleaseMs };
    const worker =
      typeof HOKUSAI_BUNDLE_URL === 'string'
        ? new Worker(new URL(HOKUSAI_BUNDLE_URL), { workerData: init })
        : new Worker(bootstrap(new URL('./inference-worker.ts', import.meta.url).href), { eval: true, workerData: init });
    const slot: Slot = { worker, ready: false, job: undefined, pendingLoads: new Map() };
    this.slots.push(slot);
    return new Promise((resolve, reject) => {
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          slot.ready = true;
          this.engine = m.engine;
          this.engineDetail = m.detail;
          for (const [id, s] of this.styles) worker.postMessage({ type: 'load', id, version: s.version, files: s.files } satisfies ToWorker);
          resolve(slot);
          this.dispatch();
        } else if (m.type === 'init-failed') {
          reject(fromWire(m.error));
          void worker.terminate();
        } else if (m.type === 'loaded') {
          const pending = slot.pendingLoads.get(m.id);
          if (pending && pending.version === m.version) {
            slot.pendingLoads.delete(m.id);
            if (m.ok) pending.resolve({ engine: m.engine, meta: m.meta, config: m.config, warmupMs: m.warmupMs, ...(m.float16 ? { float16: m.float16 } : {}) });
            else pending.reject(fromWire(m.error));
          }
        } else if (m.type === 'result') {
          const job = slot.job;
          slot.job = undefined;
          if (job && job.no === m.job) {
            if (m.ok) job.resolve({ pixels: m.pixels, inferenceMs: m.inferenceMs, queueMs: 0, engine: m.engine });
            else job.reject(fromWire(m.error));
          }
          this.dispatch();
        }
      });
      let dead = false;
      const fail = (why: string) => {
        if (dead) return;
        dead = true;
        const index = this.slots.indexOf(slot);
        if (index >= 0) this.slots.splice(index, 1);
        const error = new HokusaiError('INTERNAL', `Inference worker stopped: ${why}`);
        slot.job?.reject(error);
        for (const p of slot.pendingLoads.values()) p.reject(error);
        reject(error);
        if (!this.closed && slot.ready) {
          this.opts.log(`inference worker stopped (${why}); starting a replacement`);
          this.spawn().catch((e: unknown) => this.opts.log(`replacement worker failed to start: ${(e as Error).message}`));
        }
      };
      worker.on('error', (e) => fail(e.message));
      worker.on('exit', (code) => fail(`exit code ${code}`));
    });
  }

  /** Loads (or replaces) a style in every worker; rejects with the first worker's error. */
  async load(id: string, version: number, files: CheckpointFiles): Promise<LoadResult> {
    if (this.slots.length === 0) throw new HokusaiError('NOT_READY', 'No inference worker is running to load the style into');
    const results = await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<LoadResult>((resolve, reject) => {
            slot.pendingLoads.get(id)?.reject(new HokusaiError('INTERNAL', `load of ${id} superseded`));
            slot.pendingLoads.set(id, { version, resolve, reject });
            slot.worker.postMessage({ type: 'load', id, version, files } satisfies ToWorker);
          }),
      ),
    );
    this.styles.set(id, { version, files });
    return results[0] as LoadResult;
  }

  unload(id: string): void {
    this.styles.delete(id);
    for (const slot of this.slots) slot.worker.postMessage({ type: 'unload', id } satisfies ToWorker);
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get busy(): number {
    return this.slots.filter((s) => s.job !== undefined).length;
  }

  get size(): number {
    return this.slots.length;
  }

  /**
   * Queues a job; rejects QUEUE_FULL at once when the queue is full, TIMEOUT if still queued at `deadline`, and
   * drops it from the queue when `signal` aborts (the client went away).
   */
  run(request: RunRequest, deadline: number, signal?: AbortSignal): Promise<RunResult> {
    if (this.closed) return Promise.reject(new HokusaiError('NOT_READY', 'The server is shutting down'));
    const idle = this.slots.some((s) => s.ready && !s.job);
    if (!idle && this.queue.length >= this.opts.queueSize) {
      return Promise.reject(
        new HokusaiError('QUEUE_FULL', `Expected a free place in the inference queue (${this.opts.queueSize} waiting max), got a full queue`),
      );
    }
    return new Promise<RunResult>((resolve, reject) => {
      const job: Job = { no: ++this.jobNo, request, enqueued: performance.now(), resolve, reject, timer: undefined };
      job.timer = setTimeout(
        () => {
          const i = this.queue.indexOf(job);
          if (i >= 0) {
            this.queue.splice(i, 1);
            this.onQueueChange(this.queue.length, this.busy);
            reject(new HokusaiError('TIMEOUT', 'The request waited for a free inference worker past its deadline'));
          }
        },
        Math.max(0, deadline - Date.now()),
      );
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.queue.indexOf(job);
          if (i >= 0) {
            this.queue.splice(i, 1);
            clearTimeout(job.timer);
            this.onQueueChange(this.queue.length, this.busy);
            reject(new HokusaiError('INTERRUPTED', 'The client closed the connection before its turn'));
          }
        },
        { once: true },
      );
      this.queue.push(job);
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (!slot.ready || slot.job) continue;
      const job = this.queue.shift();
      if (!job) break;
      clearTimeout(job.timer);
      const queueMs = performance.now() - job.enqueued;
      const resolve = job.resolve;
      job.resolve = (r) => resolve({ ...r, queueMs });
      slot.job = job;
      const r = job.request;
      slot.worker.postMessage(
        { type: 'run', job: job.no, id: r.id, pixels: r.pixels, width: r.width, height: r.height, strength: r.strength, preserveColors: r.preserveColors } satisfies ToWorker,
        [r.pixels.buffer as ArrayBuffer],
      );
    }
    this.onQueueChange(this.queue.length, this.busy);
  }

  /**
   * Refuses queued jobs, lets running ones finish, then asks every worker to release its models and end.
   * A worker still busy after `timeoutMs` is waited for (at most its current forward pass) rather than terminated:
   * terminating a thread while onnxruntime runs in it aborts the whole process.
   */
  async close(timeoutMs = 10_000): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) {
      clearTimeout(job.timer);
      job.reject(new HokusaiError('NOT_READY', 'The server is shutting down'));
    }
    const until = Date.now() + timeoutMs;
    const slots = this.slots.splice(0);
    await Promise.all(
      slots.map(async (slot) => {
        const exited = new Promise<void>((resolve) => slot.worker.once('exit', () => resolve()));
        slot.worker.postMessage({ type: 'close' } satisfies ToWorker);
        const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), Math.max(0, until - Date.now())).unref());
        if ((await Promise.race([exited, timer])) === 'timeout') {
          if (slot.job) {
            // Terminating it now would abort the process: wait for this one forward pass (queued jobs are gone).
            this.opts.log('shutdown: a worker is still inside an inference; waiting for that forward pass to end');
            await exited;
          } else {
            await slot.worker.terminate();
          }
        }
      }),
    );
  }
}
