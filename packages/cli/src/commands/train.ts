/**
 * `hokusai train`: trains one transformation network per style against the perceptual losses (Johnson et al.
 * 2016, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution") on the engine the machine has.
 * This module wires the CLI options to the trainer (@hokusai/train): preset and resume resolution, preflight,
 * backend, loss network, data, checkpoints, progress, and the final "how to use it" lines.
 */
import * as tf from '@tensorflow/tfjs-core';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve, relative } from 'node:path';
import { FULL_NET, HALF_NET, TransformerNet, serializeCheckpointAsync, type CheckpointMeta, type NetConfig } from '@hokusai/model';
import { HokusaiError, InvalidArgumentError } from '@hokusai/errors';
import { lossOptionsOf, PerceptualLoss, readKerasVggH5, type VggWeights } from '@hokusai/losses';
import { DEFAULT_MAX_PIXELS, initBackend, loadCheckpointDir, loadLossWeights, readImage, saveCheckpointDir, sharedPath, writeImage } from '@hokusai/node';
import { defineCommand, kebab, type CommandContext } from '../command.ts';
import { createProgress } from '../progress.ts';
import { TOOL_VERSION } from '../version.ts';
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
  type TrainerIO,
  resolveResume,
  readJson,
  writeText,
  selectEngine,
  runEngineTraining,
} from '@hokusai/train';
import { requestEngineDevice, type EngineLossSettings } from '@hokusai/engine';
import { checkStyleFits } from '@hokusai/optimize';

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

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

async function loadVggWeights(options: TrainOptions): Promise<{ weights: VggWeights; sha: string | undefined }> {
  if (options.weights) {
    const bytes = new Uint8Array(await readFile(options.weights));
    return { weights: await readKerasVggH5(bytes, options.lossNet), sha: sha256(bytes) };
  }
  return { weights: await loadLossWeights({ lossNet: options.lossNet, cacheDir: options.cacheDir }), sha: undefined };
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

export async function runTrain(input: TrainOptions, ctx: CommandContext, given: ReadonlySet<string> = offDefault(input)): Promise<void> {
  let options = applyPreset(input, given);
  const resumed = await applyResume(options, ctx, given);
  options = resumed.options;
  if (options.styleBlend.length > 0 && options.styleBlend.length !== options.style.length) {
    throw new InvalidArgumentError(`--style-blend: expected one weight per --style (${options.style.length}), got ${options.styleBlend.length}`);
  }
  if (options.jitter * 2 > options.imageSize) {
    throw new InvalidArgumentError(`--jitter: expected at most half of --image-size (${options.imageSize / 2} px), got ${options.jitter}`);
  }
  if (options.stabilityShift * 4 > options.imageSize) {
    throw new InvalidArgumentError(`--stability-shift: expected at most a quarter of --image-size (${options.imageSize / 4} px), got ${options.stabilityShift}`);
  }
  const validationDir = /^\d+$/.test(options.validation) ? null : options.validation;
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
  const styleRefs: { file: string; sha256: string; weight: number }[] = [];
  const decoded: { img: { data: Uint8Array | Buffer; width: number; height: number }; weight: number }[] = [];
  for (let i = 0; i < options.style.length; i++) {
    const file = options.style[i]!;
    const weight = options.styleBlend[i] ?? 1;
    const img = await readImage(file, { longEdge: options.styleSize, maxPixels: MAX_PIXELS, label: `--style ${file}` });
    checkStyleFits({ file, image: img, styleSize: options.styleSize, lossNet: options.lossNet, styleLayers: Object.keys(options.styleLayers), backend: backend.name });
    decoded.push({ img, weight });
    styleRefs.push({ file: basename(file), sha256: sha256(new Uint8Array(await readFile(file))), weight });
  }
  const init = options.initFrom !== undefined && !resumed.dir ? await loadInitFrom(options.initFrom, netConfig, options.width) : null;
  const { weights: vggWeights, sha: weightsSha } = await loadVggWeights(options);
  const loss = PerceptualLoss.fromWeights(vggWeights, lossOptionsOf(options));
  const styleImages = decoded.map((d) => ({ image: tf.tensor3d(Float32Array.from(d.img.data), [d.img.height, d.img.width, 3]), weight: d.weight }));
  loss.setStyle(styleImages);
  for (const s of styleImages) s.image.dispose();

  // Data: training images, held-out validation images, fixed sample images.
  let trainFiles = allFiles;
  let validationFiles: string[] = [];
  if (validationDir) validationFiles = await scanImages(validationDir);
  else {
    const count = Math.min(Number(options.validation), Math.floor(allFiles.length / 5));
    ({ train: trainFiles, validation: validationFiles } = holdOut(allFiles, count, options.seed));
  }
  const iterations = options.epochs !== undefined ? Math.ceil((options.epochs * trainFiles.length) / options.batchSize) : options.iterations;
  const microBatch = options.microBatch > 0 ? options.microBatch : autoMicroBatch(backend.name, options.imageSize, options.batchSize);
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

  // Network and trainer.
  const net = TransformerNet.create(netConfig, options.seed);
  if (init) {
    net.variables.forEach((v, i) => v.assign(init.net.variables[i]!));
    init.net.dispose();
    ctx.log(`initialised from ${options.initFrom} (${init.meta.name}, step ${init.meta.step})`);
  }
  const name = options.name ?? (options.style.length === 1 ? basename(options.style[0]!).replace(/\.[^.]+$/, '') : 'blend');
  const training = { ...options, iterations, microBatch, backend: backend.name };
  const meta: Omit<CheckpointMeta, 'step' | 'losses' | 'createdAt'> = {
    formatVersion: 1,
    name,
    styleImages: styleRefs,
    lossNetwork: { name: options.lossNet, ...(weightsSha ? { weightsSha256: weightsSha } : {}) },
    training,
    ...(await provenance(resumed.dir, init)),
    toolVersion: TOOL_VERSION,
    ...(engine.device ? { engine: 'gpu' } : {}),
  };
  const io: TrainerIO = {
    async saveCheckpoint(dir, m, extra) {
      const full = { ...meta, ...m, createdAt: new Date().toISOString() } as CheckpointMeta;
      // Asynchronous weight reads: webgpu in Node has no dataSync.
      await saveCheckpointDir(dir, await serializeCheckpointAsync(net, full), extra);
    },
    async writeImage(path, image) {
      await writeImage(path, { data: image.data, width: image.width, height: image.height }, { format: 'jpeg', quality: 90 });
    },
  };
  const trainer = new Trainer(
    net,
    loss,
    data,
    io,
    {
      out: options.out,
      iterations,
      batchSize: options.batchSize,
      imageSize: options.imageSize,
      microBatch,
      lr: options.lr,
      lrDecay: options.lrDecay,
      checkpointEvery: options.checkpointEvery,
      keep: options.keep,
      sampleEvery: options.sampleEvery,
      logEvery: options.logEvery,
      prefetch: options.prefetch,
      backend: backend.name,
      jitter: { max: options.jitter, seed: options.seed },
      stability: { weight: options.stabilityWeight, sigma: options.stabilityNoise, seed: options.seed, shift: options.stabilityShift },
      meta: meta as unknown as Record<string, unknown>,
    },
    ctx.log,
  );
  try {
    if (resumed.dir) {
      const state = await trainer.restore(resumed.dir);
      ctx.log(`resumed from ${resumed.dir} at step ${state.step} (learning rate × ${state.lrScale})`);
    }
    await writeText(join(options.out, 'config.json'), JSON.stringify({ ...options, resume: undefined, iterations }, null, 2) + '\n');
    ctx.log(
      `training ${name}: ${net.parameterCount().toLocaleString('en')} parameters (${options.width}), ${trainFiles.length} images` +
        `${validationFiles.length ? ` + ${validationFiles.length} held out` : ''}, ${iterations} steps of ${options.batchSize}×${options.imageSize}² ` +
        `${engine.device ? 'on the engine' : `(micro-batches of ${microBatch})`}, ${options.lossNet} loss, out ${options.out}`,
    );
    const progress = createProgress({
      total: iterations,
      initial: trainer.step,
      label: 'train',
      unit: 'steps',
      fields: { loss: 0, 'img/s': 0 },
      log: ctx.log,
    });
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
