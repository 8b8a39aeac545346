/**
 * Atomic file writes: data goes to a temporary file next to the target, is flushed to disk, then renamed over
 * the target, so a reader (or a crash, or Ctrl-C) never sees a half-written file. Parent directories are created.
 */
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { HokusaiError } from '@hokusai/errors';

/** The temporary name used while writing `path` (hidden, unique per process and call). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true });
  } catch (cause) {
    throw new HokusaiError('IO', `cannot create directory "${dir}" for "${path}": ${(cause as Error).message}`, { cause });
  }
  const tmp = tempPathFor(path);
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (cause) {
    await unlink(tmp).catch(() => undefined);
    throw new HokusaiError('IO', `cannot write "${path}": ${(cause as Error).message}`, { cause });
  }
}
