/**
 * Checkpoint directories on disk (`model.json` + `weights.bin` + `meta.json`, format: @hokusai/model checkpoint.ts),
 * saved atomically and crash-safely:
 *
 * 1. every file is written into a hidden sibling `.NAME.tmp-PID.RAND/` and fsynced, then that folder is fsynced;
 * 2. an existing checkpoint is renamed aside to `.NAME.old-PID.RAND/` (kept intact), the new folder renamed in,
 *    the parent folder fsynced, and only then the old one removed.
 *
 * A kill at any moment leaves either the old or the new checkpoint loadable: the only window without NAME/ is
 * between the two renames, and then the old checkpoint sits complete in `.NAME.old-…`. `recoverCheckpointDir`
 * (called by every load) puts such a leftover back and removes leftovers of dead writers (their PID is in the name;
 * folders of live processes are never touched). Hidden names keep leftovers out of checkpoint listings.
 * A missing checkpoint is a NOT_FOUND that lists the checkpoints there are (the bundled styles of the repository's
 * `checkpoints/` and the siblings of the folder asked for).
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { CHECKPOINT_FILES, parseCheckpoint, parseCheckpointMeta, unsafeManifestPathReason, type CheckpointFiles, type CheckpointMeta, type TransformerNet } from '@hokusai/model';
import { CheckpointError, HokusaiError, NotFoundError } from '@hokusai/errors';

const CHECKPOINT_FILE_NAMES: readonly string[] = Object.values(CHECKPOINT_FILES);

function leftoverPattern(base: string): RegExp {
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^\\.${escaped}\\.(tmp|old)-(\\d+)\\.[0-9a-z]+$`);
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeAndSync(path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function syncDir(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } catch {
    // Some file systems refuse fsync on directories; the renames are still atomic.
  } finally {
    await handle.close();
  }
}

/** Writes a checkpoint (plus optional extra files, e.g. a thumbnail) as one atomic, crash-safe folder replacement. */
export async function saveCheckpointDir(
  dir: string,
  files: CheckpointFiles,
  extra: Record<string, Uint8Array | string> = {},
): Promise<void> {
  const target = resolve(dir);
  for (const name of Object.keys(extra)) {
    const reason = unsafeManifestPathReason(name);
    if (reason !== undefined || name.includes('/') || name.startsWith('.') || CHECKPOINT_FILE_NAMES.includes(name)) {
      throw new HokusaiError(
        'INVALID_ARGUMENT',
        `checkpoint extra file ${JSON.stringify(name)}: expected a plain, non-hidden file name other than ` +
          `${CHECKPOINT_FILE_NAMES.join(', ')}${reason !== undefined ? ` (it ${reason})` : ''}`,
      );
    }
  }
  const parent = dirname(target);
  const base = basename(target);
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${base}.tmp-${tag}`);
  const old = join(parent, `.${base}.old-${tag}`);
  let movedAside = false;
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(tmp);
    await writeAndSync(join(tmp, CHECKPOINT_FILES.weights), files.weightsBin);
    await writeAndSync(join(tmp, CHECKPOINT_FILES.model), files.modelJson);
    for (const [name, data] of Object.entries(extra)) await writeAndSync(join(tmp, name), data);
    await writeAndSync(join(tmp, CHECKPOINT_FILES.meta), files.metaJson);
    await syncDir(tmp);
    const existing = await stat(target).catch(() => null);
    if (existing !== null) {
      if (!existing.isDirectory()) throw new Error(`${target} exists and is not a folder`);
      await rename(target, old);
      movedAside = true;
    }
    await rename(tmp, target);
    await syncDir(parent);
  } catch (cause) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (movedAside && (await stat(target).catch(() => null)) === null) await rename(old, target).catch(() => undefined);
    if (cause instanceof HokusaiError) throw cause;
    throw new HokusaiError('IO', `cannot save checkpoint folder "${dir}": ${(cause as Error).message}`, { cause });
  }
  if (movedAside) await rm(old, { recursive: true, force: true }).catch(() => undefined);
}

/**
 * Repairs what an interrupted save left next to `dir`: when `dir` is missing, the newest `.NAME.old-…` of a dead
 * writer is renamed back; leftover `.old-…`/`.tmp-…` folders of dead writers are removed once `dir` exists.
 * Returns the folder to read (normally `dir`; the leftover itself if it could not be renamed, e.g. read-only).
 * Never throws for I/O problems during cleanup.
 */
export async function recoverCheckpointDir(dir: string): Promise<string> {
  const target = resolve(dir);
  const parent = dirname(target);
  const pattern = leftoverPattern(basename(target));
  const names = await readdir(parent).catch(() => [] as string[]);
  const leftovers: Array<{ path: string; kind: 'tmp' | 'old'; mtime: number }> = [];
  for (const name of names) {
    const m = pattern.exec(name);
    if (m === null || processAlive(Number(m[2]))) continue;
    const s = await stat(join(parent, name)).catch(() => null);
    if (s?.isDirectory()) leftovers.push({ path: join(parent, name), kind: m[1] as 'tmp' | 'old', mtime: s.mtimeMs });
  }
  if (leftovers.length === 0) return target;
  if ((await stat(target).catch(() => null)) === null) {
    const olds = leftovers.filter((l) => l.kind === 'old').sort((a, b) => b.mtime - a.mtime);
    const newest = olds[0];
    if (newest !== undefined) {
      try {
        await rename(newest.path, target);
        newest.path = '';
      } catch {
        return newest.path; // cannot repair (read-only?): read the leftover in place
      }
    }
  }
  if ((await stat(target).catch(() => null)) !== null) {
    for (const l of leftovers) if (l.path !== '') await rm(l.path, { recursive: true, force: true }).catch(() => undefined);
  }
  return target;
}

async function readPart(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      `checkpoint "${dir}": expected ${name} (with ${CHECKPOINT_FILE_NAMES.join(', ')}), but ${
        code === 'ENOENT' ? 'it is missing' : `it cannot be read (${(cause as Error).message})`
      }`,
      { cause, details: { file: join(dir, name) } },
    );
  }
}

/**
 * The bundled styles' folder: `checkpoints/` of the repository (or installed package) this module belongs to,
 * found by walking up from this file to the folder whose package.json names the workspace root.
 */
export function bundledCheckpointsDir(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'checkpoints')) && existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'packages'))) {
      return join(dir, 'checkpoints');
    }
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/** Names of the non-hidden subfolders of `folder` that hold a model.json, sorted; [] when it cannot be read. */
export async function listCheckpointDirs(folder: string): Promise<string[]> {
  const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
  const names = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  const hasModel = async (n: string): Promise<boolean> =>
    (await stat(join(folder, n, CHECKPOINT_FILES.model)).catch(() => null))?.isFile() === true;
  const found = await Promise.all(names.map(async (n) => ((await hasModel(n)) ? n : null)));
  return found.filter((n): n is string => n !== null).sort();
}

/** `folder` as the user would type it: relative to the working directory when below it, else absolute. */
function shown(folder: string): string {
  const rel = relative(process.cwd(), folder);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? folder : rel;
}

/**
 * The NOT_FOUND for a checkpoint folder that does not exist, listing what does: the bundled styles and, when the
 * parent folder of `dir` holds checkpoints too (e.g. `out/` of several runs), those.
 */
export async function checkpointNotFoundError(dir: string, label = 'checkpoint'): Promise<NotFoundError> {
  const bundledDir = bundledCheckpointsDir();
  const bundled = bundledDir === undefined ? [] : await listCheckpointDirs(bundledDir);
  const parent = dirname(resolve(dir));
  const real = (p: string) => realpath(p).catch(() => resolve(p));
  const isBundled = bundledDir !== undefined && (await real(parent)) === (await real(bundledDir));
  const siblings = isBundled ? [] : await listCheckpointDirs(parent);
  const known: string[] = [];
  if (bundled.length > 0 && bundledDir !== undefined) known.push(`bundled styles in ${shown(bundledDir)}/: ${bundled.join(', ')}`);
  if (siblings.length > 0) known.push(`checkpoints in ${shown(parent)}/: ${siblings.join(', ')}`);
  return new NotFoundError(
    `no ${label} at '${dir}' (expected a folder with ${CHECKPOINT_FILE_NAMES.join(', ')})` +
      (known.length > 0 ? `; ${known.join('; ')}` : '; no checkpoints found next to it either'),
    { details: { path: dir, bundled, siblings } },
  );
}

async function checkFolder(dir: string): Promise<string> {
  const recovered = await recoverCheckpointDir(dir);
  const from = recovered === resolve(dir) ? dir : recovered;
  const s = await stat(from).catch(() => null);
  if (s === null) throw await checkpointNotFoundError(dir);
  if (!s.isDirectory()) {
    throw new CheckpointError(`checkpoint "${dir}": expected a folder with ${CHECKPOINT_FILE_NAMES.join(', ')}, got a file`);
  }
  return from;
}

function withDir(dir: string, error: unknown): unknown {
  if (error instanceof HokusaiError && !error.message.includes(dir)) {
    return new CheckpointError(`checkpoint "${dir}": ${error.message}`, { cause: error, details: error.details });
  }
  return error;
}

/** Reads and fully validates a checkpoint folder (see parseCheckpoint); repairs an interrupted save first. */
export async function loadCheckpointDir(dir: string): Promise<{ net: TransformerNet; meta: CheckpointMeta }> {
  const from = await checkFolder(dir);
  const [model, weights, meta] = await Promise.all([
    readPart(from, CHECKPOINT_FILES.model),
    readPart(from, CHECKPOINT_FILES.weights),
    readPart(from, CHECKPOINT_FILES.meta),
  ]);
  try {
    return parseCheckpoint({
      modelJson: model.toString('utf8'),
      weightsBin: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
      metaJson: meta.toString('utf8'),
    });
  } catch (error) {
    throw withDir(dir, error);
  }
}

/** Reads and validates only a checkpoint's meta.json (cheap: for listings). */
export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const from = await checkFolder(dir);
  const text = (await readPart(from, CHECKPOINT_FILES.meta)).toString('utf8');
  try {
    return parseCheckpointMeta(text);
  } catch (error) {
    throw withDir(dir, error);
  }
}
