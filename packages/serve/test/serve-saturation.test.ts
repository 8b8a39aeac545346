// The server under inference load: /healthz stays fast while every worker is busy (inference runs in worker
// threads, not on the event loop), requests beyond workers + queue get 503 + Retry-After, and a graceful shutdown
// lets the in-flight request finish while refusing new ones.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'node:http';
import { HALF_NET } from '@hokusai/model';
import { initBackend } from '@hokusai/node';
import { startServer, type RunningServer } from '../src/index.ts';
import { readiness } from '../src/app.ts';
import { tempDir, testImage, writeTinyCheckpoint } from './helpers.ts';
import { json, rawRequest, type RawResponse } from './http-client.ts';

let server: RunningServer;
let dir: { path: string; remove: () => Promise<void> };
let whileStarting: { readyz: RawResponse; stylize: RawResponse; healthz: RawResponse };

beforeAll(async () => {
  await initBackend('cpu');
  dir = await tempDir('serve-load');
  await writeTinyCheckpoint(dir.path, 'half', 1, HALF_NET);
  server = await startServer(
    { port: 0, checkpoints: dir.path, workers: 1, queueSize: 1, pollMs: 0, maxSize: 1024, warmupSize: 16, shutdownTimeoutMs: 60_000 },
    { log: () => {} },
  );
  // The workers take seconds to start: probe before they are ready.
  whileStarting = {
    healthz: await rawRequest(server.url, { path: '/healthz' }),
    readyz: await rawRequest(server.url, { path: '/readyz' }),
    stylize: await rawRequest(server.url, { method: 'POST', path: '/v1/styles/half/stylize', body: await testImage(16, 16), headers: { 'content-type': 'image/png' } }),
  };
  await server.ready;
});

afterAll(async () => {
  await server?.shutdown();
  await dir?.remove();
});

const stylize = (body: Buffer) =>
  rawRequest(server.url, { method: 'POST', path: '/v1/styles/half/stylize', body, headers: { 'content-type': 'image/png', accept: 'application/json' } });

describe('start-up', () => {
  it('is alive at once, answers 503 + Retry-After until the styles are loaded, then ready', async () => {
    expect(whileStarting.healthz.status).toBe(200);
    expect(whileStarting.readyz.status).toBe(503);
    expect(Number(whileStarting.readyz.headers['retry-after'])).toBeGreaterThan(0);
    expect(whileStarting.stylize.status).toBe(503);
    expect(json(whileStarting.stylize)).toMatchObject({ error: { code: 'NOT_READY' } });
    expect(Number(whileStarting.stylize.headers['retry-after'])).toBeGreaterThan(0);
    expect((await rawRequest(server.url, { path: '/readyz' })).status).toBe(200);
  });
});

describe('under load', () => {
  it('answers /healthz within 50 ms while the workers are saturated, and 503 + Retry-After when the queue is full', async () => {
    const big = await testImage(768, 512, 'png');
    const first = stylize(big);
    const second = stylize(big);
    // Wait until the worker is busy.
    const until = Date.now() + 20_000;
    while (server.context.pool.busy === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    expect(server.context.pool.busy).toBe(1);
    const probes: number[] = [];
    for (let i = 0; i < 7 && server.context.pool.busy > 0; i++) {
      const h = await rawRequest(server.url, { path: '/healthz' });
      expect(h.status).toBe(200);
      probes.push(h.ms);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(probes.length).toBeGreaterThanOrEqual(3);
    probes.sort((a, b) => a - b);
    console.log(`healthz while saturated: ${probes.map((p) => p.toFixed(1)).join(', ')} ms`);
    expect(probes[Math.floor(probes.length / 2)], `healthz latencies ${probes.map((p) => p.toFixed(1)).join(', ')} ms`).toBeLessThan(50);

    // workers (1) + queue (1) are taken: the next ones are refused at once.
    const refused: RawResponse = await stylize(big);
    expect(refused.status).toBe(503);
    expect(json(refused)).toMatchObject({ error: { code: 'QUEUE_FULL' } });
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    const m = (json(a) as { metrics: { inferenceMs: number } }).metrics;
    expect(m.inferenceMs).toBeGreaterThan(0);
  });

  it('drops a queued job when its client goes away', async () => {
    const big = await testImage(768, 512, 'png');
    const first = stylize(big);
    const waitFor = async (cond: () => boolean) => {
      const until = Date.now() + 20_000;
      while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      return cond();
    };
    expect(await waitFor(() => server.context.pool.busy === 1)).toBe(true);
    const url = new URL(server.url);
    const queued = request({ host: url.hostname, port: url.port, method: 'POST', path: '/v1/styles/half/stylize', headers: { 'content-type': 'image/png' } });
    queued.on('error', () => {});
    queued.end(big);
    expect(await waitFor(() => server.context.pool.queueDepth === 1)).toBe(true);
    queued.destroy();
    expect(await waitFor(() => server.context.pool.queueDepth === 0)).toBe(true);
    expect(server.context.pool.busy).toBe(1); // the first one is still running
    // A job still queued at its deadline is dropped with TIMEOUT (503).
    const late = server.context.pool.run(
      { id: 'half', pixels: new Uint8Array(16 * 16 * 3), width: 16, height: 16, strength: 1, preserveColors: false },
      Date.now() + 50,
    );
    await expect(late).rejects.toMatchObject({ code: 'TIMEOUT', httpStatus: 503 });
    expect((await first).status).toBe(200);
  });

  it('on shutdown: reports not ready, refuses new connections, finishes the request in flight', async () => {
    const img = await testImage(768, 512, 'png');
    const inFlight = stylize(img);
    const until = Date.now() + 20_000;
    while (server.context.pool.busy === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    const stopping = server.shutdown();
    expect(readiness(server.context)).toMatchObject({ ready: false, reasons: expect.arrayContaining(['shutting down']) });
    await expect(rawRequest(server.url, { path: '/healthz' })).rejects.toThrow(/ECONNREFUSED/);
    const r = await inFlight;
    expect(r.status).toBe(200);
    await stopping;
    expect(server.context.pool.size).toBe(0);
  });
});
