// `hokusai optimize` honours every loss option `hokusai train` honours: both commands have every option of
// LOSS_OPTION_KEYS and turn the same values into the same PerceptualLossOptions, and the loss runOptimization
// reports is PerceptualLoss.compute's total for those options — style blur and lattice weight included (they were
// once ignored by optimize). Random VGG19 weights up to relu2_2 and generated images, on wasm; one Adam step.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { LOSS_OPTION_KEYS, lossOptionsOf, PerceptualLoss, type PerceptualLossOptions } from '@hokusai/losses';
import { randomImageData, randomVggWeights } from '../../losses/test/helpers.ts';
import { initialImage, runOptimization, toTensor, type LossTerms, type OptimizeSettings } from '@hokusai/optimize';
import { optimizeSchema, settingsFrom } from '../src/commands/optimize.ts';
import { trainSchema } from '@hokusai/train';
import { initBackend } from '@hokusai/node';

const WEIGHTS = randomVggWeights('vgg19', 7, 'block2_conv2');
const W = 40;
const H = 32;
const content = { data: randomImageData(W * H * 3, 1), width: W, height: H };
const style = { data: randomImageData(W * W * 3, 2), width: W, height: W };

/** Every loss option away from its default, as a command line would give them. */
const LOSS_VALUES = {
  contentLayers: { relu2_2: 2 },
  styleLayers: { relu1_2: 1, relu2_1: 0.5 },
  contentWeight: 3,
  styleWeight: 40,
  tvWeight: 0.25,
  latticeWeight: 5,
  styleBlur: 2,
  pooling: 'avg',
} as const;

const settings = (over: Partial<OptimizeSettings>): OptimizeSettings =>
  settingsFrom(optimizeSchema.parse({ content: 'c.png', style: ['s.png'], optimizer: 'adam', iterations: 1, size: W, scales: 1, init: 'noise', seed: 3, ...over }));

/** The first level's starting loss terms of a run with LOSS_VALUES and `over` (memoised: each run once). */
const runs = new Map<string, Promise<LossTerms>>();
function initialTerms(over: Partial<OptimizeSettings>): Promise<LossTerms> {
  const key = JSON.stringify(over);
  if (!runs.has(key)) {
    const run = async () => {
      const before = tf.memory().numTensors;
      const r = await runOptimization({ weights: WEIGHTS, content, styles: [{ image: style, weight: 1 }], settings: settings({ ...LOSS_VALUES, ...over }) });
      expect(tf.memory().numTensors).toBe(before);
      return r.levels[0]!.initialLoss;
    };
    runs.set(key, run());
  }
  return runs.get(key)!;
}

/** PerceptualLoss.compute's total at the first level's starting pixels, computed here independently of optimize.ts. */
function referenceTotal(opts: PerceptualLossOptions, seed: number): number {
  const loss = PerceptualLoss.fromWeights(WEIGHTS, opts);
  const c = toTensor(content);
  const s = toTensor(style);
  const s3 = tf.squeeze(s, [0]) as tf.Tensor3D;
  loss.setStyle([{ image: s3, weight: 1 }]);
  const value = tf.tidy(() => loss.compute(initialImage('noise', c, s, seed), c).total.dataSync()[0]!);
  tf.dispose([c, s, s3]);
  loss.dispose();
  return value;
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('optimize honours the loss options of train', () => {
  it('both commands take every loss option and map the same values to the same PerceptualLossOptions', () => {
    for (const key of LOSS_OPTION_KEYS) {
      expect(Object.keys(trainSchema.shape), `train --${key}`).toContain(key);
      expect(Object.keys(optimizeSchema.shape), `optimize --${key}`).toContain(key);
    }
    const fromTrain = lossOptionsOf(trainSchema.parse(LOSS_VALUES));
    const fromOptimize = lossOptionsOf(settings(LOSS_VALUES));
    expect(fromOptimize).toEqual(fromTrain);
    expect(fromOptimize).toEqual(LOSS_VALUES);
  });

  it.each([
    ['every option', {}],
    ['no style blur', { styleBlur: 0 }],
    ['no lattice weight', { latticeWeight: 0 }],
    ['max pooling', { pooling: 'max' as const }],
  ])('runOptimization reports PerceptualLoss.compute total (%s)', async (_, over) => {
    const s = settings({ ...LOSS_VALUES, ...over });
    const got = await initialTerms(over);
    expect(got.total / referenceTotal(lossOptionsOf(s), s.seed)).toBeCloseTo(1, 5);
    expect((got.content + got.style + got.tv + got.lattice) / got.total).toBeCloseTo(1, 5);
    expect(got.lattice > 0).toBe(s.latticeWeight > 0);
  });

  it('style blur and lattice weight change the loss optimize reports', async () => {
    const all = await initialTerms({});
    const noBlur = await initialTerms({ styleBlur: 0 });
    const noLattice = await initialTerms({ latticeWeight: 0 });
    expect(Math.abs(all.style / noBlur.style - 1)).toBeGreaterThan(1e-3);
    expect(noBlur.content).toBeCloseTo(all.content, 3);
    expect((all.total - noLattice.total) / all.lattice).toBeCloseTo(1, 3);
    expect(all.lattice).toBeGreaterThan(0);
  });
});
