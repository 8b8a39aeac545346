/**
 * `hokusai train --engine gpu`: the training loop of Johnson et al. 2016 ("Perceptual Losses for Real-Time Style
 * Transfer and Super-Resolution") on @hokusai/engine's EngineTrainStep (forward, perceptual loss, backward and Adam
 * in one WebGPU submit per step). Losses are read back only at log and checkpoint steps; checkpoints copy the
 * engine's weights into the TransformerNet and go through the same checkpoint writer as the tfjs path. The engine
 * keeps no divergence guard, samples, validation or resumable optimiser state (see docs/training.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type NetConfig, type TransformerNet } from '@hokusai/model';
import { HokusaiError } from '@hokusai/errors';
import { convSpecs, type VggWeights } from '@hokusai/losses';
import { EngineTrainStep, GpuContext, requestEngineDevice, vggConvsFromKeras, type EngineLossSettings } from '@hokusai/engine';
import { MetricsLog } from './metrics.ts';
import { Prefetcher } from './prefetch.ts';
import { yieldToEventLoop } from '@hokusai/node';
import { checkpointDir, cleanTemporaries, pruneCheckpoints } from './run-dir.ts';
import type { BatchSource, TrainerIO, TrainResult } from './trainer.ts';
import type { Batch } from './dataset.ts';

export interface EngineRunConfig {
  out: string;
  iterations: number;
  batchSize: number;
  imageSize: number;
  lr: number;
  lrDecay: number;
  checkpointEvery: number;
  keep: number;
  logEvery: number;
  /** Batches decoded ahead of the GPU. */
  prefetch: number;
  netConfig: NetConfig;
  loss: EngineLossSettings;
  styleTargets: ReadonlyMap<string, Float32Array>;
}

/** Train `net` on the engine from step 0 to `cfg.iterations`; stops early with a checkpoint when `signal` aborts. */
export async function runEngineTraining(
  net: TransformerNet,
  vgg: VggWeights,
  data: BatchSource,
  io: TrainerIO,
  cfg: EngineRunConfig,
  opts: { signal?: AbortSignal; log: (line: string) => void; onProgress?: (step: number, total: number) => void },
): Promise<TrainResult> {
  const gpu = (globalThis as { navigator?: { gpu?: unknown } }).navigator?.gpu as Parameters<typeof requestEngineDevice>[0];
  const dev = await requestEngineDevice(gpu);
  if ('reason' in dev) throw new HokusaiError('BACKEND_UNAVAILABLE', `--engine gpu: no usable WebGPU device for the engine: ${dev.reason}`);
  const ctx = new GpuContext(dev.device);
  try {
    const weights: Record<string, Float32Array> = {};
    for (const [k, t] of Object.entries(net.namedWeights())) weights[k] = Float32Array.from(await t.data());
    const step = new EngineTrainStep(ctx, {
      config: cfg.netConfig,
      weights,
      vgg: vggConvsFromKeras(vgg.layers, convSpecs(vgg.net), deepestLayer(cfg.loss)),
      loss: cfg.loss,
      styleTargets: cfg.styleTargets,
      n: cfg.batchSize,
      size: cfg.imageSize,
      adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 },
    });
    return await loop(step, net, data, io, cfg, opts);
  } finally {
    ctx.dispose();
    dev.device.destroy();
  }
}

async function loop(
  ts: EngineTrainStep,
  net: TransformerNet,
  data: BatchSource,
  io: TrainerIO,
  cfg: EngineRunConfig,
  opts: { signal?: AbortSignal; log: (line: string) => void; onProgress?: (step: number, total: number) => void },
): Promise<TrainResult> {
  await mkdir(cfg.out, { recursive: true });
  await cleanTemporaries(cfg.out);
  const metrics = await MetricsLog.open(cfg.out, 0, 'webgpu', opts.log);
  const queue = new Prefetcher((s) => data.batch(s), { start: 0, end: cfg.iterations, depth: cfg.prefetch });
  try {
    return await steps(ts, net, queue, io, cfg, opts, metrics);
  } finally {
    queue.close();
  }
}

async function steps(
  ts: EngineTrainStep,
  net: TransformerNet,
  queue: Prefetcher<Batch>,
  io: TrainerIO,
  cfg: EngineRunConfig,
  opts: { signal?: AbortSignal; log: (line: string) => void; onProgress?: (step: number, total: number) => void },
  metrics: MetricsLog,
): Promise<TrainResult> {
  const t0 = performance.now();
  let firstLoss: number | null = null;
  let lastLoss: number | null = null;
  let lastLosses: Record<string, number> = {};
  let windowStart = t0;
  let windowImages = 0;
  for (let s = 0; s < cfg.iterations; s++) {
    const batch = await queue.next();
    const lr = cfg.lr / (1 + cfg.lrDecay * s);
    ts.step(Float32Array.from(batch.data), lr);
    windowImages += batch.n;
    const done = s + 1;
    const stop = opts.signal?.aborted === true;
    const last = done >= cfg.iterations || stop;
    opts.onProgress?.(done, cfg.iterations);
    await yieldToEventLoop(); // let SIGINT/SIGTERM handlers, progress redraws and the prefetcher's I/O run
    if (done % cfg.logEvery !== 0 && done % cfg.checkpointEvery !== 0 && !last) continue;
    const l = await ts.readLosses();
    if (!Number.isFinite(l.total)) {
      // No rollback on the engine: stop before a non-finite network reaches a checkpoint.
      throw new HokusaiError('DIVERGED', `--engine gpu: the loss is ${l.total} at step ${done} (no rollback on the engine; the last checkpoint is intact): lower --lr or use --engine tfjs`);
    }
    firstLoss ??= l.total;
    lastLoss = l.total;
    const now = performance.now();
    const imgPerS = windowImages / Math.max(1e-9, (now - windowStart) / 1000);
    const losses = { total: l.total, content: l.weighted.content, style: l.weighted.style, tv: l.weighted.tv };
    lastLosses = losses;
    await metrics.write({ step: done, time: new Date().toISOString(), elapsedS: Math.round((now - t0) / 10) / 100, lr, ...losses, lattice: NaN, imgPerS: Math.round(imgPerS * 1000) / 1000 });
    windowStart = now;
    windowImages = 0;
    if (done % cfg.checkpointEvery === 0 || last) {
      await copyWeights(ts, net);
      const dir = checkpointDir(cfg.out, done);
      await io.saveCheckpoint(dir, { step: done, losses, engine: 'gpu' }, {});
      await pruneCheckpoints(cfg.out, cfg.keep, 'meta.json');
      opts.log(`checkpoint ${dir} (loss ${l.total.toPrecision(4)})`);
    }
    if (stop && done < cfg.iterations) return { step: done, finalDir: null, interrupted: true, firstLoss, lastLoss, rollbacks: 0 };
  }
  const finalDir = join(cfg.out, 'final');
  await io.saveCheckpoint(finalDir, { step: cfg.iterations, losses: lastLosses, engine: 'gpu' }, {});
  return { step: cfg.iterations, finalDir, interrupted: false, firstLoss, lastLoss, rollbacks: 0 };
}

/** The engine's current weights into the TransformerNet's variables (for the checkpoint writer). */
async function copyWeights(ts: EngineTrainStep, net: TransformerNet): Promise<void> {
  const w = await ts.readWeights();
  for (const [k, v] of Object.entries(net.namedWeights())) {
    const values = w[k];
    if (values === undefined) throw new Error(`internal: the engine returned no weight ${k}`);
    tf.tidy(() => (v as tf.Variable).assign(tf.tensor(values, v.shape)));
  }
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
