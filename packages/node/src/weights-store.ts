/**
 * Loss-network weights cache: the official Keras VGG16/VGG19 `notop` files (downloaded by `hokusai weights fetch`
 * or imported by hand) are validated, converted once to our fast-loading format (@hokusai/losses weights-format:
 * tfjs-style manifest + binary) and kept under `<cacheDir>/weights/<net>-<sha256 prefix>/`, keyed by the source
 * file's own hash, so a run does not parse HDF5 every time. A file that is not byte-identical to the official one is
 * accepted with a warning.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { HokusaiError, WeightsError } from '@hokusai/errors';
import {
  parseVggWeights,
  readKerasVggH5,
  serializeVggWeights,
  VGG_WEIGHTS_BIN,
  type LossNetName,
  type VggWeights,
} from '@hokusai/losses';
import { writeFileAtomic } from './atomic-file.ts';
import { download } from './download.ts';

export interface OfficialWeights {
  url: string;
  fileName: string;
  size: number;
  md5: string;
}

export const OFFICIAL_WEIGHTS: Record<LossNetName, OfficialWeights> = {
  vgg16: {
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
    size: 58_889_256,
    md5: '6d6bbae143d832006294945121d1f1fc',
  },
  vgg19: {
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
    fileName: 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
    size: 80_134_624,
    md5: '253f8cb515780f3b799900260a226db6',
  },
};

/** What `info.json` of a cache entry says. */
export interface CachedWeights {
  net: LossNetName;
  /** Cache entry directory (model.json, weights.bin, info.json). */
  dir: string;
  sha256: string;
  md5: string;
  official: boolean;
  /** The file (or URL) it came from. */
  source: string;
  sourceBytes: number;
  float16: boolean;
  importedAt: string;
}

const MODEL_JSON = 'model.json';
const INFO_JSON = 'info.json';

export function weightsCacheDir(cacheDir: string): string {
  return join(cacheDir, 'weights');
}

function hashes(bytes: Uint8Array): { sha256: string; md5: string } {
  return {
    sha256: createHash('sha256').update(bytes).digest('hex'),
    md5: createHash('md5').update(bytes).digest('hex'),
  };
}

function entryDir(cacheDir: string, net: LossNetName, sha256: string): string {
  return join(weightsCacheDir(cacheDir), `${net}-${sha256.slice(0, 16)}`);
}

function isOfficial(net: LossNetName, bytes: number, md5: string): boolean {
  return OFFICIAL_WEIGHTS[net].md5 === md5 && OFFICIAL_WEIGHTS[net].size === bytes;
}

function fetchHint(net: LossNetName): string {
  const o = OFFICIAL_WEIGHTS[net];
  return `run \`hokusai weights fetch ${net}\`, or download ${o.url} by hand and run \`hokusai weights import <file.h5>\`, or pass --weights <file.h5>`;
}

async function readEntry(dir: string): Promise<VggWeights> {
  let manifest: string;
  let bin: Uint8Array;
  try {
    manifest = await readFile(join(dir, MODEL_JSON), 'utf8');
    bin = await readFile(join(dir, VGG_WEIGHTS_BIN));
  } catch (cause) {
    throw new WeightsError(`Expected converted weights (${MODEL_JSON} + ${VGG_WEIGHTS_BIN}) in ${dir}, but: ${(cause as Error).message}`, { cause });
  }
  return parseVggWeights(manifest, bin);
}

async function readInfo(dir: string): Promise<CachedWeights | null> {
  try {
    const info = JSON.parse(await readFile(join(dir, INFO_JSON), 'utf8')) as CachedWeights;
    await stat(join(dir, VGG_WEIGHTS_BIN));
    return { ...info, dir };
  } catch {
    return null;
  }
}

/** Converts parsed weights into a cache entry (atomically: written to a temp dir, then renamed). */
async function writeEntry(cacheDir: string, w: VggWeights, info: Omit<CachedWeights, 'dir'>): Promise<CachedWeights> {
  const dir = entryDir(cacheDir, w.net, info.sha256);
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const { manifestJson, weightsBin } = serializeVggWeights(w, { float16: info.float16 });
  await mkdir(tmp, { recursive: true });
  try {
    await writeFileAtomic(join(tmp, VGG_WEIGHTS_BIN), weightsBin);
    await writeFileAtomic(join(tmp, MODEL_JSON), manifestJson);
    await writeFileAtomic(join(tmp, INFO_JSON), JSON.stringify(info, null, 2));
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
  } catch (cause) {
    await rm(tmp, { recursive: true, force: true });
    throw new HokusaiError('IO', `Could not write the weights cache entry ${dir}: ${(cause as Error).message}`, { cause });
  }
  return { ...info, dir };
}

export interface ImportOptions {
  cacheDir: string;
  /** Expected network (a file of the other one is an error); detected from the file when omitted. */
  lossNet?: LossNetName;
  /** Store the converted weights as float16 (half the size; ~1e-3 relative error). Default false. */
  float16?: boolean;
  log?: (line: string) => void;
  /** Where the bytes came from (default: the file path). */
  source?: string;
}

/** Validates a Keras notop `.h5` file and adds it to the cache (converted). Warns when it is not the official file. */
export async function importLossWeights(file: string, opts: ImportOptions): Promise<CachedWeights & { weights: VggWeights }> {
  const bytes = await readSource(file);
  return importBytes(bytes, file, opts);
}

async function readSource(file: string): Promise<Uint8Array> {
  try {
    return await readFile(file);
  } catch (cause) {
    throw new HokusaiError('NOT_FOUND', `Expected a Keras notop .h5 weights file at ${file}, but it cannot be read: ${(cause as Error).message}`, { cause });
  }
}

async function importBytes(bytes: Uint8Array, file: string, opts: ImportOptions): Promise<CachedWeights & { weights: VggWeights }> {
  const { sha256, md5 } = hashes(bytes);
  const weights = await readKerasVggH5(bytes, opts.lossNet);
  const official = isOfficial(weights.net, bytes.length, md5);
  if (!official) {
    opts.log?.(
      `warning: ${file} has the ${weights.net} notop layout but is not the official Keras file ` +
        `(MD5 ${md5}, ${bytes.length} bytes; official ${OFFICIAL_WEIGHTS[weights.net].md5}, ${OFFICIAL_WEIGHTS[weights.net].size} bytes); ` +
        `accepted and cached under its own hash ${sha256.slice(0, 16)}`,
    );
  }
  weights.sha256 = sha256;
  weights.official = official;
  const entry = await writeEntry(opts.cacheDir, weights, {
    net: weights.net,
    sha256,
    md5,
    official,
    source: opts.source ?? resolve(file),
    sourceBytes: bytes.length,
    float16: opts.float16 ?? false,
    importedAt: new Date().toISOString(),
  });
  return { ...entry, weights };
}

/** Every converted entry in the cache, official first, then newest first. */
export async function listLossWeights(cacheDir: string): Promise<CachedWeights[]> {
  let names: string[];
  try {
    names = await readdir(weightsCacheDir(cacheDir));
  } catch {
    return [];
  }
  const entries: CachedWeights[] = [];
  for (const name of names) {
    if (!/^vgg(16|19)-[0-9a-f]{16}$/.test(name)) continue;
    const info = await readInfo(join(weightsCacheDir(cacheDir), name));
    if (info) entries.push(info);
  }
  return entries.sort((a, b) => Number(b.official) - Number(a.official) || b.importedAt.localeCompare(a.importedAt));
}

export interface LoadLossWeightsOptions {
  lossNet: LossNetName;
  /** A Keras notop `.h5` file, or a converted cache entry directory. Default: the cache. */
  weights?: string;
  cacheDir: string;
  log?: (line: string) => void;
}

/**
 * The loss network's weights: from `weights` (`.h5`, converted and cached on first use, or a converted entry
 * directory), else from the cache (the official file preferred; else the newest imported one, with a warning; an
 * official `.h5` fetched but not yet converted is converted). Throws NOT_FOUND naming `hokusai weights fetch` and
 * `import` when there is none.
 */
export async function loadLossWeights(opts: LoadLossWeightsOptions): Promise<VggWeights> {
  const { lossNet, cacheDir } = opts;
  if (opts.weights) {
    const path = opts.weights;
    let isDir = false;
    try {
      isDir = (await stat(path)).isDirectory();
    } catch (cause) {
      throw new HokusaiError('NOT_FOUND', `Expected loss network weights at ${path} (--weights), but it does not exist; ${fetchHint(lossNet)}`, { cause });
    }
    if (isDir) return checkNet(await readEntry(path), lossNet, path);
    const bytes = await readSource(path);
    const sha256 = createHash('sha256').update(bytes).digest('hex'); // the cache key; MD5 only when importing
    const dir = entryDir(cacheDir, lossNet, sha256);
    const info = await readInfo(dir);
    if (info) {
      const w = await readEntry(dir);
      return { ...w, sha256: info.sha256, official: info.official };
    }
    try {
      return (await importBytes(bytes, path, { cacheDir, lossNet, ...(opts.log ? { log: opts.log } : {}) })).weights;
    } catch (error) {
      if (error instanceof HokusaiError && error.code === 'IO') {
        opts.log?.(`warning: ${error.message}; using the weights without caching them`);
        const w = await readKerasVggH5(bytes, lossNet);
        return { ...w, sha256, official: isOfficial(lossNet, bytes.length, hashes(bytes).md5) };
      }
      throw error;
    }
  }
  const entries = (await listLossWeights(cacheDir)).filter((e) => e.net === lossNet);
  const official = entries.find((e) => e.official);
  if (official) return { ...(await readEntry(official.dir)), sha256: official.sha256, official: true };
  const h5 = join(weightsCacheDir(cacheDir), OFFICIAL_WEIGHTS[lossNet].fileName);
  if (await stat(h5).then(() => true, () => false)) {
    opts.log?.(`converting ${h5} into the weights cache (once)`);
    return (await importLossWeights(h5, { cacheDir, lossNet, ...(opts.log ? { log: opts.log } : {}) })).weights;
  }
  const newest = entries[0];
  if (newest) {
    opts.log?.(`warning: using ${lossNet} weights imported from ${newest.source}, which is not the official Keras file`);
    return { ...(await readEntry(newest.dir)), sha256: newest.sha256, official: false };
  }
  throw new HokusaiError('NOT_FOUND', `No ${lossNet} loss network weights in the cache ${weightsCacheDir(cacheDir)}: ${fetchHint(lossNet)}`, {
    details: { lossNet, cacheDir, url: OFFICIAL_WEIGHTS[lossNet].url },
  });
}

function checkNet(w: VggWeights, lossNet: LossNetName, path: string): VggWeights {
  if (w.net !== lossNet) throw new WeightsError(`Expected ${lossNet} weights (--loss-net), but ${path} holds ${w.net} weights`);
  return w;
}

export interface FetchOptions {
  cacheDir: string;
  onProgress?: (done: number, total?: number) => void;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Override the download URL (mirrors, tests). The file must still be the official one (MD5 checked). */
  url?: string;
  fetch?: typeof fetch;
}

/**
 * Downloads the official Keras file into `<cacheDir>/weights/` (resumable, MD5-verified, atomic) and converts it.
 * Offline: NETWORK_UNAVAILABLE with the URL and the `hokusai weights import` alternative.
 */
export async function fetchLossWeights(net: LossNetName, opts: FetchOptions): Promise<CachedWeights> {
  const o = OFFICIAL_WEIGHTS[net];
  const url = opts.url ?? o.url;
  const dest = join(weightsCacheDir(opts.cacheDir), o.fileName);
  const have = await stat(dest).then((s) => s.size === o.size, () => false);
  if (!have) {
    try {
      await download(url, dest, {
        md5: o.md5,
        size: o.size,
        ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
      });
    } catch (error) {
      if (error instanceof HokusaiError && (error.code === 'NETWORK_UNAVAILABLE' || error.code === 'NOT_FOUND')) {
        throw new HokusaiError(
          'NETWORK_UNAVAILABLE',
          `${error.message}\nWithout network access: download ${url} on another machine (${o.size} bytes, MD5 ${o.md5}), ` +
            `copy it here and run \`hokusai weights import <file.h5>\``,
          { cause: error, details: { url } },
        );
      }
      throw error;
    }
  } else {
    opts.log?.(`${dest} already downloaded`);
  }
  const { weights: _w, ...entry } = await importLossWeights(dest, { cacheDir: opts.cacheDir, lossNet: net, source: url, ...(opts.log ? { log: opts.log } : {}) });
  return entry;
}
