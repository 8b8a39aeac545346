// ONNX export: the graph built from a checkpoint's weights computes what TransformerNet.apply computes (tfjs wasm),
// within 1 grey level, for both architectures, odd and even sizes; and `exportOnnx` leaks no tensors.
import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import * as ort from 'onnxruntime-node';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { importMl5, type NetConfig } from '@hokusai/model';
import { initBackend } from '@hokusai/node';
import { exportOnnx, ONNX_INPUT, ONNX_OUTPUT } from '../src/onnx-export.ts';
import { imageRangeNet } from '../../serve/test/helpers.ts';
import { needs, shared, sharedData } from '../../node/test/shared-data.ts';

beforeAll(async () => {
  await initBackend('wasm'); // the reference side; far faster than the cpu backend for the real network
});

function randomImage(n: number, h: number, w: number, seed: number): Float32Array {
  let s = seed;
  const out = new Float32Array(n * h * w * 3);
  for (let i = 0; i < out.length; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    // smooth-ish content plus noise, 0–255
    const x = (i / 3) % w;
    out[i] = Math.min(255, Math.max(0, 128 + 80 * Math.sin(x / 5 + (i % 3)) + ((s >>> 16) % 60) - 30));
  }
  return out;
}

async function compare(config: NetConfig, n: number, h: number, w: number, seed: number) {
  const net = imageRangeNet(config, seed);
  try {
    const before = tf.memory().numTensors;
    const bytes = exportOnnx(net);
    expect(tf.memory().numTensors).toBe(before);
    const session = await ort.InferenceSession.create(bytes);
    const input = randomImage(n, h, w, seed + 1);
    const result = await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', input, [n, h, w, 3]) });
    const out = result[ONNX_OUTPUT]!;
    expect(out.dims).toEqual([n, h, w, 3]);
    const expected = tf.tidy(() => tf.clipByValue(net.apply(tf.tensor4d(input, [n, h, w, 3])), 0, 255).dataSync());
    const got = out.data as Float32Array;
    let maxDiff = 0;
    let inRange = 0;
    for (let i = 0; i < got.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
      if (expected[i]! > 0.5 && expected[i]! < 254.5) inRange++;
    }
    await session.release();
    // The comparison means something only if the output is not all clipped to 0 or 255.
    expect(inRange / got.length).toBeGreaterThan(0.2);
    return maxDiff;
  } finally {
    net.dispose();
  }
}

describe('ONNX export', () => {
  const tiny: NetConfig = { arch: 'johnson', channels: [4, 8, 8], residualBlocks: 2 };
  it('Johnson graph matches tfjs within 1 grey level (even, odd, small sizes, batch 2)', async () => {
    for (const [n, h, w] of [[1, 16, 24], [2, 13, 7], [1, 5, 4]] as const) {
      const d = await compare(tiny, n, h, w, 3 + h);
      expect(d, `${n}×${h}×${w}`).toBeLessThan(1);
    }
  });

  it('Johnson graph with input noise carries the same noise field (inside one tile and across tiles)', async () => {
    const noisy: NetConfig = { ...tiny, inputNoise: 20 } as NetConfig;
    for (const [h, w] of [[13, 30], [260, 9]] as const) {
      const d = await compare(noisy, 1, h, w, 11);
      expect(d, `${h}×${w}`).toBeLessThan(1);
    }
  });

  it('Engstrom graph matches tfjs within 1 grey level (multiple of 4 and odd size)', async () => {
    for (const [h, w] of [[16, 12], [19, 14]] as const) {
      const d = await compare({ arch: 'engstrom' }, 1, h, w, 7);
      expect(d, `${h}×${w}`).toBeLessThan(1);
    }
  });
});

const wave = needs('ONNX export of the real Engstrom network', sharedData('reference-models/engstrom-wave'));
describe.runIf(wave)('ONNX export of the real Engstrom "wave" network (shared reference model)', () => {
  const root = shared('reference-models/engstrom-wave');
  const read = (rel: string) => new Uint8Array(readFileSync(join(root, rel)));

  it('matches tfjs within 1 grey level and reproduces the published output (PSNR > 35 dB)', async () => {
    const manifest = JSON.parse(Buffer.from(read('variables/manifest.json')).toString('utf8')) as unknown;
    const net = importMl5({ manifest, read: (f) => read(`variables/${f}`) });
    try {
      const session = await ort.InferenceSession.create(exportOnnx(net));
      const run = async (data: Float32Array, h: number, w: number) =>
        (await session.run({ [ONNX_INPUT]: new ort.Tensor('float32', data, [1, h, w, 3]) }))[ONNX_OUTPUT]!.data as Float32Array;

      // Parity with tfjs on a crop (the tfjs cpu backend is slow at full size).
      const { data: crop } = await sharp(join(root, 'samples/chicago.jpg'))
        .extract({ left: 200, top: 100, width: 96, height: 64 })
        .raw()
        .toBuffer({ resolveWithObject: true });
      const x = Float32Array.from(crop);
      const got = await run(x, 64, 96);
      const expected = tf.tidy(() => tf.clipByValue(net.apply(tf.tensor4d(x, [1, 64, 96, 3])), 0, 255).dataSync());
      let maxDiff = 0;
      for (let i = 0; i < got.length; i++) maxDiff = Math.max(maxDiff, Math.abs(got[i]! - expected[i]!));
      expect(maxDiff).toBeLessThan(1);

      // Full image against lengstrom's published result (rows 2–475 of our 476-row output, see SOURCE.md).
      const content = await sharp(join(root, 'samples/chicago.jpg')).raw().toBuffer({ resolveWithObject: true });
      const { width: w, height: h } = content.info;
      const full = await run(Float32Array.from(content.data), h, w);
      const ref = await sharp(join(root, 'samples/chicago_wave_lengstrom.jpg')).raw().toBuffer();
      let se = 0;
      for (let i = 0; i < full.length; i++) se += (Math.round(full[i]!) - ref[i]!) ** 2;
      const psnr = 10 * Math.log10((255 * 255) / (se / full.length));
      console.log(`wave: ONNX vs tfjs max diff ${maxDiff.toFixed(3)}; vs published output PSNR ${psnr.toFixed(1)} dB`);
      expect(psnr).toBeGreaterThan(35);
      await session.release();
    } finally {
      net.dispose();
    }
  });
});
