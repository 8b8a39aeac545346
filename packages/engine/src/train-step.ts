/**
 * One training step of fast style transfer (Johnson et al. 2016, "Perceptual Losses for Real-Time Style Transfer
 * and Super-Resolution") entirely on the engine: transformation-network forward (keeping what backward needs), the
 * perceptual loss forward and backward through the frozen VGG (loss-graph.ts), the network's backward into one flat
 * gradient buffer, and one Adam update (Kingma & Ba 2015, PyTorch's form as in train/adam.ts) over the flat
 * parameter buffer. Everything is allocated at `create`; a step is one upload of the batch, one small write of
 * Adam's step constants and one submit. Loss values stay on the GPU until `readLosses`.
 */
import { johnsonWeightSpecs, type NetConfig } from '@hokusai/model';
import { InvalidArgumentError } from '@hokusai/errors';
import type { Dispatch, GpuContext } from './gpu-context.ts';
import { adam, adamHyper, ADAM_HYPER_FLOATS } from './kernels/adam.ts';
import { noiseField, padInput } from './kernels/pad-crop.ts';
import { LossGraph, type EngineLossSettings, type EngineLossValues } from './loss-graph.ts';
import { ParamLayout, type NamedWeights } from './param-layout.ts';

import { transformerBackward } from './transformer-backward.ts';
import { johnsonConfig, TransformerGraph, type BatchSize } from './transformer-graph.ts';
import { VggWeightsBuffer, type VggConv } from './vgg-graph.ts';

export interface AdamSettings {
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface TrainStepSpec {
  config: NetConfig;
  weights: NamedWeights;
  /** The loss network's convs (Keras weights) from the first up to at least the deepest loss layer. */
  vgg: readonly VggConv[] | VggWeightsBuffer;
  loss: EngineLossSettings;
  /** Gram target [C, C] per style layer. */
  styleTargets: ReadonlyMap<string, Float32Array>;
  /** Batch size and square crop side (a multiple of 4, at least 8). */
  n: number;
  size: number;
  adam: AdamSettings;
}

/** Adam's moments, flat in the parameter layout. */
export interface AdamMoments {
  t: number;
  m: Float32Array;
  v: Float32Array;
}

export class EngineTrainStep {
  readonly layout: ParamLayout;
  readonly params: GPUBuffer;
  readonly grads: GPUBuffer;
  readonly transformer: TransformerGraph;
  readonly loss: LossGraph;
  /** Forward + loss + backward: fills `grads` and the loss slots. */
  readonly gradientDispatches: readonly Dispatch[];
  /** `gradientDispatches` + the Adam update. */
  readonly stepDispatches: readonly Dispatch[];
  /** Adam updates applied so far. */
  t = 0;
  private readonly m: GPUBuffer;
  private readonly v: GPUBuffer;
  private readonly hyper: GPUBuffer;
  private readonly batchInput: GPUBuffer;

  constructor(readonly ctx: GpuContext, readonly spec: TrainStepSpec) {
    const cfg = johnsonConfig(spec.config);
    const { n, size } = spec;
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`EngineTrainStep: batch size must be an integer ≥ 1, got ${n}`);
    const shape: BatchSize = { n, h: size, w: size };
    this.layout = new ParamLayout(johnsonWeightSpecs(cfg.channels, cfg.residualBlocks));
    this.params = ctx.createBuffer(this.layout.totalBytes, 'params');
    ctx.upload(this.params, this.layout.pack(spec.weights));
    this.grads = ctx.createBuffer(this.layout.totalBytes, 'grads');
    this.m = ctx.createBuffer(this.layout.totalBytes, 'adam m');
    this.v = ctx.createBuffer(this.layout.totalBytes, 'adam v');
    this.hyper = ctx.createBuffer(ADAM_HYPER_FLOATS * 4, 'adam hyper');
    this.transformer = new TransformerGraph(ctx, cfg, shape, this.params, this.layout);
    const pre: Dispatch[] = [];
    const sigma = cfg.inputNoise ?? 0;
    this.batchInput = this.transformer.input;
    if (sigma > 0) {
      this.batchInput = ctx.createBuffer(n * size * size * 3 * 4, 'batch');
      const maps = ctx.createBuffer(2 * size * 4, 'identity maps');
      const ids = Int32Array.from({ length: 2 * size }, (_, i) => i % size);
      ctx.upload(maps, new Float32Array(ids.buffer));
      const noise = ctx.createBuffer(size * size * 3 * 4, 'input noise');
      ctx.upload(noise, noiseField(size, size, sigma));
      pre.push(...padInput(ctx, { n, h: size, w: size, th: size, tw: size, noise: true }, { x: this.batchInput, maps, noise, y: this.transformer.input }));
    }
    const vgg = spec.vgg instanceof VggWeightsBuffer ? spec.vgg : new VggWeightsBuffer(ctx, spec.vgg);
    this.loss = new LossGraph(ctx, vgg, spec.loss, shape, this.transformer.output, this.batchInput, spec.styleTargets);
    const backward = transformerBackward(this.transformer, this.loss.dY, this.grads);
    this.gradientDispatches = [...pre, ...this.transformer.forward, ...this.loss.dispatches, ...backward];
    const update = adam(ctx, { count: this.layout.totalFloats }, { param: this.params, grad: this.grads, m: this.m, v: this.v, hyper: this.hyper });
    this.stepDispatches = [...this.gradientDispatches, ...update];
  }

  private uploadBatch(content: Float32Array): void {
    const { n, size } = this.spec;
    const count = n * size * size * 3;
    if (content.length !== count) {
      throw new InvalidArgumentError(`EngineTrainStep expects a batch of ${count} floats ([${n},${size},${size},3]), got ${content.length}`);
    }
    this.ctx.upload(this.batchInput, content);
  }

  /** One optimiser step on `content` ([n, size, size, 3] RGB 0–255) at learning rate `lr`: one submit. */
  step(content: Float32Array, lr: number): void {
    this.uploadBatch(content);
    this.t += 1;
    this.ctx.upload(this.hyper, adamHyper({ ...this.spec.adam, lr, t: this.t }));
    this.ctx.run(this.stepDispatches);
  }

  /** Gradients only (no update), for checks: the named gradient of every parameter and the losses. */
  async gradients(content: Float32Array): Promise<{ grads: NamedWeights; losses: EngineLossValues }> {
    this.uploadBatch(content);
    const flat = await this.ctx.read(this.grads, this.layout.totalBytes, 0, this.gradientDispatches);
    return { grads: this.layout.unpack(flat), losses: await this.loss.read() };
  }

  /** The losses of the last step (one small read). */
  readLosses(): Promise<EngineLossValues> {
    return this.loss.read();
  }

  async readWeights(): Promise<NamedWeights> {
    return this.layout.unpack(await this.ctx.read(this.params, this.layout.totalBytes));
  }

  setWeights(weights: NamedWeights): void {
    this.ctx.upload(this.params, this.layout.pack(weights));
  }

  async readMoments(): Promise<AdamMoments> {
    return { t: this.t, m: await this.ctx.read(this.m, this.layout.totalBytes), v: await this.ctx.read(this.v, this.layout.totalBytes) };
  }

  /** Restores Adam's state (flat arrays in this layout, e.g. from `readMoments` or a checkpoint). */
  setMoments(state: AdamMoments): void {
    if (state.m.length !== this.layout.totalFloats || state.v.length !== this.layout.totalFloats) {
      throw new InvalidArgumentError(`Adam moments: expected ${this.layout.totalFloats} floats each, got ${state.m.length} and ${state.v.length}`);
    }
    if (!Number.isInteger(state.t) || state.t < 0) {
      throw new InvalidArgumentError(`Adam moments: the step count must be an integer ≥ 0, got ${state.t}`);
    }
    this.ctx.upload(this.m, state.m);
    this.ctx.upload(this.v, state.v);
    this.t = state.t;
  }
}
