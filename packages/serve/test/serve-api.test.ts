// Integration tests of `hokusai serve` over real HTTP on loopback: every endpoint and status code, with generated
// hostile inputs (lying headers, huge declared sizes, SVG/GIF/TIFF, truncated JPEG, path traversal, slowloris),
// results checked against the tfjs reference (stylizeTensor) on the same pixels, hot reload, and shutdown.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import { crc32 } from 'node:zlib';
import { rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { parseCheckpoint, stylizeTensor } from '@hokusai/model';
import { initBackend, loadCheckpointDir, readImage } from '@hokusai/node';
import { startServer, type RunningServer } from '../src/index.ts';
import { TINY_NET, tempDir, testImage, writeTinyCheckpoint } from './helpers.ts';
import { json, rawRequest } from './http-client.ts';

let server: RunningServer;
let dir: { path: string; remove: () => Promise<void> };
let demoDir: string;
const logs: string[] = [];

beforeAll(async () => {
  await initBackend('cpu');
  dir = await tempDir('serve-api');
  await writeTinyCheckpoint(dir.path, 'tiny', 1, TINY_NET, {
    training: { dataset: '/home/someone/datasets/coco', cacheDir: '~/.cache/hokusai', lr: 0.001, preset: 'fast', contentLayers: [1, 2] },
    styleImages: [{ file: '/home/someone/styles/wave.jpg', sha256: 'a'.repeat(64), weight: 1 }],
  });
  await writeTinyCheckpoint(dir.path, 'other', 2);
  demoDir = join(dir.path, '.demo-dist'); // hidden: not a style folder
  await mkdir(join(demoDir, 'assets'), { recursive: true });
  await writeFile(join(demoDir, 'assets', 'app.js'), 'console.log("demo")');
  server = await startServer(
    {
      port: 0,
      checkpoints: dir.path,
      workers: 1,
      queueSize: 4,
      pollMs: 200,
      maxSize: 256,
      headersTimeoutMs: 600,
      requestTimeoutMs: 20_000,
      rateLimit: 40,
      cors: ['https://example.org'],
      warmupSize: 16,
      demoDir,
    },
    { log: (l) => logs.push(l) },
  );
  await server.ready;
});

afterAll(async () => {
  await server?.shutdown();
  await dir?.remove();
});

const post = (path: string, body: Buffer | string, headers: Record<string, string>) => rawRequest(server.url, { method: 'POST', path, body, headers });

/** A valid PNG header (signature + IHDR with a correct CRC) claiming width × height, then a few junk bytes. */
function lyingPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(17);
  ihdr.write('IHDR', 0, 'ascii');
  ihdr.writeUInt32BE(width, 4);
  ihdr.writeUInt32BE(height, 8);
  ihdr.set([8, 2, 0, 0, 0], 12); // 8-bit RGB
  const len = Buffer.alloc(4);
  len.writeUInt32BE(13);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(ihdr));
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), len, ihdr, crc, Buffer.alloc(64, 0x55)]);
}

function expectEnvelope(r: { status: number; body: Buffer }, status: number, code: string) {
  expect(r.status, r.body.toString().slice(0, 300)).toBe(status);
  const body = json(r as never) as { error: { code: string; message: string } };
  expect(body.error.code).toBe(code);
  expect(body.error.message.length).toBeGreaterThan(10);
}

describe('health, readiness, metrics, OpenAPI', () => {
  it('answers /healthz and /readyz once the styles are loaded', async () => {
    const h = await rawRequest(server.url, { path: '/healthz' });
    expect(h.status).toBe(200);
    const r = await rawRequest(server.url, { path: '/readyz' });
    expect(r.status).toBe(200);
    expect(json(r)).toMatchObject({ ready: true, styles: 2, engine: 'onnx', workers: 1 });
  });

  it('serves an OpenAPI 3 document generated from the validating zod schemas', async () => {
    const r = await rawRequest(server.url, { path: '/openapi.json' });
    const doc = json(r) as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string; schema: Record<string, unknown> }[] }>> };
    expect(doc.openapi).toMatch(/^3\./);
    const params = doc.paths['/v1/styles/{id}/stylize']?.post?.parameters ?? [];
    const quality = params.find((p) => p.name === 'quality');
    expect(quality?.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
    // The server's maxSize (256) is the documented maximum, as enforced.
    expect(params.find((p) => p.name === 'maxSize')?.schema).toMatchObject({ maximum: 256 });
    expect(params.map((p) => p.name)).toEqual(expect.arrayContaining(['format', 'quality', 'maxSize', 'strength', 'preserveColors']));
  });

  it('serves the web demo build at /, or a page saying how to build it', async () => {
    const missing = await rawRequest(server.url, { path: '/' });
    expect(missing.status).toBe(200);
    expect(missing.body.toString()).toContain('npm run build -w packages/web-demo');
    await writeFile(join(demoDir, 'index.html'), '<!doctype html><title>demo</title><script src="assets/app.js"></script>');
    const page = await rawRequest(server.url, { path: '/' });
    expect(page.body.toString()).toContain('<title>demo</title>');
    const asset = await rawRequest(server.url, { path: '/assets/app.js' });
    expect(asset.status).toBe(200);
    expect(asset.body.toString()).toContain('console.log');
  });

  it('sets helmet headers with a CSP that allows wasm and blob: workers', async () => {
    const r = await rawRequest(server.url, { path: '/' });
    expect(r.status).toBe(200);
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toContain("'wasm-unsafe-eval'");
    expect(csp).toMatch(/worker-src 'self' blob:/);
    expect(csp).toContain('mediastream:');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
  });

  it('answers CORS preflights for configured origins only', async () => {
    const ok = await rawRequest(server.url, {
      method: 'OPTIONS',
      path: '/v1/styles/tiny/stylize',
      headers: { origin: 'https://example.org', 'access-control-request-method': 'POST' },
    });
    expect(ok.headers['access-control-allow-origin']).toBe('https://example.org');
    const other = await rawRequest(server.url, {
      method: 'OPTIONS',
      path: '/v1/styles/tiny/stylize',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('styles and model files', () => {
  it('lists styles with thumbnail URLs and training info from meta.json', async () => {
    const r = await rawRequest(server.url, { path: '/v1/styles' });
    const { styles } = json(r) as { styles: { id: string; name: string; thumbnailUrl: string; training: { step: number } }[] };
    expect(styles.map((s) => s.id)).toEqual(['other', 'tiny']);
    const tiny = styles.find((s) => s.id === 'tiny');
    expect(tiny).toMatchObject({ name: 'Test style tiny', thumbnailUrl: '/models/tiny/thumbnail.jpg', training: { step: 1 } });
    // Training info is published without the training machine's paths.
    expect(tiny?.training).toMatchObject({ options: { lr: 0.001, preset: 'fast', contentLayers: [1, 2] }, styleImages: [{ file: 'wave.jpg', weight: 1 }] });
    expect(JSON.stringify(r.body.toString())).not.toContain('someone');
    expect(JSON.stringify(r.body.toString())).not.toContain('.cache');
    for (const path of ['/models/tiny/meta.json', '/models/tiny/f16/meta.json']) {
      const meta = await rawRequest(server.url, { path });
      expect(meta.status).toBe(200);
      expect(json(meta)).toMatchObject({ name: 'Test style tiny', training: { lr: 0.001 }, styleImages: [{ file: 'wave.jpg' }] });
      expect(meta.body.toString()).not.toContain('someone');
    }
    const one = await rawRequest(server.url, { path: '/v1/styles/other' });
    expect(json(one)).toMatchObject({ id: 'other', training: { step: 2 } });
  });

  it('serves browser-ready checkpoint files and nothing else', async () => {
    const model = await rawRequest(server.url, { path: '/models/tiny/model.json' });
    expect(model.status).toBe(200);
    expect(json(model)).toMatchObject({ format: 'hokusai-transformer' });
    const thumb = await rawRequest(server.url, { path: '/models/tiny/thumbnail.jpg' });
    expect(thumb.status).toBe(200);
    expect(thumb.headers['content-type']).toBe('image/jpeg');
    const weights = await rawRequest(server.url, { path: '/models/tiny/weights.bin' });
    expect(weights.status).toBe(200);
    expect(weights.body.length).toBeGreaterThan(1000);
    // The float16 variant: half the bytes, and a valid checkpoint of the same network.
    const style = json(await rawRequest(server.url, { path: '/v1/styles/tiny' })) as { modelUrl: string; modelUrlFloat16: string };
    expect(style).toMatchObject({ modelUrl: '/models/tiny/', modelUrlFloat16: '/models/tiny/f16/' });
    const f16 = await Promise.all(['model.json', 'weights.bin', 'meta.json'].map((f) => rawRequest(server.url, { path: `/models/tiny/f16/${f}` })));
    expect(f16.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(f16[1]!.body.length).toBe(weights.body.length / 2);
    const parsed = parseCheckpoint({ modelJson: f16[0]!.body.toString(), weightsBin: new Uint8Array(f16[1]!.body), metaJson: f16[2]!.body.toString() });
    expect(parsed.net.config).toEqual(TINY_NET);
    parsed.net.dispose();
    expect((await rawRequest(server.url, { path: '/models/tiny/f16/thumbnail.jpg' })).status).toBe(404);
  });

  it('answers 404 for unknown styles and any path traversal attempt', async () => {
    expectEnvelope(await rawRequest(server.url, { path: '/v1/styles/nope' }), 404, 'NOT_FOUND');
    const png = await testImage(32, 32);
    const hostile = [
      '/v1/styles/../../etc/passwd/stylize',
      '/v1/styles/..%2f..%2fetc%2fpasswd/stylize',
      '/v1/styles/%2e%2e%2f%2e%2e%2fetc%2fpasswd/stylize',
      '/v1/styles/%2E%2E/stylize',
      '/v1/styles/tiny%00/stylize',
    ];
    for (const path of hostile) {
      const r = await post(path, png, { 'content-type': 'image/png' });
      expectEnvelope(r, 404, 'NOT_FOUND');
    }
    for (const path of ['/models/../../../etc/passwd', '/models/tiny/..%2f..%2f..%2fetc%2fpasswd', '/models/%2e%2e/tiny/meta.json', '/models/tiny/.hidden', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc/passwd']) {
      const r = await rawRequest(server.url, { path });
      expectEnvelope(r, 404, 'NOT_FOUND');
      expect(r.body.toString()).not.toContain('root:');
    }
  });
});

describe('POST /v1/styles/:id/stylize', () => {
  it('stylises a PNG like the tfjs reference does (ONNX engine within 1 grey level), keeping its size and format', async () => {
    const png = await testImage(96, 64, 'png');
    const { net } = await loadCheckpointDir(join(dir.path, 'tiny'));
    const input = await readImage(new Uint8Array(png));
    try {
      for (const q of ['', '?strength=0.6&preserveColors=true']) {
        const r = await post(`/v1/styles/tiny/stylize${q}`, png, { 'content-type': 'image/png' });
        expect(r.status, r.body.toString().slice(0, 200)).toBe(200);
        expect(r.headers['content-type']).toBe('image/png');
        expect(r.headers.vary).toMatch(/Accept/);
        const out = await readImage(new Uint8Array(r.body));
        expect([out.width, out.height]).toEqual([96, 64]);
        const expected = tf.tidy(() => {
          const y = stylizeTensor(net, tf.tensor3d(Float32Array.from(input.data), [64, 96, 3]), q ? { strength: 0.6, preserveColors: true } : {});
          return Array.from(y.dataSync(), (v) => Math.round(v));
        });
        let maxDiff = 0;
        let changed = 0;
        for (let i = 0; i < expected.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(out.data[i]! - expected[i]!));
          if (Math.abs(out.data[i]! - input.data[i]!) > 10) changed++;
        }
        expect(maxDiff, `max difference to tfjs ${q}`).toBeLessThanOrEqual(1);
        expect(changed / expected.length).toBeGreaterThan(0.3); // it really was stylised
      }
    } finally {
      net.dispose();
    }
  });

  it('chooses the output format from ?format, else Accept, else the input', async () => {
    const jpeg = await testImage(40, 30, 'jpeg');
    const asWebp = await post('/v1/styles/tiny/stylize?format=webp', jpeg, { 'content-type': 'image/jpeg' });
    expect(asWebp.headers['content-type']).toBe('image/webp');
    expect((await sharp(asWebp.body).metadata()).format).toBe('webp');
    const accepted = await post('/v1/styles/tiny/stylize', jpeg, { 'content-type': 'image/jpeg', accept: 'image/png' });
    expect(accepted.headers['content-type']).toBe('image/png');
    const same = await post('/v1/styles/tiny/stylize', jpeg, { 'content-type': 'image/jpeg', accept: '*/*' });
    expect(same.headers['content-type']).toBe('image/jpeg');
    const asJson = await post('/v1/styles/tiny/stylize?format=png', jpeg, { 'content-type': 'image/jpeg', accept: 'application/json' });
    const body = json(asJson) as { image: string; metrics: Record<string, unknown> };
    expect(body.image.startsWith('data:image/png;base64,')).toBe(true);
    expect(body.metrics).toMatchObject({ style: 'tiny', engine: 'onnx', width: 40, height: 30, format: 'png' });
    const decoded = await sharp(Buffer.from(body.image.split(',')[1]!, 'base64')).metadata();
    expect([decoded.width, decoded.height]).toEqual([40, 30]);
  });

  it('handles tiny images (1×1, 3×2) and keeps their size', async () => {
    for (const [w, h] of [[1, 1], [3, 2]] as const) {
      const r = await post('/v1/styles/tiny/stylize', await testImage(w, h), { 'content-type': 'image/png' });
      expect(r.status, r.body.toString().slice(0, 200)).toBe(200);
      const meta = await sharp(r.body).metadata();
      expect([meta.width, meta.height]).toEqual([w, h]);
    }
  });

  it('accepts multipart/form-data with an `image` field', async () => {
    const png = await testImage(32, 24);
    const boundary = '----hokusai-test';
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n`),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const r = await post('/v1/styles/other/stylize', body, { 'content-type': `multipart/form-data; boundary=${boundary}` });
    expect(r.status, r.body.toString().slice(0, 200)).toBe(200);
    expect((await sharp(r.body).metadata()).width).toBe(32);
    const wrongField = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.png"\r\nContent-Type: image/png\r\n\r\n`),
      png,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expectEnvelope(await post('/v1/styles/other/stylize', wrongField, { 'content-type': `multipart/form-data; boundary=${boundary}` }), 400, 'INVALID_ARGUMENT');
  });

  it('processes inputs larger than maxSize at that size and upscales back', async () => {
    const png = await testImage(600, 300);
    const r = await post('/v1/styles/tiny/stylize?maxSize=128', png, { 'content-type': 'image/png', accept: 'application/json' });
    const { metrics } = json(r) as { metrics: Record<string, number> };
    expect(metrics).toMatchObject({ width: 600, height: 300, inferenceWidth: 128, inferenceHeight: 64 });
  });

  it('honours EXIF orientation and strips EXIF/GPS from the output', async () => {
    const raw = await testImage(40, 20, 'png');
    const withExif = await sharp(raw)
      .jpeg()
      .withMetadata({ orientation: 6 })
      .withExifMerge({ IFD0: { Copyright: 'secret-owner', Artist: 'secret-artist' } })
      .toBuffer();
    expect((await sharp(withExif).metadata()).exif).toBeDefined();
    const r = await post('/v1/styles/tiny/stylize', withExif, { 'content-type': 'image/jpeg' });
    expect(r.status).toBe(200);
    const meta = await sharp(r.body).metadata();
    expect([meta.width, meta.height]).toEqual([20, 40]); // rotated by 90°
    expect(meta.exif).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(r.body.includes(Buffer.from('secret'))).toBe(false);
  });

  it('answers 400 for bad parameters', async () => {
    const png = await testImage(16, 16);
    for (const q of ['strength=2', 'quality=abc', 'quality=0', 'format=gif', 'maxSize=100000', 'preserveColors=maybe', 'unknown=1', 'strength=1&strength=0']) {
      expectEnvelope(await post(`/v1/styles/tiny/stylize?${q}`, png, { 'content-type': 'image/png' }), 400, 'INVALID_ARGUMENT');
    }
  });

  it('answers 413 for a 20 MB body (declared or chunked) without reading it all', async () => {
    const big = Buffer.alloc(20 * 1024 * 1024, 0x42);
    const r = await post('/v1/styles/tiny/stylize', big, { 'content-type': 'image/png' });
    expectEnvelope(r, 413, 'PAYLOAD_TOO_LARGE');
    const chunked = await post('/v1/styles/tiny/stylize', big, { 'content-type': 'image/png', 'transfer-encoding': 'chunked' });
    expectEnvelope(chunked, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('answers 415 for SVG, GIF, TIFF and types that lie about their content', async () => {
    const svg = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>';
    expectEnvelope(await post('/v1/styles/tiny/stylize', svg, { 'content-type': 'image/svg+xml' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectEnvelope(await post('/v1/styles/tiny/stylize', svg, { 'content-type': 'image/png' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const gif = await sharp(await testImage(8, 8)).gif().toBuffer();
    expectEnvelope(await post('/v1/styles/tiny/stylize', gif, { 'content-type': 'image/png' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    const tiff = await sharp(await testImage(8, 8)).tiff().toBuffer();
    expectEnvelope(await post('/v1/styles/tiny/stylize', tiff, { 'content-type': 'image/jpeg' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
    expectEnvelope(await post('/v1/styles/tiny/stylize', 'hello', { 'content-type': 'text/plain' }), 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  it('rejects a tiny PNG whose header claims 50000×50000 with 422 in under 100 ms', async () => {
    const png = lyingPng(50_000, 50_000);
    expect(png.length).toBeLessThan(200);
    await post('/v1/styles/tiny/stylize', lyingPng(10, 10), { 'content-type': 'image/png' }); // warm the path
    const r = await post('/v1/styles/tiny/stylize', png, { 'content-type': 'image/png' });
    expectEnvelope(r, 422, 'TOO_MANY_PIXELS');
    expect(r.ms).toBeLessThan(100);
  });

  it('answers 422 for a truncated JPEG and a broken header', async () => {
    const jpeg = await testImage(64, 64, 'jpeg');
    expectEnvelope(await post('/v1/styles/tiny/stylize', jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), { 'content-type': 'image/jpeg' }), 422, 'IMAGE_DECODE');
    expectEnvelope(await post('/v1/styles/tiny/stylize', Buffer.from([0xff, 0xd8, 0xff, 0xd9]), { 'content-type': 'image/jpeg' }), 422, 'IMAGE_DECODE');
  });

  it('closes a connection whose headers arrive too slowly (slowloris)', async () => {
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    const started = performance.now();
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(performance.now() - started)));
    socket.on('error', () => {});
    socket.write('POST /v1/styles/tiny/stylize HTTP/1.1\r\nHost: localhost\r\n');
    const drip = setInterval(() => socket.write('X-Slow: 1\r\n'), 100);
    const ms = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 5000))]);
    clearInterval(drip);
    socket.destroy();
    expect(ms).toBeGreaterThan(0); // closed by the server
    expect(ms).toBeLessThan(3000); // headersTimeout 600 ms + check interval
  });
});

describe('hot reload of checkpoints', () => {
  it('picks up a new checkpoint, skips a broken one, and swaps a replaced one', async () => {
    await writeTinyCheckpoint(dir.path, 'added', 3);
    const broken = join(dir.path, 'broken');
    await mkdir(broken);
    await writeFile(join(broken, 'model.json'), '{"format":"hokusai-transformer"}');
    await writeFile(join(broken, 'weights.bin'), Buffer.alloc(10));
    await writeFile(join(broken, 'meta.json'), '{}');
    const until = Date.now() + 20_000;
    let ids: string[] = [];
    while (Date.now() < until) {
      ids = ((json(await rawRequest(server.url, { path: '/v1/styles' })) as { styles: { id: string }[] }).styles).map((s) => s.id);
      const ready = json(await rawRequest(server.url, { path: '/readyz' })) as { broken: Record<string, string> };
      if (ids.includes('added') && ready.broken.broken !== undefined) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ids).toEqual(['added', 'other', 'tiny']);
    expect(logs.some((l) => l.includes('style broken: broken checkpoint skipped'))).toBe(true);

    const png = await testImage(48, 32);
    const before = await post('/v1/styles/added/stylize', png, { 'content-type': 'image/png' });
    const step = () => rawRequest(server.url, { path: '/v1/styles/added' }).then((r) => (json(r) as { training: { step: number } }).training.step);
    expect(await step()).toBe(3);
    await writeTinyCheckpoint(dir.path, 'added', 4);
    const until2 = Date.now() + 20_000;
    while (Date.now() < until2 && (await step()) !== 4) await new Promise((r) => setTimeout(r, 100));
    expect(await step()).toBe(4);
    const after = await post('/v1/styles/added/stylize', png, { 'content-type': 'image/png' });
    expect(after.status).toBe(200);
    expect(after.body.equals(before.body)).toBe(false);

    await rm(join(dir.path, 'added'), { recursive: true });
    await rm(broken, { recursive: true });
    const until3 = Date.now() + 20_000;
    while (Date.now() < until3 && (await rawRequest(server.url, { path: '/v1/styles/added' })).status !== 404) await new Promise((r) => setTimeout(r, 100));
    expect((await rawRequest(server.url, { path: '/v1/styles/added' })).status).toBe(404);
  });
});

describe('metrics and rate limit', () => {
  it('exports request durations by route and status, inference by style, queue depth', async () => {
    const r = await rawRequest(server.url, { path: '/metrics' });
    const text = r.body.toString();
    expect(text).toMatch(/hokusai_http_request_duration_seconds_count\{route="\/v1\/styles\/:id\/stylize",method="POST",status="200"\} \d+/);
    expect(text).toMatch(/hokusai_http_request_duration_seconds_count\{route="\/v1\/styles\/:id\/stylize",method="POST",status="415"\} \d+/);
    expect(text).toMatch(/hokusai_inference_duration_seconds_count\{style="tiny",engine="onnx"\} \d+/);
    expect(text).toMatch(/hokusai_queue_depth \d+/);
  });

  it('answers 429 with Retry-After once a client exceeds the per-minute limit', async () => {
    let limited: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 60 && !limited; i++) {
      const r = await post('/v1/styles/tiny/stylize', 'x', { 'content-type': 'text/plain' });
      if (r.status === 429) limited = r;
    }
    expect(limited).toBeDefined();
    expectEnvelope(limited!, 429, 'RATE_LIMITED');
    expect(Number(limited!.headers['retry-after'])).toBeGreaterThan(0);
  });
});
