/**
 * Checkpoint directories on disk: `model.json` + `weights.bin` + `meta.json` (format: @hokusai/model checkpoint.ts).
 * Saving is atomic at the directory level: everything is written into a hidden sibling folder, flushed, and
 * swapped in by rename, so readers see either the old checkpoint or the complete new one, never a mix.
 */
import { mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import {
  CHECKPOINT_FILES,
  CheckpointError,
  HokusaiError,
  NotFoundError,
  parseCheckpoint,
  unsafeManifestPathReason,
  type CheckpointFiles,
  type CheckpointMeta,
  type TransformerNet,
} from '@hokusai/model';
import { writeFileAtomic } from './atomic-file.ts';

/** Writes a checkpoint (plus optional extra files, e.g. a preview image) as one atomic directory replacement. */
export async function saveCheckpointDir(dir: string, files: CheckpointFiles, extra: Record<string, Uint8Array | string> = {}): Promise<void> {
  const target = resolve(dir);
  for (const name of Object.keys(extra)) {
    const reason = unsafeManifestPathReason(name);
    if (reason !== undefined || name.includes('/') || Object.values(CHECKPOINT_FILES).includes(name as never)) {
      throw new HokusaiError('INVALID_ARGUMENT', `checkpoint extra file ${JSON.stringify(name)}: expected a plain file name other than the checkpoint's own files${reason ? ` (${reason})` : ''}`);
    }
  }
  const parent = dirname(target);
  const tag = `${process.pid}.${randomBytes(4).toString('hex')}`;
  const tmp = join(parent, `.${basename(target)}.tmp-${tag}`);
  const old = join(parent, `.${basename(target)}.old-${tag}`);
  try {
    await mkdir(parent, { recursive: true });
    await mkdir(tmp);
    await writeFileAtomic(join(tmp, CHECKPOINT_FILES.weights), files.weightsBin);
    await writeFileAtomic(join(tmp, CHECKPOINT_FILES.model), files.modelJson);
    for (const [name, data] of Object.entries(extra)) await writeFileAtomic(join(tmp, name), data);
    await writeFileAtomic(join(tmp, CHECKPOINT_FILES.meta), files.metaJson);
    const existing = await stat(target).catch(() => null);
    if (existing !== null) {
      if (!existing.isDirectory()) throw new Error(`${target} exists and is not a folder`);
      await rename(target, old);
    }
    await rename(tmp, target);
  } catch (cause) {
    await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    // put the previous checkpoint back if the swap did not complete
    const moved = await stat(old).catch(() => null);
    if (moved !== null && (await stat(target).catch(() => null)) === null) await rename(old, target).catch(() => undefined);
    if (cause instanceof HokusaiError) throw cause;
    throw new HokusaiError('IO', `cannot save checkpoint folder "${dir}": ${(cause as Error).message}`, { cause });
  }
  await rm(old, { recursive: true, force: true }).catch(() => undefined);
}

async function readPart(dir: string, name: string): Promise<Buffer> {
  try {
    return await readFile(join(dir, name));
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new CheckpointError(
      `checkpoint "${dir}": expected ${name} (with ${Object.values(CHECKPOINT_FILES).join(', ')}), but ${code === 'ENOENT' ? 'it is missing' : `it cannot be read (${(cause as Error).message})`}`,
      { cause },
    );
  }
}

/** Reads and fully validates a checkpoint folder (see parseCheckpoint). */
export async function loadCheckpointDir(dir: string): Promise<{ net: TransformerNet; meta: CheckpointMeta }> {
  const s = await stat(dir).catch(() => null);
  if (s === null) throw new NotFoundError(`checkpoint "${dir}": no such folder`);
  if (!s.isDirectory()) {
    throw new CheckpointError(`checkpoint "${dir}": expected a folder with ${Object.values(CHECKPOINT_FILES).join(', ')}, got a file`);
  }
  const [model, weights, meta] = await Promise.all([
    readPart(dir, CHECKPOINT_FILES.model),
    readPart(dir, CHECKPOINT_FILES.weights),
    readPart(dir, CHECKPOINT_FILES.meta),
  ]);
  try {
    return parseCheckpoint({
      modelJson: model.toString('utf8'),
      weightsBin: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength),
      metaJson: meta.toString('utf8'),
    });
  } catch (error) {
    if (error instanceof HokusaiError && !error.message.includes(dir)) {
      throw new CheckpointError(`checkpoint "${dir}": ${error.message}`, { cause: error });
    }
    throw error;
  }
}
