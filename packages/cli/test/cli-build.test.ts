// The CLI bundle (tools/build-cli.mjs): its freshness record catches every kind of source change; a bundle built
// here answers --help, stylises and fails exactly as the sources do (run through tsx); and a stale bundle is
// rebuilt before the bin would run it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
// @ts-expect-error: a plain ES module script without type declarations
import * as build from '../../../tools/build-cli.mjs';

interface BuildModule {
  BUNDLE: string;
  hashInputs(root: string, inputs: string[]): string | null;
  readBuildRecord(file: string): { hash: string; inputs: string[] } | null;
  isBuildFresh(root?: string, file?: string): boolean;
  ensureBuilt(root?: string, file?: string): Promise<boolean>;
  buildCli(opts?: { root?: string; outFile?: string }): Promise<{ file: string; bytes: number; sources: number }>;
}
const { BUNDLE, buildCli, ensureBuilt, hashInputs, isBuildFresh, readBuildRecord } = build as BuildModule;

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'packages/cli/bin/hokusai.mjs');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, HOKUSAI_DEBUG: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('build record', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'hokusai-build-record-'));
    mkdirSync(join(root, 'src'));
    writeFileSync(join(root, 'src/a.ts'), 'export const a = 1;\n');
    writeFileSync(join(root, 'src/b.ts'), 'export const b = 2;\n');
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3}\n');
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A fake bundle whose first line records the current hash of `inputs`. */
  function stamp(inputs: string[]): string {
    const file = join(root, 'bundle.mjs');
    writeFileSync(file, `// hokusai-build ${JSON.stringify({ hash: hashInputs(root, inputs), inputs })}\nconsole.log(1);\n`);
    return file;
  }

  it('is fresh until an input changes, vanishes, or the lock file changes; only inputs count', () => {
    const inputs = ['src/a.ts', 'src/b.ts'];
    const file = stamp(inputs);
    expect(readBuildRecord(file)?.inputs).toEqual(inputs);
    expect(isBuildFresh(root, file)).toBe(true);
    writeFileSync(join(root, 'src/unrelated.ts'), 'export {};\n'); // not an input
    expect(isBuildFresh(root, file)).toBe(true);
    writeFileSync(join(root, 'src/a.ts'), 'export const a = 3;\n'); // same size, new content
    expect(isBuildFresh(root, file)).toBe(false);
    stamp(inputs);
    expect(isBuildFresh(root, file)).toBe(true);
    renameSync(join(root, 'src/b.ts'), join(root, 'src/c.ts'));
    expect(isBuildFresh(root, file)).toBe(false);
    renameSync(join(root, 'src/c.ts'), join(root, 'src/b.ts'));
    expect(isBuildFresh(root, file)).toBe(true);
    writeFileSync(join(root, 'package-lock.json'), '{"lockfileVersion":3,"x":1}\n');
    expect(isBuildFresh(root, file)).toBe(false);
  });

  it('a missing file, or one without a record, is never fresh', () => {
    expect(isBuildFresh(root, join(root, 'no-such.mjs'))).toBe(false);
    writeFileSync(join(root, 'plain.mjs'), 'console.log(1);\n');
    expect(readBuildRecord(join(root, 'plain.mjs'))).toBeNull();
    expect(isBuildFresh(root, join(root, 'plain.mjs'))).toBe(false);
  });
});

describe('built CLI against the sources', () => {
  // Inside the repository (externals resolve from node_modules); not the bin's own bundle, which others may be using.
  const dir = join(ROOT, 'packages/cli/dist', `test-${process.pid}`);
  const bundle = join(dir, 'hokusai.mjs');
  let tmp: string;
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'hokusai-build-'));
    const built = await buildCli({ outFile: bundle });
    expect(built.sources).toBeGreaterThan(50);
    await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 120, b: 40 } } })
      .composite([{ input: { create: { width: 16, height: 16, channels: 3, background: { r: 20, g: 60, b: 220 } } }, left: 8, top: 8 }])
      .png()
      .toFile(join(tmp, 'in.png'));
  }, 120_000);
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  });

  it('records itself as fresh', () => {
    expect(isBuildFresh(ROOT, bundle)).toBe(true);
  });

  it('gives the same --help, stylised image and errors as the sources', async () => {
    const input = join(tmp, 'in.png');
    const stylize = (out: string) => ['stylize', '-c', 'checkpoints/great-wave', input, '-o', join(tmp, out)];
    const missing = ['stylize', '-c', join(tmp, 'no-such-checkpoint'), input, '-o', join(tmp, 'x.png')];
    // each command once from source (tsx, through the bin) and once from the bundle, all at once
    const runs = [['--help'], stylize('source.png'), missing].flatMap((args) => [
      node([BIN, ...args], { HOKUSAI_FROM_SOURCE: '1' }),
      node([bundle, ...args.map((a) => (a.endsWith('source.png') ? join(tmp, 'bundle.png') : a))]),
    ]);
    const [helpA, helpB, styleA, styleB, errorA, errorB] = (await Promise.all(runs)) as [Result, Result, Result, Result, Result, Result];
    expect(helpB.code).toBe(0);
    expect(helpB.stdout).toContain('Usage: hokusai');
    expect(helpB).toEqual(helpA);
    expect(styleA.code, styleA.stderr).toBe(0);
    expect(styleB.code, styleB.stderr).toBe(0);
    expect(styleB.stderr.replace(/\d+ ms/, '')).toBe(styleA.stderr.replace(/\d+ ms/, '').replace('source.png', 'bundle.png'));
    const [pa, pb] = await Promise.all(['source.png', 'bundle.png'].map((f) => sharp(join(tmp, f)).raw().toBuffer()));
    expect(pb!.equals(pa!)).toBe(true);
    expect(errorB.code).toBe(3);
    expect(errorB).toEqual(errorA);
  }, 300_000);
});

describe('stale builds', () => {
  // A bundle of our own (the bin's real one may be in use by other processes at this moment).
  const dir = join(ROOT, 'packages/cli/dist', `stale-${process.pid}`);
  const file = join(dir, 'hokusai.mjs');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('ensureBuilt (what the bin runs first) rebuilds a stale bundle instead of letting it run', async () => {
    const record = readBuildRecord(BUNDLE) ?? { inputs: ['packages/cli/src/cli.ts'] };
    mkdirSync(dir, { recursive: true });
    // as after an edit: the record no longer matches the sources
    writeFileSync(file, `// hokusai-build ${JSON.stringify({ hash: 'stale', inputs: record.inputs })}\nprocess.stdout.write('STALE BUILD RAN\\n');\n`);
    expect(isBuildFresh(ROOT, file)).toBe(false);
    expect(await ensureBuilt(ROOT, file)).toBe(true);
    expect(readFileSync(file, 'utf8')).not.toContain('STALE BUILD RAN');
    expect(isBuildFresh(ROOT, file)).toBe(true);
    const r = await node([file, '--help']);
    expect(r.stdout).toContain('Usage: hokusai');
    expect(r.code).toBe(0);
  }, 120_000);

  it('the bin leaves its own bundle fresh and prints nothing but the help', async () => {
    const r = await node([BIN, '--help']);
    expect(r.stdout).toContain('Usage: hokusai');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(readBuildRecord(BUNDLE)).not.toBeNull();
  }, 120_000);
});
