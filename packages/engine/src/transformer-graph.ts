/**
 * The Johnson et al. 2016 transformation network ("Perceptual Losses for Real-Time Style Transfer and
 * Super-Resolution"; layers as in transformer-net.ts) as a fixed graph of engine kernels for one batch shape:
 * every activation buffer allocated once, the forward pass recorded once as a list of dispatches that reads its
 * weights from the flat parameter buffer (param-layout.ts). Each stage is conv (reflect padding and nearest ×2
 * upsampling folded in) → instance norm (+ReLU or + the residual input). The graph keeps every stage's input,
 * conv output and norm statistics, which is what the backward pass (transformer-backward.ts) needs.
 *
 * Sizes here are already padded: h and w multiples of 4, at least 8 (transformer-forward.ts pads and crops).
 */
import { JOHNSON_IN_EPS, type NetConfig } from '@hokusai/model';
import { InvalidArgumentError } from '@hokusai/errors';
import type { Dispatch, GpuContext } from './gpu-context.ts';
import { conv2d, conv2dOutSize, type Conv2dShape } from './kernels/conv2d.ts';
import { instanceNorm, instanceNormScratchBytes, type InstanceNormShape } from './kernels/instance-norm.ts';
import type { ParamLayout } from './param-layout.ts';

export type JohnsonConfig = Extract<NetConfig, { arch: 'johnson' }>;

export interface BatchSize {
  n: number;
  h: number;
  w: number;
}

/** One conv (+ instance norm) of the network, shapes only. */
export interface StagePlan {
  conv: string;
  /** Instance-norm prefix, or null for the output conv. */
  norm: string | null;
  relu: boolean;
  /** Index of the stage whose input is added after the norm (the residual block's input), or -1. */
  residualOf: number;
  shape: Conv2dShape;
  outH: number;
  outW: number;
}

/** Throws the engine's INVALID_ARGUMENT for anything but a Johnson network. */
export function johnsonConfig(config: NetConfig): JohnsonConfig {
  if (config.arch !== 'johnson') {
    throw new InvalidArgumentError(
      `The WebGPU engine runs the Johnson architecture only, got '${config.arch}'; use the tfjs path for this network`,
    );
  }
  return config;
}

/** The stages of a Johnson network on a padded batch. */
export function johnsonStages(cfg: JohnsonConfig, size: BatchSize): StagePlan[] {
  if (size.h % 4 !== 0 || size.w % 4 !== 0 || size.h < 8 || size.w < 8) {
    throw new InvalidArgumentError(`TransformerGraph needs h, w multiples of 4 and ≥ 8, got ${size.h}x${size.w}`);
  }
  const [c1, c2, c3] = cfg.channels;
  const stages: StagePlan[] = [];
  let h = size.h;
  let w = size.w;
  let inC = 3;
  const add = (conv: string, norm: string | null, k: number, stride: number, upsample: 1 | 2, outC: number, relu: boolean, residualOf = -1): void => {
    const shape: Conv2dShape = { n: size.n, inH: h, inW: w, inC, outC, k, stride, pad: Math.floor(k / 2), padMode: 'reflect', upsample };
    const { outH, outW } = conv2dOutSize(shape);
    stages.push({ conv, norm, relu, residualOf, shape, outH, outW });
    h = outH;
    w = outW;
    inC = outC;
  };
  add('conv1.conv2d', 'in1', 9, 1, 1, c1, true);
  add('conv2.conv2d', 'in2', 3, 2, 1, c2, true);
  add('conv3.conv2d', 'in3', 3, 2, 1, c3, true);
  for (let r = 1; r <= cfg.residualBlocks; r++) {
    add(`res${r}.conv1.conv2d`, `res${r}.in1`, 3, 1, 1, c3, true);
    add(`res${r}.conv2.conv2d`, `res${r}.in2`, 3, 1, 1, c3, false, stages.length - 1);
  }
  add('deconv1.conv2d', 'in4', 3, 1, 2, c2, true);
  add('deconv2.conv2d', 'in5', 3, 1, 2, c1, true);
  add('deconv3.conv2d', null, 9, 1, 1, 3, false);
  return stages;
}

function outFloats(s: StagePlan): number {
  return s.shape.n * s.outH * s.outW * s.shape.outC;
}

/** Bytes of the activation buffers a TransformerGraph of this size allocates, and its largest buffer. */
export function transformerGraphBytes(cfg: JohnsonConfig, size: BatchSize): { totalBytes: number; largestBuffer: number } {
  const stages = johnsonStages(cfg, size);
  let total = size.n * size.h * size.w * 3 * 4;
  let largest = total;
  for (const s of stages) {
    const bytes = outFloats(s) * 4;
    total += (s.norm !== null ? 2 : 1) * bytes + 2 * size.n * s.shape.outC * 4;
    largest = Math.max(largest, bytes);
  }
  return { totalBytes: total, largestBuffer: largest };
}

export function normShape(s: StagePlan): InstanceNormShape {
  return { n: s.shape.n, hw: s.outH * s.outW, c: s.shape.outC, relu: s.relu, residual: s.residualOf >= 0, eps: JOHNSON_IN_EPS };
}

/** Buffers of one stage: input, conv output, norm output (= conv output without a norm), norm statistics. */
export interface StageBuffers {
  x: GPUBuffer;
  z: GPUBuffer;
  a: GPUBuffer;
  mean: GPUBuffer | null;
  invStd: GPUBuffer | null;
}

export class TransformerGraph {
  readonly stages: readonly StagePlan[];
  readonly buffers: readonly StageBuffers[];
  /** [n, h, w, 3] padded input (0–255 + noise). */
  readonly input: GPUBuffer;
  /** [n, h, w, 3] raw output of the last conv. */
  readonly output: GPUBuffer;
  readonly forward: readonly Dispatch[];
  /** Scratch of the instance norms (forward and backward run one layer at a time, so one buffer serves all). */
  readonly normScratch: GPUBuffer;

  constructor(
    readonly ctx: GpuContext,
    readonly config: JohnsonConfig,
    readonly size: BatchSize,
    readonly params: GPUBuffer,
    readonly layout: ParamLayout,
  ) {
    this.stages = johnsonStages(config, size);
    this.input = ctx.createBuffer(size.n * size.h * size.w * 3 * 4, 'transformer input');
    const buffers: StageBuffers[] = [];
    const forward: Dispatch[] = [];
    this.normScratch = ctx.createBuffer(Math.max(...this.stages.map((s) => instanceNormScratchBytes(normShape(s)))), 'norm scratch');
    let x = this.input;
    for (const s of this.stages) {
      const z = ctx.createBuffer(outFloats(s) * 4, `${s.conv} out`);
      forward.push(...conv2d(ctx, s.shape, { x, w: layout.binding(params, `${s.conv}.weight`), bias: layout.binding(params, `${s.conv}.bias`), y: z }));
      let stage: StageBuffers = { x, z, a: z, mean: null, invStd: null };
      if (s.norm !== null) {
        const a = ctx.createBuffer(outFloats(s) * 4, `${s.norm} out`);
        const mean = ctx.createBuffer(s.shape.n * s.shape.outC * 4, `${s.norm} mean`);
        const invStd = ctx.createBuffer(s.shape.n * s.shape.outC * 4, `${s.norm} invStd`);
        const res = s.residualOf >= 0 ? buffers[s.residualOf]?.x : undefined;
        forward.push(
          ...instanceNorm(
            ctx,
            normShape(s),
            {
              scratch: this.normScratch,
              x: z,
              gamma: layout.binding(params, `${s.norm}.weight`),
              beta: layout.binding(params, `${s.norm}.bias`),
              y: a,
              mean,
              invStd,
              ...(res !== undefined ? { res } : {}),
            },
          ),
        );
        stage = { x, z, a, mean, invStd };
      }
      buffers.push(stage);
      x = stage.a;
    }
    this.buffers = buffers;
    this.output = x;
    this.forward = forward;
  }
}
