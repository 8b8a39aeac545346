/**
 * The registry of styles the server offers: every subfolder of the checkpoints directory whose name is a valid
 * style id ([a-z0-9-]+) and which holds a valid checkpoint. Polls the directory: new or replaced checkpoints are
 * loaded into the workers first and swapped in only when that succeeded; a broken checkpoint is logged and
 * skipped (retried when its files change); removed folders are unloaded. Requests only ever look styles up here
 * by id: no request-supplied path reaches the filesystem. Each style also says whether it was trained against video
 * flicker (Gupta et al. 2017's stability loss, docs/video.md) and, for a folder named `<id>-stable`, which style it
 * is the stable variant of, so clients can use it for video and the other for stills.
 */
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { InferencePool, LoadResult } from './worker-pool.ts';

export const STYLE_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;

/** Files of a checkpoint folder that `/models/<id>/<file>` may serve (browser-ready model, meta, thumbnail). */
export const SERVABLE_FILE =
  /^(?:model\.json|weights\.bin|meta\.json|(?:model|weights)[._-](?:f16|fp16|float16)\.(?:json|bin)|thumbnail\.(?:jpe?g|png|webp)|style\.(?:jpe?g|png|webp))$/;

/** Folder suffix of a style's stable-for-video variant: `great-wave-stable` is the variant of `great-wave`. */
export const STABLE_SUFFIX = '-stable';

/** What a checkpoint's meta.json says about video stability. */
export interface StyleStability {
  /** Trained with a stability loss: meta.json `training.stabilityWeight` > 0. */
  trained: boolean;
  /** `training.stabilityWeight`, `stabilityNoise` (σ, grey levels) and `stabilityShift` (px); null where not recorded. */
  weight: number | null;
  noise: number | null;
  shift: number | null;
  /** Style id this checkpoint is the stable variant of: its folder is `<that id>-stable` and it is `trained`. */
  variantOf: string | null;
}

const finiteOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** The stability record of checkpoint folder `id` with meta.json `meta` (anything unexpected reads as not trained). */
export function stabilityOf(id: string, meta: Record<string, unknown>): StyleStability {
  const training = meta.training && typeof meta.training === 'object' ? (meta.training as Record<string, unknown>) : {};
  const weight = finiteOrNull(training.stabilityWeight);
  const trained = weight !== null && weight > 0;
  const base = id.endsWith(STABLE_SUFFIX) ? id.slice(0, -STABLE_SUFFIX.length) : '';
  return {
    trained,
    weight,
    noise: finiteOrNull(training.stabilityNoise),
    shift: finiteOrNull(training.stabilityShift),
    variantOf: trained && STYLE_ID.test(base) ? base : null,
  };
}

const LIMITS = { 'model.json': 1 << 20, 'meta.json': 1 << 20, 'weights.bin': 512 << 20 } as const;

export interface Style {
  id: string;
  name: string;
  version: number;
  engine: string;
  meta: Record<string, unknown>;
  config: Record<string, unknown>;
  dir: string;
  /** Servable files present in the folder when it was loaded. */
  files: string[];
  thumbnail: string | undefined;
  loadedAt: string;
  warmupMs: number;
  stability: StyleStability;
  /** Float16 variant of the checkpoint, generated at load (served at /models/<id>/f16/…), if every weight fits. */
  float16: { 'model.json': Uint8Array; 'weights.bin': Uint8Array; 'meta.json': Uint8Array } | undefined;
}

export interface RegistryOptions {
  dir: string;
  pollMs: number;
  pool: Pick<InferencePool, 'load' | 'unload'>;
  log: (line: string) => void;
  onChange?: (styles: Style[]) => void;
}

async function signature(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const f of ['model.json', 'weights.bin', 'meta.json']) {
    try {
      const s = await stat(join(dir, f));
      parts.push(`${s.ino}:${s.size}:${s.mtimeMs}`);
    } catch {
      parts.push('-');
    }
  }
  return parts.join('|');
}

async function readLimited(path: string, limit: number): Promise<Buffer> {
  const s = await lstat(path);
  if (!s.isFile()) throw new Error(`${path}: expected a regular file`);
  if (s.size > limit) throw new Error(`${path}: expected at most ${limit} bytes, got ${s.size}`);
  return readFile(path);
}

export class StyleRegistry {
  private readonly styles = new Map<string, Style>();
  /** id -> signature of what is loaded or was found broken (not retried until it changes). */
  private readonly seen = new Map<string, string>();
  private readonly broken = new Map<string, string>();
  private version = 0;
  private timer: NodeJS.Timeout | undefined;
  private scanning: Promise<void> | undefined;
  private stopped = false;
  /** True once the first scan finished (every checkpoint found then was loaded or found broken). */
  initialScanDone = false;

  private readonly opts: RegistryOptions;

  constructor(opts: RegistryOptions) {
    // Absolute, so files can be sent (res.sendFile) whatever the working directory.
    this.opts = { ...opts, dir: resolve(opts.dir) };
  }

  get(id: string): Style | undefined {
    return STYLE_ID.test(id) ? this.styles.get(id) : undefined;
  }

  list(): Style[] {
    return [...this.styles.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  brokenStyles(): Record<string, string> {
    return Object.fromEntries(this.broken);
  }

  /** First scan, then polling every pollMs. */
  async start(): Promise<void> {
    await this.scan();
    this.initialScanDone = true;
    if (this.opts.pollMs > 0 && !this.stopped) {
      this.timer = setInterval(() => void this.scan(), this.opts.pollMs);
      this.timer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** One pass over the directory (concurrent calls share the pass in progress). */
  scan(): Promise<void> {
    this.scanning ??= this.scanOnce().finally(() => {
      this.scanning = undefined;
    });
    return this.scanning;
  }

  private async scanOnce(): Promise<void> {
    let entries: { name: string; isDirectory(): boolean }[];
    try {
      entries = await readdir(this.opts.dir, { withFileTypes: true });
    } catch (error) {
      if (!this.seen.has('\0dir')) this.opts.log(`checkpoints directory ${this.opts.dir}: ${(error as Error).message}`);
      this.seen.set('\0dir', 'missing');
      entries = [];
    }
    const present = new Set<string>();
    for (const e of entries) {
      if (this.stopped) return;
      if (!e.isDirectory() || e.name.startsWith('.')) continue; // hidden: e.g. saveCheckpointDir's temporary folders
      if (!STYLE_ID.test(e.name)) {
        if (!this.seen.has(`\0bad:${e.name}`)) this.opts.log(`skipping ${JSON.stringify(e.name)}: a style folder name must match [a-z0-9-]+`);
        this.seen.set(`\0bad:${e.name}`, '');
        continue;
      }
      present.add(e.name);
      const dir = join(this.opts.dir, e.name);
      const sig = await signature(dir);
      if (this.seen.get(e.name) === sig) continue;
      await this.loadStyle(e.name, dir, sig);
    }
    for (const id of [...this.styles.keys(), ...this.broken.keys()]) {
      if (present.has(id)) continue;
      if (this.styles.delete(id)) {
        this.opts.pool.unload(id);
        this.opts.log(`style ${id}: folder removed, unloaded`);
        this.opts.onChange?.(this.list());
      }
      this.broken.delete(id);
      this.seen.delete(id);
    }
  }

  private async loadStyle(id: string, dir: string, sig: string): Promise<void> {
    const started = performance.now();
    try {
      const [modelJson, weightsBin, metaJson] = await Promise.all([
        readLimited(join(dir, 'model.json'), LIMITS['model.json']),
        readLimited(join(dir, 'weights.bin'), LIMITS['weights.bin']),
        readLimited(join(dir, 'meta.json'), LIMITS['meta.json']),
      ]);
      // Files may change while being read: load only what matches the signature taken before reading.
      if ((await signature(dir)) !== sig) return;
      const version = ++this.version;
      const result: LoadResult = await this.opts.pool.load(id, version, {
        modelJson: modelJson.toString('utf8'),
        weightsBin: new Uint8Array(weightsBin.buffer, weightsBin.byteOffset, weightsBin.byteLength),
        metaJson: metaJson.toString('utf8'),
      });
      const names = (await readdir(dir, { withFileTypes: true })).filter((f) => f.isFile() && SERVABLE_FILE.test(f.name)).map((f) => f.name);
      const replaced = this.styles.has(id);
      const style: Style = {
        id,
        name: typeof result.meta.name === 'string' ? result.meta.name : id,
        version,
        engine: result.engine,
        meta: result.meta,
        config: result.config,
        dir,
        files: names.sort(),
        thumbnail: names.find((n) => n.startsWith('thumbnail.')) ?? names.find((n) => n.startsWith('style.')),
        loadedAt: new Date().toISOString(),
        warmupMs: result.warmupMs,
        stability: stabilityOf(id, result.meta),
        float16: result.float16
          ? {
              'model.json': Buffer.from(result.float16.modelJson, 'utf8'),
              'weights.bin': result.float16.weightsBin,
              'meta.json': Buffer.from(result.float16.metaJson, 'utf8'),
            }
          : undefined,
      };
      this.styles.set(id, style);
      this.broken.delete(id);
      this.seen.set(id, sig);
      this.opts.log(
        `style ${id}: ${replaced ? 'replaced' : 'loaded'} (${result.engine}, ${JSON.stringify(result.config)}, ` +
          `load ${((performance.now() - started) / 1000).toFixed(2)} s, warm-up ${result.warmupMs.toFixed(0)} ms)`,
      );
      this.opts.onChange?.(this.list());
    } catch (error) {
      this.seen.set(id, sig);
      const message = (error as Error).message;
      this.broken.set(id, message);
      this.opts.log(`style ${id}: broken checkpoint skipped${this.styles.has(id) ? ' (the previous version stays)' : ''}: ${message}`);
    }
  }
}
