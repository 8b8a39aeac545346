/**
 * Inference with the Johnson et al. 2016 transformation network on the engine: `TransformerNet.apply` for one
 * batch shape, with every buffer, pipeline and bind group made at `create`, so `run` is one upload, one submit
 * (all dispatches plus the copy to a pooled staging buffer) and one read. Matches the tfjs network exactly in
 * what it computes: the input noise field (input-noise.ts) is added first, the input reflection-padded to a
 * multiple of 4 (at least 8) split evenly, and the output cropped back.
 */
import { johnsonWeightSpecs, planReflectPad, type NetConfig, type TransformerNet } from '@hokusai/model';
import { InvalidArgumentError } from '@hokusai/errors';
import type { Dispatch, GpuContext } from './gpu-context.ts';
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
    checkSize(size);
    const { n, h, w } = size;
    const th = paddedSide(h);
    const tw = paddedSide(w);
    const layout = new ParamLayout(johnsonWeightSpecs(cfg.channels, cfg.residualBlocks));
    const flat = layout.pack(weights);
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
}
