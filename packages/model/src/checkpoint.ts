/**
 * Checkpoint format: a directory of three files.
 * - `model.json`: `{format:'hokusai-transformer', formatVersion:1, config, weightsManifest:[{paths:['weights.bin'],
 *   weights:[{name, shape, dtype:'float32'|'float16'}]}]}`, a tfjs-style weights manifest plus our network config.
 * - `weights.bin`: the tensors concatenated in manifest order, little-endian float32 or IEEE binary16.
 * - `meta.json`: see checkpoint-meta.ts.
 *
 * Parsing validates everything and never executes anything: JSON schemas, manifest paths (only 'weights.bin';
 * anything escaping the directory — '..', absolute, URL — is rejected as such), exact byte size for the shapes and
 * dtypes, finite values, and weight names/shapes against the config's architecture.
 */
import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import { CheckpointError, HokusaiError, NotFoundError } from '@hokusai/errors';
import { CheckpointMetaSchema, type CheckpointMeta } from './checkpoint-meta.ts';
import { float16BitsToFloat32, encodeFloat16, FLOAT16_MAX } from './float16.ts';
import { NetConfigSchema, describeNetConfig, type NetConfig } from './net-config.ts';
import { TransformerNet, weightSpecs } from './transformer-net.ts';
import { shapeSize } from './weight-spec.ts';

export const CHECKPOINT_FORMAT = 'hokusai-transformer' as const;
export const CHECKPOINT_FORMAT_VERSION = 1 as const;
export const CHECKPOINT_FILES = { model: 'model.json', weights: 'weights.bin', meta: 'meta.json' } as const;

export interface CheckpointFiles {
  modelJson: string;
  weightsBin: Uint8Array;
  metaJson: string;
}

const WeightEntrySchema = z.strictObject({
  name: z.string().min(1),
  shape: z.array(z.number().int().nonnegative()),
  dtype: z.enum(['float32', 'float16']),
});

export const ModelJsonSchema = z.strictObject({
  format: z.literal(CHECKPOINT_FORMAT),
  formatVersion: z.literal(CHECKPOINT_FORMAT_VERSION),
  config: NetConfigSchema,
  weightsManifest: z
    .array(z.strictObject({ paths: z.array(z.string()).min(1), weights: z.array(WeightEntrySchema) }))
    .min(1),
});

export type ModelJson = z.infer<typeof ModelJsonSchema>;
export type WeightEntry = z.infer<typeof WeightEntrySchema>;

const BYTES = { float32: 4, float16: 2 } as const;

function issuesText(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CheckpointError(`${file}: expected valid JSON, got a parse error (${(error as Error).message})`, {
      cause: error,
      details: { file },
    });
  }
}

/**
 * Checks that a manifest path stays inside the checkpoint directory: relative, no '..' segment, no URL scheme, no
 * backslashes or NUL. Returns a reason when it does not.
 */
export function unsafeManifestPathReason(path: string): string | undefined {
  if (path.length === 0) return 'is empty';
  if (path.includes('\0')) return 'contains a NUL byte';
  if (path.includes('\\')) return 'contains a backslash';
  if (/^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(path)) return 'is a URL or drive path';
  if (path.startsWith('/')) return 'is absolute';
  if (path.split('/').some((s) => s === '..')) return "contains a '..' segment";
  return undefined;
}

/** Validated model.json: config, weight entries in byte order, and the exact weights.bin size they need. */
export function parseModelJson(text: string): { config: NetConfig; entries: WeightEntry[]; byteLength: number } {
  const raw = parseJson(text, CHECKPOINT_FILES.model);
  if (typeof raw === 'object' && raw !== null && 'format' in raw && raw.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(`model.json: expected format '${CHECKPOINT_FORMAT}', got ${JSON.stringify(raw.format)}`);
  }
  const parsed = ModelJsonSchema.safeParse(raw);
  if (!parsed.success) throw new CheckpointError(`model.json: invalid (${issuesText(parsed.error)})`);
  const model = parsed.data;
  for (const group of model.weightsManifest) {
    for (const p of group.paths) {
      const reason = unsafeManifestPathReason(p);
      if (reason !== undefined) {
        throw new CheckpointError(`model.json: weight path ${JSON.stringify(p)} ${reason}; paths must stay inside the checkpoint directory`);
      }
    }
  }
  const paths = model.weightsManifest.flatMap((g) => g.paths);
  if (paths.length !== 1 || paths[0] !== CHECKPOINT_FILES.weights) {
    throw new CheckpointError(`model.json: expected exactly one weights file 'weights.bin', got ${JSON.stringify(paths)}`);
  }
  const entries = model.weightsManifest.flatMap((g) => g.weights);
  const specs = weightSpecs(model.config);
  const byName = new Map<string, WeightEntry>();
  for (const e of entries) {
    if (byName.has(e.name)) throw new CheckpointError(`model.json: weight ${e.name} is listed twice`);
    byName.set(e.name, e);
  }
  const arch = describeNetConfig(model.config);
  const missing = specs.filter((s) => !byName.has(s.name)).map((s) => s.name);
  const expectedNames = new Set(specs.map((s) => s.name));
  const extra = entries.filter((e) => !expectedNames.has(e.name)).map((e) => e.name);
  if (missing.length > 0 || extra.length > 0) {
    throw new CheckpointError(
      `model.json: weights do not match the ${arch} architecture: ` +
        [missing.length > 0 ? `missing ${missing.join(', ')}` : '', extra.length > 0 ? `unexpected ${extra.join(', ')}` : '']
          .filter(Boolean)
          .join('; '),
    );
  }
  for (const s of specs) {
    const e = byName.get(s.name) as WeightEntry;
    if (e.shape.length !== s.shape.length || e.shape.some((d, i) => d !== s.shape[i])) {
      throw new CheckpointError(`model.json: weight ${s.name} of ${arch}: expected shape [${s.shape.join(',')}], got [${e.shape.join(',')}]`);
    }
  }
  const byteLength = entries.reduce((sum, e) => sum + shapeSize(e.shape) * BYTES[e.dtype], 0);
  return { config: model.config, entries, byteLength };
}

/** Validated meta.json. */
export function parseCheckpointMeta(text: string): CheckpointMeta {
  const raw = parseJson(text, CHECKPOINT_FILES.meta);
  const parsed = CheckpointMetaSchema.safeParse(raw);
  if (!parsed.success) throw new CheckpointError(`meta.json: invalid (${issuesText(parsed.error)})`);
  return parsed.data;
}

/** Decodes weights.bin per the manifest entries; checks the exact size and that every value is finite. */
export function decodeWeights(entries: readonly WeightEntry[], bin: Uint8Array, byteLength: number): Map<string, Float32Array> {
  if (bin.byteLength !== byteLength) {
    throw new CheckpointError(
      `weights.bin: expected ${byteLength} bytes for the shapes and dtypes in model.json, got ${bin.byteLength}`,
    );
  }
  const view = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const e of entries) {
    const n = shapeSize(e.shape);
    const values = new Float32Array(n);
    if (e.dtype === 'float32') {
      for (let i = 0; i < n; i++) values[i] = view.getFloat32(offset + 4 * i, true);
    } else {
      for (let i = 0; i < n; i++) values[i] = float16BitsToFloat32(view.getUint16(offset + 2 * i, true));
    }
    for (let i = 0; i < n; i++) {
      if (!Number.isFinite(values[i])) {
        throw new CheckpointError(`weights.bin: weight ${e.name} element ${i} is ${values[i]}, expected a finite number`);
      }
    }
    offset += n * BYTES[e.dtype];
    out.set(e.name, values);
  }
  return out;
}

/** Parses and validates a checkpoint's three files into a new network (caller disposes it) and its meta. */
export function parseCheckpoint(files: CheckpointFiles): { net: TransformerNet; meta: CheckpointMeta } {
  const { config, entries, byteLength } = parseModelJson(files.modelJson);
  const meta = parseCheckpointMeta(files.metaJson);
  const values = decodeWeights(entries, files.weightsBin, byteLength);
  const tensors: Record<string, tf.Tensor> = {};
  try {
    for (const e of entries) tensors[e.name] = tf.tensor(values.get(e.name) as Float32Array, e.shape, 'float32');
    return { net: TransformerNet.fromWeights(config, tensors), meta };
  } finally {
    for (const t of Object.values(tensors)) t.dispose();
  }
}

/** Serialises a network and its meta (validated) into the three checkpoint files (reads weights with dataSync). */
export function serializeCheckpoint(
  net: TransformerNet,
  meta: CheckpointMeta,
  opts: { float16?: boolean } = {},
): CheckpointFiles {
  const named = net.namedWeights();
  return buildCheckpointFiles(net, meta, opts, (name) => named[name]?.dataSync() as Float32Array | undefined);
}

/**
 * serializeCheckpoint with asynchronous weight reads, for backends without dataSync (WebGPU in Node) or to keep
 * the thread free while a GPU backend downloads the weights.
 */
export async function serializeCheckpointAsync(
  net: TransformerNet,
  meta: CheckpointMeta,
  opts: { float16?: boolean } = {},
): Promise<CheckpointFiles> {
  const named = net.namedWeights();
  const entries = await Promise.all(Object.entries(named).map(async ([k, t]) => [k, (await t.data()) as Float32Array] as const));
  const values = new Map(entries);
  return buildCheckpointFiles(net, meta, opts, (name) => values.get(name));
}

function buildCheckpointFiles(
  net: TransformerNet,
  meta: CheckpointMeta,
  opts: { float16?: boolean },
  read: (name: string) => Float32Array | undefined,
): CheckpointFiles {
  const metaParsed = CheckpointMetaSchema.safeParse(meta);
  if (!metaParsed.success) throw new CheckpointError(`meta: invalid (${issuesText(metaParsed.error)})`);
  const dtype = opts.float16 === true ? 'float16' : 'float32';
  const specs = weightSpecs(net.config);
  const chunks: Uint8Array[] = [];
  const weights: WeightEntry[] = [];
  for (const s of specs) {
    const data = read(s.name);
    if (data === undefined) throw new CheckpointError(`Network has no weight ${s.name}`);
    if (data.length !== shapeSize(s.shape)) {
      throw new CheckpointError(`Weight ${s.name}: expected ${shapeSize(s.shape)} values for shape [${s.shape.join(',')}], got ${data.length}`);
    }
    for (let i = 0; i < data.length; i++) {
      const v = data[i] as number;
      if (!Number.isFinite(v)) throw new CheckpointError(`Weight ${s.name} element ${i} is ${v}: refusing to save a non-finite network`);
      if (dtype === 'float16' && Math.abs(v) > FLOAT16_MAX) {
        throw new CheckpointError(`Weight ${s.name} element ${i} is ${v}, beyond float16's range ±${FLOAT16_MAX}: save as float32`);
      }
    }
    if (dtype === 'float32') {
      const bytes = new Uint8Array(data.length * 4);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i] as number, true);
      chunks.push(bytes);
    } else {
      const half = encodeFloat16(data);
      const bytes = new Uint8Array(half.length * 2);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < half.length; i++) view.setUint16(2 * i, half[i] as number, true);
      chunks.push(bytes);
    }
    weights.push({ name: s.name, shape: [...s.shape], dtype });
  }
  const total = chunks.reduce((n, c) => n + c.byteLength, 0);
  const weightsBin = new Uint8Array(total);
  let offset = 0;
  for (const c of chunks) {
    weightsBin.set(c, offset);
    offset += c.byteLength;
  }
  const model: ModelJson = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    config: net.config,
    weightsManifest: [{ paths: [CHECKPOINT_FILES.weights], weights }],
  };
  return {
    modelJson: `${JSON.stringify(model, null, 2)}\n`,
    weightsBin,
    metaJson: `${JSON.stringify(metaParsed.data, null, 2)}\n`,
  };
}

async function fetchOk(fetchFn: typeof fetch, url: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetchFn(url);
  } catch (error) {
    throw new HokusaiError('NETWORK_UNAVAILABLE', `Fetching ${url} failed: ${(error as Error).message}`, { cause: error });
  }
  if (response.status === 404) throw new NotFoundError(`Checkpoint file not found: ${url} (HTTP 404)`);
  if (!response.ok) {
    throw new HokusaiError('NETWORK_UNAVAILABLE', `Fetching ${url}: expected HTTP 200, got ${response.status} ${response.statusText}`);
  }
  return response;
}

/** Reads a response body, reporting bytes as they arrive, refusing more than `limit` bytes. */
async function readBody(response: Response, url: string, limit: number, onBytes: (n: number) => void): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared !== limit) {
    throw new CheckpointError(`weights.bin at ${url}: expected ${limit} bytes for the shapes and dtypes in model.json, server announces ${declared}`);
  }
  if (response.body === null) {
    const buf = new Uint8Array(await response.arrayBuffer());
    onBytes(buf.byteLength);
    return buf;
  }
  const out = new Uint8Array(limit);
  let received = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (received + value.byteLength > limit) {
      await reader.cancel();
      throw new CheckpointError(`weights.bin at ${url}: expected ${limit} bytes for the shapes and dtypes in model.json, got more`);
    }
    out.set(value, received);
    received += value.byteLength;
    onBytes(received);
  }
  return received === limit ? out : out.subarray(0, received);
}

/**
 * Loads a checkpoint directory served over HTTP(S) (browser or Node ≥ 18): `${baseUrl}/model.json`, `meta.json`
 * and `weights.bin` by plain fetch; weights.bin's size is checked against model.json before and while it
 * downloads. onProgress receives 0…1 (fraction of weights.bin received).
 */
export async function loadCheckpointFromUrl(
  baseUrl: string,
  opts: { fetch?: typeof fetch; onProgress?: (fraction: number) => void } = {},
): Promise<{ net: TransformerNet; meta: CheckpointMeta }> {
  const fetchFn = opts.fetch ?? globalThis.fetch.bind(globalThis);
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const url = (file: string): string => `${base}${file}`;
  opts.onProgress?.(0);
  const [modelJson, metaJson] = await Promise.all(
    [CHECKPOINT_FILES.model, CHECKPOINT_FILES.meta].map(async (f) => (await fetchOk(fetchFn, url(f))).text()),
  );
  const { byteLength } = parseModelJson(modelJson as string);
  parseCheckpointMeta(metaJson as string);
  const weightsUrl = url(CHECKPOINT_FILES.weights);
  const weightsBin = await readBody(await fetchOk(fetchFn, weightsUrl), weightsUrl, byteLength, (n) =>
    opts.onProgress?.(byteLength === 0 ? 1 : n / byteLength),
  );
  const result = parseCheckpoint({ modelJson: modelJson as string, metaJson: metaJson as string, weightsBin });
  opts.onProgress?.(1);
  return result;
}
