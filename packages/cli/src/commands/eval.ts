/**
 * `hokusai eval --style S --content C --image O`: the unweighted per-layer content and style losses (Johnson et al.
 * 2016, definitions in docs/losses.md) and the total variation of image O, on the VGG loss network, at the images'
 * own sizes (resized only with --size). Several --style images are blended by their Gram targets (--style-blend).
 */
import { z } from 'zod';
import * as tf from '@tensorflow/tfjs-core';
import { InvalidArgumentError } from '@hokusai/errors';
import {
  DEFAULT_CONTENT_LAYERS,
  DEFAULT_STYLE_LAYERS,
  equalLayerWeights,
  PerceptualLoss,
  type LossNetName,
  type VggWeights,
} from '@hokusai/losses';
import { initBackend, readImage, rgbToTensor, type RgbImage } from '@hokusai/node';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';
import { loadLossNetwork, readStyles, setStyleTargets } from '../command-setup.ts';
import { backendOption, cacheDirOption, lossNetOption, poolingOption, weightsOption } from '@hokusai/train';

export const evalSchema = z.object({
  style: z.array(z.string().min(1)).min(1).describe('style image(s); several are blended (see --style-blend)'),
  styleBlend: z.array(z.number().min(0)).optional().describe('blend weight per --style image (default: equal)'),
  content: z.string().min(1).describe('content image (the photo)'),
  image: z.string().min(1).describe('image to evaluate (e.g. a stylised output); same size as --content unless --size'),
  lossNet: lossNetOption,
  weights: weightsOption,
  cacheDir: cacheDirOption,
  contentLayers: z.array(z.string().min(1)).default([...DEFAULT_CONTENT_LAYERS]).describe('content layers'),
  styleLayers: z.array(z.string().min(1)).default([...DEFAULT_STYLE_LAYERS]).describe('style layers'),
  pooling: poolingOption,
  styleScale: z.number().positive().default(1).describe('resize the style image(s) by this factor before computing Gram targets'),
  styleSize: z
    .number()
    .int()
    .min(16)
    .optional()
    .describe('resize the style image(s) so the longer side is this many pixels, as `hokusai train --style-size` does (the target a network was trained for); excludes --style-scale'),
  size: z.number().int().positive().optional().describe('resize content and image so the long edge is this many pixels (default: own sizes)'),
  json: z.boolean().default(false).describe('print the losses as JSON'),
  backend: backendOption,
});

export type EvalOptions = z.infer<typeof evalSchema>;

export interface EvalResult {
  lossNet: LossNetName;
  weightsSha256: string | null;
  officialWeights: boolean | null;
  width: number;
  height: number;
  backend: string;
  content: Record<string, number>;
  style: Record<string, number>;
  tv: number;
  /** Lattice penalty of the image (period 4, `latticePenalty` of @hokusai/losses): photos ~0.4, a visible checkerboard > 3. */
  lattice: number;
}

function resizeTo(t: tf.Tensor3D, h: number, w: number): tf.Tensor3D {
  if (t.shape[0] === h && t.shape[1] === w) return t;
  return tf.tidy(() => tf.squeeze(tf.image.resizeBilinear(tf.expandDims(t, 0) as tf.Tensor4D, [h, w], true), [0]) as tf.Tensor3D);
}

/** The flags that exclude each other, checked before anything is read. */
function checkEvalOptions(opts: EvalOptions): void {
  if (opts.styleBlend && opts.styleBlend.length !== opts.style.length) {
    throw new InvalidArgumentError(`--style-blend: expected one weight per --style image (${opts.style.length}), got ${opts.styleBlend.length}`);
  }
  if (opts.styleSize !== undefined && opts.styleScale !== 1) {
    throw new InvalidArgumentError(`--style-size and --style-scale: expected one of them, got both (${opts.styleSize}, ${opts.styleScale})`);
  }
}

/** The size both images are compared at: --size's long edge, else the content's own (which --image must have). */
function evalSize(opts: EvalOptions, content: RgbImage, image: RgbImage): { h: number; w: number } {
  let h = content.height;
  let w = content.width;
  if (opts.size) {
    const scale = opts.size / Math.max(h, w);
    h = Math.max(1, Math.round(h * scale));
    w = Math.max(1, Math.round(w * scale));
  } else if (image.width !== w || image.height !== h) {
    throw new InvalidArgumentError(
      `--image: expected the size of --content (${w}×${h}), got ${image.width}×${image.height}; pass --size N to resize both`,
    );
  }
  return { h, w };
}

/** The loss network with every term at weight 1 (the losses are reported unweighted). */
function unweightedLoss(opts: EvalOptions, weights: VggWeights): PerceptualLoss {
  return PerceptualLoss.fromWeights(weights, {
    contentLayers: equalLayerWeights(opts.contentLayers),
    styleLayers: equalLayerWeights(opts.styleLayers),
    contentWeight: 1,
    styleWeight: 1,
    tvWeight: 1,
    pooling: opts.pooling,
    styleScale: opts.styleScale,
  });
}

type EvalValues = Pick<EvalResult, 'content' | 'style' | 'tv' | 'lattice'>;

/** The per-layer losses of `image` against `content` (both resized to h×w), read back asynchronously (webgpu in Node has no dataSync). */
async function measure(loss: PerceptualLoss, content: RgbImage, image: RgbImage, h: number, w: number): Promise<EvalValues> {
  const tensors: tf.Tensor[] = [];
  try {
    const c0 = rgbToTensor(content);
    const o0 = rgbToTensor(image);
    tensors.push(c0, o0);
    const c = resizeTo(c0, h, w);
    const o = resizeTo(o0, h, w);
    tensors.push(c, o);
    const r = tf.tidy(() => loss.compute(tf.expandDims(o, 0) as tf.Tensor4D, tf.expandDims(c, 0) as tf.Tensor4D));
    tensors.push(...Object.values(r.content), ...Object.values(r.style), r.tv, r.lattice, r.total, ...Object.values(r.weighted));
    const read = async (rec: Record<string, tf.Scalar>) =>
      Object.fromEntries(await Promise.all(Object.entries(rec).map(async ([k, v]) => [k, (await v.data())[0]!] as const)));
    return { content: await read(r.content), style: await read(r.style), tv: (await r.tv.data())[0]!, lattice: (await r.lattice.data())[0]! };
  } finally {
    tf.dispose(tensors);
  }
}

/** The result as --json or as the aligned text table. */
function printEval(result: EvalResult, json: boolean, ctx: CommandContext): void {
  if (json) {
    ctx.out(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const fmt = (v: number) => (v === 0 ? '0' : v.toExponential(4));
  const lines = [`${result.lossNet} at ${result.width}×${result.height} (unweighted losses)`];
  for (const [k, v] of Object.entries(result.content)) lines.push(`content ${k.padEnd(8)} ${fmt(v)}`);
  for (const [k, v] of Object.entries(result.style)) lines.push(`style   ${k.padEnd(8)} ${fmt(v)}`);
  lines.push(`tv               ${fmt(result.tv)}`);
  lines.push(`lattice          ${fmt(result.lattice)} (period-4 pattern: photos ~0.4, a visible checkerboard > 3)`);
  ctx.out(`${lines.join('\n')}\n`);
}

export async function runEval(opts: EvalOptions, ctx: CommandContext): Promise<EvalResult> {
  checkEvalOptions(opts);
  const backend = await initBackend(opts.backend, ctx.log);
  const [contentImg, outImg] = await Promise.all([
    readImage(opts.content, { label: `--content ${opts.content}` }),
    readImage(opts.image, { label: `--image ${opts.image}` }),
  ]);
  // With --style-size resized exactly as the trainer resizes its style images.
  const styles = await readStyles(opts.style, {
    blend: opts.styleBlend,
    longEdge: opts.styleSize,
    fits: { lossNet: opts.lossNet, styleLayers: opts.styleLayers, backend: backend.name },
  });
  const { h, w } = evalSize(opts, contentImg, outImg);
  const { weights } = await loadLossNetwork(opts, { log: ctx.log });
  const loss = unweightedLoss(opts, weights);
  try {
    setStyleTargets(loss, styles);
    const result: EvalResult = {
      lossNet: opts.lossNet,
      weightsSha256: weights.sha256 ?? null,
      officialWeights: weights.official ?? null,
      width: w,
      height: h,
      backend: backend.name,
      ...(await measure(loss, contentImg, outImg, h, w)),
    };
    printEval(result, opts.json, ctx);
    return result;
  } finally {
    loss.dispose();
  }
}

export const commands: CommandSpec[] = [
  defineCommand({
    name: 'eval',
    summary: 'print the unweighted per-layer content/style losses and TV of an image',
    schema: evalSchema,
    run: async (opts, ctx) => {
      await runEval(opts, ctx);
    },
  }) as unknown as CommandSpec,
];
