/**
 * The perceptual loss of Johnson et al. 2016 ("Perceptual Losses for Real-Time Style Transfer and
 * Super-Resolution") with Gram style targets (Gatys et al. 2016) and total variation, forward and backward on the
 * engine, exactly as PerceptualLoss.compute defines it (docs/losses.md): per-layer content MSE against VGG features
 * of the content batch, per-layer mean square of Gram minus target (G = FᵀF/(C·H·W)), TV as the sum of the mean
 * squared right and down differences, weighted by contentWeight·w_l, styleWeight·w_l and tvWeight. One graph per
 * batch shape; its dispatches write the gradient of the weighted total with respect to the output y (`dY`) and
 * the unweighted loss terms into a small buffer (`slots`) that is read only when asked.
 */
import { InvalidArgumentError } from '@hokusai/errors';
import type { Dispatch, GpuContext } from './gpu-context.ts';
import { gram as gramKernel, gramScratchFloats } from './kernels/gram.ts';
import { contentDiff, gramMinusTarget, tvAndOutputGrad } from './kernels/loss-terms.ts';
import { matmul } from './kernels/matmul.ts';
import { reduce } from './kernels/reduce.ts';
import type { BatchSize } from './transformer-graph.ts';
import { VggGraph, type VggWeightsBuffer } from './vgg-graph.ts';

/** The loss settings the engine supports (PerceptualLossOptions without blur, lattice, pooling choices). */
export interface EngineLossSettings {
  contentLayers: Record<string, number>;
  styleLayers: Record<string, number>;
  contentWeight: number;
  styleWeight: number;
  tvWeight: number;
}

/** Unweighted per-layer terms, tv, and the weighted total (PerceptualLoss.compute's numbers). */
export interface EngineLossValues {
  total: number;
  content: Record<string, number>;
  style: Record<string, number>;
  tv: number;
  /** Weighted parts: contentWeight·Σ w_l·content_l, styleWeight·Σ w_l·style_l, tvWeight·tv. */
  weighted: { content: number; style: number; tv: number };
}

interface Slot {
  kind: 'content' | 'style' | 'tv';
  layer: string;
  /** Multiplies the slot's sum into the unweighted loss (applied by the reduction). */
  factor: number;
}

export class LossGraph {
  readonly dispatches: readonly Dispatch[];
  /** Gradient of the weighted total with respect to y, [n, h, w, 3] RGB. */
  readonly dY: GPUBuffer;
  /** One float per loss term (sums; see `decode`). */
  readonly slots: GPUBuffer;
  private readonly slotList: Slot[] = [];

  /**
   * `y` and `content` are [n, h, w, 3] RGB 0–255 buffers; `targets` the Gram target [C, C] per style layer
   * (PerceptualLoss.setStyle's values).
   */
  constructor(
    readonly ctx: GpuContext,
    readonly vgg: VggWeightsBuffer,
    readonly settings: EngineLossSettings,
    readonly size: BatchSize,
    y: GPUBuffer,
    content: GPUBuffer,
    targets: ReadonlyMap<string, Float32Array>,
  ) {
    const { n, h, w } = size;
    const contentNames = Object.keys(settings.contentLayers);
    const styleNames = Object.keys(settings.styleLayers);
    const all = [...contentNames, ...styleNames];
    if (all.length === 0) throw new InvalidArgumentError('LossGraph needs at least one content or style layer');
    const deepest = Math.max(...all.map((l) => vgg.indexOf(l)));
    const vy = new VggGraph(ctx, vgg, size, y, deepest);
    const vc = contentNames.length > 0 ? new VggGraph(ctx, vgg, size, content, Math.max(...contentNames.map((l) => vgg.indexOf(l)))) : null;
    this.slots = ctx.createBuffer((all.length + 1) * 4, 'loss slots');
    const out: Dispatch[] = [...vy.forward, ...(vc?.forward ?? [])];

    const perLayer = new Map<number, Dispatch[]>();
    const push = (i: number, ds: Dispatch[]): void => {
      perLayer.set(i, [...(perLayer.get(i) ?? []), ...ds]);
    };
    const written = new Set<number>();
    const firstWrite = (i: number): boolean => {
      const first = i === deepest && !written.has(i);
      written.add(i);
      return first;
    };

    for (const layer of contentNames) {
      const i = vgg.indexOf(layer);
      const s = vy.featureShape(layer);
      const count = s.n * s.h * s.w * s.c;
      const diff = ctx.createBuffer(count * 4, `content diff ${layer}`);
      const scale = (2 * settings.contentWeight * (settings.contentLayers[layer] ?? 0)) / count;
      push(i, contentDiff(ctx, { count, scale, accumulate: !firstWrite(i) }, { fy: vy.feature(layer), fc: vc!.feature(layer), diff, grad: vy.gradient(layer) }));
      push(i, this.sumInto(diff, count, true, { kind: 'content', layer, factor: 1 / count }));
    }
    const gramPartial = this.gramScratch(vy, styleNames);
    for (const layer of styleNames) {
      const i = vgg.indexOf(layer);
      const s = vy.featureShape(layer);
      const target = targets.get(layer);
      if (target === undefined || target.length !== s.c * s.c) {
        throw new InvalidArgumentError(`Style target for ${layer}: expected ${s.c}x${s.c} floats, got ${target?.length ?? 'none'}`);
      }
      const tBuf = ctx.createBuffer(target.byteLength, `gram target ${layer}`);
      ctx.upload(tBuf, target);
      const gram = ctx.createBuffer(s.n * s.c * s.c * 4, `gram ${layer}`);
      const hw = s.h * s.w;
      const f = vy.feature(layer);
      // G = FᵀF/(C·H·W), then G − T in place; its sum of squares / (N·C·C) is the style loss.
      out.push(...gramKernel(ctx, { n: s.n, c: s.c, hw, alpha: 1 / (s.c * hw) }, { f, gram, partial: gramPartial }));
      out.push(...gramMinusTarget(ctx, { n: s.n, c: s.c }, { gram, target: tBuf }));
      out.push(...this.sumInto(gram, s.n * s.c * s.c, true, { kind: 'style', layer, factor: 1 / (s.n * s.c * s.c) }));
      // ∂/∂F of styleWeight·w_l·mean((G−T)²) = F·(G−T) · 4·styleWeight·w_l / (N·C·C · C·H·W) (G−T symmetric).
      const alpha = (4 * settings.styleWeight * (settings.styleLayers[layer] ?? 0)) / (s.n * s.c * s.c * s.c * hw);
      const accumulate = !firstWrite(i);
      push(i, matmul(ctx, { batch: s.n, m: hw, n: s.c, k: s.c, transA: false, transB: false, alpha, accumulate }, { a: f, b: gram, c: vy.gradient(layer) }));
    }
    out.push(...vy.backward(deepest, (i) => perLayer.get(i) ?? []));
    this.dY = ctx.createBuffer(n * h * w * 3 * 4, 'loss dY');
    const terms = ctx.createBuffer(n * h * w * 3 * 4, 'tv terms');
    out.push(...tvAndOutputGrad(ctx, { n, h, w, weight: settings.tvWeight }, { y, dBgr: vy.inputGradient(), dy: this.dY, terms }));
    out.push(...this.sumInto(terms, n * h * w * 3, false, { kind: 'tv', layer: '', factor: 1 }));
    this.dispatches = out;
  }

  /** One split-K scratch for every style layer's Gram (they run one after another), or none if no layer splits. */
  private gramScratch(vy: VggGraph, styleNames: readonly string[]): GPUBuffer | undefined {
    const floats = Math.max(0, ...styleNames.map((l) => vy.featureShape(l)).map((s) => gramScratchFloats({ n: s.n, c: s.c, hw: s.h * s.w })));
    return floats > 0 ? this.ctx.createBuffer(floats * 4, 'gram split-K scratch') : undefined;
  }

  private sumInto(x: GPUBuffer, count: number, squares: boolean, slot: Slot): Dispatch[] {
    const index = this.slotList.length;
    this.slotList.push(slot);
    return reduce(this.ctx, { count, op: squares ? 'sumSquares' : 'sum', scale: slot.factor }, { x, out: this.slots, outIndex: index });
  }

  /** Loss values from the slots' floats. */
  decode(sums: Float32Array): EngineLossValues {
    const s = this.settings;
    const v: EngineLossValues = { total: 0, content: {}, style: {}, tv: 0, weighted: { content: 0, style: 0, tv: 0 } };
    this.slotList.forEach((slot, i) => {
      const value = sums[i] ?? NaN;
      if (slot.kind === 'content') {
        v.content[slot.layer] = value;
        v.weighted.content += s.contentWeight * (s.contentLayers[slot.layer] ?? 0) * value;
      } else if (slot.kind === 'style') {
        v.style[slot.layer] = value;
        v.weighted.style += s.styleWeight * (s.styleLayers[slot.layer] ?? 0) * value;
      } else {
        v.tv = value;
        v.weighted.tv = s.tvWeight * value;
      }
    });
    v.total = v.weighted.content + v.weighted.style + v.weighted.tv;
    return v;
  }

  /** Reads the slots (one small copy) and decodes them. */
  async read(): Promise<EngineLossValues> {
    return this.decode(await this.ctx.read(this.slots, this.slotList.length * 4));
  }
}
