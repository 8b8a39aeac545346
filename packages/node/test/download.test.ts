// Resumable downloader against a local http server on 127.0.0.1 (never the real internet): resume after a cut
// connection (HTTP Range on the .part file), server that ignores Range, bad MD5 (error, nothing placed),
// offline / refused (clear NETWORK_UNAVAILABLE naming the URL), 404, abort (partial file kept, then resumed).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { download } from '../src/download.ts';

const BODY = randomBytes(3 << 20);
const MD5 = createHash('md5').update(BODY).digest('hex');
let server: Server;
let base = '';
let dir = '';
/** Per-path behaviour and a log of the Range headers received. */
const ranges: (string | undefined)[] = [];
let cutsLeft = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hokusai-download-'));
  server = createServer((req, res) => {
    const range = req.headers.range;
    ranges.push(range);
    if (req.url === '/missing') {
      res.writeHead(404).end('nope');
      return;
    }
    const ignoreRange = req.url === '/norange';
    const m = !ignoreRange && range ? /^bytes=(\d+)-$/.exec(range) : null;
    const start = m ? Number(m[1]) : 0;
    const body = BODY.subarray(start);
    res.writeHead(m ? 206 : 200, {
      'content-length': String(body.length),
      ...(m ? { 'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}` } : {}),
    });
    if (cutsLeft > 0 && req.url !== '/slow') {
      cutsLeft--;
      // Send a third of what is left, then cut the connection.
      res.write(body.subarray(0, Math.floor(body.length / 3)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    if (req.url === '/slow') {
      res.write(body.subarray(0, 1000));
      return; // never finishes; the client aborts
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('download', () => {
  test('resumes after cut connections with Range requests, verifies MD5 and size, places atomically', async () => {
    ranges.length = 0;
    cutsLeft = 2;
    const dest = join(dir, 'a.bin');
    const seen: number[] = [];
    await download(`${base}/file`, dest, { md5: MD5, size: BODY.length, retryDelayMs: 10, onProgress: (d) => seen.push(d) });
    expect(readFileSync(dest).equals(BODY)).toBe(true);
    expect(existsSync(`${dest}.part`)).toBe(false);
    expect(ranges[0]).toBeUndefined();
    expect(ranges.slice(1).every((r) => /^bytes=[1-9]\d*-$/.test(r ?? ''))).toBe(true);
    expect(ranges).toHaveLength(3);
    expect(seen.at(-1)).toBe(BODY.length);
  });

  test('a cut download fails after its retries, keeps the .part, and the next call resumes it', async () => {
    ranges.length = 0;
    cutsLeft = 1;
    const dest = join(dir, 'b.bin');
    await expect(download(`${base}/file`, dest, { md5: MD5, retries: 0 })).rejects.toMatchObject({ code: 'NETWORK_UNAVAILABLE' });
    const partSize = statSync(`${dest}.part`).size;
    expect(partSize).toBeGreaterThan(0);
    expect(existsSync(dest)).toBe(false);
    await download(`${base}/file`, dest, { md5: MD5 });
    expect(ranges.at(-1)).toBe(`bytes=${partSize}-`);
    expect(readFileSync(dest).equals(BODY)).toBe(true);
  });

  test('a server that ignores Range restarts the file from 0', async () => {
    cutsLeft = 1;
    const dest = join(dir, 'c.bin');
    await download(`${base}/norange`, dest, { md5: MD5, retryDelayMs: 10 });
    expect(readFileSync(dest).equals(BODY)).toBe(true);
  });

  test('bad MD5: CHECKSUM_MISMATCH and no file placed (partial deleted)', async () => {
    cutsLeft = 0;
    const dest = join(dir, 'd.bin');
    await expect(download(`${base}/file`, dest, { md5: '0'.repeat(32) })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringMatching(new RegExp(`expected MD5 0{32}, got ${MD5}`)),
    });
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(`${dest}.part`)).toBe(false);
    await expect(download(`${base}/file`, dest, { size: 5 })).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH' });
    expect(existsSync(dest)).toBe(false);
  });

  test('offline / refused: NETWORK_UNAVAILABLE naming the URL; 404: NOT_FOUND', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const url = `http://127.0.0.1:${port}/vgg.h5`;
    await expect(download(url, join(dir, 'e.bin'), {})).rejects.toMatchObject({
      code: 'NETWORK_UNAVAILABLE',
      message: expect.stringContaining(`Could not download ${url}: ECONNREFUSED`),
    });
    expect(existsSync(join(dir, 'e.bin'))).toBe(false);
    await expect(download(`${base}/missing`, join(dir, 'f.bin'), {})).rejects.toMatchObject({ code: 'NOT_FOUND', message: expect.stringMatching(/got 404/) });
  });

  test('abort: INTERRUPTED, the partial file is kept for resuming', async () => {
    const dest = join(dir, 'g.bin');
    const controller = new AbortController();
    const p = download(`${base}/slow`, dest, {
      signal: controller.signal,
      onProgress: (d) => {
        if (d >= 1000) controller.abort();
      },
    });
    await expect(p).rejects.toMatchObject({ code: 'INTERRUPTED' });
    expect(existsSync(dest)).toBe(false);
    expect(statSync(`${dest}.part`).size).toBeGreaterThanOrEqual(1000);
  });
});
