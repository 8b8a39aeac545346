/**
 * `hokusai stylize --checkpoint <dir> <input...> --out <file|dir>`: applies a trained feed-forward network
 * (Johnson et al. 2016, "Perceptual Losses for Real-Time Style Transfer and Super-Resolution"; or an imported
 * Engstrom network) to images or whole folders. One pass per image (the network is fully convolutional).
 * Engine (`openEngine`, the one place it is chosen; docs/backends.md "Inference engines"): --engine auto runs
 * Hokusai's WebGPU engine (@hokusai/engine's TransformerForward under Dawn) on a hardware adapter with the limits it
 * needs, else the ONNX export of the network in onnxruntime-node on the CPU, saying which and why in one line;
 * gpu / onnx / onnx-webgpu (onnxruntime's WebGPU execution provider) / tfjs force one; a named --backend runs tfjs
 * on it. The engines and the auto choice are @hokusai/serve's stylize-engines.ts (shared with `hokusai serve`).
 * A file that cannot be read or written is reported by name and skipped; nothing half-written is left behind;
 * the command exits non-zero at the end, listing every failure.
 */
import { readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { z } from 'zod';
import type { TransformerNet } from '@hokusai/model';
import { HokusaiError, InvalidArgumentError, NotFoundError } from '@hokusai/errors';
import {
  checkpointNotFoundError,
  DEFAULT_MAX_PIXELS,
  formatFromPath,
  initBackend,
  loadCheckpointDir,
  readImage,
  writeImage,
  type ImageFormat,
} from '@hokusai/node';
import {
  engineDeviceFor, ENGINE_CHOICES, gpuEngine, onnxEngine, onnxRuntimeFor, tfjsEngine, type StylizeEngine,
} from '@hokusai/serve';
// The engines, for the commands and tests that take them from here (export, flicker).
export { gpuEngine, onnxEngine, tfjsEngine, type StylizeEngine } from '@hokusai/serve';
import { defineCommand, type CommandContext, type CommandSpec } from '../command.ts';
import { backendOption } from '@hokusai/train';
import { createProgress } from '../progress.ts';
import { isVideoJob, runStylizeVideo } from './stylize-video.ts';

export const stylizeSchema = z.object({
  checkpoint: z.string().min(1).describe('checkpoint directory (model.json, weights.bin, meta.json)'),
  inputs: z.array(z.string().min(1)).min(1).describe('images (JPEG, PNG, WebP) or folders, searched recursively; or one video (.mp4, .mov, .mkv, .webm, .gif)'),
  out: z.string().min(1).describe('output file (one input image) or folder (several inputs, or a folder input); for a video, a clip or a folder of frames'),
  format: z
    .enum(['auto', 'jpeg', 'png', 'webp'])
    .default('auto')
    .describe("output format; auto: from --out's extension, or in a folder the input's own format"),
  maxSize: z.number().int().positive().optional().describe('downscale each input so its long edge is at most this many pixels'),
  maxPixels: z.number().int().positive().default(DEFAULT_MAX_PIXELS).describe('refuse inputs with more pixels than this (checked before decoding)'),
  strength: z.number().min(0).max(1).default(1).describe('blend with the input: 0 = input unchanged, 1 = fully stylised'),
  preserveColors: z.boolean().default(false).describe("keep the input's colours (only the luminance is stylised)"),
  quality: z.number().int().min(1).max(100).default(90).describe('JPEG/WebP quality'),
  maxFrames: z.number().int().positive().default(100_000).describe('video: refuse clips with more frames than this (100000: 55 min at 30 fps)'),
  fps: z.number().positive().default(25).describe('video from a folder of frames: its frame rate'),
  engine: z
    .enum(ENGINE_CHOICES)
    .default('auto')
    .describe(
      "inference engine: auto = gpu on a hardware WebGPU adapter with the limits it needs, else onnx; gpu = Hokusai's WebGPU engine (Dawn; Johnson networks; forced, it also runs on a software adapter); onnx = onnxruntime on the CPU; onnx-webgpu = onnxruntime's WebGPU execution provider; tfjs = tfjs on --backend",
    ),
  backend: backendOption.describe(
    'tfjs backend (with --engine tfjs, or auto: a named backend runs tfjs on it; auto keeps the --engine choice)',
  ),
});

export type StylizeCommandOptions = z.infer<typeof stylizeSchema>;

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
/** Files in folders that look like images we cannot read: attempted, so they are reported, not silently skipped. */
const OTHER_IMAGE_EXTENSIONS = new Set(['.gif', '.tif', '.tiff', '.bmp', '.svg', '.heic', '.heif', '.avif', '.ico', '.jxl']);

const EXTENSION_OF: Record<ImageFormat, string> = { jpeg: '.jpg', png: '.png', webp: '.webp' };

export interface StylizeJob {
  input: string;
  output: string;
}

async function statOrNull(path: string): Promise<Awaited<ReturnType<typeof stat>> | null> {
  try {
    return await stat(path);
  } catch {
    return null;
  }
}

/** Every file under `dir` (recursive, sorted, hidden entries and `exclude` skipped). */
async function walk(dir: string, exclude: string | null): Promise<string[]> {
  const out: string[] = [];
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    if (e.name.startsWith('.')) continue;
    const full = join(dir, e.name);
    if (exclude !== null && resolve(full) === exclude) continue;
    if (e.isDirectory()) out.push(...(await walk(full, exclude)));
    else if (e.isFile()) out.push(full);
  }
  return out;
}

/**
 * Works out which file goes where. One image input with an --out that is not an existing folder and has an image
 * extension: a single file. Otherwise --out is a folder; folder inputs keep their relative layout inside it.
 */
export async function planJobs(
  inputs: string[],
  out: string,
  format: StylizeCommandOptions['format'],
  log: (line: string) => void = () => {},
): Promise<{ jobs: StylizeJob[]; toFolder: boolean }> {
  const outStat = await statOrNull(out);
  const outExt = extname(out).toLowerCase();
  if (OTHER_IMAGE_EXTENSIONS.has(outExt) && !(outStat?.isDirectory() ?? false)) {
    throw new InvalidArgumentError(`--out "${out}": cannot write ${outExt} images; expected a file name ending in .jpg, .jpeg, .png or .webp, or a folder`);
  }
  const kinds: { path: string; isDir: boolean }[] = [];
  for (const input of inputs) {
    const s = await statOrNull(input);
    if (s === null) throw new NotFoundError(`input "${input}": no such file or folder`);
    kinds.push({ path: input, isDir: s.isDirectory() });
  }
  const outLooksLikeFile = formatFromPath(out) !== null && !out.endsWith('/') && !out.endsWith(sep);
  const toFolder = (outStat?.isDirectory() ?? false) || !outLooksLikeFile || kinds.length > 1 || kinds.some((k) => k.isDir);
  if (!toFolder) {
    return { jobs: [{ input: inputs[0] as string, output: out }], toFolder };
  }
  if (outStat !== null && !outStat.isDirectory()) {
    throw new InvalidArgumentError(`--out "${out}": expected a folder for ${kinds.length > 1 ? 'several inputs' : 'a folder input'}, but it is an existing file`);
  }
  if (outLooksLikeFile && outStat === null) {
    throw new InvalidArgumentError(
      `--out "${out}": expected a folder for ${kinds.length > 1 ? `${kinds.length} inputs` : 'a folder input'}, got a file name (${extname(out)})`,
    );
  }
  const outAbs = resolve(out);
  const jobs: StylizeJob[] = [];
  let skipped = 0;
  for (const k of kinds) {
    if (!k.isDir) {
      jobs.push({ input: k.path, output: join(out, basename(k.path)) });
      continue;
    }
    for (const file of await walk(k.path, outAbs)) {
      const ext = extname(file).toLowerCase();
      if (!IMAGE_EXTENSIONS.has(ext) && !OTHER_IMAGE_EXTENSIONS.has(ext)) {
        skipped += 1;
        continue;
      }
      jobs.push({ input: file, output: join(out, relative(k.path, file)) });
    }
  }
  if (skipped > 0) log(`skipped ${skipped} file(s) without an image extension`);
  // Output names: the chosen format's extension (auto keeps a readable input's own extension).
  for (const job of jobs) {
    const ext = extname(job.output);
    const stem = job.output.slice(0, job.output.length - ext.length);
    const keep = IMAGE_EXTENSIONS.has(ext.toLowerCase());
    job.output = format === 'auto' ? (keep ? job.output : `${stem}.png`) : `${stem}${EXTENSION_OF[format]}`;
  }
  const seen = new Map<string, string>();
  for (const job of jobs) {
    const key = resolve(job.output);
    const other = seen.get(key);
    if (other !== undefined) {
      throw new InvalidArgumentError(`inputs "${other}" and "${job.input}" would both be written to "${job.output}"; stylize them into different folders`);
    }
    seen.set(key, job.input);
  }
  return { jobs, toFolder };
}

function outputFormat(job: StylizeJob, format: StylizeCommandOptions['format']): ImageFormat {
  if (format !== 'auto') return format;
  const f = formatFromPath(job.output);
  if (f === null) {
    throw new InvalidArgumentError(`--out "${job.output}": expected a .jpg, .jpeg, .png or .webp file name, or --format`);
  }
  return f;
}

async function loadNet(checkpoint: string): Promise<{ net: TransformerNet; summary: string }> {
  const { net, meta } = await loadCheckpointDir(checkpoint);
  return { net, summary: `checkpoint "${meta.name}" (${net.config.arch}, ${net.parameterCount().toLocaleString('en-US')} parameters)` };
}

/** tfjs on `backend` (started here, with its one line), running the checkpoint's network. */
async function openTfjs(checkpoint: string, backend: StylizeCommandOptions['backend'], log: (line: string) => void): Promise<{ engine: StylizeEngine; summary: string }> {
  await initBackend(backend, log);
  const { net, summary } = await loadNet(checkpoint);
  return { engine: tfjsEngine(net), summary };
}

/**
 * The one place `stylize` chooses its inference engine (see the header): --engine auto → the GPU engine on a
 * hardware WebGPU adapter, else onnxruntime on the CPU (else, if onnxruntime-node does not load, tfjs); a named
 * engine is used or refused with the reason; a named --backend (with auto or tfjs) runs tfjs on it (a bare backend
 * name means --engine auto with it, as for flicker). tfjs parses the
 * checkpoint, so a backend is started either way (cpu for the others: parsing only).
 */
export async function openEngine(
  checkpoint: string,
  choice: Pick<StylizeCommandOptions, 'engine' | 'backend'> | StylizeCommandOptions['backend'],
  log: (line: string) => void,
): Promise<{ engine: StylizeEngine; summary: string }> {
  const { engine, backend } = typeof choice === 'string' ? { engine: 'auto' as const, backend: choice } : choice;
  if (engine === 'tfjs' || (engine === 'auto' && backend !== 'auto')) return openTfjs(checkpoint, backend, log);
  if (backend !== 'auto') {
    throw new InvalidArgumentError(`--backend ${backend} picks the tfjs backend; expected --engine tfjs (or auto) with it, got --engine ${engine}`);
  }
  await initBackend('cpu');
  const { net, summary } = await loadNet(checkpoint);
  try {
    const dev = engine === 'gpu' || engine === 'auto' ? await engineDeviceFor(net.config, engine, log) : null;
    if (dev !== null) return { engine: await gpuEngine(dev, net), summary };
    const ort = await onnxRuntimeFor(engine, log);
    if (ort !== null) return { engine: await onnxEngine(ort, net, availableParallelism(), engine === 'onnx-webgpu' ? 'webgpu' : 'cpu'), summary };
  } finally {
    net.dispose();
  }
  return openTfjs(checkpoint, 'auto', log);
}

/** Stylises one image file into another (atomic write). */
export async function stylizeFile(engine: StylizeEngine, job: StylizeJob, opts: StylizeCommandOptions): Promise<{ width: number; height: number }> {
  const format = outputFormat(job, opts.format);
  const img = await readImage(job.input, { maxPixels: opts.maxPixels, ...(opts.maxSize === undefined ? {} : { maxSize: opts.maxSize }) });
  const rgb = await engine.stylize(img, { strength: opts.strength, preserveColors: opts.preserveColors });
  await writeImage(job.output, rgb, { format, quality: opts.quality });
  return { width: rgb.width, height: rgb.height };
}

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof HokusaiError) return { code: error.code, message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  // tfjs reports allocation failures as plain errors
  // (cpu: typed-array allocation; wasm: the heap cannot grow; webgpu: buffer larger than the device allows)
  if (/out of memory|allocation failed|Invalid typed array length|Array buffer allocation|enlarge memory|Aborted\(|maxBufferSize|maxStorageBufferBindingSize/i.test(message)) {
    return { code: 'OUT_OF_MEMORY', message: `${message} (try --max-size)` };
  }
  return { code: 'INTERNAL', message };
}

export async function runStylize(opts: StylizeCommandOptions, ctx: CommandContext): Promise<void> {
  if (await isVideoJob(opts.inputs, opts.out)) return runStylizeVideo(opts, ctx);
  const { jobs, toFolder } = await planJobs(opts.inputs, opts.out, opts.format, ctx.log);
  if (jobs.length === 0) throw new NotFoundError(`no images found in ${opts.inputs.map((i) => `"${i}"`).join(', ')}`);
  // Check the single output's format before any work.
  if (!toFolder) outputFormat(jobs[0] as StylizeJob, opts.format);
  // Fail fast on a mistyped checkpoint path, before starting a backend (loadCheckpointDir validates the rest).
  if (!(await statOrNull(opts.checkpoint))?.isDirectory()) {
    throw await checkpointNotFoundError(opts.checkpoint);
  }
  const { engine, summary } = await openEngine(opts.checkpoint, opts, ctx.log);
  ctx.log(`${summary} on ${engine.label}`);
  const failures: { input: string; code: string; message: string }[] = [];
  const progress = jobs.length > 1 ? createProgress({ total: jobs.length, label: 'stylize', unit: 'images' }) : null;
  let written = 0;
  try {
    for (const job of jobs) {
      if (ctx.signal.aborted) break;
      const t0 = performance.now();
      try {
        const { width, height } = await stylizeFile(engine, job, opts);
        written += 1;
        if (progress === null) ctx.log(`${job.input} → ${job.output} (${width}×${height}, ${Math.round(performance.now() - t0)} ms)`);
      } catch (error) {
        const d = describe(error);
        // name the file once, first
        const message = d.message.startsWith(`${job.input}: `) ? d.message.slice(job.input.length + 2) : d.message;
        failures.push({ input: job.input, code: d.code, message });
        ctx.log(`${progress === null ? '' : '\n'}error [${d.code}]: ${job.input}: ${message}`);
      }
      progress?.increment();
    }
  } finally {
    progress?.stop();
    engine.dispose();
  }
  if (toFolder) ctx.log(`stylized ${written}/${jobs.length} image(s) into ${opts.out}`);
  if (ctx.signal.aborted) {
    throw new HokusaiError('INTERRUPTED', `interrupted: ${written} of ${jobs.length} image(s) written${failures.length > 0 ? `, ${failures.length} failed` : ''}`);
  }
  if (failures.length > 0) {
    // exit code: the first failure's (inputs are processed in sorted order, so it is deterministic)
    const code = (failures[0] as { code: string }).code as HokusaiError['code'];
    const list = failures.map((f) => `  ${f.input}: [${f.code}] ${f.message}`).join('\n');
    throw new HokusaiError(code, `${failures.length} of ${jobs.length} image(s) failed:\n${list}`);
  }
}

export const commands: CommandSpec[] = [
  defineCommand({
    name: 'stylize',
    summary: 'apply a trained style network to images or folders',
    schema: stylizeSchema,
    positionals: [{ key: 'inputs', name: 'input...', variadic: true, required: true }],
    aliases: { checkpoint: 'c', out: 'o', strength: 's' },
    run: runStylize,
  }) as unknown as CommandSpec,
];
