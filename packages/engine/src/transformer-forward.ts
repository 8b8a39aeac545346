/**
 * Inference with the Johnson et al. 2016 transformation network on the engine: `TransformerNet.apply` for one
 * batch shape, with every buffer, pipeline and bind group made at `create`, so `run` is one upload, one submit
 * (all dispatches plus the copy to a pooled staging buffer) and one read. Matches the tfjs network exactly in
 * what it computes: the input noise field (input-noise.ts) is added first, the input reflection-padded to a
 * multiple of 4 (at least 8) split evenly, and the output cropped back.
 * `forwardMemory`/`checkForwardFits`: the buffers a size needs, planned without a GPU (the same build code run on a
 * stand-in device), so an image too big for the device fails with OUT_OF_MEMORY before anything is allocated.
 */
import { johnsonWeightSpecs, planReflectPad, type NetConfig, type TransformerNet } from '@hokusai/model';
import { HokusaiError, InvalidArgumentError } from '@hokusai/errors';
import { checkMemoryPlan, formatBytes, type MemoryPlan } from './device.ts';
import { GpuContext, type Dispatch } from './gpu-context.ts';
import { planningDevice } from './memory-plan.ts';
import { cropImage, noiseField, paddedSide, padInput, reflectIndexMap } from './kernels/pad-crop.ts';
import { ParamLayout, type NamedWeights } from './param-layout.ts';
import { johnsonConfig, TransformerGraph, type BatchSize, type JohnsonConfig } from './transformer-graph.ts';

/** A network given as its config and named float32 weights (tfjs layout), or a TransformerNet. */
export type EngineNet = TransformerNet | { config: NetConfig; weights: NamedWeights };

/** Named weights of a TransformerNet read back from its backend. */
export async function readNetWeights(net: TransformerNet): Promise<NamedWeights> {
  const out: NamedWeights = {};
  for (const [name, t] of Object.entries(net.namedWeights())) out[name] = Float32Array.from(await t.data());
  return out;
}

async function netParts(net: EngineNet): Promise<{ config: NetConfig; weights: NamedWeights }> {
  if ('weights' in net) return net;
  return { config: net.config, weights: await readNetWeights(net) };
}

function checkSize(size: BatchSize): void {
  for (const k of ['n', 'h', 'w'] as const) {
    const v = size[k];
    if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`TransformerForward: ${k} must be an integer ≥ 1, got ${String(v)}`);
  }
}

export class TransformerForward {
  private constructor(
    readonly ctx: GpuContext,
    readonly config: JohnsonConfig,
    readonly size: BatchSize,
    readonly layout: ParamLayout,
    readonly params: GPUBuffer,
    readonly graph: TransformerGraph,
    private readonly inputBuffer: GPUBuffer,
    private readonly outputBuffer: GPUBuffer,
    /** Every dispatch of one run, in order. */
    readonly dispatches: readonly Dispatch[],
  ) {}

  /** Builds the graph for `size` ({n, h, w} of the unpadded input) and uploads the weights. */
  static async create(ctx: GpuContext, net: EngineNet, size: BatchSize): Promise<TransformerForward> {
    const { config, weights } = await netParts(net);
    const cfg = johnsonConfig(config);
    const layout = new ParamLayout(johnsonWeightSpecs(cfg.channels, cfg.residualBlocks));
    return TransformerForward.build(ctx, cfg, layout, layout.pack(weights), size);
  }

  /** `create` once the weights are packed (synchronous: `forwardMemory` runs it on a stand-in device). */
  private static build(ctx: GpuContext, cfg: JohnsonConfig, layout: ParamLayout, flat: Float32Array, size: BatchSize): TransformerForward {
    checkSize(size);
    const { n, h, w } = size;
    const th = paddedSide(h);
    const tw = paddedSide(w);
    const params = ctx.createBuffer(layout.totalBytes, 'transformer params');
    ctx.upload(params, flat);
    const graph = new TransformerGraph(ctx, cfg, { n, h: th, w: tw }, params, layout);
    const dispatches: Dispatch[] = [];
    const sigma = cfg.inputNoise ?? 0;
    let input = graph.input;
    if (th !== h || tw !== w || sigma > 0) {
      input = ctx.createBuffer(n * h * w * 3 * 4, 'forward input');
      const maps = ctx.createBuffer((th + tw) * 4, 'pad maps');
      const mapData = new Int32Array(th + tw);
      mapData.set(reflectIndexMap(h, th), 0);
      mapData.set(reflectIndexMap(w, tw), th);
      ctx.upload(maps, new Float32Array(mapData.buffer));
      let noise: GPUBuffer | undefined;
      if (sigma > 0) {
        noise = ctx.createBuffer(h * w * 3 * 4, 'input noise');
        ctx.upload(noise, noiseField(h, w, sigma));
      }
      dispatches.push(...padInput(ctx, { n, h, w, th, tw, noise: sigma > 0 }, { x: input, maps, y: graph.input, ...(noise ? { noise } : {}) }));
    }
    dispatches.push(...graph.forward);
    let output = graph.output;
    if (th !== h || tw !== w) {
      output = ctx.createBuffer(n * h * w * 3 * 4, 'forward output');
      const origin = { top: planReflectPad(h, th).offset, left: planReflectPad(w, tw).offset };
      dispatches.push(...cropImage(ctx, { n, th, tw, h, w, c: 3, ...origin }, { x: graph.output, y: output }));
    }
    return new TransformerForward(ctx, cfg, { n, h, w }, layout, params, graph, input, output, dispatches);
  }

  /** Replaces the weights (same config). */
  setWeights(weights: NamedWeights): void {
    this.ctx.upload(this.params, this.layout.pack(weights));
  }

  /** [n, h, w, 3] RGB 0–255 (NHWC, float32) → the stylised batch, same layout, unclamped. */
  async run(input: Float32Array): Promise<Float32Array> {
    const { n, h, w } = this.size;
    const count = n * h * w * 3;
    if (input.length !== count) {
      throw new InvalidArgumentError(`TransformerForward.run expects ${count} floats ([${n},${h},${w},3]), got ${input.length}`);
    }
    this.ctx.upload(this.inputBuffer, input);
    return this.ctx.read(this.outputBuffer, count * 4, 0, this.dispatches);
  }

  /**
   * What `create(ctx, {config}, size)` allocates (every buffer, plus the staging buffer of the first read), planned
   * on a stand-in device: nothing is allocated. Throws the kernels' own INVALID_ARGUMENT for a shape they refuse.
   */
  static memory(config: NetConfig, size: BatchSize): MemoryPlan {
    const cfg = johnsonConfig(config);
    const layout = new ParamLayout(johnsonWeightSpecs(cfg.channels, cfg.residualBlocks));
    const plan: MemoryPlan = { largestBuffer: 0, totalBytes: 0 };
    TransformerForward.build(new GpuContext(planningDevice(plan)), cfg, layout, new Float32Array(layout.totalBytes / 4), size);
    const outputBytes = size.n * size.h * size.w * 3 * 4;
    return { largestBuffer: Math.max(plan.largestBuffer, outputBytes), totalBytes: plan.totalBytes + outputBytes };
  }
}

function forwardFits(device: GPUDevice, config: NetConfig, size: BatchSize, budgetBytes: number | undefined): boolean {
  let plan: MemoryPlan;
  try {
    plan = TransformerForward.memory(config, size);
  } catch (error) {
    if (error instanceof InvalidArgumentError) return false; // a kernel's grid or index limit
    throw error;
  }
  const maxBinding = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize);
  return plan.largestBuffer <= maxBinding && (budgetBytes === undefined || plan.totalBytes <= budgetBytes);
}

/** The largest long edge (< the current one, same aspect ratio, ≥ 8 px) at which the forward fits, or null. */
function largestFittingEdge(device: GPUDevice, config: NetConfig, size: BatchSize, budgetBytes: number | undefined): number | null {
  const long = Math.max(size.h, size.w);
  const at = (edge: number): BatchSize => ({
    n: size.n,
    h: Math.max(1, Math.round((size.h * edge) / long)),
    w: Math.max(1, Math.round((size.w * edge) / long)),
  });
  let lo = 8;
  let hi = long - 1;
  let best: number | null = null;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (forwardFits(device, config, at(mid), budgetBytes)) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

/**
 * Throws OUT_OF_MEMORY before any allocation when the forward of `size` cannot run on `device` (a buffer above what
 * it binds, a kernel grid above its limits, or with `budgetBytes` more memory in all); the message names the largest
 * long edge (`--max-size`) that fits at this aspect ratio and batch. Returns the plan when it fits.
 */
export function checkForwardFits(device: GPUDevice, config: NetConfig, size: BatchSize, opts: { budgetBytes?: number } = {}): MemoryPlan {
  checkSize(size);
  if (forwardFits(device, config, size, opts.budgetBytes)) return TransformerForward.memory(config, size);
  const edge = largestFittingEdge(device, config, size, opts.budgetBytes);
  const largestFit = edge === null ? 'none: even 8 px does not fit' : `--max-size ${edge}`;
  const what = `the engine's forward at ${size.w}×${size.h}${size.n > 1 ? `, batch ${size.n}` : ''}`;
  let plan: MemoryPlan | undefined;
  try {
    plan = TransformerForward.memory(config, size);
  } catch (error) {
    throw new HokusaiError('OUT_OF_MEMORY', `${what} exceeds the device's limits (${(error as Error).message}); the largest that fits is ${largestFit}`, { cause: error });
  }
  checkMemoryPlan(device, plan, `${what} (${formatBytes(plan.totalBytes)} in all)`, { ...(opts.budgetBytes === undefined ? {} : { budgetBytes: opts.budgetBytes }), largestFit });
  throw new HokusaiError('INTERNAL', `checkForwardFits: ${what} does not fit, but checkMemoryPlan found no limit exceeded`);
}
