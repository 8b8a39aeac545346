// `npm start` (tools/npm-start.mjs) as a user runs it: a busy port fails at once with the port and how to choose
// another (before any demo build), `hokusai serve` on a busy port says the same, and a SIGINT stops the server
// cleanly both when only npm receives it and when the whole process group does (a terminal's Ctrl-C), printing no
// warnings on the way.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { ERROR_TABLE } from '@hokusai/errors';
import { initBackend } from '@hokusai/node';
import { ServeOptionsSchema, startServer } from '../src/index.ts';
import { tempDir, writeTinyCheckpoint } from './helpers.ts';
import { rawRequest } from './http-client.ts';
// @ts-expect-error -- plain JavaScript launcher without type declarations
import * as launcher from '../../../tools/npm-start.mjs';

const ROOT = resolve(import.meta.dirname, '../../..');
const NOISE = /artificially reduced|looks like you are running TensorFlow\.js|npm warn|^Warning:/im;
const children: ChildProcess[] = [];
let dir: { path: string; remove: () => Promise<void> };
let busy: Server;
let busyPort: number;

beforeAll(async () => {
  await initBackend('cpu');
  dir = await tempDir('start');
  await writeTinyCheckpoint(join(dir.path, 'styles'), 'tiny', 3);
  mkdirSync(join(dir.path, 'demo'));
  writeFileSync(join(dir.path, 'demo', 'index.html'), '<p>demo</p>');
  busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null && c.pid) process.kill(-c.pid, 'SIGKILL');
  if (busy) await new Promise((r) => busy.close(r));
  await dir?.remove();
});

/** `npm start -- <args>` in its own process group (so the test can signal the group as a terminal would). */
function npmStart(args: string[]) {
  const child = spawn('npm', ['start', '--', ...args], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HOKUSAI_DEBUG: '' } });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, output: () => output };
}

async function until(what: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!what() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
}

describe('npm start', () => {
  it('the launcher reads the port and host as hokusai serve does, and exits with the IO code', () => {
    const schemaDefaults = ServeOptionsSchema.parse({});
    expect(launcher.listenAddress([], {})).toEqual({ port: schemaDefaults.port, host: schemaDefaults.host });
    expect(launcher.listenAddress(['--port', '9001', '--host=0.0.0.0'], { PORT: '7' })).toEqual({ port: 9001, host: '0.0.0.0' });
    expect(launcher.listenAddress(['-p', '9002'], {}).port).toBe(9002);
    expect(launcher.listenAddress([], { PORT: '9003' }).port).toBe(9003);
    expect(launcher.listenAddress([], { HOKUSAI_PORT: '9004', PORT: '9003' }).port).toBe(9004);
    expect(launcher.EXIT_IO).toBe(ERROR_TABLE.IO.exit);
  });

  it('on a busy port fails at once, naming the port and `npm start -- --port N`, without building the demo', async () => {
    const p = npmStart(['--port', String(busyPort)]);
    expect(await p.exited, p.output()).toBe(ERROR_TABLE.IO.exit);
    expect(p.output()).toContain(`error [IO]: port ${busyPort} on 127.0.0.1 is already in use`);
    expect(p.output()).toContain(`npm start -- --port ${busyPort + 1}`);
    expect(p.output()).not.toMatch(/vite|building|EADDRINUSE/i);
  });

  it.each(['npm only', 'process group'])('SIGINT to the %s stops the server cleanly', async (target) => {
    const p = npmStart(['--port', '0', '--checkpoints', join(dir.path, 'styles'), '--demo-dir', join(dir.path, 'demo'), '--workers', '1', '--poll-ms', '0']);
    await until(() => /ready: \d+ style/.test(p.output()) || p.child.exitCode !== null, 120_000);
    const url = /listening on (http:\/\/\S+)/.exec(p.output())?.[1];
    expect(url, p.output()).toBeDefined();
    expect((await rawRequest(url!, { path: '/healthz' })).status).toBe(200);
    process.kill(target === 'npm only' ? p.child.pid! : -p.child.pid!, 'SIGINT');
    await until(() => p.child.exitCode !== null || p.child.signalCode !== null, 30_000);
    expect(p.child.exitCode !== null || p.child.signalCode !== null, `npm start still running after SIGINT:\n${p.output()}`).toBe(true);
    expect(p.output()).toContain('stopped');
    expect(p.output()).not.toContain('again: exiting now');
    expect(p.output()).not.toMatch(NOISE);
    await expect(rawRequest(url!, { path: '/healthz' })).rejects.toThrow();
  });
});

describe('hokusai serve on a busy port', () => {
  it('rejects with an IO error naming the port and how to choose another', async () => {
    await expect(startServer({ port: busyPort, checkpoints: join(dir.path, 'styles'), workers: 1 })).rejects.toMatchObject({
      code: 'IO',
      message: expect.stringMatching(new RegExp(`port ${busyPort} on 127\\.0\\.0\\.1 is already in use.*--port ${busyPort + 1} \\(npm start -- --port ${busyPort + 1}\\)`)),
    });
  });
});
