/**
 * `hokusai optimize`: stylise one image by optimising its pixels against the perceptual losses (Gatys, Ecker &
 * Bethge 2015, arXiv 1508.06576; colour preservation of Gatys et al. 2016, arXiv 1606.05897), the quality
 * reference for trained networks. Checks everything cheap first (images, sweep syntax, memory for the size and
 * backend), then runs src/optimize/ (optimize.ts), showing progress, writing intermediate images, a GIF, the
 * result with a sidecar `O.json`, or, with `--sweep`, every grid point and a labelled contact sheet.
 * Documentation: docs/optimize.md.
 */
import { basename, dirname, extname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { HokusaiError, InvalidArgumentError } from '@hokusai/errors';
import { lossOptionsOf, type VggWeights } from '@hokusai/losses';
import * as hokusaiNode from '@hokusai/node';
import { initBackend, probeImage, readImage, writeFileAtomic, writeImage, type RgbImage } from '@hokusai/node';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';
import { fileSha256, loadLossNetwork, readStyles, TOOL_VERSION } from '../command-setup.ts';
import { backendOption, cacheDirOption, latticeWeightOption, poolingOption, styleBlurOption, weightsOption } from '@hokusai/train';
import { createProgress } from '../progress.ts';
import {
  renderContactSheet,
  type SheetCell,
  GifRecorder,
  deepestLayer,
  estimateMemory,
  fits,
  formatBytes,
  largestFittingSize,
  memoryBudget,
  shortfall,
  type MemoryBudget,
  planLevels,
  GATYS_CONTENT_LAYERS,
  GATYS_STYLE_LAYERS,
  runOptimization,
  type OptimizeResult,
  type OptimizeSettings,
} from '@hokusai/optimize';
import { expandSweeps, parseSweeps } from '../sweep.ts';

const layerWeights = z.record(z.string(), z.number().nonnegative());

export const optimizeSchema = z.object({
  content: z.string().describe('content image (jpeg, png, webp)'),
  style: z.array(z.string()).min(1).describe('style image(s); repeat or comma-separate to blend several'),
  styleBlend: z.array(z.number().nonnegative()).default([]).describe('blend weights of the style images, e.g. 0.7,0.3 (none = equal)'),
  out: z.string().default('optimized.png').describe('output image (.png, .jpg, .webp); settings go to OUT.json; with --sweep the contact sheet'),
  iterations: z.number().int().positive().default(500).describe('iterations at the coarsest level (each finer level runs half as many)'),
  optimizer: z.enum(['lbfgs', 'adam']).default('lbfgs').describe('L-BFGS (as in the paper) or Adam'),
  lr: z.number().nonnegative().default(0).describe('step size: Adam learning rate in pixel units, L-BFGS initial step scale (0 = 10 for Adam, 1 for L-BFGS)'),
  lbfgsHistory: z.number().int().positive().default(100).describe('L-BFGS history size m'),
  lineSearch: z.enum(['strong-wolfe', 'none']).default('strong-wolfe').describe('L-BFGS line search (none = fixed step lr, as jcjohnson/neural-style)'),
  init: z.enum(['content', 'noise', 'style']).default('content').describe('starting image'),
  seed: z.number().int().nonnegative().default(0).describe('random seed (noise init)'),
  size: z.number().int().min(32).default(512).describe('long edge of the output in pixels'),
  scales: z.number().int().nonnegative().default(0).describe('coarse-to-fine levels, each halving the size (0 = auto: coarsest ≤ 512 px)'),
  styleScale: z.number().positive().default(1).describe("style image's long edge relative to the output's (at every level)"),
  styleSize: z.number().int().nonnegative().default(0).describe('fixed style long edge in pixels instead of --style-scale (0 = relative)'),
  contentWeight: z.number().nonnegative().default(1).describe('content loss weight'),
  styleWeight: z.number().nonnegative().default(100).describe('style loss weight'),
  tvWeight: z.number().nonnegative().default(0).describe('total variation weight'),
  styleBlur: styleBlurOption,
  latticeWeight: latticeWeightOption,
  contentLayers: layerWeights.default(GATYS_CONTENT_LAYERS).describe('content layers with weights'),
  styleLayers: layerWeights.default(GATYS_STYLE_LAYERS).describe('style layers with weights'),
  pooling: poolingOption,
  preserveColors: z.enum(['none', 'luminance', 'histogram']).default('none').describe("keep the content's colours (Gatys et al. 2016)"),
  saveEvery: z.number().int().nonnegative().default(0).describe('write an intermediate image every N iterations (0 = never)'),
  gif: z.boolean().default(false).describe('write OUT.gif, an animation of the optimisation'),
  gifFrames: z.number().int().min(2).default(60).describe('about this many GIF frames'),
  sweep: z.array(z.string()).default([]).describe('grid of settings, e.g. style-weight=1e2,1e3,1e4 (repeat for more keys); writes a contact sheet'),
  backend: backendOption,
  lossNet: z.enum(['vgg16', 'vgg19']).default('vgg19').describe('loss network'),
  weights: weightsOption,
  cacheDir: cacheDirOption,
});

export type OptimizeOptions = z.infer<typeof optimizeSchema>;

/** Options a `--sweep` may vary (everything that changes the picture). */
export const SWEEPABLE = [
  'iterations',
  'optimizer',
  'lr',
  'lbfgsHistory',
  'lineSearch',
  'init',
  'seed',
  'size',
  'scales',
  'styleScale',
  'styleSize',
  'contentWeight',
  'styleWeight',
  'tvWeight',
  'styleBlur',
  'latticeWeight',
  'pooling',
  'preserveColors',
] as const;

export function settingsFrom(o: OptimizeOptions): OptimizeSettings {
  return {
    ...lossOptionsOf(o),
    optimizer: o.optimizer,
    iterations: o.iterations,
    lr: o.lr > 0 ? o.lr : o.optimizer === 'adam' ? 10 : 1,
    lbfgsHistory: o.lbfgsHistory,
    lineSearch: o.lineSearch,
    init: o.init,
    seed: o.seed,
    size: o.size,
    scales: o.scales,
    styleScale: o.styleScale,
    styleSize: o.styleSize,
    preserveColors: o.preserveColors,
  };
}

/** Throws OUT_OF_MEMORY (with the largest size that fits) when a run of these options cannot fit. */
export function checkMemory(o: OptimizeOptions, content: { width: number; height: number }, budget: MemoryBudget): void {
  const s = settingsFrom(o);
  const levels = planLevels({ contentWidth: content.width, contentHeight: content.height, size: o.size, scales: o.scales, styleScale: o.styleScale, styleSize: o.styleSize, iterations: o.iterations });
  const last = levels[levels.length - 1];
  if (!last) return;
  const deepest = deepestLayer(o.lossNet, [...Object.keys(o.contentLayers), ...Object.keys(o.styleLayers)]);
  const base = { lossNet: o.lossNet, deepestLayer: deepest, optimizer: s.optimizer, lbfgsHistory: s.lbfgsHistory };
  const e = estimateMemory({ ...base, width: last.width, height: last.height });
  // The style image's features are computed forward only at its own size; counted as a forward pass.
  const styleLong = Math.max(...levels.map((l) => l.styleLongEdge));
  const eStyle = estimateMemory({ ...base, optimizer: 'adam', width: styleLong, height: styleLong });
  // --style-blur runs the loss network twice per evaluation (content layers on the output, style layers on its blur).
  const blurPass = o.styleBlur > 0 ? e.activationBytes : 0;
  const need = { ...e, totalBytes: e.totalBytes + blurPass + eStyle.activationBytes / 3, largestTensorBytes: Math.max(e.largestTensorBytes, eStyle.largestTensorBytes) };
  if (fits(need, budget)) return;
  const largest = largestFittingSize({ ...base, aspect: content.width / content.height }, budget);
  const limit = shortfall(need, budget, { tensor: 'its largest tensor', total: 'it needs' });
  throw new HokusaiError(
    'OUT_OF_MEMORY',
    `--size ${o.size} does not fit in memory: ${limit} (VGG activations ${formatBytes(e.activationBytes)} + optimiser state ${formatBytes(e.optimizerBytes)}). ` +
      `Expected --size ≤ ${largest}${o.optimizer === 'lbfgs' ? ' (or a smaller --lbfgs-history, or --optimizer adam)' : ''}${o.styleScale > 1 ? ', or a smaller --style-scale' : ''}.`,
    { details: { neededBytes: need.totalBytes, budgetBytes: budget.totalBytes, largestSize: largest } },
  );
}

function withSuffix(path: string, suffix: string, ext?: string): string {
  const e = extname(path);
  return join(dirname(path), `${basename(path, e)}${suffix}${ext ?? e}`);
}

interface PreparedInputs {
  content: RgbImage;
  styles: { image: RgbImage; weight: number; path: string }[];
  weights: VggWeights;
  backend: { name: string; reason: string };
}

/** One optimisation with progress, intermediate images and GIF; returns the result (written by the caller). */
async function optimizeOne(
  o: OptimizeOptions,
  inputs: PreparedInputs,
  ctx: CommandContext,
  label: string,
  outPath: string,
): Promise<OptimizeResult> {
  const settings = settingsFrom(o);
  const levels = planLevels({ contentWidth: inputs.content.width, contentHeight: inputs.content.height, size: o.size, scales: o.scales, styleScale: o.styleScale, styleSize: o.styleSize, iterations: o.iterations });
  const total = levels.reduce((a, l) => a + l.iterations, 0);
  const finalLevel = levels[levels.length - 1] as { width: number; height: number };
  const gif = o.gif ? GifRecorder.forOutput(finalLevel.width, finalLevel.height) : null;
  const gifEvery = Math.max(1, Math.floor(total / o.gifFrames));
  const progress = createProgress({ total, label, unit: 'iterations', fields: { level: `1/${levels.length}`, loss: 0, content: 0, style: 0, tv: 0, ...(o.latticeWeight > 0 ? { lattice: 0 } : {}) }, log: ctx.log });
  const pending: Promise<void>[] = [];
  try {
    const result = await runOptimization({
      weights: inputs.weights,
      content: inputs.content,
      styles: inputs.styles.map((s) => ({ image: s.image, weight: s.weight })),
      settings,
      hooks: {
        signal: ctx.signal,
        onLevel: (level, i, all) => {
          if (all.length > 1) ctx.log(`${label}: level ${i + 1}/${all.length} at ${level.width}×${level.height}, style ${level.styleLongEdge}px, ${level.iterations} iterations`);
        },
        onIteration: async (info, image) => {
          const t = info.terms;
          progress.update(info.globalIteration, { level: `${info.level + 1}/${info.levels}`, loss: t.total, content: t.content, style: t.style, tv: t.tv, ...(o.latticeWeight > 0 ? { lattice: t.lattice } : {}) });
          const g = info.globalIteration;
          if (gif && (g === 1 || g % gifEvery === 0 || g === total)) gif.add(await image());
          if (o.saveEvery > 0 && g % o.saveEvery === 0) {
            pending.push(writeImage(withSuffix(outPath, `-iter${String(g).padStart(5, '0')}`), (await image()) as RgbImage));
          }
        },
      },
    });
    await Promise.all(pending);
    if (gif) {
      gif.add(result.image);
      const gifPath = withSuffix(outPath, '', '.gif');
      await writeFileAtomic(gifPath, gif.encode());
      ctx.log(`${label}: wrote ${gifPath} (${gif.frameCount} frames)`);
    }
    return result;
  } finally {
    progress.stop();
  }
}

async function sidecar(o: OptimizeOptions, inputs: PreparedInputs, result: OptimizeResult, extra: Record<string, unknown> = {}): Promise<string> {
  return `${JSON.stringify(
    {
      tool: 'hokusai optimize',
      createdAt: new Date().toISOString(),
      options: o,
      settings: settingsFrom(o),
      inputs: {
        content: { path: o.content, sha256: await fileSha256(o.content), width: inputs.content.width, height: inputs.content.height },
        styles: await Promise.all(inputs.styles.map(async (s) => ({ path: s.path, sha256: await fileSha256(s.path), weight: s.weight, width: s.image.width, height: s.image.height }))),
        weights: o.weights ?? null,
      },
      output: { width: result.image.width, height: result.image.height },
      losses: result.finalLoss,
      levels: result.levels,
      seconds: result.seconds,
      interrupted: extra.interrupted ?? false,
      backend: inputs.backend,
      versions: { hokusai: TOOL_VERSION, tfjsCore: tf.version_core, node: process.versions.node },
      ...extra,
    },
    null,
    2,
  )}\n`;
}

/** One run of a sweep (or the single run): its label and fully parsed options. */
interface PlannedRun {
  label: string;
  options: OptimizeOptions;
}

/** Cheap checks before anything heavy: images readable and supported, blend weights, output format, sweep syntax, layers. */
async function planRuns(o: OptimizeOptions): Promise<{ contentHeader: { width: number; height: number }; runs: PlannedRun[] }> {
  const contentHeader = await probeImage(o.content, { label: `--content ${o.content}` });
  for (const s of o.style) await probeImage(s, { label: `--style ${s}` });
  if (o.styleBlend.length > 0 && o.styleBlend.length !== o.style.length) {
    throw new InvalidArgumentError(`--style-blend: expected ${o.style.length} weights (one per --style), got ${o.styleBlend.length}`);
  }
  if (o.styleBlend.length > 0 && !(o.styleBlend.reduce((a, b) => a + b, 0) > 0)) {
    throw new InvalidArgumentError(`--style-blend: expected weights with a positive sum, got ${o.styleBlend.join(',')}`);
  }
  if (!hokusaiNode.formatFromPath(o.out)) {
    throw new InvalidArgumentError(`--out: expected a file ending in .png, .jpg, .jpeg or .webp, got "${o.out}"`);
  }
  const grid = o.sweep.length > 0 ? expandSweeps(parseSweeps(o.sweep, optimizeSchema, SWEEPABLE)) : [{ overrides: {}, label: '' }];
  const runs = grid.map((r) => ({ label: r.label, options: optimizeSchema.parse({ ...o, ...r.overrides, sweep: [] }) }));
  for (const r of runs) deepestLayer(r.options.lossNet, [...Object.keys(r.options.contentLayers), ...Object.keys(r.options.styleLayers)]);
  return { contentHeader, runs };
}

/** Weights and images, the images decoded straight to the largest size any run needs (lanczos3 in sharp; never upscaled). */
async function readInputs(o: OptimizeOptions, runs: PlannedRun[], contentHeader: { width: number; height: number }, backend: PreparedInputs['backend']): Promise<PreparedInputs> {
  const { weights } = await loadLossNetwork(o);
  const plans = runs.map((r) => planLevels({ contentWidth: contentHeader.width, contentHeight: contentHeader.height, size: r.options.size, scales: r.options.scales, styleScale: r.options.styleScale, styleSize: r.options.styleSize, iterations: r.options.iterations }));
  const contentMax = Math.max(...runs.map((r) => r.options.size));
  const styleMax = Math.max(...plans.flat().map((l) => l.styleLongEdge));
  const content = await readImage(o.content, { label: `--content ${o.content}`, maxSize: contentMax });
  const styles = await readStyles(o.style, { blend: o.styleBlend, maxSize: styleMax });
  return { content, styles, weights, backend };
}

/** The single run: the image at --out and its sidecar OUT.json. */
async function optimizeSingle(o: OptimizeOptions, inputs: PreparedInputs, ctx: CommandContext): Promise<void> {
  const result = await optimizeOne(o, inputs, ctx, 'optimize', o.out);
  const interrupted = ctx.signal.aborted;
  await writeImage(o.out, result.image);
  await writeFileAtomic(`${o.out}.json`, await sidecar(o, inputs, result, { interrupted }));
  ctx.log(
    `optimize: wrote ${o.out} (${result.image.width}×${result.image.height}, loss ${result.finalLoss.total.toPrecision(4)}, ${result.seconds.toFixed(1)} s on ${inputs.backend.name})${interrupted ? ' — interrupted early' : ''}`,
  );
}

/** Sweep: every grid point (image + sidecar each), then the labelled contact sheet at --out. */
async function optimizeSweep(o: OptimizeOptions, runs: PlannedRun[], inputs: PreparedInputs, ctx: CommandContext): Promise<void> {
  const cells: SheetCell[] = [];
  const summaries: Record<string, unknown>[] = [];
  for (const [i, r] of runs.entries()) {
    if (ctx.signal.aborted) break;
    const path = withSuffix(o.out, `-${String(i + 1).padStart(2, '0')}`);
    const result = await optimizeOne(r.options, inputs, ctx, `optimize [${i + 1}/${runs.length}] ${r.label}`, path);
    await writeImage(path, result.image);
    await writeFileAtomic(`${path}.json`, await sidecar(r.options, inputs, result, { sweepLabel: r.label, interrupted: ctx.signal.aborted }));
    cells.push({ ...result.image, label: r.label });
    summaries.push({ label: r.label, file: path, losses: result.finalLoss, seconds: result.seconds });
  }
  await writeContactSheet(o, cells);
  await writeFileAtomic(`${o.out}.json`, `${JSON.stringify({ tool: 'hokusai optimize --sweep', options: o, runs: summaries, backend: inputs.backend }, null, 2)}\n`);
  ctx.log(`optimize: wrote ${cells.length} results and the contact sheet ${o.out}`);
}

/** The contact sheet at --out in its format, one row per value of the last swept key. */
async function writeContactSheet(o: OptimizeOptions, cells: SheetCell[]): Promise<void> {
  const lastSweep = parseSweeps(o.sweep, optimizeSchema, SWEEPABLE).at(-1);
  const sheet = await renderContactSheet(cells, { columns: lastSweep?.values.length ?? cells.length, title: `${basename(o.content)} × ${o.style.map((s) => basename(s)).join(' + ')}` });
  const sheetFormat = hokusaiNode.formatFromPath(o.out);
  if (sheetFormat === 'png') await writeFileAtomic(o.out, sheet);
  else {
    const sharp = (await import('sharp')).default;
    await writeFileAtomic(o.out, new Uint8Array(await sharp(sheet).toFormat(sheetFormat ?? 'png').toBuffer()));
  }
}

export async function runOptimize(o: OptimizeOptions, ctx: CommandContext): Promise<void> {
  const { contentHeader, runs } = await planRuns(o);
  // Backend, then memory for the largest run, before loading weights and decoding images.
  const backend = await initBackend(o.backend, ctx.log);
  const budget = memoryBudget(backend.name);
  for (const r of runs) checkMemory(r.options, contentHeader, budget);
  const inputs = await readInputs(o, runs, contentHeader, backend);
  if (o.sweep.length === 0) await optimizeSingle(o, inputs, ctx);
  else await optimizeSweep(o, runs, inputs, ctx);
}

export const optimizeCommand = defineCommand({
  name: 'optimize',
  summary: 'stylise one image by optimising its pixels (Gatys et al.): the quality reference; slow',
  schema: optimizeSchema,
  configFile: true,
  run: runOptimize,
});

export const commands: CommandSpec[] = [optimizeCommand as unknown as CommandSpec];
