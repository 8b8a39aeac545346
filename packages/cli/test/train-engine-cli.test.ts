// `hokusai train --engine gpu --backend webgpu` on lavapipe (or any Vulkan adapter): a tiny run (half net, 16 px
// crops, 3 steps, generated photos, real VGG19 from the shared data) writes resumable checkpoints (the tfjs path's
// format), samples, metrics.jsonl lines with finite losses (the first equal to the tfjs path's, which --engine auto
// picks on the cpu backend) and a final model whose meta.json records engine 'gpu'; --resume latest continues it on
// the engine, and a tfjs run's checkpoint resumes on the engine; an option the engine does not implement
// (--style-blur) is refused with the reason.
import { describe, it, expect, beforeAll } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { loadCheckpointDir, probeWebGpu } from '@hokusai/node';
import { listCheckpoints } from '@hokusai/train';
import { tempDir, makeImages, useCpu } from '../../train/test/train-helpers.ts';
import { needs, shared, sharedData, type Requirement } from '../../node/test/shared-data.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'packages/cli/bin/hokusai.mjs');
const WEIGHTS_FILE = 'weights/vgg19-keras/vgg19_notop.h5';
/** A WebGPU adapter (lavapipe here): without one the run cannot start (skipped with the reason; under CI a failure). */
const WEBGPU: Requirement = { what: 'a WebGPU adapter', missing: await probeWebGpu().then(() => null, (e: unknown) => (e instanceof Error ? e.message : String(e))) };

function cli(args: string[]): { code: number | null; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, stderr: r.stderr };
}

async function weightsIn(dir: string): Promise<number[]> {
  const { net } = await loadCheckpointDir(dir);
  const out = net.variables.flatMap((v) => Array.from(v.dataSync()));
  net.dispose();
  return out;
}

async function tinyArgs(): Promise<string[]> {
  const data = await tempDir('engine-cli-data');
  await makeImages(data, 6, 24);
  const style = join(await tempDir('engine-cli-style'), 'style.png');
  await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 200, g: 60, b: 30 } } }).png().toFile(style);
  return [
    'train', '--style', style, '--dataset', data, '--loss-net', 'vgg19', '--weights', shared(WEIGHTS_FILE),
    '--image-size', '16', '--style-size', '32', '--content-layers', 'relu1_2=1', '--style-layers', 'relu1_2=1,relu2_1=1',
    '--width', 'half', '--batch-size', '2', '--iterations', '3', '--checkpoint-every', '1', '--keep', '2', '--log-every', '1',
    '--sample-every', '0', '--validation', '0', '--backend', 'webgpu', '--engine', 'gpu',
  ];
}

describe.runIf(needs('hokusai train --engine gpu', sharedData(WEIGHTS_FILE), WEBGPU))('hokusai train --engine gpu', () => {
  beforeAll(useCpu);
  it('trains on the engine: checkpoints, finite metrics, meta.json engine gpu', { timeout: 600_000 }, async () => {
    const out = await tempDir('engine-cli-out');
    const r = cli([...(await tinyArgs()), '--sample-every', '3', '--sample-size', '24', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('engine: gpu (--engine gpu, on ');
    expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([2, 3]); // trainer state + Adam: resumable
    expect(existsSync(join(out, 'samples'))).toBe(true);
    expect((await readdir(join(out, 'samples'))).filter((f) => f.startsWith('step-3-')).length).toBeGreaterThan(0);
    // The checkpoints hold the engine's weights: loadable, finite, and changed by the third step.
    const w2 = await weightsIn(join(out, 'checkpoint-2'));
    const w3 = await weightsIn(join(out, 'checkpoint-3'));
    expect(w3.every(Number.isFinite)).toBe(true);
    expect(w3.some((v, i) => v !== w2[i])).toBe(true);
    const lines = (await readFile(join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const steps = lines.filter((l) => typeof l['step'] === 'number' && typeof l['total'] === 'number');
    expect(steps.map((l) => l['step'])).toEqual([1, 2, 3]);
    for (const l of steps) expect(Number.isFinite(l['total'] as number) && (l['total'] as number) > 0).toBe(true);
    expect(existsSync(join(out, 'final', 'meta.json'))).toBe(true);
    const meta = JSON.parse(await readFile(join(out, 'final', 'meta.json'), 'utf8')) as Record<string, unknown>;
    expect(meta['engine']).toBe('gpu');
    expect(meta['step']).toBe(3);
    // Same seed, data and initial weights: the first step's loss equals the tfjs path's (cpu backend).
    const ref = await tempDir('engine-cli-tfjs');
    const args = (await tinyArgs()).map((x) => (x === 'gpu' ? 'auto' : x === 'webgpu' ? 'cpu' : x));
    const t = cli([...args, '--iterations', '1', '--out', ref]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stderr).toContain('engine: tfjs (backend cpu (the engine runs with --backend webgpu))');
    const first = JSON.parse((await readFile(join(ref, 'metrics.jsonl'), 'utf8')).trim().split('\n').find((l) => l.includes('"total"'))!) as { total: number };
    expect(Math.abs((steps[0]!['total'] as number) - first.total) / first.total).toBeLessThan(1e-3);
    // The tfjs run's checkpoint resumes on the engine; the engine run resumes on the engine (exactness: train's
    // train-engine-run.test.ts).
    const fromTfjs = cli(['train', '--out', ref, '--resume', 'latest', '--iterations', '2', '--backend', 'webgpu', '--engine', 'gpu']);
    expect(fromTfjs.code, fromTfjs.stderr).toBe(0);
    expect(fromTfjs.stderr).toMatch(/resumed from .*checkpoint-1 at step 1/);
    expect(JSON.parse(await readFile(join(ref, 'final', 'meta.json'), 'utf8'))).toMatchObject({ step: 2, engine: 'gpu' });
    const more = cli(['train', '--out', out, '--resume', 'latest', '--iterations', '4', '--backend', 'webgpu', '--engine', 'gpu']);
    expect(more.code, more.stderr).toBe(0);
    expect(more.stderr).toMatch(/resumed from .*checkpoint-3 at step 3/);
    expect((await listCheckpoints(out)).map((c) => c.step)).toEqual([3, 4]);
  });

  it('stops with DIVERGED before a non-finite loss reaches a checkpoint', { timeout: 300_000 }, async () => {
    const out = await tempDir('engine-cli-diverged');
    const r = cli([...(await tinyArgs()), '--lr', '1e30', '--checkpoint-every', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(10);
    expect(r.stderr).toMatch(/--engine gpu: the loss is (NaN|Infinity|-Infinity) at step \d/);
    for (const c of await listCheckpoints(out, 'meta.json')) {
      expect((await weightsIn(c.dir)).every(Number.isFinite)).toBe(true);
    }
  });

  it('refuses --engine gpu with an option the engine does not implement, saying why', { timeout: 120_000 }, async () => {
    const out = await tempDir('engine-cli-refused');
    const r = cli([...(await tinyArgs()), '--style-blur', '1', '--out', out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('--engine gpu: --style-blur 1 is not implemented by the engine');
  });
});
