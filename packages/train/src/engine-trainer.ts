/**
 * `hokusai train` on the WebGPU engine: the training loop of Johnson et al. 2016 ("Perceptual Losses for Real-Time
 * Style Transfer and Super-Resolution") with @hokusai/engine's EngineTrainStep doing forward, perceptual loss,
 * backward and Adam in one submit per step. Everything else is the tfjs path's Trainer: at sample, validation and
 * checkpoint steps the engine's weights (and, for checkpoints, Adam's moments and step count) are copied into the
 * Trainer's network and optimiser, whose own code writes samples, computes the validation loss and writes the
 * checkpoint, so engine and tfjs checkpoints are the same format and either path resumes the other's.
 * Losses are read back only at log and checkpoint steps. The engine has no divergence rollback: a non-finite loss
 * stops the run before it reaches a checkpoint (DIVERGED); a lost device stops it with the last checkpoint intact.
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { type NetConfig } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import { convSpecs, type VggWeights } from '@hokusai/losses';
import {
  checkTrainStepFits, EngineTrainStep, GpuContext, requestEngineDevice, vggConvsFromKeras,
  type AdamMoments, type EngineDevice, type EngineLossSettings, type NamedWeights, type TrainStepSpec,
} from '@hokusai/engine';
import { yieldToEventLoop } from '@hokusai/node';
import { MetricsLog } from './metrics.ts';
import { Prefetcher } from './prefetch.ts';
import { cleanTemporaries, listCheckpoints } from './run-dir.ts';
import { concatFloat32, toFloat32, type AdamStateJson } from './adam.ts';
import type { BatchSource, SampleImage, Trainer, TrainResult } from './trainer.ts';
import type { Batch } from './dataset.ts';

export interface EngineRunConfig {
  netConfig: NetConfig;
  loss: EngineLossSettings;
  styleTargets: ReadonlyMap<string, Float32Array>;
}

export interface EngineRunOptions {
  signal?: AbortSignal;
  log: (line: string) => void;
  onProgress?: (step: number, total: number) => void;
  /** Held-out crops: the validation loss at checkpoint steps (the tfjs network, engine weights). */
  validation?: Uint8Array[];
  /** Stylised every sampleEvery steps (the tfjs network, engine weights). */
  samples?: SampleImage[];
  /** The engine's device when the caller already has one (`--engine auto` probed it); else one is requested. */
  device?: EngineDevice;
}

/**
 * Train `trainer`'s network on the engine from `trainer.step` (0, or where `trainer.restore` left it) to its
 * config's iterations, writing the Trainer's checkpoints; stops early with a checkpoint when `signal` aborts.
 */
export async function runEngineTraining(trainer: Trainer, vgg: VggWeights, data: BatchSource, cfg: EngineRunConfig, opts: EngineRunOptions): Promise<TrainResult> {
  const dev = opts.device ?? (await engineDevice());
  const lost = watchDevice(dev.device);
  const ctx = new GpuContext(dev.device);
  try {
    const ts = await createStep(ctx, trainer, vgg, cfg);
    if (trainer.step > 0) ts.setMoments(await engineMoments(trainer, ts));
    return await loop(ts, trainer, data, opts, lost);
  } finally {
    lost.disposing = true;
    ctx.dispose();
    dev.device.destroy();
  }
}

async function engineDevice(): Promise<EngineDevice> {
  const gpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu as Parameters<typeof requestEngineDevice>[0];
  const dev = await requestEngineDevice(gpu);
  if ('reason' in dev) throw new HokusaiError('BACKEND_UNAVAILABLE', `--engine gpu: no usable WebGPU device for the engine: ${dev.reason}`);
  return dev;
}

interface LostWatch {
  info: GPUDeviceLostInfo | null;
  disposing: boolean;
}

function watchDevice(device: GPUDevice): LostWatch {
  const w: LostWatch = { info: null, disposing: false };
  void device.lost.then((info) => {
    if (!w.disposing) w.info = info;
  });
  return w;
}

/** The step at the trainer's size, after checking that its buffers fit the device (OUT_OF_MEMORY otherwise). */
async function createStep(ctx: GpuContext, trainer: Trainer, vgg: VggWeights, cfg: EngineRunConfig): Promise<EngineTrainStep> {
  const { adam } = trainer;
  const spec: TrainStepSpec = {
    config: cfg.netConfig,
    weights: await netWeights(trainer),
    vgg: vggConvsFromKeras(vgg.layers, convSpecs(vgg.net), deepestLayer(cfg.loss)),
    loss: cfg.loss,
    styleTargets: cfg.styleTargets,
    n: trainer.config.batchSize,
    size: trainer.config.imageSize,
    adam: { beta1: adam.config.beta1, beta2: adam.config.beta2, epsilon: adam.config.epsilon },
  };
  checkTrainStepFits(ctx.device, spec);
  ctx.device.pushErrorScope('out-of-memory');
  const ts = new EngineTrainStep(ctx, spec);
  const error = await ctx.device.popErrorScope();
  if (error !== null) {
    throw new HokusaiError('OUT_OF_MEMORY', `the engine could not allocate its buffers for --image-size ${spec.size} at --batch-size ${spec.n} (${error.message}): lower either`);
  }
  return ts;
}

/** The trainer's variables by the names the engine's layout uses (TransformerNet's weight names). */
function namedVariables(trainer: Trainer, ts: { layout: { entries: readonly { name: string }[] } } | null = null): { name: string; v: tf.Variable }[] {
  const net = trainer.net as unknown as { namedWeights(): Record<string, tf.Tensor> };
  const byTensor = new Map<tf.Tensor, string>(Object.entries(net.namedWeights()).map(([k, t]) => [t, k]));
  const out = trainer.net.variables.map((v) => {
    const name = byTensor.get(v);
    if (name === undefined) throw new HokusaiError('INTERNAL', `the network's variable ${v.name} has no weight name`);
    return { name, v };
  });
  if (ts !== null && ts.layout.entries.length !== out.length) {
    throw new HokusaiError('INTERNAL', `the engine's layout has ${ts.layout.entries.length} tensors, the network ${out.length}`);
  }
  return out;
}

async function netWeights(trainer: Trainer): Promise<NamedWeights> {
  const out: NamedWeights = {};
  for (const { name, v } of namedVariables(trainer)) out[name] = Float32Array.from(await v.data());
  return out;
}

/** The trainer's Adam state (e.g. restored from a checkpoint) in the engine's flat layout. */
async function engineMoments(trainer: Trainer, ts: EngineTrainStep): Promise<AdamMoments> {
  const { json, bin } = await trainer.adam.serialize();
  const floats = toFloat32(bin);
  const m: NamedWeights = {};
  const v: NamedWeights = {};
  let offset = 0;
  for (const { name, v: variable } of namedVariables(trainer, ts)) {
    m[name] = floats.subarray(offset, offset + variable.size);
    v[name] = floats.subarray(offset + variable.size, offset + 2 * variable.size);
    offset += 2 * variable.size;
  }
  return { t: json.t, m: ts.layout.pack(m), v: ts.layout.pack(v) };
}

/** The engine's weights into the network's variables; with `adam`, its moments and step count into the Trainer's Adam. */
async function copyBack(ts: EngineTrainStep, trainer: Trainer, adam: boolean): Promise<void> {
  const weights = await ts.readWeights();
  const named = namedVariables(trainer, ts);
  for (const { name, v } of named) tf.tidy(() => v.assign(tf.tensor(weights[name]!, v.shape)));
  if (!adam) return;
  const moments = await ts.readMoments();
  const m = ts.layout.unpack(moments.m);
  const vv = ts.layout.unpack(moments.v);
  const json: AdamStateJson = {
    kind: 'adam',
    t: moments.t,
    config: { ...trainer.adam.config },
    variables: named.map(({ v }) => ({ name: v.name, shape: [...v.shape] })),
  };
  trainer.adam.restore(json, concatFloat32(named.flatMap(({ name }) => [m[name]!, vv[name]!])));
}

async function loop(ts: EngineTrainStep, trainer: Trainer, data: BatchSource, opts: EngineRunOptions, lost: LostWatch): Promise<TrainResult> {
  const cfg = trainer.config;
  await mkdir(cfg.out, { recursive: true });
  await cleanTemporaries(cfg.out);
  const metrics = await MetricsLog.open(cfg.out, trainer.step, cfg.backend, opts.log);
  const queue = new Prefetcher((s) => data.batch(s), { start: trainer.step, end: cfg.iterations, depth: cfg.prefetch });
  try {
    return await steps(ts, trainer, queue, opts, metrics, lost);
  } catch (error) {
    throw lost.info === null ? error : await lostError(trainer, lost.info);
  } finally {
    queue.close();
  }
}

/** The stop a lost device causes: which checkpoint is intact and how to continue. */
async function lostError(trainer: Trainer, info: GPUDeviceLostInfo): Promise<HokusaiError> {
  const out = trainer.config.out;
  const last = (await listCheckpoints(out)).at(-1);
  const where = last === undefined ? 'no checkpoint was written yet' : `the last checkpoint (${last.dir}, step ${last.step}) is intact; continue with\n  hokusai train --out ${out} --resume latest`;
  return new HokusaiError('BACKEND_UNAVAILABLE', `the GPU device was lost at step ${trainer.step} (${info.reason}: ${info.message || 'no message'}): ${where}`);
}

async function steps(ts: EngineTrainStep, trainer: Trainer, queue: Prefetcher<Batch>, opts: EngineRunOptions, metrics: MetricsLog, lost: LostWatch): Promise<TrainResult> {
  const cfg = trainer.config;
  const t0 = performance.now();
  const elapsedBefore = trainer.elapsedS;
  const elapsed = (): number => elapsedBefore + (performance.now() - t0) / 1000;
  let firstLoss: number | null = null;
  let lastLoss: number | null = null;
  let windowStart = t0;
  let windowImages = 0;
  while (trainer.step < cfg.iterations) {
    const batch = await queue.next();
    const lr = trainer.learningRate(trainer.step);
    ts.step(Float32Array.from(batch.data), lr);
    trainer.step += 1;
    windowImages += batch.n;
    const done = trainer.step;
    const stop = opts.signal?.aborted === true;
    const last = done >= cfg.iterations || stop;
    opts.onProgress?.(done, cfg.iterations);
    await yieldToEventLoop(); // SIGINT/SIGTERM handlers, progress redraws, the prefetcher's I/O, device.lost
    if (lost.info !== null) throw await lostError(trainer, lost.info);
    const sample = cfg.sampleEvery > 0 && (opts.samples?.length ?? 0) > 0 && (done % cfg.sampleEvery === 0 || done >= cfg.iterations);
    const checkpoint = done % cfg.checkpointEvery === 0 || last;
    if (done % cfg.logEvery !== 0 && !checkpoint && !sample) continue;
    const l = await ts.readLosses();
    if (!Number.isFinite(l.total)) {
      throw new HokusaiError('DIVERGED', `--engine gpu: the loss is ${l.total} at step ${done} (no rollback on the engine; the last checkpoint is intact): lower --lr or use --engine tfjs`);
    }
    firstLoss ??= l.total;
    lastLoss = l.total;
    const losses = { total: l.total, content: l.weighted.content, style: l.weighted.style, tv: l.weighted.tv, lattice: NaN };
    trainer.noteLosses(losses);
    const now = performance.now();
    const imgPerS = windowImages / Math.max(1e-9, (now - windowStart) / 1000);
    await metrics.write({ step: done, time: new Date().toISOString(), elapsedS: Math.round(elapsed() * 100) / 100, lr, ...losses, imgPerS: Math.round(imgPerS * 1000) / 1000 });
    windowStart = now;
    windowImages = 0;
    if (sample || checkpoint) await copyBack(ts, trainer, checkpoint);
    if (sample) await trainer.writeSamples(opts.samples!, String(done));
    if (checkpoint) {
      let validation: number | undefined;
      if (opts.validation?.length) {
        validation = await trainer.validationLoss(opts.validation);
        await metrics.write({ step: done, time: new Date().toISOString(), elapsedS: Math.round(elapsed() * 100) / 100, lr, ...losses, imgPerS: 0, validation, event: 'validation' });
      }
      const dir = await trainer.saveCheckpoint(elapsed());
      opts.log(`checkpoint ${dir} (loss ${l.total.toPrecision(4)}${validation === undefined ? '' : `, validation ${validation.toPrecision(4)}`})`);
    }
    if (stop && done < cfg.iterations) return { step: done, finalDir: null, interrupted: true, firstLoss, lastLoss, rollbacks: 0 };
  }
  return { step: trainer.step, finalDir: join(cfg.out, 'final'), interrupted: false, firstLoss, lastLoss, rollbacks: 0 };
}

/** The deepest `reluB_I` layer the loss reads (VGG's layers run block by block). */
function deepestLayer(loss: EngineLossSettings): string {
  const layers = [...Object.keys(loss.contentLayers), ...Object.keys(loss.styleLayers)];
  const rank = (name: string): number => {
    const m = /^relu(\d+)_(\d+)$/.exec(name);
    return m ? Number(m[1]) * 100 + Number(m[2]) : -1;
  };
  return layers.reduce((a, b) => (rank(b) > rank(a) ? b : a));
}
