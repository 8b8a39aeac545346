/**
 * The VGG loss network (Simonyan & Zisserman 2014, arXiv:1409.1556; as Hokusai's losses use it, vgg.ts) as a fixed
 * graph of engine kernels for one batch shape: Keras "caffe" preprocessing, 3×3 same-padded convs with fused ReLU,
 * 2×2 max pooling between blocks, stopping at the deepest layer asked for. Frozen: the backward pass gives only the
 * gradient with respect to the input image (in VGG's BGR order; loss-graph.ts turns it back into RGB).
 *
 * Weights are the Keras `notop` file's (BGR input), in one flat buffer (param-layout.ts), shared by every graph
 * built on the same `VggWeightsBuffer`.
 */
import { InvalidArgumentError } from '@hokusai/errors';
import type { Dispatch, GpuContext } from './gpu-context.ts';
import { conv2d, type Conv2dShape } from './kernels/conv2d.ts';
import { conv2dBackpropInput } from './kernels/conv2d-backprop.ts';
import { maxPool2x2, maxPool2x2Backward } from './kernels/pool.ts';
import { reluBackward, vggPreprocess } from './kernels/loss-terms.ts';
import { ParamLayout } from './param-layout.ts';
import type { BatchSize } from './transformer-graph.ts';

/** One conv of the loss network, in forward order (Keras weights: kernel [3, 3, inC, outC], BGR input). */
export interface VggConv {
  /** Public layer name of the ReLU after it (`relu1_1` …). */
  relu: string;
  inC: number;
  outC: number;
  /** A 2×2 pooling follows (last conv of its block). */
  poolAfter: boolean;
  kernel: Float32Array;
  bias: Float32Array;
}

/**
 * The engine's conv list from Keras weights (`VggWeights.layers`, keyed `block1_conv1` …) and the layer table
 * (`convSpecs(net)` of @hokusai/losses), up to and including layer `deepest`.
 */
export function vggConvsFromKeras(
  layers: ReadonlyMap<string, { kernel: Float32Array; bias: Float32Array }>,
  specs: readonly { conv: string; relu: string; inChannels: number; outChannels: number; lastInBlock: boolean }[],
  deepest: string,
): VggConv[] {
  const end = specs.findIndex((s) => s.relu === deepest);
  if (end < 0) throw new InvalidArgumentError(`Unknown VGG layer '${deepest}'`);
  return specs.slice(0, end + 1).map((s) => {
    const w = layers.get(s.conv);
    if (w === undefined) throw new InvalidArgumentError(`VGG weights lack '${s.conv}' (needed up to ${deepest})`);
    return { relu: s.relu, inC: s.inChannels, outC: s.outChannels, poolAfter: s.lastInBlock, kernel: w.kernel, bias: w.bias };
  });
}

/** The loss network's weights on the device (uploaded once). */
export class VggWeightsBuffer {
  readonly layout: ParamLayout;
  readonly buffer: GPUBuffer;
  readonly convs: readonly Omit<VggConv, 'kernel' | 'bias'>[];

  constructor(ctx: GpuContext, convs: readonly VggConv[]) {
    if (convs.length === 0) throw new InvalidArgumentError('VggWeightsBuffer needs at least one conv');
    this.convs = convs.map(({ relu, inC, outC, poolAfter }) => ({ relu, inC, outC, poolAfter }));
    this.layout = new ParamLayout(
      convs.flatMap((c) => [
        { name: `${c.relu}.kernel`, shape: [3, 3, c.inC, c.outC] },
        { name: `${c.relu}.bias`, shape: [c.outC] },
      ]),
    );
    const named: Record<string, Float32Array> = {};
    for (const c of convs) {
      named[`${c.relu}.kernel`] = c.kernel;
      named[`${c.relu}.bias`] = c.bias;
    }
    const flat = this.layout.pack(named);
    this.buffer = ctx.createBuffer(this.layout.totalBytes, 'vgg weights');
    ctx.upload(this.buffer, flat);
  }

  /** Index of the conv producing `relu`; throws for a layer not in these weights. */
  indexOf(relu: string): number {
    const i = this.convs.findIndex((c) => c.relu === relu);
    if (i < 0) throw new InvalidArgumentError(`VGG layer '${relu}' is not among the engine's weights (${this.convs.map((c) => c.relu).join(', ')})`);
    return i;
  }
}

interface LayerBuffers {
  shape: Conv2dShape;
  /** ReLU output [n, h, w, outC]. */
  a: GPUBuffer;
  /** Pooled output when a pool follows and a deeper layer is used. */
  pooled: GPUBuffer | null;
}

export class VggGraph {
  readonly layers: readonly LayerBuffers[];
  readonly forward: readonly Dispatch[];
  /** The preprocessed BGR input. */
  readonly bgr: GPUBuffer;
  private grads: GPUBuffer[] | null = null;
  private dInput: GPUBuffer | null = null;

  /** The graph from RGB 0–255 `input` [n, h, w, 3] up to layer index `deepest`. */
  constructor(
    readonly ctx: GpuContext,
    readonly weights: VggWeightsBuffer,
    readonly size: BatchSize,
    input: GPUBuffer,
    deepest: number,
  ) {
    const { n } = size;
    let { h, w } = size;
    this.bgr = ctx.createBuffer(n * h * w * 3 * 4, 'vgg bgr input');
    const forward: Dispatch[] = [...vggPreprocess(ctx, { pixels: n * h * w }, { x: input, y: this.bgr })];
    const layers: LayerBuffers[] = [];
    let x = this.bgr;
    for (let i = 0; i <= deepest; i++) {
      const c = weights.convs[i]!;
      const shape: Conv2dShape = { n, inH: h, inW: w, inC: c.inC, outC: c.outC, k: 3, stride: 1, pad: 1, padMode: 'zero', upsample: 1, relu: true };
      const a = ctx.createBuffer(n * h * w * c.outC * 4, `vgg ${c.relu}`);
      const lw = weights.layout;
      forward.push(...conv2d(ctx, shape, { x, w: lw.binding(weights.buffer, `${c.relu}.kernel`), bias: lw.binding(weights.buffer, `${c.relu}.bias`), y: a }));
      let pooled: GPUBuffer | null = null;
      x = a;
      if (c.poolAfter && i < deepest) {
        if (h % 2 !== 0 || w % 2 !== 0) throw new InvalidArgumentError(`VGG pooling needs even sizes, got ${h}x${w} at ${c.relu}`);
        pooled = ctx.createBuffer(n * (h / 2) * (w / 2) * c.outC * 4, `vgg ${c.relu} pooled`);
        forward.push(...maxPool2x2(ctx, { n, h, w, c: c.outC }, { x: a, y: pooled }));
        x = pooled;
        h /= 2;
        w /= 2;
      }
      layers.push({ shape, a, pooled });
    }
    this.layers = layers;
    this.forward = forward;
  }

  /** ReLU output of `relu` (must be within this graph). */
  feature(relu: string): GPUBuffer {
    const i = this.weights.indexOf(relu);
    const l = this.layers[i];
    if (l === undefined) throw new InvalidArgumentError(`VGG layer '${relu}' is deeper than this graph was built for`);
    return l.a;
  }

  /** Shape [n, h, w, c] of a layer's ReLU output. */
  featureShape(relu: string): { n: number; h: number; w: number; c: number } {
    const l = this.layers[this.weights.indexOf(relu)];
    if (l === undefined) throw new InvalidArgumentError(`VGG layer '${relu}' is deeper than this graph was built for`);
    return { n: l.shape.n, h: l.shape.inH, w: l.shape.inW, c: l.shape.outC };
  }

  /** The gradient buffer of layer `relu`'s output, allocated once; the loss writes/accumulates into it. */
  gradient(relu: string): GPUBuffer {
    return this.gradBuffers()[this.weights.indexOf(relu)]!;
  }

  /** Gradient with respect to the BGR input (written by `backward`). */
  inputGradient(): GPUBuffer {
    this.dInput ??= this.ctx.createBuffer(this.bgr.size, 'vgg input grad');
    return this.dInput;
  }

  private gradBuffers(): GPUBuffer[] {
    this.grads ??= this.layers.map((l, i) => this.ctx.createBuffer(l.a.size, `vgg grad ${this.weights.convs[i]!.relu}`));
    return this.grads;
  }

  /**
   * Dispatches of the backward pass from layer index `from` down to the input. `lossAt(i)` returns the dispatches
   * that write (at `from`) or add (below) the loss gradient into layer i's gradient buffer, run right after the
   * deeper layers' backward wrote it; layers without a loss term return [].
   */
  backward(from: number, lossAt: (i: number) => Dispatch[]): Dispatch[] {
    const grads = this.gradBuffers();
    const out: Dispatch[] = [];
    const lw = this.weights.layout;
    for (let i = from; i >= 0; i--) {
      const l = this.layers[i]!;
      const relu = this.weights.convs[i]!.relu;
      const g = grads[i]!;
      out.push(...lossAt(i));
      out.push(...reluBackward(this.ctx, { count: l.a.size / 4 }, { g, y: l.a }));
      const below = i > 0 ? this.layers[i - 1]! : null;
      if (below === null) {
        out.push(...conv2dBackpropInput(this.ctx, l.shape, { dy: g, w: lw.binding(this.weights.buffer, `${relu}.kernel`), dx: this.inputGradient() }));
      } else if (below.pooled !== null) {
        const dPooled = this.poolGrad(i - 1, below.pooled.size);
        out.push(...conv2dBackpropInput(this.ctx, l.shape, { dy: g, w: lw.binding(this.weights.buffer, `${relu}.kernel`), dx: dPooled }));
        const s = below.shape;
        out.push(...maxPool2x2Backward(this.ctx, { n: s.n, h: s.inH, w: s.inW, c: s.outC }, { x: below.a, dy: dPooled, dx: grads[i - 1]! }));
      } else {
        out.push(...conv2dBackpropInput(this.ctx, l.shape, { dy: g, w: lw.binding(this.weights.buffer, `${relu}.kernel`), dx: grads[i - 1]! }));
      }
    }
    return out;
  }

  private readonly pooledGrads = new Map<number, GPUBuffer>();

  private poolGrad(i: number, bytes: number): GPUBuffer {
    let b = this.pooledGrads.get(i);
    if (b === undefined) {
      b = this.ctx.createBuffer(bytes, `vgg pooled grad ${i}`);
      this.pooledGrads.set(i, b);
    }
    return b;
  }
}
