// Weights cache: import of the shared (non-official) VGG19 file with a warning, converted-cache loading, listing,
// missing weights naming `hokusai weights fetch` / `import`, fetch through a local server (MD5 verified against
// the official file, so the shared file is rejected), offline fetch message.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fetchLossWeights, importLossWeights, listLossWeights, loadLossWeights, OFFICIAL_WEIGHTS } from '../src/index.ts';
import { needs, shared, sharedData } from './shared-data.ts';

const H5 = shared('weights/vgg19-keras/vgg19_notop.h5');
let cacheDir = '';
let server: Server;
let base = '';

beforeAll(async () => {
  cacheDir = mkdtempSync(join(tmpdir(), 'hokusai-weights-'));
  const bytes = readFileSync(H5);
  server = createServer((_req, res) => {
    res.writeHead(200, { 'content-length': String(bytes.length) });
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  rmSync(cacheDir, { recursive: true, force: true });
});

const same = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => v === b[i]);

describe.runIf(needs('weights store on the real VGG19 file', sharedData('weights/vgg19-keras/vgg19_notop.h5')))('weights store', () => {
  test('no weights: NOT_FOUND naming hokusai weights fetch and import', async () => {
    await expect(loadLossWeights({ lossNet: 'vgg19', cacheDir })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/hokusai weights fetch vgg19.*hokusai weights import/),
    });
    await expect(loadLossWeights({ lossNet: 'vgg19', cacheDir, weights: join(cacheDir, 'nope.h5') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('import of the shared file: validated, warned as not official, converted, listed and loaded from the cache', async () => {
    const lines: string[] = [];
    const entry = await importLossWeights(H5, { cacheDir, log: (l) => lines.push(l) });
    expect(entry.net).toBe('vgg19');
    expect(entry.official).toBe(false);
    expect(lines.join('\n')).toMatch(/not the official Keras file.*253f8cb515780f3b799900260a226db6/);
    const list = await listLossWeights(cacheDir);
    expect(list.map((e) => [e.net, e.sha256, e.official])).toEqual([['vgg19', entry.sha256, false]]);

    const warn: string[] = [];
    const cached = await loadLossWeights({ lossNet: 'vgg19', cacheDir, log: (l) => warn.push(l) });
    expect(warn.join('\n')).toMatch(/not the official/);
    expect(cached.sha256).toBe(entry.sha256);
    for (const [name, cw] of entry.weights.layers) {
      expect(same(cached.layers.get(name)!.kernel, cw.kernel), name).toBe(true);
      expect(same(cached.layers.get(name)!.bias, cw.bias), name).toBe(true);
    }
    const viaPath = await loadLossWeights({ lossNet: 'vgg19', cacheDir, weights: H5 });
    expect(viaPath.official).toBe(false);
    expect(same(viaPath.layers.get('block5_conv4')!.kernel, entry.weights.layers.get('block5_conv4')!.kernel)).toBe(true);
    const viaDir = await loadLossWeights({ lossNet: 'vgg19', cacheDir, weights: entry.dir });
    expect(viaDir.net).toBe('vgg19');
    await expect(loadLossWeights({ lossNet: 'vgg16', cacheDir, weights: H5 })).rejects.toMatchObject({ code: 'WEIGHTS_INVALID' });
    await expect(loadLossWeights({ lossNet: 'vgg16', cacheDir })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  test('a non-HDF5 --weights file is WEIGHTS_INVALID', async () => {
    const bad = join(cacheDir, 'bad.h5');
    writeFileSync(bad, '<html>not weights</html>');
    await expect(loadLossWeights({ lossNet: 'vgg19', cacheDir, weights: bad })).rejects.toMatchObject({ code: 'WEIGHTS_INVALID' });
  });

  test('fetch verifies the official size and MD5: the shared (non-official) file is rejected and not placed', async () => {
    await expect(fetchLossWeights('vgg19', { cacheDir, url: `${base}/vgg19.h5` })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringMatching(/expected (80134624 bytes|MD5 253f8cb515780f3b799900260a226db6)/), // size is checked first
    });
    expect(existsSync(join(cacheDir, 'weights', OFFICIAL_WEIGHTS.vgg19.fileName))).toBe(false);
  });

  test('fetch success path: downloaded, verified, converted and preferred as the official entry', async () => {
    // Pretend the shared file is the official one (no official file is available offline).
    const saved = { ...OFFICIAL_WEIGHTS.vgg19 };
    const bytes = readFileSync(H5);
    const { createHash } = await import('node:crypto');
    Object.assign(OFFICIAL_WEIGHTS.vgg19, { size: bytes.length, md5: createHash('md5').update(bytes).digest('hex') });
    try {
      const seen: number[] = [];
      const entry = await fetchLossWeights('vgg19', { cacheDir, url: `${base}/vgg19.h5`, onProgress: (d) => seen.push(d) });
      expect(entry.official).toBe(true);
      expect(entry.source).toBe(`${base}/vgg19.h5`);
      expect(seen.at(-1)).toBe(bytes.length);
      expect(existsSync(join(cacheDir, 'weights', OFFICIAL_WEIGHTS.vgg19.fileName))).toBe(true);
      const warn: string[] = [];
      const w = await loadLossWeights({ lossNet: 'vgg19', cacheDir, log: (l) => warn.push(l) });
      expect(w.official).toBe(true);
      expect(warn).toEqual([]);
      expect((await listLossWeights(cacheDir))[0]!.official).toBe(true);
    } finally {
      Object.assign(OFFICIAL_WEIGHTS.vgg19, saved);
    }
  });

  test('offline fetch: NETWORK_UNAVAILABLE with the URL and the import command', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/vgg16.h5`;
    await new Promise((r) => closed.close(r));
    await expect(fetchLossWeights('vgg16', { cacheDir, url })).rejects.toMatchObject({
      code: 'NETWORK_UNAVAILABLE',
      message: expect.stringMatching(new RegExp(`${url.replace(/[.]/g, '\\.')}[\\s\\S]*hokusai weights import`)),
    });
  });
});
