// The CLI end to end: `hokusai export --format onnx` writes a model onnxruntime runs, and `hokusai serve` (tfjs
// engine here, the ONNX engine is covered in serve-api.test.ts) prints its URLs, serves, and exits 0 on SIGTERM
// after finishing the request in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { tempDir, testImage, writeTinyCheckpoint } from './helpers.ts';
import { initBackend } from '@hokusai/node';
import { json, rawRequest } from './http-client.ts';

/** Children still running when a test fails are stopped here, never left behind. */
const children: ChildProcess[] = [];

const BIN = fileURLToPath(new URL('../../cli/bin/hokusai.mjs', import.meta.url));
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  await initBackend('cpu');
  dir = await tempDir('cli-serve');
  await writeTinyCheckpoint(dir.path, 'tiny', 5);
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await dir?.remove();
});

function run(args: string[], cwd?: string) {
  const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOKUSAI_DEBUG: '' } });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => stderr };
}

describe('hokusai export / serve', () => {
  it('exports an ONNX model that onnxruntime runs on any size', async () => {
    const out = join(dir.path, 'tiny.onnx');
    const p = run(['export', '--checkpoint', join(dir.path, 'tiny'), '--format', 'onnx', '--out', out]);
    expect(await p.exited, p.stderr()).toBe(0);
    const session = await ort.InferenceSession.create(await readFile(out));
    expect(session.inputNames).toEqual(['image']);
    const r = await session.run({ image: new ort.Tensor('float32', new Float32Array(1 * 30 * 22 * 3).fill(100), [1, 30, 22, 3]) });
    expect(r.stylized?.dims).toEqual([1, 30, 22, 3]);
    await session.release();
  });

  it('serves with the tfjs engine and exits 0 on SIGTERM after the request in flight', async () => {
    // A relative --checkpoints (as the default `checkpoints` is) must work from any working directory.
    const p = run(['serve', '--port', '0', '--checkpoints', basename(dir.path), '--workers', '1', '--engine', 'tfjs', '--backend', 'cpu', '--poll-ms', '0'], dirname(dir.path));
    const until = Date.now() + 90_000;
    while (!/ready: \d+ style/.test(p.stderr()) && Date.now() < until && p.child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
    const url = /listening on (http:\/\/\S+)/.exec(p.stderr())?.[1];
    expect(url, p.stderr()).toBeDefined();
    expect(p.stderr()).toContain(`web demo: ${url}/`);
    expect((await rawRequest(url!, { path: '/models/tiny/model.json' })).status).toBe(200);
    expect((await rawRequest(url!, { path: '/models/tiny/thumbnail.jpg' })).status).toBe(200);
    const png = await testImage(300, 200);
    const inFlight = rawRequest(url!, { method: 'POST', path: '/v1/styles/tiny/stylize', body: png, headers: { 'content-type': 'image/png', accept: 'application/json' } });
    await new Promise((r) => setTimeout(r, 30));
    p.child.kill('SIGTERM');
    const r = await inFlight;
    expect(r.status, r.body.toString()).toBe(200);
    expect(json(r)).toMatchObject({ metrics: { engine: 'tfjs', width: 300, height: 200 } });
    expect(await p.exited, p.stderr()).toBe(0);
    expect(p.stderr()).toContain('stopped');
  });
});
