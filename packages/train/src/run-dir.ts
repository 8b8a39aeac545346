/**
 * The run directory `<out>/`: checkpoints `checkpoint-<step>/` (the model in the standard checkpoint format
 * plus the trainer's exact state: weights, Adam moments, step, learning-rate scale, divergence and data
 * bookkeeping), rotation keeping the last K, `final/`, and finding the checkpoint to resume from.
 * Every directory is written under a temporary name and renamed into place, so a kill -9 at any moment
 * leaves the previous checkpoint intact and the newest complete one loadable.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile, open, stat } from 'node:fs/promises';
import { join, resolve, basename, dirname } from 'node:path';
import { CheckpointError, NotFoundError } from '@hokusai/errors';

export const STATE_JSON = 'trainer-state.json';
export const STATE_BIN = 'trainer-state.bin';
export const OPTIMIZER_JSON = 'optimizer.json';
export const OPTIMIZER_BIN = 'optimizer.bin';

export function checkpointDir(out: string, step: number): string {
  return join(out, `checkpoint-${step}`);
}

/** Complete checkpoints in `out` (those holding `marker`: the trainer state; engine runs' hold meta.json only), oldest first. */
export async function listCheckpoints(out: string, marker = STATE_JSON): Promise<{ step: number; dir: string }[]> {
  const entries = await readdir(out, { withFileTypes: true }).catch(() => []);
  const found: { step: number; dir: string }[] = [];
  for (const e of entries) {
    const m = /^checkpoint-(\d+)$/.exec(e.name);
    if (!m || !e.isDirectory()) continue;
    const dir = join(out, e.name);
    const ok = await stat(join(dir, marker)).then((s) => s.isFile(), () => false);
    if (ok) found.push({ step: Number(m[1]), dir });
  }
  return found.sort((a, b) => a.step - b.step);
}

/** `latest` → the newest complete checkpoint in `out`; anything else is a checkpoint directory. */
export async function resolveResume(out: string, resume: string): Promise<string> {
  if (resume === 'latest') {
    const all = await listCheckpoints(out);
    const last = all[all.length - 1];
    if (!last) throw new NotFoundError(`--resume latest: expected a checkpoint-<step>/ directory in ${out}, found none`);
    return last.dir;
  }
  const ok = await stat(join(resume, STATE_JSON)).then((s) => s.isFile(), () => false);
  if (!ok) {
    throw new NotFoundError(`--resume ${resume}: expected a training checkpoint directory holding ${STATE_JSON}, found none there`);
  }
  return resume;
}

/** Delete all but the newest `keep` checkpoints. */
export async function pruneCheckpoints(out: string, keep: number, marker = STATE_JSON): Promise<string[]> {
  const all = await listCheckpoints(out, marker);
  const drop = keep > 0 ? all.slice(0, Math.max(0, all.length - keep)) : [];
  for (const c of drop) await rm(c.dir, { recursive: true, force: true });
  return drop.map((c) => c.dir);
}

/**
 * Write a directory atomically: files go into a temporary sibling, are fsynced, and the directory is renamed
 * into place (an existing one is moved aside first and removed after).
 */
export async function writeDirAtomic(dir: string, files: Record<string, Uint8Array | string>): Promise<void> {
  const parent = dirname(resolve(dir));
  await mkdir(parent, { recursive: true });
  const tmp = join(parent, `.tmp-${basename(dir)}-${process.pid}-${Date.now()}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  for (const [name, data] of Object.entries(files)) {
    const fh = await open(join(tmp, name), 'w');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
  const old = join(parent, `.old-${basename(dir)}-${process.pid}-${Date.now()}`);
  const exists = await stat(dir).then(() => true, () => false);
  if (exists) await rename(dir, old);
  await rename(tmp, dir);
  if (exists) await rm(old, { recursive: true, force: true });
}

/** Remove temporary directories left by a run killed mid-save. */
export async function cleanTemporaries(out: string): Promise<void> {
  const entries = await readdir(out).catch(() => [] as string[]);
  for (const name of entries) {
    if (name.startsWith('.tmp-checkpoint-') || name.startsWith('.old-checkpoint-') || name.startsWith('.tmp-final') || name.startsWith('.old-final')) {
      await rm(join(out, name), { recursive: true, force: true });
    }
  }
}

export async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (cause) {
    throw new CheckpointError(`Expected a readable JSON file at ${path}`, { cause });
  }
}

export async function readBin(path: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (cause) {
    throw new CheckpointError(`Expected a readable binary file at ${path}`, { cause });
  }
}

export async function writeText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
