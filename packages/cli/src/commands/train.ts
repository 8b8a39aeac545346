/**
 * `hokusai train`: trains one transformation network per style against the perceptual losses (Johnson et al.
 * 2016, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution") on the engine the machine has.
 * This module wires the CLI options to the trainer (@hokusai/train): preset and resume resolution, preflight,
 * backend, loss network, data, checkpoints, progress, and the final "how to use it" lines.
 */
import { basename, join, resolve, relative } from 'node:path';
import { FULL_NET, HALF_NET, TransformerNet, serializeCheckpointAsync, type CheckpointMeta, type NetConfig } from '@hokusai/model';
import { HokusaiError, InvalidArgumentError } from '@hokusai/errors';
import { lossOptionsOf, PerceptualLoss, shiftCut, type VggWeights } from '@hokusai/losses';
import { DEFAULT_MAX_PIXELS, initBackend, loadCheckpointDir, saveCheckpointDir, sharedPath, writeImage } from '@hokusai/node';
import { defineCommand, kebab, type CommandContext } from '../command.ts';
import { createProgress } from '../progress.ts';
import { fileSha256, loadLossNetwork, readStyles, setStyleTargets, TOOL_VERSION } from '../command-setup.ts';
import {
  trainSchema,
  type TrainOptions,
  PRESETS,
  preflight,
  TrainingData,
  decodeResized,
  holdOut,
  scanImages,
  Trainer,
  autoMicroBatch,
  type SampleImage,
  type TrainerConfig,
  type TrainerIO,
  type TrainResult,
  resolveResume,
  readJson,
  writeText,
  selectEngine,
  runEngineTraining,
} from '@hokusai/train';
import { requestEngineDevice, type EngineLossSettings } from '@hokusai/engine';

/** Images larger than this are refused before decoding (the same default as `hokusai stylize`). */
const MAX_PIXELS = DEFAULT_MAX_PIXELS;

/** Keys a resumed run may change (engine and bookkeeping); everything else comes from the run's config.json. */
const RESUME_OVERRIDABLE = new Set(['iterations', 'epochs', 'backend', 'engine', 'microBatch', 'prefetch', 'logEvery', 'sampleEvery', 'checkpointEvery', 'keep', 'out', 'resume']);

function defaults(): TrainOptions {
  return trainSchema.parse({});
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Keys whose value differs from the default: what counts as given when options come from code, not the CLI. */
function offDefault(options: TrainOptions): Set<string> {
  const d = defaults() as Record<string, unknown>;
  return new Set(Object.entries(options).filter(([k, v]) => !same(v, d[k])).map(([k]) => k));
}

/**
 * Preset values fill every option the user did not give (`given`, from the CLI); an explicit value wins even
 * when it equals the default (`--style-weight 2` with a preset whose style weight is 0.1 trains with 2).
 */
export function applyPreset(options: TrainOptions, given: ReadonlySet<string> = offDefault(options)): TrainOptions {
  if (!options.preset) return options;
  const preset = PRESETS[options.preset];
  const out = { ...options } as Record<string, unknown>;
  for (const [k, v] of Object.entries(preset.options)) if (!given.has(k)) out[k] = v;
  // A dev recipe: the presets' paintings are read from the shared data ($HOKUSAI_SHARED, default ../shared).
  if (options.style.length === 0) out.style = [sharedPath(join('images/styles', preset.style))];
  out.name ??= options.preset;
  return trainSchema.parse(out);
}

/** On resume, the run's saved options are used except the few a resumed run may change. */
async function applyResume(options: TrainOptions, ctx: CommandContext, given: ReadonlySet<string>): Promise<{ options: TrainOptions; dir: string | null }> {
  if (!options.resume) return { options, dir: null };
  const dir = await resolveResume(options.out, options.resume);
  const savedPath = join(options.out, 'config.json');
  const saved = await readJson<Record<string, unknown>>(savedPath).catch(() => null);
  if (!saved) {
    ctx.log(`resume: no ${savedPath}; using the options given on this command line`);
    return { options, dir };
  }
  const merged: Record<string, unknown> = { ...saved };
  const values = options as Record<string, unknown>;
  for (const k of RESUME_OVERRIDABLE) if (values[k] !== undefined && (given.has(k) || k === 'out' || k === 'resume')) merged[k] = values[k];
  const changed = [...given].filter((k) => !RESUME_OVERRIDABLE.has(k) && !same(values[k], saved[k]));
  if (changed.length > 0) {
    ctx.log(`resume: ignoring ${changed.map((k) => `--${kebab(k)}`).join(', ')} (a resumed run keeps its saved options: ${savedPath})`);
  }
  return { options: trainSchema.parse(merged), dir };
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Bytes one checkpoint takes: model weights + trainer copy + two Adam moments (float32), plus slack. */
function checkpointBytes(width: 'full' | 'half'): number {
  const params = width === 'full' ? 1_679_235 : 430_000;
  return params * 4 * 4 + 100_000;
}

/**
 * --init-from (fine-tuning): the checkpoint's network, which must have the architecture `--width` builds. Its
 * meta is kept so the new run's meta.json records where its starting weights came from.
 */
async function loadInitFrom(dir: string, config: NetConfig, width: string): Promise<{ net: TransformerNet; meta: CheckpointMeta }> {
  const loaded = await loadCheckpointDir(dir);
  // The weights must fit; the input noise is an option of the new run (it has no weights of its own).
  const weightsShape = (c: NetConfig): string => JSON.stringify({ ...c, inputNoise: undefined });
  if (weightsShape(loaded.net.config) !== weightsShape(config)) {
    loaded.net.dispose();
    throw new InvalidArgumentError(
      `--init-from ${dir}: expected a network like --width ${width} builds (${weightsShape(config)}), got ${weightsShape(loaded.net.config)}`,
    );
  }
  if (JSON.stringify(loaded.net.config) === JSON.stringify(config)) return loaded;
  const net = TransformerNet.fromWeights(config, loaded.net.namedWeights());
  loaded.net.dispose();
  return { net, meta: loaded.meta };
}

/**
 * Where the network comes from, for meta.json. A resumed run keeps the command that started it (the one to rerun
 * to reproduce the network), lists each `--resume` command after it in `resumedWith`, and keeps the `initFrom` it
 * started with; a fine-tuning run (--init-from) records the starting checkpoint and how that was made.
 */
async function provenance(
  resumeDir: string | null,
  init: { meta: CheckpointMeta } | null,
): Promise<{ command: string; resumedWith?: string[]; initFrom?: Record<string, unknown> }> {
  const current = ['hokusai', ...process.argv.slice(2)].map(quoteArg).join(' ');
  if (resumeDir) {
    const prev = await readJson<{ command?: unknown; resumedWith?: unknown; initFrom?: Record<string, unknown> }>(
      join(resumeDir, 'meta.json'),
    ).catch(() => null);
    const initFrom = prev?.initFrom ? { initFrom: prev.initFrom } : {};
    if (typeof prev?.command !== 'string') return { command: current, ...initFrom };
    const earlier = Array.isArray(prev.resumedWith) ? prev.resumedWith.filter((c): c is string => typeof c === 'string') : [];
    return { command: prev.command, resumedWith: [...earlier, current], ...initFrom };
  }
  if (!init) return { command: current };
  const m = init.meta;
  return {
    command: current,
    initFrom: {
      name: m.name,
      step: m.step,
      ...(m.command ? { command: m.command } : {}),
      ...(Array.isArray(m['resumedWith']) ? { resumedWith: m['resumedWith'] } : {}),
      ...(m['initFrom'] ? { initFrom: m['initFrom'] } : {}),
    },
  };
}

/** The engine's WebGPU device on navigator.gpu (Dawn, installed by the webgpu backend), or why there is none. */
function requestDevice(): ReturnType<typeof requestEngineDevice> {
  return requestEngineDevice((globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu);
}

/** Preset and resume applied, then the option combinations the schema cannot check alone. */
async function resolveTrainOptions(input: TrainOptions, ctx: CommandContext, given: ReadonlySet<string>): Promise<{ options: TrainOptions; resumeDir: string | null }> {
  const resumed = await applyResume(applyPreset(input, given), ctx, given);
  const options = resumed.options;
  if (options.styleBlend.length > 0 && options.styleBlend.length !== options.style.length) {
    throw new InvalidArgumentError(`--style-blend: expected one weight per --style (${options.style.length}), got ${options.styleBlend.length}`);
  }
  if (options.jitter * 2 > options.imageSize) {
    throw new InvalidArgumentError(`--jitter: expected at most half of --image-size (${options.imageSize / 2} px), got ${options.jitter}`);
  }
  if (options.stabilityShift * 4 > options.imageSize) {
    throw new InvalidArgumentError(`--stability-shift: expected at most a quarter of --image-size (${options.imageSize / 4} px), got ${options.stabilityShift}`);
  }
  const window = options.imageSize - shiftCut(options.stabilityShift);
  if (options.stabilityMargin * 4 > window) {
    throw new InvalidArgumentError(`--stability-margin: expected at most a quarter of the compared ${window} px window (--image-size less the shift), got ${options.stabilityMargin}`);
  }
  if (options.stabilityMargin > 0 && options.stabilityShift === 0) {
    throw new InvalidArgumentError(`--stability-margin: expected a --stability-shift of at least 1 px (the margin leaves the shifted window's borders out), got --stability-margin ${options.stabilityMargin} with no shift`);
  }
  if (options.stabilitySubpixel && options.stabilityShift === 0) {
    throw new InvalidArgumentError('--stability-subpixel: expected a --stability-shift of at least 1 px to draw sub-pixel shifts from, got 0');
  }
  return { options, resumeDir: resumed.dir };
}

/** Training and held-out validation images: --validation a folder, or N images held out of the dataset. */
async function splitImages(options: TrainOptions, allFiles: string[]): Promise<{ trainFiles: string[]; validationFiles: string[] }> {
  const validationDir = /^\d+$/.test(options.validation) ? null : options.validation;
  if (validationDir) return { trainFiles: allFiles, validationFiles: await scanImages(validationDir) };
  const count = Math.min(Number(options.validation), Math.floor(allFiles.length / 5));
  const { train, validation } = holdOut(allFiles, count, options.seed);
  return { trainFiles: train, validationFiles: validation };
}

/** The batches, the validation crops and the fixed sample images (two, validation images first). */
async function trainingData(options: TrainOptions, files: { trainFiles: string[]; validationFiles: string[] }, ctx: CommandContext): Promise<{ data: TrainingData; validation: Uint8Array[]; samples: SampleImage[] }> {
  const { trainFiles, validationFiles } = files;
  const data = new TrainingData(
    trainFiles,
    { imageSize: options.imageSize, batchSize: options.batchSize, seed: options.seed, flip: options.flip, maxScale: options.scaleAugment, maxPixels: MAX_PIXELS, cacheBytes: 256_000_000 },
    ctx.log,
  );
  const validation = await Promise.all(validationFiles.map((f) => data.centerCrop(f, options.imageSize)));
  const sampleFiles = (validationFiles.length > 0 ? validationFiles : trainFiles).slice(0, 2);
  const samples: SampleImage[] = [];
  for (const f of sampleFiles) {
    const img = await decodeResized(f, options.sampleSize, MAX_PIXELS);
    samples.push({ name: basename(f).replace(/\.[^.]+$/, ''), data: new Uint8Array(img.data), width: img.width, height: img.height });
  }
  return { data, validation, samples };
}

/** A new network (seeded), or the --init-from weights copied into it. */
function createNet(netConfig: NetConfig, options: TrainOptions, init: { net: TransformerNet; meta: CheckpointMeta } | null, ctx: CommandContext): TransformerNet {
  const net = TransformerNet.create(netConfig, options.seed);
  if (init) {
    net.variables.forEach((v, i) => v.assign(init.net.variables[i]!));
    init.net.dispose();
    ctx.log(`initialised from ${options.initFrom} (${init.meta.name}, step ${init.meta.step})`);
  }
  return net;
}

/** Writes checkpoints (meta.json with `meta`, weights read asynchronously: webgpu in Node has no dataSync) and sample JPEGs. */
function trainerIO(net: TransformerNet, meta: Omit<CheckpointMeta, 'step' | 'losses' | 'createdAt'>): TrainerIO {
  return {
    async saveCheckpoint(dir, m, extra) {
      const full = { ...meta, ...m, createdAt: new Date().toISOString() } as CheckpointMeta;
      await saveCheckpointDir(dir, await serializeCheckpointAsync(net, full), extra);
    },
    async writeImage(path, image) {
      await writeImage(path, { data: image.data, width: image.width, height: image.height }, { format: 'jpeg', quality: 90 });
    },
  };
}

/** The Trainer's settings from the options. */
function trainerConfig(options: TrainOptions, run: { iterations: number; microBatch: number; backend: string; meta: Record<string, unknown> }): TrainerConfig {
  return {
    out: options.out,
    iterations: run.iterations,
    batchSize: options.batchSize,
    imageSize: options.imageSize,
    microBatch: run.microBatch,
    lr: options.lr,
    lrDecay: options.lrDecay,
    checkpointEvery: options.checkpointEvery,
    keep: options.keep,
    sampleEvery: options.sampleEvery,
    logEvery: options.logEvery,
    prefetch: options.prefetch,
    backend: run.backend,
    jitter: { max: options.jitter, seed: options.seed },
    stability: {
      weight: options.stabilityWeight,
      sigma: options.stabilityNoise,
      seed: options.seed,
      shift: options.stabilityShift,
      subpixel: options.stabilitySubpixel,
      norm: options.stabilityNorm,
      margin: options.stabilityMargin,
    },
    meta: run.meta,
  };
}

/** The end of a run: INTERRUPTED with the command to continue, else the final model and how to use it. */
async function finishRun(trainer: Trainer, result: TrainResult, options: TrainOptions, name: string, ctx: CommandContext): Promise<void> {
  if (result.interrupted) {
    throw new HokusaiError(
      'INTERRUPTED',
      `interrupted at step ${result.step}: checkpoint written; continue with\n  hokusai train --out ${options.out} --resume latest`,
    );
  }
  const finalDir = await trainer.saveFinal();
  const rel = relative(process.cwd(), resolve(finalDir)) || finalDir;
  const styleId = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'style';
  ctx.log(
    `done: ${result.step} steps, loss ${result.firstLoss?.toPrecision(4)} → ${result.lastLoss?.toPrecision(4)}` +
      `${result.rollbacks ? `, ${result.rollbacks} rollback(s)` : ''}\nmodel: ${rel}\nuse it:\n` +
      `  hokusai stylize --checkpoint ${rel} photo.jpg --out styled.jpg\n` +
      `  mkdir -p checkpoints && cp -r ${rel} checkpoints/${styleId} && hokusai serve --checkpoints checkpoints`,
  );
  ctx.out(`${rel}\n`);
}

/** What one run trains with, set up by runTrain. */
interface TrainRun {
  options: TrainOptions;
  resumeDir: string | null;
  engine: Awaited<ReturnType<typeof selectEngine>>;
  net: TransformerNet;
  trainer: Trainer;
  vggWeights: VggWeights;
  loss: PerceptualLoss;
  netConfig: NetConfig;
  data: TrainingData;
  files: { trainFiles: string[]; validationFiles: string[] };
  validation: Uint8Array[];
  samples: SampleImage[];
  iterations: number;
  microBatch: number;
  name: string;
}

/** Resume the trainer's state if asked, write config.json, then train on the engine or tfjs with a progress bar. */
async function train(r: TrainRun, ctx: CommandContext): Promise<void> {
  const { options, engine, trainer, vggWeights, data, netConfig, loss, validation, samples, iterations, microBatch, name } = r;
  const { trainFiles, validationFiles } = r.files;
  if (r.resumeDir) {
    const state = await trainer.restore(r.resumeDir);
    ctx.log(`resumed from ${r.resumeDir} at step ${state.step} (learning rate × ${state.lrScale})`);
  }
  await writeText(join(options.out, 'config.json'), JSON.stringify({ ...options, resume: undefined, iterations }, null, 2) + '\n');
  ctx.log(
    `training ${name}: ${r.net.parameterCount().toLocaleString('en')} parameters (${options.width}), ${trainFiles.length} images` +
      `${validationFiles.length ? ` + ${validationFiles.length} held out` : ''}, ${iterations} steps of ${options.batchSize}×${options.imageSize}² ` +
      `${engine.device ? 'on the engine' : `(micro-batches of ${microBatch})`}, ${options.lossNet} loss, out ${options.out}`,
  );
  const progress = createProgress({ total: iterations, initial: trainer.step, label: 'train', unit: 'steps', fields: { loss: 0, 'img/s': 0 }, log: ctx.log });
  let result;
  try {
    result = engine.device
      ? await runEngineTraining(trainer, vggWeights, data, { netConfig, loss: engineLoss(options), styleTargets: await styleTargetsOf(loss) }, {
        signal: ctx.signal, log: ctx.log, validation, samples, device: engine.device, onProgress: (step) => progress.update(step, {}),
      })
      : await trainer.run({
        signal: ctx.signal,
        validation,
        samples,
        onProgress: (step, l, ips) =>
          progress.update(step, { loss: l.total, content: l.content, style: l.style, tv: l.tv, lattice: Math.round(l.lattice * 100) / 100, ...(l.stability === undefined ? {} : { stability: l.stability }), 'img/s': Math.round(ips * 100) / 100 }),
      });
  } finally {
    progress.stop();
  }
  if (data.bad.size > 0) ctx.log(`skipped ${data.bad.size} unreadable image(s) of ${trainFiles.length} (listed above)`);
  await finishRun(trainer, result, options, name, ctx);
}

export async function runTrain(input: TrainOptions, ctx: CommandContext, given: ReadonlySet<string> = offDefault(input)): Promise<void> {
  const { options, resumeDir } = await resolveTrainOptions(input, ctx, given);
  const { files: allFiles } = await preflight({
    styles: options.style,
    dataset: options.dataset,
    weights: options.weights,
    out: options.out,
    needBytes: checkpointBytes(options.width) * (options.keep + 2) + 20_000_000,
  });

  // Engine, style images (memory-checked), starting weights (--init-from), loss network, style targets: every check
  // before the heavy work.
  const backend = await initBackend(options.backend, ctx.log);
  ctx.log(`backend: ${backend.name} (${backend.reason})`);
  const engine = await selectEngine(options.engine, backend.name, options, requestDevice);
  ctx.log(engine.line);
  const baseConfig = options.width === 'half' ? HALF_NET : FULL_NET;
  const netConfig: NetConfig = options.inputNoise > 0 ? { ...baseConfig, inputNoise: options.inputNoise } as NetConfig : baseConfig;
  // The style images, at --style-size: their Gram targets take one forward pass of the loss network over each
  // whole painting, which must fit the engine (wasm: a 4 GiB heap) — checked before the weights load.
  const styles = await readStyles(options.style, {
    blend: options.styleBlend,
    longEdge: options.styleSize,
    maxPixels: MAX_PIXELS,
    fits: { lossNet: options.lossNet, styleLayers: Object.keys(options.styleLayers), backend: backend.name },
  });
  const styleRefs = await Promise.all(styles.map(async (s) => ({ file: basename(s.path), sha256: await fileSha256(s.path), weight: s.weight })));
  const init = options.initFrom !== undefined && !resumeDir ? await loadInitFrom(options.initFrom, netConfig, options.width) : null;
  // A --weights file is read as it is (not added to the weights cache), and only its hash is recorded.
  const lossNet = await loadLossNetwork(options, { cache: false });
  const weightsSha = options.weights ? lossNet.sha256 : undefined;
  const loss = PerceptualLoss.fromWeights(lossNet.weights, lossOptionsOf(options));
  setStyleTargets(loss, styles);

  const files = await splitImages(options, allFiles);
  const iterations = options.epochs !== undefined ? Math.ceil((options.epochs * files.trainFiles.length) / options.batchSize) : options.iterations;
  const microBatch = options.microBatch > 0 ? options.microBatch : autoMicroBatch(backend.name, options.imageSize, options.batchSize);
  const { data, validation, samples } = await trainingData(options, files, ctx);
  const net = createNet(netConfig, options, init, ctx);
  const name = options.name ?? (options.style.length === 1 ? basename(options.style[0]!).replace(/\.[^.]+$/, '') : 'blend');
  const meta: Omit<CheckpointMeta, 'step' | 'losses' | 'createdAt'> = {
    formatVersion: 1,
    name,
    styleImages: styleRefs,
    lossNetwork: { name: options.lossNet, ...(weightsSha ? { weightsSha256: weightsSha } : {}) },
    training: { ...options, iterations, microBatch, backend: backend.name },
    ...(await provenance(resumeDir, init)),
    toolVersion: TOOL_VERSION,
    ...(engine.device ? { engine: 'gpu' } : {}),
  };
  const config = trainerConfig(options, { iterations, microBatch, backend: backend.name, meta: meta as unknown as Record<string, unknown> });
  const trainer = new Trainer(net, loss, data, trainerIO(net, meta), config, ctx.log);
  try {
    await train({ options, resumeDir, engine, net, trainer, vggWeights: lossNet.weights, loss, netConfig, data, files, validation, samples, iterations, microBatch, name }, ctx);
  } finally {
    engine.device?.device.destroy();
    trainer.dispose();
    loss.dispose();
    net.dispose();
  }
}

/** The loss settings the engine implements (engineSupport refused the others). */
function engineLoss(o: TrainOptions): EngineLossSettings {
  return { contentLayers: o.contentLayers, styleLayers: o.styleLayers, contentWeight: o.contentWeight, styleWeight: o.styleWeight, tvWeight: o.tvWeight };
}

/** The Gram targets the tfjs loss computed from the style image(s), as the engine takes them. */
async function styleTargetsOf(loss: PerceptualLoss): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of loss.styleTargets ?? []) out.set(k, Float32Array.from(await t.data()));
  return out;
}

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train a fast style-transfer network for a style (Johnson et al. 2016)',
  schema: trainSchema,
  configFile: true,
  run: runTrain,
});

export const commands = [trainCommand];
