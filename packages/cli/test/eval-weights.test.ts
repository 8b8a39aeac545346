// `hokusai eval` and `hokusai weights` command modules: run through their zod schemas with a captured context, on
// images generated here and the shared VGG19 weights (temporary cache directory).
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { resolveOptions, type CommandContext, type CommandSpec } from '../src/command.ts';
import { commands as evalCommands, runEval, evalSchema } from '../src/commands/eval.ts';
import { commands as weightsCommands } from '../src/commands/weights.ts';
import { needs, shared, sharedData } from '../../node/test/shared-data.ts';

const H5 = shared('weights/vgg19-keras/vgg19_notop.h5');
const data = needs('hokusai eval and weights on the real VGG19 file', sharedData('weights/vgg19-keras/vgg19_notop.h5'));
let dir = '';
let cacheDir = '';

function ctx(): CommandContext & { outText: () => string; logText: () => string } {
  const out: string[] = [];
  const log: string[] = [];
  return {
    out: (t) => out.push(t),
    log: (l) => log.push(l),
    signal: new AbortController().signal,
    outText: () => out.join(''),
    logText: () => log.join('\n'),
  };
}

async function png(path: string, w: number, h: number, seed: number): Promise<void> {
  const data = Buffer.alloc(w * h * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.sin(i * 0.37 + seed) * 0.5 + 0.5) * 255 * ((i % 3) / 3 + 0.3);
  await sharp(data, { raw: { width: w, height: h, channels: 3 } }).png().toFile(path);
}

function command(list: CommandSpec[], name: string): CommandSpec {
  const c = list.find((s) => s.name === name);
  if (!c) throw new Error(`no command ${name}`);
  return c;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'hokusai-eval-'));
  cacheDir = join(dir, 'cache');
  await png(join(dir, 'content.png'), 40, 32, 1);
  await png(join(dir, 'other.png'), 40, 32, 2);
  await png(join(dir, 'small.png'), 20, 16, 3);
  await png(join(dir, 'style.png'), 48, 48, 4);
  writeFileSync(join(dir, 'notes.png'), 'this is not an image');
  const { readFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'truncated.png'), readFileSync(join(dir, 'content.png')).subarray(0, 120));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const base = () => ({
  style: [join(dir, 'style.png')],
  content: join(dir, 'content.png'),
  lossNet: 'vgg19',
  weights: H5,
  cacheDir,
  backend: 'wasm',
});

describe.runIf(data)('hokusai eval', () => {
  test('image = content: content losses exactly 0, style losses > 0, JSON on stdout', async () => {
    expect(command(evalCommands, 'eval').schema).toBe(evalSchema);
    const c = ctx();
    const opts = resolveOptions(evalSchema, { ...base(), image: join(dir, 'content.png'), json: true });
    const r = await runEval(opts, c);
    const before = tf.memory().numTensors; // after a first run: the backend makes its own tensors on first use
    await runEval(opts, ctx());
    expect(tf.memory().numTensors).toBe(before);
    const printed = JSON.parse(c.outText()) as typeof r;
    expect(printed).toEqual(r);
    expect(printed.content).toEqual({ relu2_2: 0 });
    expect(Object.keys(printed.style)).toEqual(['relu1_2', 'relu2_2', 'relu3_3', 'relu4_3']);
    for (const v of Object.values(printed.style)) expect(v).toBeGreaterThan(0);
    expect(printed.tv).toBeGreaterThan(0);
    expect(printed.lattice).toBeGreaterThanOrEqual(0);
    expect([printed.width, printed.height]).toEqual([40, 32]);
    expect(printed.officialWeights).toBe(false);
    expect(c.logText()).toMatch(/not the official Keras file/);
  });

  test('another image: content > 0; other layers; sizes must match unless --size', async () => {
    const c = ctx();
    const r = await runEval(
      resolveOptions(evalSchema, { ...base(), image: join(dir, 'other.png'), contentLayers: ['relu1_1', 'relu3_1'], styleLayers: ['relu5_4'] }),
      c,
    );
    expect(r.content['relu1_1']).toBeGreaterThan(0);
    expect(r.content['relu3_1']).toBeGreaterThan(0);
    expect(Object.keys(r.style)).toEqual(['relu5_4']);
    expect(c.outText()).toMatch(/content relu1_1/);
    await expect(runEval(resolveOptions(evalSchema, { ...base(), image: join(dir, 'small.png') }), ctx())).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/40×32\), got 20×16.*--size/),
    });
    const sized = await runEval(resolveOptions(evalSchema, { ...base(), image: join(dir, 'small.png'), size: 24 }), ctx());
    expect([sized.width, sized.height]).toEqual([24, 19]);
  });

  test('--style-size: the style image resized as the trainer does (longer side), equal to a pre-resized file', async () => {
    // The trainer's resize (sharp, lanczos3, fit inside): the 48×48 style at 24 px, written losslessly.
    await sharp(join(dir, 'style.png')).resize({ width: 24, height: 24, fit: 'inside', kernel: 'lanczos3' }).png().toFile(join(dir, 'style24.png'));
    const image = join(dir, 'other.png');
    const sized = await runEval(resolveOptions(evalSchema, { ...base(), image, styleSize: 24 }), ctx());
    const pre = await runEval(resolveOptions(evalSchema, { ...base(), image, style: [join(dir, 'style24.png')] }), ctx());
    const full = await runEval(resolveOptions(evalSchema, { ...base(), image }), ctx());
    for (const [layer, v] of Object.entries(pre.style)) {
      expect(Math.abs(sized.style[layer]! - v) / v).toBeLessThan(1e-4);
      expect(Math.abs(full.style[layer]! - v) / v).toBeGreaterThan(1e-3); // the size does change the target
    }
    await expect(runEval(resolveOptions(evalSchema, { ...base(), image, styleSize: 24, styleScale: 0.5 }), ctx())).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/--style-size and --style-scale: expected one of them, got both \(24, 0\.5\)/),
    });
  });

  test('a --style-size whose Gram pass cannot fit wasm is refused before the weights load, naming the largest that fits', async () => {
    // The 48×48 style upscaled to 3000×3000: VGG19 to relu4_1 needs far more than wasm's 4 GiB.
    await expect(runEval(resolveOptions(evalSchema, { ...base(), image: join(dir, 'other.png'), styleSize: 3000 }), ctx())).rejects.toMatchObject({
      code: 'OUT_OF_MEMORY',
      message: expect.stringMatching(/--style .*style\.png at --style-size 3000 \(3000×3000\) does not fit in memory: .* but wasm has [\d.]+ GiB\. Expected --style-size ≤ \d{3,4} on wasm/),
    });
  });

  test('errors: unknown layer, non-image file, corrupt image', async () => {
    await expect(
      runEval(resolveOptions(evalSchema, { ...base(), image: join(dir, 'content.png'), styleLayers: ['relu9_9'] }), ctx()),
    ).rejects.toMatchObject({ code: 'LAYER_UNKNOWN' });
    await expect(runEval(resolveOptions(evalSchema, { ...base(), image: join(dir, 'notes.png') }), ctx())).rejects.toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: expect.stringMatching(/--image .*notes\.png/),
    });
    await expect(runEval(resolveOptions(evalSchema, { ...base(), image: join(dir, 'truncated.png') }), ctx())).rejects.toMatchObject({
      code: 'IMAGE_DECODE',
    });
  });
});

describe.runIf(data)('hokusai weights', () => {
  test('list, import (non-official file accepted with a warning), list again', async () => {
    const cache = join(dir, 'wcache');
    const list = command(weightsCommands, 'weights list');
    const imp = command(weightsCommands, 'weights import');
    let c = ctx();
    await list.run(resolveOptions(list.schema, { cacheDir: cache }), c);
    expect(c.outText()).toMatch(/no weights.*hokusai weights fetch.*hokusai weights import/);
    c = ctx();
    await imp.run(resolveOptions(imp.schema, { file: H5, cacheDir: cache }), c);
    expect(c.logText()).toMatch(/warning: .*not the official Keras file/);
    c = ctx();
    await list.run(resolveOptions(list.schema, { cacheDir: cache, json: true }), c);
    const entries = JSON.parse(c.outText()) as { net: string; official: boolean }[];
    expect(entries.map((e) => [e.net, e.official])).toEqual([['vgg19', false]]);
  });

  test('fetch offline: NETWORK_UNAVAILABLE with the URL and the import command', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/vgg16.h5`;
    await new Promise((r) => closed.close(r));
    const fetchCmd = command(weightsCommands, 'weights fetch');
    await expect(fetchCmd.run(resolveOptions(fetchCmd.schema, { net: 'vgg16', cacheDir: join(dir, 'fcache'), url }), ctx())).rejects.toMatchObject({
      code: 'NETWORK_UNAVAILABLE',
      message: expect.stringMatching(/127\.0\.0\.1[\s\S]*hokusai weights import/),
    });
  });
});
