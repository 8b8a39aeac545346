// Independent reference: per-layer VGG19 content/style losses, TV and feature statistics computed by
// tools/make_loss_fixtures.py (PyTorch float64 + h5py, on the same .h5 and PNG crops) must match ours to 1e-3
// relative, on the wasm backend and on webgpu (Dawn; here on a software adapter).
import { beforeAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@hokusai/node';
import { contentLoss, gram, readKerasVggH5, styleLossFromGrams, totalVariation, Vgg, VGG_LAYERS, type VggWeights } from '../src/index.ts';
import { VGG19_H5, VGG19_WEIGHTS } from './helpers.ts';
import { needs, shared, sharedData } from '../../node/test/shared-data.ts';

interface Stats {
  mean: number;
  std: number;
  max: number;
}
interface PoolingFixture {
  content: Record<string, number>;
  style: Record<string, number>;
  features: Record<string, Stats>;
}
interface Fixture {
  size: { width: number; height: number };
  crops: Record<'content' | 'image' | 'style', { file: string; left: number; top: number }>;
  pixelSums: Record<'content' | 'image' | 'style', number>;
  tv: number;
  max: PoolingFixture;
  avg: PoolingFixture;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/vgg19-losses.json', import.meta.url), 'utf8')) as Fixture;
let weights: VggWeights;
const pixels: Partial<Record<'content' | 'image' | 'style', Float32Array>> = {};

beforeAll(async () => {
  weights = await readKerasVggH5(readFileSync(VGG19_H5), 'vgg19');
  const sharp = (await import('sharp')).default;
  const { width, height } = fixture.size;
  for (const role of ['content', 'image', 'style'] as const) {
    const c = fixture.crops[role];
    const raw = await sharp(shared(c.file)).removeAlpha().extract({ left: c.left, top: c.top, width, height }).raw().toBuffer();
    pixels[role] = Float32Array.from(raw);
  }
});

function rel(got: number, want: number): number {
  return Math.abs(got - want) / Math.max(Math.abs(want), 1e-12);
}

async function compareOn(backend: 'wasm' | 'webgpu', poolings: ('max' | 'avg')[]): Promise<void> {
  const info = await initBackend(backend);
  expect(info.name).toBe(backend);
  const { width, height } = fixture.size;
  const t = (role: 'content' | 'image' | 'style') => tf.tensor4d(pixels[role]!, [1, height, width, 3]);
  const layers = [...VGG_LAYERS.vgg19];
  const worst: [string, number][] = [];
  for (const pooling of poolings) {
    const vgg = Vgg.create(weights, { layers, pooling });
    const ref = fixture[pooling];
    // Async reads only: webgpu in Node has no dataSync.
    const { scalars, feats } = tf.tidy(() => {
      const y = t('image');
      const fy = vgg.features(y);
      const fc = vgg.features(t('content'));
      const fs = vgg.features(t('style'));
      const scalars: Record<string, tf.Scalar> = { tv: totalVariation(y) };
      for (const l of layers) {
        scalars[`content ${l}`] = contentLoss(fy[l]!, fc[l]!);
        scalars[`style ${l}`] = styleLossFromGrams(gram(fy[l]!), tf.squeeze(gram(fs[l]!), [0]) as tf.Tensor2D);
      }
      return { scalars, feats: fy };
    });
    const got: Record<string, number> = {};
    for (const [k, v] of Object.entries(scalars)) got[k] = (await v.data())[0]!;
    for (const l of layers) {
      // Statistics in float64 here: they check the features, not tfjs' float32 reductions.
      const d = await feats[l]!.data();
      let sum = 0;
      let max = -Infinity;
      for (const v of d) {
        sum += v;
        if (v > max) max = v;
      }
      const mean = sum / d.length;
      let ss = 0;
      for (const v of d) ss += (v - mean) ** 2;
      got[`mean ${l}`] = mean;
      got[`std ${l}`] = Math.sqrt(ss / d.length);
      got[`max ${l}`] = max;
    }
    tf.dispose([scalars, feats] as unknown as tf.TensorContainer);
    vgg.dispose();
    const want: Record<string, number> = { tv: fixture.tv };
    for (const l of layers) {
      want[`content ${l}`] = ref.content[l]!;
      want[`style ${l}`] = ref.style[l]!;
      want[`mean ${l}`] = ref.features[l]!.mean;
      want[`std ${l}`] = ref.features[l]!.std;
      want[`max ${l}`] = ref.features[l]!.max;
    }
    for (const [k, v] of Object.entries(want)) worst.push([`${pooling} ${k}`, rel(got[k]!, v)]);
  }
  worst.sort((a, b) => b[1] - a[1]);
  if (process.env.HOKUSAI_DEBUG) console.log(backend, worst.slice(0, 5));
  const bad = worst.filter(([, r]) => !(r < 1e-3));
  expect(bad, `${backend}: quantities off by more than 1e-3 relative`).toEqual([]);
}

const data = needs('VGG19 losses against PyTorch', VGG19_WEIGHTS, sharedData('images'));
describe.runIf(data)('VGG19 losses match the PyTorch reference (tools/make_loss_fixtures.py)', () => {
  test('the PNG crops decode to the same pixels as in Python', () => {
    for (const role of ['content', 'image', 'style'] as const) {
      expect(pixels[role]!.reduce((a, b) => a + b, 0)).toBe(fixture.pixelSums[role]);
    }
  });

  test('wasm backend, max and average pooling', () => compareOn('wasm', ['max', 'avg']));

  // Max pooling only: a software WebGPU adapter (lavapipe) is slow.
  test('webgpu backend (Dawn), max pooling', () => compareOn('webgpu', ['max']), 300_000);
});
