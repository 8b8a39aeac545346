/**
 * Image optimisation ("neural style" by pixel optimisation; Gatys, Ecker & Bethge 2015, arXiv 1508.06576, as in
 * anishathalye/neural-style and jcjohnson/neural-style): the pixels of one image are optimised directly against
 * the perceptual losses of @hokusai/losses (content loss at relu4_2, Gram style losses at relu1_1 … relu5_1, TV),
 * with L-BFGS (lbfgs.ts) or Adam (adam-pixels.ts), coarse to fine (multiscale.ts), optionally preserving the
 * content's colours (color-transfer.ts; Gatys et al. 2016, arXiv 1606.05897).
 *
 * The loss is PerceptualLoss.compute itself, with every option train has (layers and weights, pooling, style blur,
 * lattice weight; definitions in docs/losses.md), its content features computed once per level (`setContent`) and
 * its weighted parts reported as they are (PixelObjective; test/optimize.test.ts checks the two agree).
 * Pixels are optimised unconstrained in 0–255 RGB and clipped only when written out.
 */
import * as tf from '@tensorflow/tfjs-core';
import { PerceptualLoss, lossOptionsOf, type LossLayers, type LossOptionFields, type PerceptualLossResult, type VggWeights } from '@hokusai/losses';
import { InvalidArgumentError } from '@hokusai/errors';
import { AdamPixels } from './adam-pixels.ts';
import { keepContentColors, matchColorHistogram, matchLuminance } from './color-transfer.ts';
import { Lbfgs, type LbfgsResult, type Objective } from './lbfgs.ts';
import { dimsForLongEdge, planLevels, resizeImage, type Level } from './multiscale.ts';

/** Gatys et al. 2015's layers (VGG19): content relu4_2; style relu1_1 … relu5_1, equal weights. */
export const GATYS_CONTENT_LAYERS: LossLayers = { relu4_2: 1 };
export const GATYS_STYLE_LAYERS: LossLayers = { relu1_1: 1, relu2_1: 1, relu3_1: 1, relu4_1: 1, relu5_1: 1 };

export interface LossTerms {
  /** Weighted parts (PerceptualLossResult.weighted); total = content + style + tv + lattice. */
  total: number;
  content: number;
  style: number;
  tv: number;
  lattice: number;
}

/** The loss options (as train's: LossOptionFields of @hokusai/losses) and the optimisation's own. */
export interface OptimizeSettings extends LossOptionFields {
  optimizer: 'lbfgs' | 'adam';
  /** Iterations at the coarsest level (finer levels run half as many each, see multiscale.ts). */
  iterations: number;
  /** Adam learning rate (pixel units); L-BFGS step scale (1 = torch/jcjohnson). */
  lr: number;
  lbfgsHistory: number;
  lineSearch: 'strong-wolfe' | 'none';
  init: 'content' | 'noise' | 'style';
  seed: number;
  /** Long edge of the output. */
  size: number;
  /** Levels (0 = auto). */
  scales: number;
  styleScale: number;
  /** Fixed style long edge in px (0 = relative to the output; see multiscale.ts). */
  styleSize: number;
  preserveColors: 'none' | 'luminance' | 'histogram';
}

/** Interleaved RGB 0–255 of any numeric array type (RgbImage from @hokusai/node fits). */
export interface PixelImage {
  data: ArrayLike<number>;
  width: number;
  height: number;
}

export interface IterationInfo {
  level: number;
  levels: number;
  width: number;
  height: number;
  /** Iteration within the level (1-based) and overall. */
  iteration: number;
  levelIterations: number;
  globalIteration: number;
  totalIterations: number;
  terms: LossTerms;
  evals: number;
}

export interface OptimizeHooks {
  /** `image()` reads the current pixels (clipped, 8-bit); only call it when needed. */
  onIteration?: (info: IterationInfo, image: () => Promise<PixelImage>) => void | Promise<void>;
  onLevel?: (level: Level, index: number, levels: Level[]) => void;
  signal?: AbortSignal;
}

export interface LevelReport {
  width: number;
  height: number;
  styleLongEdge: number;
  iterations: number;
  evals: number;
  stopReason: LbfgsResult['stopReason'];
  initialLoss: LossTerms;
  finalLoss: LossTerms;
  seconds: number;
}

export interface OptimizeResult {
  image: PixelImage & { data: Uint8Array };
  levels: LevelReport[];
  finalLoss: LossTerms;
  seconds: number;
}

/**
 * The perceptual loss of an image of fixed size as a function of its flat pixels: PerceptualLoss.compute against
 * the content set here (`setContent`: features computed once). Style targets come from the loss (call setStyle
 * first). The loss is borrowed: one objective at a time per loss; dispose() drops the content features.
 */
export class PixelObjective {
  readonly height: number;
  readonly width: number;
  private readonly recent: { loss: number; terms: LossTerms }[] = [];

  constructor(
    private readonly loss: PerceptualLoss,
    content: tf.Tensor4D,
  ) {
    [, this.height, this.width] = content.shape;
    loss.setContent(content);
  }

  private toImage(x: tf.Tensor): tf.Tensor4D {
    return tf.reshape(x, [1, this.height, this.width, 3]);
  }

  /** Loss and gradient at flat pixels x (the Objective of the optimisers). */
  readonly evaluate: Objective = async (x) => {
    let partsT: tf.Tensor1D | null = null;
    const { value, grad } = tf.tidy(() =>
      tf.valueAndGrad((v: tf.Tensor) => {
        const r = this.loss.compute(this.toImage(v));
        partsT = tf.keep(stackTerms(r));
        return r.total;
      })(x),
    );
    const loss = (await value.data())[0] ?? NaN;
    value.dispose();
    const p = partsT as tf.Tensor1D | null;
    if (p) {
      this.recent.push({ loss, terms: await readTerms(p) });
      if (this.recent.length > 32) this.recent.shift();
    }
    return { loss, grad: grad as tf.Tensor1D };
  };

  /** Terms of a recent evaluation with this loss value (the optimisers report the accepted point's loss). */
  termsFor(loss: number): LossTerms {
    for (let i = this.recent.length - 1; i >= 0; i--) if (this.recent[i]?.loss === loss) return (this.recent[i] as { terms: LossTerms }).terms;
    return { total: loss, content: NaN, style: NaN, tv: NaN, lattice: NaN };
  }

  /** Loss terms at flat pixels x (forward only). */
  async terms(x: tf.Tensor): Promise<LossTerms> {
    return readTerms(tf.tidy(() => stackTerms(this.loss.compute(this.toImage(x)))));
  }

  dispose(): void {
    this.loss.setContent(null);
  }
}

/** [total, content, style, tv, lattice], weighted (inside tidy). */
function stackTerms(r: PerceptualLossResult): tf.Tensor1D {
  return tf.stack([r.total, r.weighted.content, r.weighted.style, r.weighted.tv, r.weighted.lattice]) as tf.Tensor1D;
}

/** Reads and disposes stackTerms' tensor. */
async function readTerms(t: tf.Tensor1D): Promise<LossTerms> {
  const [total = NaN, content = NaN, style = NaN, tv = NaN, lattice = NaN] = await t.data();
  t.dispose();
  return { total, content, style, tv, lattice };
}

/** An image as a [1, H, W, 3] float32 tensor of 0–255 values. */
export function toTensor(img: PixelImage): tf.Tensor4D {
  const data = img.data instanceof Float32Array ? img.data : Float32Array.from(img.data);
  return tf.tensor4d(data, [1, img.height, img.width, 3]);
}

async function clipToBytes(x: tf.Tensor, width: number, height: number): Promise<PixelImage & { data: Uint8Array }> {
  const t = tf.tidy(() => tf.round(tf.clipByValue(x, 0, 255)));
  const f = await t.data();
  t.dispose();
  return { data: Uint8Array.from(f), width, height };
}

/** Initial pixels for the first level: the content, seeded white noise (uniform 0–255), or the style resized. */
export function initialImage(kind: OptimizeSettings['init'], content: tf.Tensor4D, style: tf.Tensor4D, seed: number): tf.Tensor4D {
  const [, h, w] = content.shape;
  if (kind === 'content') return tf.clone(content);
  if (kind === 'style') return resizeImage(style, h, w);
  return tf.randomUniform([1, h, w, 3], 0, 255, 'float32', seed);
}

/** Fail early on settings the loss would reject later. */
export function checkSettings(s: OptimizeSettings): void {
  const positive: [string, number][] = [
    ['iterations', s.iterations],
    ['size', s.size],
    ['style-scale', s.styleScale],
    ['lr', s.lr],
  ];
  for (const [k, v] of positive) if (!(v > 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`--${k}: expected a number > 0, got ${v}`);
  for (const [k, v] of [
    ['content-weight', s.contentWeight],
    ['style-weight', s.styleWeight],
    ['tv-weight', s.tvWeight],
    ['lattice-weight', s.latticeWeight],
  ] as [string, number][]) {
    if (!(v >= 0) || !Number.isFinite(v)) throw new InvalidArgumentError(`--${k}: expected a finite number ≥ 0, got ${v}`);
  }
  if (Object.keys(s.contentLayers).length + Object.keys(s.styleLayers).length === 0) {
    throw new InvalidArgumentError('Expected at least one content or style layer, got none');
  }
}

/** A style image at full resolution as a tensor, with its blend weight and size. */
interface StyleSource {
  t: tf.Tensor4D;
  weight: number;
  w: number;
  h: number;
}

/** Colour pre-processing of the style images (at full resolution, against the content). */
function colourMatchedStyles(styles: { image: PixelImage; weight: number }[], content: PixelImage, mode: OptimizeSettings['preserveColors']): { image: PixelImage; weight: number }[] {
  return styles.map((st) => {
    if (mode === 'histogram') return { ...st, image: { ...st.image, data: matchColorHistogram(st.image.data, content.data) } };
    if (mode === 'luminance') return { ...st, image: { ...st.image, data: matchLuminance(st.image.data, content.data) } };
    return st;
  });
}

/** The level's starting pixels (flat): the initial image on the first level, else the previous level's result upsampled (disposed here). */
function levelStart(previous: tf.Tensor4D | null, level: Level, content: tf.Tensor4D, styles: StyleSource[], s: OptimizeSettings): tf.Tensor1D {
  let start: tf.Tensor4D;
  if (previous === null) {
    const first = styles[0];
    if (!first) throw new InvalidArgumentError('Expected at least one style image, got none');
    start = initialImage(s.init, content, first.t, s.seed);
  } else {
    start = resizeImage(previous, level.height, level.width);
    previous.dispose();
  }
  const x0 = tf.reshape(start, [-1]) as tf.Tensor1D;
  start.dispose();
  return x0;
}

/** Where one level stands in the whole run, for the iteration hook. */
interface LevelPlace {
  index: number;
  levels: Level[];
  /** Iterations reported so far in the whole run (advanced by each level's hook calls). */
  done: { iterations: number };
  totalIterations: number;
}

/** Runs the optimiser on one level from x0; the hook sees each iteration with its place in the whole run. */
function optimizeLevel(objective: PixelObjective, x0: tf.Tensor1D, level: Level, place: LevelPlace, s: OptimizeSettings, hooks: OptimizeHooks): Promise<LbfgsResult> {
  const optimizer = s.optimizer === 'lbfgs' ? new Lbfgs({ history: s.lbfgsHistory, lr: s.lr, lineSearch: s.lineSearch }) : new AdamPixels({ lr: s.lr });
  return optimizer.run(objective.evaluate, x0, level.iterations, {
    signal: hooks.signal,
    onIteration: async (it, xi) => {
      const globalIteration = ++place.done.iterations;
      const info: IterationInfo = {
        level: place.index,
        levels: place.levels.length,
        width: level.width,
        height: level.height,
        iteration: it.iteration,
        levelIterations: level.iterations,
        globalIteration,
        totalIterations: place.totalIterations,
        terms: objective.termsFor(it.loss),
        evals: it.evals,
      };
      await hooks.onIteration?.(info, () => clipToBytes(xi, level.width, level.height));
    },
  });
}

/**
 * One level: content and styles at its size, the optimisation from `previous` (disposed), and its report. Returns
 * the level's result as a [1, H, W, 3] tensor (owned by the caller).
 */
async function runLevel(
  loss: PerceptualLoss,
  contentFull: tf.Tensor4D,
  styleFull: StyleSource[],
  previous: tf.Tensor4D | null,
  place: LevelPlace,
  s: OptimizeSettings,
  hooks: OptimizeHooks,
): Promise<{ x: tf.Tensor4D; report: LevelReport }> {
  const level = place.levels[place.index] as Level;
  const levelStartedAt = performance.now();
  const content = resizeImage(contentFull, level.height, level.width);
  const styleTensors = styleFull.map((st) => {
    const d = dimsForLongEdge(st.w, st.h, level.styleLongEdge);
    return { image: tf.tidy(() => tf.squeeze(resizeImage(st.t, d.height, d.width), [0]) as tf.Tensor3D), weight: st.weight };
  });
  loss.setStyle(styleTensors);
  const objective = new PixelObjective(loss, content);
  try {
    const x0 = levelStart(previous, level, content, styleFull, s);
    const initialLoss = await objective.terms(x0);
    const res = await optimizeLevel(objective, x0, level, place, s, hooks);
    x0.dispose();
    const finalLoss = await objective.terms(res.x);
    const x = tf.reshape(res.x, [1, level.height, level.width, 3]) as tf.Tensor4D;
    res.x.dispose();
    const { width, height, styleLongEdge } = level;
    const seconds = (performance.now() - levelStartedAt) / 1000;
    return { x, report: { width, height, styleLongEdge, iterations: res.iterations, evals: res.evals, stopReason: res.stopReason, initialLoss, finalLoss, seconds } };
  } finally {
    objective.dispose();
    content.dispose();
    for (const st of styleTensors) st.image.dispose();
  }
}

/** The result's pixels: clipped to 8 bits, with the content's colours put back for 'luminance'. */
async function finalImage(x: tf.Tensor4D, s: OptimizeSettings, content: PixelImage): Promise<OptimizeResult['image']> {
  const [, h, w] = x.shape;
  const image = await clipToBytes(x, w, h);
  if (s.preserveColors !== 'luminance') return image;
  return { data: Uint8Array.from(keepContentColors(image, content), (v) => Math.round(v)), width: w, height: h };
}

/**
 * Run the whole optimisation: colour pre-processing, every level coarse to fine, colour post-processing.
 * Synchronous tensor work per iteration; yields to the event loop between iterations (so SIGINT is seen).
 */
export async function runOptimization(args: {
  weights: VggWeights;
  content: PixelImage;
  styles: { image: PixelImage; weight: number }[];
  settings: OptimizeSettings;
  hooks?: OptimizeHooks;
}): Promise<OptimizeResult> {
  const { settings: s, hooks = {} } = args;
  checkSettings(s);
  const started = performance.now();
  const { width: contentWidth, height: contentHeight } = args.content;
  const levels = planLevels({ contentWidth, contentHeight, size: s.size, scales: s.scales, styleScale: s.styleScale, styleSize: s.styleSize, iterations: s.iterations });
  const totalIterations = levels.reduce((a, l) => a + l.iterations, 0);
  const styles = colourMatchedStyles(args.styles, args.content, s.preserveColors);
  const loss = PerceptualLoss.fromWeights(args.weights, lossOptionsOf(s));
  const contentFull = toTensor(args.content);
  const styleFull: StyleSource[] = styles.map((st) => ({ t: toTensor(st.image), weight: st.weight, w: st.image.width, h: st.image.height }));
  let x: tf.Tensor4D | null = null;
  const reports: LevelReport[] = [];
  const done = { iterations: 0 };
  try {
    for (const [index, level] of levels.entries()) {
      hooks.onLevel?.(level, index, levels);
      // runLevel disposes the previous level's result once it has upsampled it (disposing it twice is harmless).
      const r = await runLevel(loss, contentFull, styleFull, x, { index, levels, done, totalIterations }, s, hooks);
      x = r.x;
      reports.push(r.report);
      // Skip the remaining levels when interrupted; the caller writes what there is.
      if (hooks.signal?.aborted) break;
    }
    if (x === null) throw new InvalidArgumentError('No level was run');
    const image = await finalImage(x, s, args.content);
    const last = reports[reports.length - 1] as LevelReport;
    return { image, levels: reports, finalLoss: last.finalLoss, seconds: (performance.now() - started) / 1000 };
  } finally {
    x?.dispose();
    contentFull.dispose();
    for (const st of styleFull) st.t.dispose();
    loss.dispose();
  }
}
