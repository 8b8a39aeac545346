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
} from '@hokusai/losses';
import { initBackend, loadLossWeights, readImage, rgbToTensor } from '@hokusai/node';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';
import { checkStyleFits } from '@hokusai/optimize';
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

export async function runEval(opts: EvalOptions, ctx: CommandContext): Promise<EvalResult> {
  if (opts.styleBlend && opts.styleBlend.length !== opts.style.length) {
    throw new InvalidArgumentError(`--style-blend: expected one weight per --style image (${opts.style.length}), got ${opts.styleBlend.length}`);
  }
  if (opts.styleSize !== undefined && opts.styleScale !== 1) {
    throw new InvalidArgumentError(`--style-size and --style-scale: expected one of them, got both (${opts.styleSize}, ${opts.styleScale})`);
  }
  const styleSize = opts.styleSize;
  const backend = await initBackend(opts.backend, ctx.log);
  const [contentImg, outImg, ...styleImgs] = await Promise.all([
    readImage(opts.content, { label: `--content ${opts.content}` }),
    readImage(opts.image, { label: `--image ${opts.image}` }),
    // With --style-size resized exactly as the trainer resizes its style images.
    ...opts.style.map((s) => readImage(s, { label: `--style ${s}`, ...(styleSize === undefined ? {} : { longEdge: styleSize }) })),
  ]);
  opts.style.forEach((file, i) =>
    checkStyleFits({ file, image: styleImgs[i]!, styleSize, lossNet: opts.lossNet, styleLayers: opts.styleLayers, backend: backend.name }),
  );
  let h = contentImg!.height;
  let w = contentImg!.width;
  if (opts.size) {
    const scale = opts.size / Math.max(h, w);
    h = Math.max(1, Math.round(h * scale));
    w = Math.max(1, Math.round(w * scale));
  } else if (outImg!.width !== w || outImg!.height !== h) {
    throw new InvalidArgumentError(
      `--image: expected the size of --content (${w}×${h}), got ${outImg!.width}×${outImg!.height}; pass --size N to resize both`,
    );
  }
  const weights = await loadLossWeights({ lossNet: opts.lossNet, weights: opts.weights, cacheDir: opts.cacheDir, log: ctx.log });
  const loss = PerceptualLoss.fromWeights(weights, {
    contentLayers: equalLayerWeights(opts.contentLayers),
    styleLayers: equalLayerWeights(opts.styleLayers),
    contentWeight: 1,
    styleWeight: 1,
    tvWeight: 1,
    pooling: opts.pooling,
    styleScale: opts.styleScale,
  });
  const tensors: tf.Tensor[] = [];
  try {
    const styles = styleImgs.map((img, i) => {
      const t = rgbToTensor(img!);
      tensors.push(t);
      return { image: t, weight: opts.styleBlend?.[i] ?? 1 };
    });
    loss.setStyle(styles);
    const c0 = rgbToTensor(contentImg!);
    const o0 = rgbToTensor(outImg!);
    tensors.push(c0, o0);
    const c = resizeTo(c0, h, w);
    const o = resizeTo(o0, h, w);
    tensors.push(c, o);
    // Read back asynchronously: webgpu in Node has no synchronous downloads (dataSync).
    const r = tf.tidy(() => loss.compute(tf.expandDims(o, 0) as tf.Tensor4D, tf.expandDims(c, 0) as tf.Tensor4D));
    const scalars = [...Object.values(r.content), ...Object.values(r.style), r.tv, r.lattice, r.total, ...Object.values(r.weighted)];
    tensors.push(...scalars);
    const read = async (rec: Record<string, tf.Scalar>) =>
      Object.fromEntries(await Promise.all(Object.entries(rec).map(async ([k, v]) => [k, (await v.data())[0]!] as const)));
    const values = { content: await read(r.content), style: await read(r.style), tv: (await r.tv.data())[0]!, lattice: (await r.lattice.data())[0]! };
    const result: EvalResult = {
      lossNet: opts.lossNet,
      weightsSha256: weights.sha256 ?? null,
      officialWeights: weights.official ?? null,
      width: w,
      height: h,
      backend: backend.name,
      ...values,
    };
    if (opts.json) {
      ctx.out(`${JSON.stringify(result, null, 2)}\n`);
    } else {
      const fmt = (v: number) => (v === 0 ? '0' : v.toExponential(4));
      const lines = [`${opts.lossNet} at ${w}×${h} (unweighted losses)`];
      for (const [k, v] of Object.entries(result.content)) lines.push(`content ${k.padEnd(8)} ${fmt(v)}`);
      for (const [k, v] of Object.entries(result.style)) lines.push(`style   ${k.padEnd(8)} ${fmt(v)}`);
      lines.push(`tv               ${fmt(result.tv)}`);
      lines.push(`lattice          ${fmt(result.lattice)} (period-4 pattern: photos ~0.4, a visible checkerboard > 3)`);
      ctx.out(`${lines.join('\n')}\n`);
    }
    return result;
  } finally {
    tf.dispose(tensors);
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
