// Engstrom architecture + ml5 import against the published lengstrom outputs (SOURCE.md in
// the shared data's reference-models/engstrom-wave): the imported networks must reproduce chicago_{wave,udnie}_lengstrom.jpg
// at ≥ 38 dB PSNR over the whole 712×474 image (lengstrom's sample = our output with the first 2 rows removed,
// which TransformerNet's Engstrom crop already does).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import sharp from 'sharp';
import { convTranspose3x3Stride2, importMl5, stylizeTensor, TransformerNet } from '@hokusai/model';
import { WeightsError } from '@hokusai/errors';
import { needs, shared, sharedData } from '../../node/test/shared-data.ts';

const REF = shared('reference-models');

function readMl5(style: string): { manifest: unknown; read: (f: string) => Uint8Array } {
  const dir = join(REF, `engstrom-${style}`, 'variables');
  return {
    manifest: JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as unknown,
    read: (f) => new Uint8Array(readFileSync(join(dir, f))),
  };
}

async function decodeJpeg(path: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

function psnr(a: Uint8Array | Float32Array, b: Uint8Array | Float32Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    se += d * d;
  }
  return 10 * Math.log10((255 * 255) / (se / a.length));
}

beforeAll(async () => {
  await tf.setBackend('wasm');
});

const data = needs('Engstrom reference outputs', sharedData('reference-models/engstrom-wave', 'reference-models/engstrom-udnie'));
describe.runIf(data)('Engstrom network imported from ml5', () => {
  for (const style of ['wave', 'udnie']) {
    it(`${style}: reproduces lengstrom's published chicago output at ≥ 38 dB PSNR`, async () => {
      const net = importMl5(readMl5(style));
      expect(net.config).toEqual({ arch: 'engstrom' });
      expect(net.parameterCount()).toBe(1_677_638);
      const content = await decodeJpeg(join(REF, `engstrom-${style}`, 'samples', 'chicago.jpg'));
      const expected = await decodeJpeg(join(REF, `engstrom-${style}`, 'samples', `chicago_${style}_lengstrom.jpg`));
      expect([content.width, content.height]).toEqual([expected.width, expected.height]);
      const before = tf.memory().numTensors;
      const input = tf.tensor3d(content.data, [content.height, content.width, 3], 'int32');
      const out = stylizeTensor(net, input);
      // Round like an 8-bit image before comparing.
      const rounded = tf.round(out);
      const pixels = new Uint8Array(await rounded.data());
      rounded.dispose();
      out.dispose();
      input.dispose();
      expect(tf.memory().numTensors).toBe(before);
      const db = psnr(pixels, expected.data);
      console.log(`${style}: PSNR ${db.toFixed(2)} dB`);
      expect(db).toBeGreaterThanOrEqual(38);
      net.dispose();
    });
  }

  it('rejects a manifest with a wrong shape, a missing variable, a short file, a non-finite value, an unsafe file name', () => {
    const good = readMl5('wave');
    const manifest = good.manifest as Record<string, { filename: string; shape: number[] }>;
    const clone = (): Record<string, { filename: string; shape: number[] }> => structuredClone(manifest);
    const m1 = clone();
    (m1['Variable_3'] as { shape: number[] }).shape = [3, 3, 32, 63];
    expect(() => importMl5({ manifest: m1, read: good.read })).toThrow(/Variable_3.*expected shape \[3,3,32,64\], got \[3,3,32,63\]/);
    const m2 = clone();
    delete m2['Variable_47'];
    expect(() => importMl5({ manifest: m2, read: good.read })).toThrow(/missing Variable_47/);
    expect(() =>
      importMl5({ manifest, read: (f) => (f === 'Variable_1' ? new Uint8Array(12) : good.read(f)) }),
    ).toThrow(/Variable_1.*expected 128 bytes.*got 12/);
    expect(() =>
      importMl5({
        manifest,
        read: (f) => (f === 'Variable_2' ? new Uint8Array(new Float32Array(32).fill(NaN).buffer) : good.read(f)),
      }),
    ).toThrow(WeightsError);
    const m3 = clone();
    (m3['Variable'] as { filename: string }).filename = '../../etc/passwd';
    expect(() => importMl5({ manifest: m3, read: good.read })).toThrow(/'\.\.' segment/);
    expect(() => importMl5({ manifest: 'nope', read: good.read })).toThrow(/ml5 manifest.json/);
  });

  it('Engstrom nets run on any size, output unclamped in tanh range, and do not leak', () => {
    const net = TransformerNet.create({ arch: 'engstrom' }, 3);
    const before = tf.memory().numTensors;
    for (const [h, w] of [
      [1, 1],
      [13, 6],
    ] as const) {
      const x = tf.fill([1, h, w, 3], 100) as tf.Tensor4D;
      const y = net.apply(x);
      x.dispose();
      expect(y.shape).toEqual([1, h, w, 3]);
      const v = y.dataSync();
      expect(Math.min(...v)).toBeGreaterThanOrEqual(-22.5);
      expect(Math.max(...v)).toBeLessThanOrEqual(277.5);
      y.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    net.dispose();
  });
});

describe('convTranspose3x3Stride2', () => {
  it("equals tf.conv2dTranspose(…, 2, 'same') (odd and even sizes) and has its gradient", async () => {
    const prev = tf.getBackend();
    await import('@tensorflow/tfjs-backend-cpu');
    await tf.setBackend('cpu');
    for (const [h, w] of [
      [3, 4],
      [5, 5],
    ] as const) {
      const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', h) as tf.Tensor4D;
      const k = tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', w) as tf.Tensor4D;
      const ours = convTranspose3x3Stride2(x, k);
      const ref = tf.conv2dTranspose(x, k, [2, 2 * h, 2 * w, 2], 2, 'same');
      expect(ours.shape).toEqual(ref.shape);
      const d = tf.max(tf.abs(tf.sub(ours, ref))).dataSync()[0]!;
      expect(d).toBeLessThan(1e-5);
      const up = tf.randomNormal(ref.shape, 0, 1, 'float32', 7);
      const [gx1, gk1] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(convTranspose3x3Stride2(a as tf.Tensor4D, b as tf.Tensor4D), up)))([x, k]);
      const [gx2, gk2] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 2 * h, 2 * w, 2], 2, 'same'), up)),
      )([x, k]);
      expect(tf.max(tf.abs(tf.sub(gx1!, gx2!))).dataSync()[0]!).toBeLessThan(1e-4);
      expect(tf.max(tf.abs(tf.sub(gk1!, gk2!))).dataSync()[0]!).toBeLessThan(1e-4);
      tf.dispose([x, k, ours, ref, up, gx1!, gk1!, gx2!, gk2!]);
    }
    await tf.setBackend(prev);
  });
});
