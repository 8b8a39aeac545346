// A clean run prints only what the user asked for: no Dawn limit warnings from a WebGPU adapter scan nobody asked
// for, no TF.js "install tfjs-node" banner, no npm config or install-script warnings. Each check spawns the real
// process (native code writes to the file descriptor, so only a child's stderr shows everything).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'packages/cli/bin/hokusai.mjs');
const NOISE = /artificially reduced|looks like you are running TensorFlow\.js|npm warn|^Warning:/im;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<Result> {
  return new Promise((done, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env: { ...process.env, HOKUSAI_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}
const hokusai = (...args: string[]) => run(process.execPath, [BIN, ...args]);

let tmp: string;
beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'hokusai-quiet-'));
  await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 180, g: 90, b: 40 } } }).png().toFile(join(tmp, 'tiny.png'));
  // initBackend on its own, as an app calls it (the bin's tsx + tfjs resolve hooks via tools/run-ts.mjs)
  const index = join(ROOT, 'packages/node/src/index.ts');
  writeFileSync(
    join(tmp, 'init.mts'),
    `import { initBackend } from ${JSON.stringify(index)};\n` +
      `for (const name of process.argv.slice(2)) process.stdout.write((await initBackend(name as 'auto')).name + '\\n');\n` +
      'process.exit(0);\n',
  );
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('quiet runs', () => {
  it('hokusai --help writes the help to stdout and nothing to stderr', async () => {
    const r = await hokusai('--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Usage: hokusai');
    expect(r.stderr).toBe('');
  });

  it('hokusai stylize with a bundled checkpoint prints its progress lines and no warnings', async () => {
    const out = join(tmp, 'out.png');
    const r = await hokusai('stylize', '-c', 'checkpoints/great-wave', join(tmp, 'tiny.png'), '-o', out);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);
    expect(r.stderr).toContain('→');
    expect(r.stderr).not.toMatch(NOISE);
  });

  it('hokusai export (tfjs cpu backend) prints no TF.js banner', async () => {
    const r = await hokusai('export', '--checkpoint', 'checkpoints/great-wave', '--format', 'onnx', '--out', join(tmp, 'gw.onnx'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(NOISE);
  });

  it("initBackend('auto') then initBackend('cpu') write nothing to stderr", async () => {
    const r = await run(process.execPath, [join(ROOT, 'tools/run-ts.mjs'), join(tmp, 'init.mts'), 'auto', 'cpu']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^(tensorflow|webgpu|wasm|cpu)\ncpu\n$/);
    expect(r.stderr).toBe('');
  });

  it('npm reads the project config without warnings and every install script is reviewed', async () => {
    const r = await run('npm', ['pkg', 'get', 'name']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    // npm 11's install-script review (allowScripts in package.json); older npm versions have no such command
    const ls = await run('npm', ['install-scripts', 'ls']);
    if (!/Unknown command/i.test(ls.stdout + ls.stderr)) {
      expect(ls.stdout + ls.stderr).toContain('No packages with unreviewed install scripts');
    }
  });
});
