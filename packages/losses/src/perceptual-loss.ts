/**
 * Perceptual loss of Johnson et al. 2016 ("Perceptual Losses for Real-Time Style Transfer and Super-Resolution",
 * arXiv:1603.08155): weighted content (feature reconstruction) loss + weighted style (Gram) loss + total variation
 * (+ an optional lattice penalty, lattice.ts), on a VGG loss network. Gram targets of the style image(s) are
 * computed once in `setStyle` and reused; several styles are blended by blending their Gram targets; the content
 * features of a fixed content image (pixel optimisation) likewise once in `setContent`. `compute` is the one place
 * the weights are applied: it returns the weighted parts that every caller (training, its logs, optimisation)
 * reads. Definitions: docs/losses.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import { contentLoss } from './content-loss.ts';
import { gram } from './gram.ts';
import type { VggWeights } from './keras-h5.ts';
import { checkLayer } from './layers.ts';
import { styleLossFromGrams } from './style-loss.ts';
import { latticePenalty } from './lattice.ts';
import { totalVariation } from './total-variation.ts';
import { Vgg, type Pooling } from './vgg.ts';

/** layer -> weight. */
export interface LossLayers {
  [layer: string]: number;
}

export interface PerceptualLossOptions {
  contentLayers: LossLayers;
  styleLayers: LossLayers;
  contentWeight: number;
  styleWeight: number;
  tvWeight: number;
  /** Weight of the lattice penalty (`latticePenalty`, period 4: the transformation network's stride). Default 0. */
  latticeWeight?: number;
  /** Pooling of the loss network; must match the Vgg given (used by `fromWeights`). Default max. */
  pooling?: Pooling;
  /** Style images are resized by this factor before their Gram targets are computed. Default 1. */
  styleScale?: number;
  /**
   * Passes of a [1,2,1]/4 binomial blur applied to the output and the style image(s) before their style features
   * (`blurImage`): the style loss then sees no detail finer than ~4 px, so it stops paying for a fine weave. Content
   * features are taken from the unblurred output. Default 0.
   */
  styleBlur?: number;
}

/**
 * The loss options a command passes on as they are (train, optimize): a command that has these option names honours
 * every one of them by building its loss from `lossOptionsOf(options)`. `styleScale` is not among them: optimize
 * resizes style images itself, per level.
 */
export const LOSS_OPTION_KEYS = ['contentLayers', 'styleLayers', 'contentWeight', 'styleWeight', 'tvWeight', 'latticeWeight', 'styleBlur', 'pooling'] as const;

/** The loss options of a command, every one given. */
export type LossOptionFields = Required<Pick<PerceptualLossOptions, (typeof LOSS_OPTION_KEYS)[number]>>;

/** The loss options among a command's options (LOSS_OPTION_KEYS; nothing else). */
export function lossOptionsOf(o: LossOptionFields): LossOptionFields {
  return Object.fromEntries(LOSS_OPTION_KEYS.map((k) => [k, o[k]])) as LossOptionFields;
}

/** `passes` passes of the separable [1,2,1]/4 binomial filter (two 2×2 box filters each; shifts by one pixel). */
export function blurImage(x: tf.Tensor4D, passes: number): tf.Tensor4D {
  let y = x;
  for (let i = 0; i < passes; i++) y = tf.avgPool(tf.avgPool(y, 2, 1, 'same'), 2, 1, 'same');
  return y;
}

export interface StyleImage {
  /** `[H,W,3]` RGB 0–255. */
  image: tf.Tensor3D;
  /** Blend weight (≥ 0); weights are normalised to sum 1. */
  weight: number;
}

/** The weighted parts of the loss; their sum is `total`. A type alias, so it is a tfjs TensorContainer. */
export type WeightedLossParts = {
  /** contentWeight·Σ w_l·content_l. */
  content: tf.Scalar;
  /** styleWeight·Σ w_l·style_l. */
  style: tf.Scalar;
  /** tvWeight·tv. */
  tv: tf.Scalar;
  /** latticeWeight·lattice. */
  lattice: tf.Scalar;
};

/** A type alias (not an interface) so it is a tfjs TensorContainer: `tf.tidy` can return it. */
export type PerceptualLossResult = {
  /** contentWeight·Σ w_l·content_l + styleWeight·Σ w_l·style_l + tvWeight·tv + latticeWeight·lattice. */
  total: tf.Scalar;
  /** The four weighted parts of `total`. */
  weighted: WeightedLossParts;
  /** Unweighted content loss per layer. */
  content: Record<string, tf.Scalar>;
  /** Unweighted style loss per layer. */
  style: Record<string, tf.Scalar>;
  /** Unweighted total variation of y. */
  tv: tf.Scalar;
  /** Unweighted lattice penalty of y (computed even when its weight is 0: a progress figure to watch). */
  lattice: tf.Scalar;
};

function checkLayers(vgg: Vgg, layers: LossLayers, what: string): string[] {
  const names = Object.keys(layers);
  for (const name of names) {
    checkLayer(vgg.net, name);
    const w = layers[name];
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0) {
      throw new InvalidArgumentError(`Expected a finite weight >= 0 for ${what} layer '${name}', but got ${String(w)}`);
    }
  }
  return names;
}

function checkWeight(name: string, value: number): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`Expected ${name} to be a finite number >= 0, but got ${String(value)}`);
  }
}

export class PerceptualLoss {
  readonly vgg: Vgg;
  readonly options: Readonly<PerceptualLossOptions>;
  private readonly contentNames: string[];
  private readonly styleNames: string[];
  private targets: Map<string, tf.Tensor2D> | null = null;
  private contentFeatures: { shape: number[]; features: Record<string, tf.Tensor4D> } | null = null;
  private readonly ownsVgg: boolean;

  constructor(vgg: Vgg, opts: PerceptualLossOptions, internal?: { ownsVgg: boolean }) {
    this.contentNames = checkLayers(vgg, opts.contentLayers, 'content');
    this.styleNames = checkLayers(vgg, opts.styleLayers, 'style');
    checkWeight('contentWeight', opts.contentWeight);
    checkWeight('styleWeight', opts.styleWeight);
    checkWeight('tvWeight', opts.tvWeight);
    if (opts.latticeWeight !== undefined) checkWeight('latticeWeight', opts.latticeWeight);
    if (opts.styleScale !== undefined && !(opts.styleScale > 0 && Number.isFinite(opts.styleScale))) {
      throw new InvalidArgumentError(`Expected styleScale > 0, but got ${String(opts.styleScale)}`);
    }
    if (opts.styleBlur !== undefined && !(Number.isInteger(opts.styleBlur) && opts.styleBlur >= 0)) {
      throw new InvalidArgumentError(`Expected styleBlur to be an integer >= 0, but got ${String(opts.styleBlur)}`);
    }
    if (opts.pooling !== undefined && opts.pooling !== vgg.pooling) {
      throw new InvalidArgumentError(`Expected a Vgg with ${opts.pooling} pooling, but the Vgg given uses ${vgg.pooling} pooling`);
    }
    for (const layer of [...this.contentNames, ...this.styleNames]) {
      if (!vgg.canProduce(layer)) {
        throw new InvalidArgumentError(
          `Layer '${layer}' is deeper than the Vgg given was built for (${vgg.layers.join(', ')}); create it with that layer`,
        );
      }
    }
    this.vgg = vgg;
    this.options = { ...opts, contentLayers: { ...opts.contentLayers }, styleLayers: { ...opts.styleLayers } };
    this.ownsVgg = internal?.ownsVgg ?? false;
  }

  /** Builds the Vgg (only the layers needed) from weights; the loss owns it and disposes it. */
  static fromWeights(weights: VggWeights, opts: PerceptualLossOptions): PerceptualLoss {
    const layers = [...new Set([...Object.keys(opts.contentLayers), ...Object.keys(opts.styleLayers)])];
    const vgg = Vgg.create(weights, { layers, pooling: opts.pooling ?? 'max' });
    try {
      return new PerceptualLoss(vgg, opts, { ownsVgg: true });
    } catch (error) {
      vgg.dispose();
      throw error;
    }
  }

  get contentLayerNames(): readonly string[] {
    return this.contentNames;
  }

  get styleLayerNames(): readonly string[] {
    return this.styleNames;
  }

  /** Computes (once) the blended Gram targets of the style image(s); replaces earlier targets. */
  setStyle(styles: StyleImage[]): void {
    if (styles.length === 0) throw new InvalidArgumentError('setStyle expects at least one style image, but got none');
    let sum = 0;
    styles.forEach((s, i) => {
      checkWeight(`style image ${i + 1} weight`, s.weight);
      if (s.image.rank !== 3 || s.image.shape[2] !== 3) {
        throw new InvalidArgumentError(`Expected style image ${i + 1} as [H,W,3], but got shape [${s.image.shape.join(', ')}]`);
      }
      sum += s.weight;
    });
    if (!(sum > 0)) throw new InvalidArgumentError('Expected style image weights with a positive sum, but they sum to 0');
    const scale = this.options.styleScale ?? 1;
    const targets = tf.tidy(() => {
      const acc: Record<string, tf.Tensor2D> = {};
      for (const s of styles) {
        let x = tf.expandDims(s.image, 0) as tf.Tensor4D;
        if (scale !== 1) {
          const [h, w] = s.image.shape;
          const size: [number, number] = [Math.max(16, Math.round(h * scale)), Math.max(16, Math.round(w * scale))];
          x = tf.image.resizeBilinear(x, size, true);
        }
        const feats = this.vgg.features(blurImage(x, this.options.styleBlur ?? 0), this.styleNames);
        for (const layer of this.styleNames) {
          const g = tf.mul(tf.squeeze(gram(feats[layer]!), [0]), s.weight / sum) as tf.Tensor2D;
          const prev = acc[layer];
          acc[layer] = prev ? tf.add(prev, g) : g;
        }
      }
      return acc;
    });
    this.disposeTargets();
    this.targets = new Map(Object.entries(targets));
  }

  /** Gram targets per style layer (owned by the loss; do not dispose). */
  get styleTargets(): ReadonlyMap<string, tf.Tensor2D> | null {
    return this.targets;
  }

  /**
   * Computes (once) the content features of a fixed content batch `[N,H,W,3]`, used by `compute(y)` when no content
   * batch is given (pixel optimisation: one content image, thousands of evaluations). Replaces earlier ones; `null`
   * drops them.
   */
  setContent(content: tf.Tensor4D | null): void {
    this.disposeContent();
    if (content === null) return;
    if (content.rank !== 4 || content.shape[3] !== 3) {
      throw new InvalidArgumentError(`setContent expects content as [N,H,W,3], but got shape [${content.shape.join(', ')}]`);
    }
    const features = this.contentNames.length > 0 ? tf.tidy(() => this.vgg.features(content, this.contentNames)) : {};
    this.contentFeatures = { shape: [...content.shape], features };
  }

  /**
   * Losses of output batch `y` `[N,H,W,3]` against the content batch of the same shape (RGB 0–255), or against the
   * content set by `setContent` when `content` is omitted. Unweighted per layer, means over the batch; `total` and
   * `weighted` are weighted. Differentiable with respect to `y`.
   */
  compute(y: tf.Tensor4D, content?: tf.Tensor4D): PerceptualLossResult {
    const contentShape = content?.shape ?? this.contentFeatures?.shape;
    if (!contentShape) throw new InvalidArgumentError('compute needs a content batch: pass one or call setContent() first');
    if (y.rank !== 4 || y.shape[3] !== 3 || y.shape.join() !== contentShape.join()) {
      throw new InvalidArgumentError(
        `compute expects y and content as [N,H,W,3] of the same shape, but got [${y.shape.join(', ')}] and [${contentShape.join(', ')}]`,
      );
    }
    if (this.styleNames.length > 0 && !this.targets) {
      throw new InvalidArgumentError('compute needs style targets: call setStyle() first');
    }
    const o = this.options;
    return tf.tidy(() => {
      const blur = o.styleBlur ?? 0;
      // One pass through VGG for both kinds of layers, or two when the style branch sees a blurred output.
      const fy = this.vgg.features(y, blur > 0 ? this.contentNames : [...new Set([...this.contentNames, ...this.styleNames])]);
      const fs = blur > 0 ? this.vgg.features(blurImage(y, blur), this.styleNames) : fy;
      const fc = content === undefined ? this.contentFeatures!.features : this.contentNames.length > 0 ? this.vgg.features(content, this.contentNames) : {};
      const c = this.layerTerms(this.contentNames, o.contentLayers, o.contentWeight, (l) => contentLoss(fy[l]!, fc[l]!));
      const s = this.layerTerms(this.styleNames, o.styleLayers, o.styleWeight, (l) => styleLossFromGrams(gram(fs[l]!), this.targets!.get(l)!));
      const tv = totalVariation(y);
      const lattice = latticePenalty(y);
      // A part whose weight is 0 stays out of the graph (no gradient work), but is still reported unweighted.
      const weighted: WeightedLossParts = {
        content: c.weighted,
        style: s.weighted,
        tv: o.tvWeight > 0 ? tf.mul(tv, o.tvWeight) : tf.scalar(0),
        lattice: o.latticeWeight ? tf.mul(lattice, o.latticeWeight) : tf.scalar(0),
      };
      const total = tf.addN([weighted.content, weighted.style, weighted.tv, weighted.lattice]) as tf.Scalar;
      return { total, weighted, content: c.perLayer, style: s.perLayer, tv, lattice };
    });
  }

  /** Unweighted loss per layer and weight·Σ w_l·loss_l (call inside tidy). */
  private layerTerms(
    names: string[],
    layers: LossLayers,
    weight: number,
    lossOf: (layer: string) => tf.Scalar,
  ): { perLayer: Record<string, tf.Scalar>; weighted: tf.Scalar } {
    const perLayer: Record<string, tf.Scalar> = {};
    let weighted: tf.Scalar = tf.scalar(0);
    for (const layer of names) {
      const l = lossOf(layer);
      perLayer[layer] = l;
      weighted = tf.add(weighted, tf.mul(l, weight * (layers[layer] ?? 0)));
    }
    return { perLayer, weighted };
  }

  private disposeContent(): void {
    if (this.contentFeatures) for (const t of Object.values(this.contentFeatures.features)) t.dispose();
    this.contentFeatures = null;
  }

  private disposeTargets(): void {
    if (this.targets) for (const t of this.targets.values()) t.dispose();
    this.targets = null;
  }

  dispose(): void {
    this.disposeTargets();
    this.disposeContent();
    if (this.ownsVgg) this.vgg.dispose();
  }
}
