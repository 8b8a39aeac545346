// The --preset recipes: every option a preset sets is a `hokusai train` option with a valid value (a misspelt key
// would otherwise be dropped silently by the schema), its painting is in the shared data, and the full-width
// issue-22 recipes are the paper's (full width, batch 4 of 256²) with options the WebGPU engine can train.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { engineSupport, PRESETS, trainSchema } from '../src/index.ts';
import { needs, shared, sharedData } from '../../node/test/shared-data.ts';

const entries = Object.entries(PRESETS);

describe('presets', () => {
  it.each(entries)('%s sets only train options, with valid values', (_name, preset) => {
    const keys = Object.keys(trainSchema.shape);
    expect(Object.keys(preset.options).filter((k) => !keys.includes(k))).toEqual([]);
    const parsed = trainSchema.parse(preset.options);
    for (const [k, v] of Object.entries(preset.options)) expect(parsed[k as keyof typeof parsed]).toEqual(v);
  });

  it.each(entries.filter(([name]) => name.endsWith('-full')))('%s is the paper\'s recipe and runs on the engine', (_name, preset) => {
    const o = trainSchema.parse(preset.options);
    expect([o.width, o.imageSize, o.batchSize, o.iterations, o.lr]).toEqual(['full', 256, 4, 40000, 1e-3]);
    expect(engineSupport(o)).toBeNull();
    expect(o.inputNoise + o.stabilityWeight).toBe(0);
  });

  const paintings = entries.map(([, p]) => `images/styles/${p.style}`);
  describe.runIf(needs('preset paintings', sharedData(...paintings)))('paintings', () => {
    it('every preset painting is in the shared data', () => {
      expect(paintings.filter((p) => !existsSync(shared(p)))).toEqual([]);
    });
  });
});
