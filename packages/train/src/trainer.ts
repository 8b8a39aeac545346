/**
 * The training loop of fast style transfer (Johnson et al. 2016, "Perceptual Losses for Real-Time Style
 * Transfer and Super-Resolution"): a transformation network is trained with Adam to minimise the perceptual
 * loss (content + Gram style + total variation, computed by a fixed VGG) of its output on batches of photos.
 *
 * What this module adds around that: gradients accumulated over micro-batches (instance norm is per image,
 * so the result equals the whole-batch gradient), a prefetch queue so decoding overlaps compute, exact
 * checkpoints (weights, Adam moments, step, learning-rate scale; the data order is a function of the step),
 * rotation and resume, a divergence guard with rollback, metrics/samples/validation, and a clean stop on
 * SIGINT/SIGTERM (finish the step, write a checkpoint).
 */
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { HokusaiError } from '@hokusai/errors';
import { addSensorNoise, innerWindow, shiftCrop, shiftWarp, stabilityLoss, type StabilityNorm } from '@hokusai/losses';
import { Adam, concatFloat32, toFloat32, type AdamStateJson } from './adam.ts';
import { Prefetcher } from './prefetch.ts';
import { yieldToEventLoop } from '@hokusai/node';
import { DivergenceGuard, type DivergenceOptions, type DivergenceState } from './divergence.ts';
import { MetricsLog, type MetricRecord } from './metrics.ts';
import {
  checkpointDir,
  cleanTemporaries,
  OPTIMIZER_BIN,
  OPTIMIZER_JSON,
  pruneCheckpoints,
  readBin,
  readJson,
  STATE_BIN,
  STATE_JSON,
} from './run-dir.ts';
import type { Batch } from './dataset.ts';
import { hash32, randInt, STREAM, uniform } from './rng.ts';

/** What the trainer needs of a transformation network (TransformerNet satisfies it). */
export interface TrainableNet {
  readonly variables: tf.Variable[];
  apply(x: tf.Tensor4D): tf.Tensor4D;
}

/**
 * What the trainer needs of the perceptual loss (PerceptualLoss satisfies it): the total it minimises, the weighted
 * parts it logs (their sum is the total), and the unweighted lattice penalty it logs as a progress figure.
 */
export interface LossFunction {
  compute(
    y: tf.Tensor4D,
    content: tf.Tensor4D,
  ): { total: tf.Scalar; weighted: { content: tf.Scalar; style: tf.Scalar; tv: tf.Scalar }; lattice?: tf.Scalar };
}

export interface BatchSource {
  batch(step: number): Promise<Batch>;
  readonly bad: Map<string, string>;
}

export interface SampleImage {
  name: string;
  /** HWC uint8 RGB. */
  data: Uint8Array;
  width: number;
  height: number;
}

export interface TrainerIO {
  /** Write a checkpoint directory atomically: the model (with `meta`) plus the `extra` files. */
  saveCheckpoint(dir: string, meta: Record<string, unknown>, extra: Record<string, Uint8Array | string>): Promise<void>;
  /** Write an RGB image (JPEG) atomically. */
  writeImage(path: string, image: SampleImage): Promise<void>;
}

export interface TrainerConfig {
  out: string;
  iterations: number;
  batchSize: number;
  imageSize: number;
  microBatch: number;
  lr: number;
  lrDecay: number;
  checkpointEvery: number;
  keep: number;
  sampleEvery: number;
  logEvery: number;
  prefetch: number;
  backend: string;
  /** Fields every checkpoint's meta.json carries (name, styleImages, lossNetwork, training, command ...). */
  meta: Record<string, unknown>;
  divergence?: Partial<DivergenceOptions>;
  /** Steps between in-memory snapshots used for rollback (default min(checkpointEvery, 50)). */
  snapshotEvery?: number;
  /**
   * Loss jitter: each step's outputs and photos are cropped by the same random offset in [0, max] pixels per axis
   * before the loss (`jitterCrop`), drawn from (seed, step): a resumed run draws the same, and micro-batching still
   * gives the whole-batch gradient. 0 = off.
   */
  jitter?: { max: number; seed: number };
  /**
   * Stability loss (Gupta et al. 2017, `stabilityLoss` of @hokusai/losses): weight × mean((f(x) − f(x + n))²),
   * or of |f(x) − f(x + n)| with norm `l1`, n ~ N(0, σ²) drawn from (seed, step, image offset). Absent or weight 0 = off.
   */
  stability?: {
    weight: number;
    sigma: number;
    seed: number;
    /** random whole-pixel shift 0..shift per axis (`shiftCrop`) */
    shift?: number;
    /** draw the shift from [0, shift) instead, warped bilinearly (`shiftWarp`) */
    subpixel?: boolean;
    /** squared (default) or absolute differences */
    norm?: StabilityNorm;
    /** px on each side of the outputs left out of the comparison (the shifted window's other padding) */
    margin?: number;
  };
}

export interface TrainerStateJson {
  formatVersion: 1;
  step: number;
  lrScale: number;
  elapsedS: number;
  divergence: DivergenceState;
  bad: string[];
  variables: { name: string; shape: number[] }[];
  losses: Record<string, number>;
}

/** What `Trainer.run` is given: the stop signal, validation images, sample images and a progress callback. */
export interface RunOptions {
  signal?: AbortSignal;
  validation?: Uint8Array[];
  samples?: SampleImage[];
  onProgress?: (step: number, l: StepLosses, imgPerS: number) => void;
}

/** The state of one `run`: its metrics log, options, clock and the throughput window since the last metrics line. */
interface RunLoop {
  metrics: MetricsLog;
  opts: RunOptions;
  elapsed: () => number;
  window: { start: number; images: number; waitMs: number };
}

export interface TrainResult {
  step: number;
  finalDir: string | null;
  interrupted: boolean;
  firstLoss: number | null;
  lastLoss: number | null;
  rollbacks: number;
}

interface Snapshot {
  step: number;
  weights: tf.Tensor[];
  adam: { json: AdamStateJson; bin: Uint8Array };
}

export interface StepLosses {
  total: number;
  content: number;
  style: number;
  tv: number;
  /** Unweighted lattice penalty (NaN when the loss function does not report one). */
  lattice: number;
  /** Weighted stability loss (included in total); absent when off. */
  stability?: number;
}

/** Images per micro-batch when not given: bounded by each engine's memory (wasm: one 256² image at a time). */
export function autoMicroBatch(backend: string, imageSize: number, batchSize: number): number {
  const pixels256 = 256 * 256;
  const budget = backend === 'wasm' || backend === 'cpu' ? 1 : backend === 'webgpu' ? 4 : batchSize;
  const fit = Math.max(1, Math.floor((budget * pixels256) / (imageSize * imageSize)));
  return Math.min(batchSize, fit);
}

export class Trainer {
  readonly net: TrainableNet;
  readonly loss: LossFunction;
  readonly config: TrainerConfig;
  readonly adam: Adam;
  readonly guard: DivergenceGuard;
  step = 0;
  lrScale = 1;
  private elapsedBefore = 0;
  private readonly data: BatchSource;
  private readonly io: TrainerIO;
  private readonly log: (line: string) => void;
  private snapshot: Snapshot | null = null;
  private lastLosses: StepLosses | null = null;

  constructor(net: TrainableNet, loss: LossFunction, data: BatchSource, io: TrainerIO, config: TrainerConfig, log: (line: string) => void) {
    this.net = net;
    this.loss = loss;
    this.data = data;
    this.io = io;
    this.config = config;
    this.log = log;
    this.adam = new Adam(net.variables);
    this.guard = new DivergenceGuard(config.divergence);
  }

  /** Seconds trained before this process (from the checkpoint `restore` read; 0 for a new run). */
  get elapsedS(): number {
    return this.elapsedBefore;
  }

  /** Records the losses of a step taken outside `trainStep` (the WebGPU engine's): the next checkpoint carries them. */
  noteLosses(l: StepLosses): void {
    this.lastLosses = l;
  }

  /** Learning rate used at `step` (decay and any rollback reductions applied). */
  learningRate(step: number): number {
    return (this.config.lr * this.lrScale) / (1 + this.config.lrDecay * step);
  }

  /** Restore weights, optimiser and trainer state from a checkpoint directory written by this trainer. */
  async restore(dir: string): Promise<TrainerStateJson> {
    const state = await readJson<TrainerStateJson>(join(dir, STATE_JSON));
    const vars = this.net.variables;
    if (state.formatVersion !== 1 || state.variables.length !== vars.length) {
      throw new HokusaiError(
        'CHECKPOINT_INVALID',
        `--resume ${dir}: expected trainer state for a network with ${vars.length} variables, got ${state.variables?.length} (different --width or network?)`,
      );
    }
    const floats = toFloat32(await readBin(join(dir, STATE_BIN)));
    let offset = 0;
    vars.forEach((v, i) => {
      const saved = state.variables[i]!.shape;
      if (saved.length !== v.shape.length || saved.some((d, k) => d !== v.shape[k])) {
        throw new HokusaiError('CHECKPOINT_INVALID', `--resume ${dir}: variable ${i} has shape [${v.shape}] here but [${saved}] in the checkpoint`);
      }
      const values = floats.subarray(offset, offset + v.size);
      tf.tidy(() => v.assign(tf.tensor(values, v.shape)));
      offset += v.size;
    });
    if (offset !== floats.length) {
      throw new HokusaiError('CHECKPOINT_INVALID', `--resume ${dir}: ${STATE_BIN} holds ${floats.length} floats, expected ${offset}`);
    }
    this.adam.restore(await readJson<AdamStateJson>(join(dir, OPTIMIZER_JSON)), await readBin(join(dir, OPTIMIZER_BIN)));
    this.step = state.step;
    this.lrScale = state.lrScale;
    this.elapsedBefore = state.elapsedS;
    this.guard.state = { ...state.divergence, recent: [...state.divergence.recent] };
    for (const f of state.bad) if (!this.data.bad.has(f)) this.data.bad.set(f, 'bad in the resumed run');
    return state;
  }

  /**
   * Loss and gradient of one batch, accumulated over micro-batches: each micro-batch's loss is scaled by its
   * share of the batch, so the sum of the gradients is the whole-batch gradient (instance norm is per image).
   */
  async gradients(batch: Batch): Promise<{ grads: tf.Tensor[]; losses: StepLosses }> {
    const { imageSize } = this.config;
    const B = batch.n;
    const micro = Math.max(1, Math.min(this.config.microBatch, B));
    const px = imageSize * imageSize * 3;
    const vars = this.net.variables;
    let acc: tf.Tensor[] | null = null;
    const parts: StepLosses = { total: 0, content: 0, style: 0, tv: 0, lattice: 0 };
    const stab = this.config.stability;
    if (stab !== undefined && stab.weight > 0) parts.stability = 0;
    for (let off = 0; off < B; off += micro) {
      const m = Math.min(micro, B - off);
      const scale = m / B;
      const x = tf.tensor4d(Float32Array.from(batch.data.subarray(off * px, (off + m) * px)), [m, imageSize, imageSize, 3]);
      let comps: tf.Tensor1D | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const y = this.net.apply(x);
        const [ly, lx] = this.jitterCrop(y, x);
        const r = this.loss.compute(ly, lx);
        const s = parts.stability === undefined ? tf.scalar(0) : this.stabilityTerm(y, x, off);
        const total = tf.add(r.total, s) as tf.Scalar;
        comps = tf.keep(tf.stack([total, r.weighted.content, r.weighted.style, r.weighted.tv, r.lattice ?? tf.scalar(NaN), s]) as tf.Tensor1D);
        return tf.mul(total, scale) as tf.Scalar;
      }, vars);
      const c = await (comps as tf.Tensor1D | null)!.data(); // async: webgpu in Node has no dataSync
      (comps as tf.Tensor1D | null)!.dispose();
      value.dispose();
      parts.total += c[0]! * scale;
      parts.content += c[1]! * scale;
      parts.style += c[2]! * scale;
      parts.tv += c[3]! * scale;
      parts.lattice += c[4]! * scale;
      if (parts.stability !== undefined) parts.stability += c[5]! * scale;
      x.dispose();
      const ordered = vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
      if (acc === null) acc = ordered;
      else {
        const prev: tf.Tensor[] = acc;
        acc = prev.map((a, i) => tf.add(a, ordered[i]!));
        for (const t of prev) t.dispose();
        for (const t of ordered) t.dispose();
      }
    }
    return { grads: acc!, losses: parts };
  }

  /**
   * The output and the photo as the loss sees them: both cropped to (S - max)² at the same random offset. The
   * transformation network is equivariant only to shifts by multiples of its ×4 down/upsampling and VGG pools on a
   * grid anchored at the image's corner, so without this a network can paint a lattice locked to VGG's pooling grid
   * that lowers the Gram loss only at that one alignment (an adversarial pattern: shifting such an output by one
   * pixel raised its relu3_3 style loss by 6–11%, a photo's by 0.1%). Random offsets make that alignment
   * worthless; the idea is the "transformation robustness" of Olah et al. 2017, "Feature Visualization".
   */
  private jitterCrop(y: tf.Tensor4D, x: tf.Tensor4D): [tf.Tensor4D, tf.Tensor4D] {
    const j = this.config.jitter;
    if (!j || j.max === 0) return [y, x];
    const [n, h, w] = y.shape;
    const dy = randInt(j.max + 1, j.seed, STREAM.jitter, this.step, 0);
    const dx = randInt(j.max + 1, j.seed, STREAM.jitter, this.step, 1);
    const size: [number, number, number, number] = [n, h - j.max, w - j.max, 3];
    return [tf.slice(y, [0, dy, dx, 0], size), tf.slice(x, [0, dy, dx, 0], size)];
  }

  /** weight × stabilityLoss(y, f(x + n)), the noise drawn from (seed, step, offset of the micro-batch in the batch). */
  private stabilityTerm(y: tf.Tensor4D, x: tf.Tensor4D, offset: number): tf.Scalar {
    const st = this.config.stability!;
    const shift = st.shift ?? 0;
    const draw = (axis: number): number => {
      const keys = [st.seed, STREAM.stability, this.step, offset, axis];
      return st.subpixel === true ? shift * uniform(...keys) : randInt(shift + 1, ...keys);
    };
    const dy = shift > 0 ? draw(1) : 0;
    const dx = shift > 0 ? draw(2) : 0;
    const move = st.subpixel === true ? shiftWarp : shiftCrop;
    const [xs, ys] = shift > 0 ? [move(x, dy, dx, shift), move(y, dy, dx, shift)] : [x, y];
    const noisy = addSensorNoise(xs, st.sigma, hash32(st.seed, STREAM.stability, this.step, offset));
    const m = st.margin ?? 0;
    return tf.mul(stabilityLoss(innerWindow(ys, m), innerWindow(this.net.apply(noisy), m), st.norm), st.weight) as tf.Scalar;
  }

  /** One optimiser step on one batch; when the divergence guard rejects the loss, nothing is updated. */
  async trainStep(batch: Batch): Promise<{ losses: StepLosses; ok: true } | { ok: false; reason: string }> {
    const { grads, losses } = await this.gradients(batch);
    const verdict = this.guard.check(this.step, losses.total);
    if (!verdict.ok) {
      for (const t of grads) t.dispose();
      return verdict;
    }
    this.adam.apply(grads, this.learningRate(this.step));
    for (const t of grads) t.dispose();
    this.step += 1;
    return { ok: true, losses };
  }

  /** Mean total loss over images (no gradients), micro-batched. */
  async validationLoss(images: Uint8Array[]): Promise<number> {
    const S = this.config.imageSize;
    const micro = Math.max(1, this.config.microBatch);
    let total = 0;
    for (let off = 0; off < images.length; off += micro) {
      const chunk = images.slice(off, off + micro);
      const t = tf.tidy(() => {
        const x = tf.tensor4d(Float32Array.from(concatBytes(chunk)), [chunk.length, S, S, 3]);
        return this.loss.compute(this.net.apply(x), x).total;
      });
      const v = (await t.data())[0]!;
      t.dispose();
      total += v * chunk.length;
    }
    return total / images.length;
  }

  /** Stylise each sample image and write `<out>/samples/step-<n>-<name>.jpg`. */
  async writeSamples(samples: SampleImage[], label: string): Promise<void> {
    const dir = join(this.config.out, 'samples');
    await mkdir(dir, { recursive: true });
    for (const s of samples) {
      const t = tf.tidy(() => {
        const x = tf.tensor4d(Float32Array.from(s.data), [1, s.height, s.width, 3]);
        return tf.round(tf.clipByValue(this.net.apply(x), 0, 255));
      });
      const data = await t.data();
      t.dispose();
      await this.io.writeImage(join(dir, `step-${label}-${s.name}.jpg`), { name: s.name, data: Uint8Array.from(data), width: s.width, height: s.height });
    }
  }

  private async takeSnapshot(): Promise<void> {
    this.dropSnapshot();
    this.snapshot = { step: this.step, weights: this.net.variables.map((v) => tf.clone(v)), adam: await this.adam.serialize() };
  }

  private dropSnapshot(): void {
    if (this.snapshot) for (const t of this.snapshot.weights) t.dispose();
    this.snapshot = null;
  }

  private rollback(): void {
    const s = this.snapshot!;
    this.net.variables.forEach((v, i) => v.assign(s.weights[i]!));
    this.adam.restore(s.adam.json, s.adam.bin);
    this.step = s.step;
  }

  /** Serialise the exact trainer state (weights, Adam, step...) and write `<out>/checkpoint-<step>/`. */
  async saveCheckpoint(elapsedS: number): Promise<string> {
    const dir = checkpointDir(this.config.out, this.step);
    const weights: Float32Array[] = [];
    for (const v of this.net.variables) weights.push((await v.data()) as Float32Array);
    const adam = await this.adam.serialize();
    const losses = this.lossRecord();
    const state: TrainerStateJson = {
      formatVersion: 1,
      step: this.step,
      lrScale: this.lrScale,
      elapsedS,
      divergence: this.guard.state,
      bad: [...this.data.bad.keys()],
      variables: this.net.variables.map((v) => ({ name: v.name, shape: [...v.shape] })),
      losses,
    };
    await this.io.saveCheckpoint(dir, { ...this.config.meta, step: this.step, losses }, {
      [STATE_JSON]: JSON.stringify(state, null, 1),
      [STATE_BIN]: concatFloat32(weights),
      [OPTIMIZER_JSON]: JSON.stringify(adam.json, null, 1),
      [OPTIMIZER_BIN]: adam.bin,
    });
    await pruneCheckpoints(this.config.out, this.config.keep);
    return dir;
  }

  /** The last step's losses for meta.json: the finite ones (the engine reports no lattice figure: NaN). */
  private lossRecord(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.lastLosses ?? {}).filter(([, v]) => Number.isFinite(v)));
  }

  /**
   * Train from the current step to `config.iterations`. Stops early (with a checkpoint) when `signal` aborts.
   * `validation`: held-out crops for the validation loss; `samples`: fixed images stylised every sampleEvery steps.
   */
  async run(opts: RunOptions): Promise<TrainResult> {
    const cfg = this.config;
    await mkdir(cfg.out, { recursive: true });
    await cleanTemporaries(cfg.out);
    const metrics = await MetricsLog.open(cfg.out, this.step, cfg.backend, this.log);
    const t0 = performance.now();
    const loop: RunLoop = { metrics, opts, elapsed: () => this.elapsedBefore + (performance.now() - t0) / 1000, window: { start: t0, images: 0, waitMs: 0 } };
    let firstLoss: number | null = null;
    let interrupted = false;
    let queue = this.prefetcher(this.step);
    await this.takeSnapshot();
    try {
      while (this.step < cfg.iterations) {
        const w0 = queue.waitedMs;
        const batch = await queue.next();
        loop.window.waitMs += queue.waitedMs - w0;
        if (batch.step !== this.step) throw new Error(`internal: batch for step ${batch.step} arrived at step ${this.step}`);
        const stepAt = this.step;
        const r = await this.trainStep(batch);
        if (!r.ok) {
          await this.recover(stepAt, r.reason, loop);
          queue.close();
          queue = this.prefetcher(this.step);
          continue;
        }
        this.lastLosses = r.losses;
        firstLoss ??= r.losses.total;
        loop.window.images += batch.n;
        if (await this.afterStep(r.losses, loop)) {
          interrupted = true;
          break;
        }
      }
    } finally {
      queue.close();
      this.dropSnapshot();
    }
    return { step: this.step, finalDir: null, interrupted, firstLoss, lastLoss: this.lastLosses?.total ?? null, rollbacks: this.guard.state.rollbacks };
  }

  /** The batches from `start` to the last step, read ahead. */
  private prefetcher(start: number): Prefetcher<Batch> {
    return new Prefetcher((s) => this.data.batch(s), { start, end: this.config.iterations, depth: this.config.prefetch });
  }

  /** A diverged step: roll back to the last snapshot with a lower learning rate, and log and record why. */
  private async recover(stepAt: number, reason: string, loop: RunLoop): Promise<void> {
    const lrScale = this.guard.rollback(reason);
    this.lrScale = lrScale;
    this.rollback();
    const msg = `divergence at step ${stepAt}: ${reason}; rolled back to step ${this.step} and lowered the learning rate to ${this.learningRate(this.step).toExponential(3)} (×${lrScale})`;
    this.log(msg);
    await loop.metrics.write({ ...this.record(stepAt, loop.elapsed(), { total: NaN, content: NaN, style: NaN, tv: NaN, lattice: NaN }, 0), event: msg });
  }

  /**
   * After a good step: progress, then at their steps the metrics line, samples, validation + checkpoint and the
   * divergence snapshot. True when the run was asked to stop before its last step (a checkpoint is then written).
   */
  private async afterStep(losses: StepLosses, loop: RunLoop): Promise<boolean> {
    const cfg = this.config;
    const { opts, window } = loop;
    const step = this.step;
    const imgPerS = window.images / Math.max(1e-9, (performance.now() - window.start) / 1000);
    opts.onProgress?.(step, losses, imgPerS);
    // The step ran synchronously: let SIGINT/SIGTERM handlers, progress redraws and the prefetcher's I/O run.
    await yieldToEventLoop();
    const done = step >= cfg.iterations;
    const stop = opts.signal?.aborted === true;
    if (step % cfg.logEvery === 0 || done || stop) {
      await loop.metrics.write({ ...this.record(step, loop.elapsed(), losses, imgPerS), dataWaitMs: Math.round(window.waitMs) });
      Object.assign(window, { start: performance.now(), images: 0, waitMs: 0 });
    }
    if (cfg.sampleEvery > 0 && opts.samples?.length && (step % cfg.sampleEvery === 0 || done)) {
      await this.writeSamples(opts.samples, String(step));
    }
    if (step % cfg.checkpointEvery === 0 || done || stop) await this.checkpointAt(losses, imgPerS, loop);
    if (step % (cfg.snapshotEvery ?? Math.min(cfg.checkpointEvery, 50)) === 0) await this.takeSnapshot();
    return stop && !done;
  }

  /** The validation loss (when there are validation images) and a checkpoint, with a line naming both. */
  private async checkpointAt(losses: StepLosses, imgPerS: number, loop: RunLoop): Promise<void> {
    const validationImages = loop.opts.validation;
    let validation: number | undefined;
    if (validationImages?.length) {
      validation = await this.validationLoss(validationImages);
      await loop.metrics.write({ ...this.record(this.step, loop.elapsed(), losses, imgPerS), validation, event: 'validation' });
    }
    const dir = await this.saveCheckpoint(loop.elapsed());
    this.log(`checkpoint ${dir} (loss ${losses.total.toPrecision(4)}${validation === undefined ? '' : `, validation ${validation.toPrecision(4)}`})`);
  }

  private record(step: number, elapsedS: number, l: StepLosses, imgPerS: number): MetricRecord {
    return {
      step,
      time: new Date().toISOString(),
      elapsedS: Math.round(elapsedS * 100) / 100,
      lr: this.learningRate(step),
      total: l.total,
      content: l.content,
      style: l.style,
      tv: l.tv,
      lattice: l.lattice,
      ...(l.stability === undefined ? {} : { stability: l.stability }),
      imgPerS: Math.round(imgPerS * 1000) / 1000,
    };
  }

  /** Write `<out>/final/` (model only, no optimiser state). */
  async saveFinal(): Promise<string> {
    const dir = join(this.config.out, 'final');
    await this.io.saveCheckpoint(dir, { ...this.config.meta, step: this.step, losses: this.lossRecord() }, {});
    return dir;
  }

  dispose(): void {
    this.adam.dispose();
    this.dropSnapshot();
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
