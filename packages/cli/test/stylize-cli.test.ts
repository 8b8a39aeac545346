// End-to-end tests of `hokusai import ml5` and `hokusai stylize`, spawning the real CLI (bin/hokusai.mjs) on the
// published Engstrom "wave" network of the shared data: the same image on the cpu, wasm and webgpu backends, folder
// inputs with broken files, and usage errors. Set HOKUSAI_SKIP_WEBGPU=1 only on machines without Vulkan.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { needs, shared, sharedData } from '../../node/test/shared-data.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'packages/cli/bin/hokusai.mjs');
const WAVE = shared('reference-models/engstrom-wave');
const CHICAGO = join(WAVE, 'samples/chicago.jpg');
const data = needs('hokusai import ml5 and stylize on the Engstrom wave network', sharedData('reference-models/engstrom-wave'));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function hokusai(args: string[], timeoutMs = 400_000): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, HOKUSAI_DEBUG: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`hokusai ${args.join(' ')} timed out; stderr:\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

async function pixels(path: string): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function maxAbsDiff(a: Buffer, b: Buffer): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

let tmp: string;
let ckpt: string;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'hokusai-stylize-cli-'));
  ckpt = join(tmp, 'wave');
  const r = await hokusai(['import', 'ml5', join(WAVE, 'variables'), '--out', ckpt]);
  expect(r.stderr).toContain('imported "engstrom-wave"');
  expect(r.code).toBe(0);
}, 300_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe.runIf(data)('hokusai import ml5', () => {
  it('writes a complete checkpoint with provenance and refuses to overwrite without --force', async () => {
    expect(readdirSync(ckpt).sort()).toEqual(['meta.json', 'model.json', 'weights.bin']);
    const meta = JSON.parse(readFileSync(join(ckpt, 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta.name).toBe('engstrom-wave');
    expect(meta.training).toBeNull();
    expect(meta.source).toMatchObject({ kind: 'ml5', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const again = await hokusai(['import', 'ml5', join(WAVE, 'variables'), '--out', ckpt]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/error \[INVALID_ARGUMENT\]: --out .* --force/);
  }, 300_000);
});

describe.runIf(data)('hokusai stylize', () => {
  it('gives the same image on cpu, wasm and webgpu (≤ 1 grey level)', async () => {
    const backends = process.env.HOKUSAI_SKIP_WEBGPU === '1' ? ['wasm', 'cpu'] : ['wasm', 'cpu', 'webgpu'];
    const outputs: Record<string, { data: Buffer; width: number; height: number }> = {};
    for (const backend of backends) {
      const out = join(tmp, `chicago-${backend}.png`);
      const r = await hokusai(['stylize', '--checkpoint', ckpt, CHICAGO, '--out', out, '--max-size', '256', '--backend', backend]);
      expect(r.stderr).toContain(`backend ${backend}`);
      expect(r.code, r.stderr).toBe(0);
      outputs[backend] = await pixels(out);
    }
    const ref = outputs.wasm as { data: Buffer; width: number; height: number };
    // 712×474 → long edge 256
    expect([ref.width, ref.height]).toEqual([256, 170]);
    const input = await sharp(CHICAGO).resize({ width: 256 }).removeAlpha().raw().toBuffer();
    // the network really changed the picture
    expect(maxAbsDiff(ref.data, input)).toBeGreaterThan(100);
    for (const b of backends.slice(1)) {
      expect(maxAbsDiff((outputs[b] as { data: Buffer }).data, ref.data), `${b} vs wasm`).toBeLessThanOrEqual(1);
    }
  }, 900_000);

  it('stylizes folders recursively, reports broken files by name, writes nothing half-done, exits non-zero', async () => {
    const src = join(tmp, 'photos');
    mkdirSync(join(src, 'sub'), { recursive: true });
    await sharp(CHICAGO).resize({ width: 64 }).jpeg().toFile(join(src, 'a.jpg'));
    await sharp(CHICAGO).resize({ width: 48 }).png().toFile(join(src, 'sub', 'b.png'));
    writeFileSync(join(src, 'bad.jpg'), '<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>');
    const jpg = await sharp(CHICAGO).resize({ width: 64 }).jpeg().toBuffer();
    writeFileSync(join(src, 'cut.jpg'), jpg.subarray(0, jpg.length >> 1));
    writeFileSync(join(src, 'notes.txt'), 'not an image');
    const out = join(tmp, 'styled');
    const r = await hokusai(['stylize', '-c', ckpt, src, '-o', out, '--format', 'webp', '--backend', 'wasm']);
    expect(r.code).toBe(4); // UNSUPPORTED_MEDIA_TYPE / IMAGE_DECODE
    expect(r.stderr).toMatch(/2 of 4 image\(s\) failed/);
    expect(r.stderr).toMatch(/bad\.jpg: \[UNSUPPORTED_MEDIA_TYPE\] .*SVG/);
    expect(r.stderr).toMatch(/cut\.jpg: \[IMAGE_DECODE\]/);
    expect(r.stderr).toContain('skipped 1 file(s)');
    expect(filesUnder(out)).toEqual(['a.webp', join('sub', 'b.webp')]);
    expect((await sharp(join(out, 'sub', 'b.webp')).metadata()).width).toBe(48);
  }, 300_000);

  it('rejects bad command lines (exit 2) and a missing checkpoint (exit 3) before loading anything', async () => {
    const r = await hokusai(['stylize', '-c', ckpt, CHICAGO, CHICAGO, '-o', join(tmp, 'x.png')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^error \[INVALID_ARGUMENT\]: --out .*expected a folder for 2 inputs/m);
    const usage = await hokusai(['stylize', '-c', ckpt, CHICAGO, '-o', join(tmp, 'y.png'), '--strength', '2']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--strength');
    const missing = await hokusai(['stylize', '-c', join(tmp, 'no-such-checkpoint'), CHICAGO, '-o', join(tmp, 'z.png')]);
    expect(missing.code).toBe(3);
    // The NOT_FOUND names the path and lists the checkpoints that do exist (the bundled styles).
    expect(missing.stderr).toMatch(/^error \[NOT_FOUND\]: no checkpoint at '.*no-such-checkpoint'.*bundled styles in .*great-wave/m);
    expect(missing.stderr).not.toContain('    at '); // no stack without HOKUSAI_DEBUG=1
    expect(existsSync(join(tmp, 'x.png')) || existsSync(join(tmp, 'y.png')) || existsSync(join(tmp, 'z.png'))).toBe(false);
  }, 300_000);
});
