/**
 * Resumable HTTP(S) downloads: data goes to `<dest>.part`; an interrupted download (cut connection, Ctrl-C, crash)
 * resumes from the bytes already there with an HTTP Range request (a server that ignores Range restarts it);
 * a broken connection is retried a few times, resuming each time; size and MD5 are verified before the file is
 * renamed into place, so `dest` only ever holds a complete, verified file.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HokusaiError } from '@hokusai/errors';

export interface DownloadOptions {
  /** Expected MD5 (hex) of the whole file; a mismatch deletes the partial file and throws CHECKSUM_MISMATCH. */
  md5?: string;
  /** Expected size in bytes. */
  size?: number;
  onProgress?: (done: number, total?: number) => void;
  signal?: AbortSignal;
  /** Attempts after a broken connection (each resumes where the last stopped). Default 3. */
  retries?: number;
  /** Delay before a retry in ms (doubles each time). Default 500. */
  retryDelayMs?: number;
  /** Injected fetch (tests); default the global fetch. */
  fetch?: typeof fetch;
}

async function fileSize(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function networkError(url: string, cause: unknown): HokusaiError {
  const c = cause as { cause?: { code?: string; message?: string }; message?: string };
  const detail = c?.cause?.code ?? c?.cause?.message ?? c?.message ?? String(cause);
  return new HokusaiError('NETWORK_UNAVAILABLE', `Could not download ${url}: ${detail}`, { cause, details: { url } });
}

function interrupted(url: string, part: string): HokusaiError {
  return new HokusaiError('INTERRUPTED', `Download of ${url} interrupted; the partial file ${part} is kept and the next run resumes it`);
}

/** One HTTP attempt: appends to `part` from its current size. Returns true when the server said the file is complete. */
async function attempt(url: string, part: string, opts: DownloadOptions, doFetch: typeof fetch): Promise<void> {
  let start = (await fileSize(part)) ?? 0;
  if (opts.size !== undefined && start > opts.size) {
    await unlink(part);
    start = 0;
  }
  if (opts.size !== undefined && start === opts.size) return;
  let response: Response;
  try {
    response = await doFetch(url, {
      headers: start > 0 ? { Range: `bytes=${start}-` } : {},
      redirect: 'follow',
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (cause) {
    if (opts.signal?.aborted) throw interrupted(url, part);
    throw networkError(url, cause);
  }
  if (response.status === 416 && start > 0) {
    // Range not satisfiable: the partial file already has every byte (verified by the caller).
    await response.body?.cancel();
    return;
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new HokusaiError(
      response.status === 404 ? 'NOT_FOUND' : 'NETWORK_UNAVAILABLE',
      `Could not download ${url}: expected HTTP 200 or 206, got ${response.status} ${response.statusText}`,
      { details: { url, status: response.status } },
    );
  }
  const resumed = response.status === 206;
  if (!resumed) start = 0; // server ignored Range: restart
  const lengthHeader = Number(response.headers.get('content-length'));
  const total = opts.size ?? (Number.isFinite(lengthHeader) && lengthHeader > 0 ? start + lengthHeader : undefined);
  const handle = await open(part, resumed ? 'a' : 'w');
  let done = start;
  opts.onProgress?.(done, total);
  try {
    if (!response.body) throw new Error('empty response body');
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      await handle.write(chunk);
      done += chunk.length;
      opts.onProgress?.(done, total);
    }
    await handle.sync();
  } catch (cause) {
    if (opts.signal?.aborted) throw interrupted(url, part);
    throw networkError(url, cause);
  } finally {
    await handle.close();
  }
}

/**
 * Downloads `url` to `dest` (atomically, verified). Resumes `<dest>.part`. Throws NETWORK_UNAVAILABLE (offline,
 * refused, cut and out of retries, HTTP error), NOT_FOUND (HTTP 404), CHECKSUM_MISMATCH (size or MD5; the partial
 * file is deleted, nothing is placed) or INTERRUPTED (signal; the partial file is kept).
 */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const part = `${dest}.part`;
  const doFetch = opts.fetch ?? fetch;
  await mkdir(dirname(dest), { recursive: true });
  const retries = opts.retries ?? 3;
  let delay = opts.retryDelayMs ?? 500;
  for (let tries = 0; ; tries++) {
    if (opts.signal?.aborted) throw interrupted(url, part);
    try {
      await attempt(url, part, opts, doFetch);
      break;
    } catch (error) {
      const retryable = error instanceof HokusaiError && error.code === 'NETWORK_UNAVAILABLE' && (await fileSize(part)) !== null;
      if (!retryable || tries >= retries) throw error;
      await new Promise((r) => setTimeout(r, delay));
      delay *= 2;
    }
  }
  const size = (await fileSize(part)) ?? 0;
  if (opts.size !== undefined && size !== opts.size) {
    await unlink(part).catch(() => undefined);
    throw new HokusaiError('CHECKSUM_MISMATCH', `Download of ${url}: expected ${opts.size} bytes, got ${size}; the partial file was deleted`, {
      details: { url, expected: opts.size, got: size },
    });
  }
  if (opts.md5) {
    const got = await md5File(part);
    if (got !== opts.md5.toLowerCase()) {
      await unlink(part).catch(() => undefined);
      throw new HokusaiError('CHECKSUM_MISMATCH', `Download of ${url}: expected MD5 ${opts.md5}, got ${got}; the partial file was deleted`, {
        details: { url, expected: opts.md5, got },
      });
    }
  }
  await rename(part, dest);
}
