// kill -9 at any moment leaves the newest checkpoint loadable: spawn `hokusai train` (real VGG19 weights from
// the shared data, tiny sizes, wasm), SIGKILL it mid-run, load its latest checkpoint, resume with --resume latest, and
// check the final weights equal those of a run never killed. Also --init-from (fine-tuning from a checkpoint).
import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { loadCheckpointDir } from '@hokusai/node';
import { listCheckpoints } from '@hokusai/train';
import { tempDir, makeImages, useCpu } from '../../train/test/train-helpers.ts';
import { needs, shared, sharedData } from '../../node/test/shared-data.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'packages/cli/bin/hokusai.mjs');
const WEIGHTS_FILE = 'weights/vgg19-keras/vgg19_notop.h5';
const WEIGHTS = shared(WEIGHTS_FILE);

function cli(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: string | null; stderr: string }>((res) =>
    child.on('close', (code, signal) => res({ code, signal, stderr })),
  );
  return { child, done };
}

async function finalWeights(dir: string): Promise<Float32Array[]> {
  const { net } = await loadCheckpointDir(dir);
  const out = net.variables.map((v) => v.dataSync() as Float32Array);
  net.dispose();
  return out;
}

/** `train` arguments for a tiny run: `images` generated photos of 24 px, a flat 32 px style of `colour`, VGG19 from ../shared, 16 px crops. */
async function tinyRunArgs(prefix: string, images: number, colour: { r: number; g: number; b: number }): Promise<string[]> {
  const data = await tempDir(`${prefix}-data`);
  await makeImages(data, images, 24);
  const style = join(await tempDir(`${prefix}-style`), 'style.png');
  await sharp({ create: { width: 32, height: 32, channels: 3, background: colour } }).png().toFile(style);
  return [
    'train', '--style', style, '--dataset', data, '--loss-net', 'vgg19', '--weights', WEIGHTS,
    '--image-size', '16', '--style-size', '32', '--content-layers', 'relu1_2=1',
  ];
}

describe.runIf(needs('hokusai train survives kill -9', sharedData(WEIGHTS_FILE)))('hokusai train survives kill -9', () => {
  beforeAll(useCpu);
  it('resumes from the latest checkpoint after SIGKILL and ends with the same weights', { timeout: 600_000 }, async () => {
    const common = [
      ...(await tinyRunArgs('kill', 6, { r: 30, g: 60, b: 200 })), '--style-layers', 'relu1_2=1,relu2_1=1',
      '--width', 'half', '--batch-size', '2', '--iterations', '8', '--checkpoint-every', '1', '--keep', '3',
      '--log-every', '1', '--sample-every', '0', '--validation', '0', '--backend', 'wasm', '--lr', '0.01',
    ];
    const outA = await tempDir('kill-a');
    const a = await cli([...common, '--out', outA]).done;
    expect(a.code, a.stderr).toBe(0);

    const outB = await tempDir('kill-b');
    const b = cli([...common, '--out', outB]);
    let killedAt = -1;
    while (killedAt < 0) {
      await new Promise((r) => setTimeout(r, 50));
      const steps = (await listCheckpoints(outB)).map((c) => c.step);
      if (steps.some((s) => s >= 3)) {
        b.child.kill('SIGKILL');
        killedAt = Math.max(...steps);
      }
      if (b.child.exitCode !== null) break;
    }
    const killed = await b.done;
    expect(killed.signal).toBe('SIGKILL');
    expect(existsSync(join(outB, 'final'))).toBe(false);
    const latest = (await listCheckpoints(outB)).pop()!;
    expect(latest.step).toBeGreaterThanOrEqual(3);
    expect(latest.step).toBeLessThan(8);
    const loaded = await loadCheckpointDir(latest.dir);
    expect(loaded.meta.step).toBe(latest.step);
    expect(loaded.meta.command).toContain('hokusai train');
    loaded.net.dispose();

    // --tv-weight cannot change in a resumed run: it is named as ignored, and the weights below prove it was.
    const resumed = await cli(['train', '--out', outB, '--resume', 'latest', '--backend', 'wasm', '--tv-weight', '5']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resume: ignoring --tv-weight \(a resumed run keeps its saved options/);
    expect(resumed.stderr).toMatch(new RegExp(`resumed from .*checkpoint-${latest.step} at step ${latest.step}`));
    const final = await loadCheckpointDir(join(outB, 'final'));
    final.net.dispose();
    // meta.json keeps the command that started the run (the one to rerun) and lists the resume after it.
    expect(final.meta.command).toBe(loaded.meta.command);
    expect(final.meta.resumedWith).toEqual([`hokusai train --out ${outB} --resume latest --backend wasm --tv-weight 5`]);
    const wa = await finalWeights(join(outA, 'final'));
    const wb = await finalWeights(join(outB, 'final'));
    expect(wb.length).toBe(wa.length);
    wa.forEach((w, i) => expect(Buffer.from(wb[i]!.buffer).equals(Buffer.from(w.buffer))).toBe(true));
  });

  it("--init-from starts from a checkpoint's weights (fine-tuning) and records it; another width is refused", { timeout: 600_000 }, async () => {
    const common = [
      ...(await tinyRunArgs('init', 4, { r: 200, g: 60, b: 30 })), '--style-layers', 'relu1_2=1',
      '--batch-size', '2', '--checkpoint-every', '100', '--log-every', '1', '--sample-every', '0', '--validation', '0', '--backend', 'wasm',
    ];
    const outA = await tempDir('init-a');
    const a = await cli([...common, '--width', 'half', '--iterations', '3', '--lr', '0.01', '--out', outA]).done;
    expect(a.code, a.stderr).toBe(0);
    // One step at a negligible learning rate: the weights stay those of A (a fresh network would differ entirely).
    const outC = await tempDir('init-c');
    const c = await cli([...common, '--width', 'half', '--iterations', '1', '--lr', '1e-9', '--tv-weight', '5', '--pooling', 'avg', '--jitter', '2', '--lattice-weight', '50', '--style-blur', '1', '--input-noise', '6', '--init-from', join(outA, 'final'), '--out', outC]).done;
    expect(c.code, c.stderr).toBe(0);
    expect(c.stderr).toContain(`initialised from ${join(outA, 'final')}`);
    const wa = await finalWeights(join(outA, 'final'));
    const wc = await finalWeights(join(outC, 'final'));
    let maxDiff = 0;
    wa.forEach((w, i) => w.forEach((x, k) => (maxDiff = Math.max(maxDiff, Math.abs(x - wc[i]![k]!)))));
    expect(maxDiff).toBeLessThan(1e-6);
    const fresh = await loadCheckpointDir(join(outA, 'final'));
    const loadedC = await loadCheckpointDir(join(outC, 'final'));
    const metaC = loadedC.meta;
    // The input noise is the new run's option, added to the same weights, and saved with the network.
    expect(loadedC.net.config).toEqual({ arch: 'johnson', channels: [16, 32, 64], residualBlocks: 5, inputNoise: 6 });
    loadedC.net.dispose();
    expect(metaC.initFrom).toEqual({ name: fresh.meta.name, step: 3, command: fresh.meta.command });
    expect(metaC.training).toMatchObject({ tvWeight: 5, pooling: 'avg', jitter: 2, latticeWeight: 50, styleBlur: 1, inputNoise: 6 });
    // The lattice penalty of the outputs is logged with the losses (a figure to watch for the checkerboard).
    const logged = (await readFile(join(outC, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { lattice?: number });
    expect(logged[0]!.lattice).toBeGreaterThanOrEqual(0);
    fresh.net.dispose();
    // A half network cannot start a full one: refused before training, with both architectures named.
    const outD = await tempDir('init-d');
    const d = await cli([...common, '--width', 'full', '--iterations', '1', '--init-from', join(outA, 'final'), '--out', outD]).done;
    expect(d.code).not.toBe(0);
    expect(d.stderr).toContain(`--init-from ${join(outA, 'final')}: expected a network like --width full builds ({"arch":"johnson","channels":[32,64,128],"residualBlocks":5}), got {"arch":"johnson","channels":[16,32,64],"residualBlocks":5}`);
    expect(existsSync(join(outD, 'final'))).toBe(false);
    // A jitter that would crop away more than half of each training crop is refused up front.
    const e = await cli([...common, '--width', 'half', '--iterations', '1', '--jitter', '9', '--out', outD]).done;
    expect(e.code).not.toBe(0);
    expect(e.stderr).toContain('--jitter: expected at most half of --image-size (8 px), got 9');
    // Sub-pixel stability shifts need a shift range to draw from.
    const f = await cli([...common, '--width', 'half', '--iterations', '1', '--stability-weight', '10', '--stability-subpixel', '--out', outD]).done;
    expect(f.code).not.toBe(0);
    expect(f.stderr).toContain('--stability-subpixel: expected a --stability-shift of at least 1 px to draw sub-pixel shifts from, got 0');
    // A stability margin that would leave too little of the compared window is refused too.
    const g = await cli([...common, '--width', 'half', '--iterations', '1', '--stability-weight', '10', '--stability-shift', '4', '--stability-margin', '4', '--out', outD]).done;
    expect(g.code).not.toBe(0);
    expect(g.stderr).toContain('--stability-margin: expected at most a quarter of the compared 12 px window (--image-size less the shift), got 4');
    // …and a margin with no shift, which would leave nothing shifted to leave out.
    const h = await cli([...common, '--width', 'half', '--iterations', '1', '--stability-weight', '10', '--stability-margin', '2', '--out', outD]).done;
    expect(h.code).not.toBe(0);
    expect(h.stderr).toContain("--stability-margin: expected a --stability-shift of at least 1 px (the margin leaves the shifted window's borders out), got --stability-margin 2 with no shift");
    expect(existsSync(join(outD, 'final'))).toBe(false);
  });

  it('refuses a --style-size whose loss-network pass cannot fit wasm\'s 4 GiB, naming the largest that fits', { timeout: 120_000 }, async () => {
    const common = await tinyRunArgs('style-mem', 3, { r: 90, g: 20, b: 140 });
    const big = join(await tempDir('style-mem-big'), 'painting.png');
    await sharp({ create: { width: 800, height: 500, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toFile(big);
    common[common.indexOf('--style') + 1] = big;
    const args = [...common, '--style-layers', 'relu1_2=1,relu4_3=1', '--iterations', '1', '--validation', '0', '--backend', 'wasm'];
    const out = await tempDir('style-mem-out');
    // upscaled to 2400×1500: VGG19 features to relu4_3 need ~7.7 GiB
    const r = await cli([...args, '--style-size', '2400', '--out', out]).done;
    expect(r.code).toBe(8); // OUT_OF_MEMORY
    expect(r.stderr).toMatch(/--style .*painting\.png at --style-size 2400 \(2400×1500\) does not fit in memory: its loss-network features need about [\d.]+ GiB but wasm has [\d.]+ GiB\. Expected --style-size ≤ (\d+) on wasm/);
    const largest = Number(/--style-size ≤ (\d+)/.exec(r.stderr)![1]);
    expect(largest).toBeGreaterThan(512); // 1149 here (4 GiB); less on a machine with under 5 GiB of memory
    expect(largest).toBeLessThan(2400);
    expect(existsSync(join(out, 'final'))).toBe(false);
  });
});
