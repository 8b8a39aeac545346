// Converted weights format: float32 round trip is exact, float16 within half-precision rounding, and a damaged
// manifest or binary is a clear WEIGHTS_INVALID.
import { describe, expect, test } from 'vitest';
import { parseVggWeights, serializeVggWeights } from '../src/index.ts';
import { randomVggWeights } from './helpers.ts';

const w = randomVggWeights('vgg19', 9, 'block2_conv2');

describe('converted VGG weights', () => {
  test('float32 round trip is exact; metadata kept', () => {
    const { manifestJson, weightsBin } = serializeVggWeights({ ...w, sha256: 'ab'.repeat(32), official: false });
    expect(weightsBin.length).toBe(4 * [...w.layers.values()].reduce((n, l) => n + l.kernel.length + l.bias.length, 0));
    const back = parseVggWeights(manifestJson, weightsBin);
    expect(back.net).toBe('vgg19');
    expect(back.sha256).toBe('ab'.repeat(32));
    expect(back.official).toBe(false);
    expect([...back.layers.keys()]).toEqual([...w.layers.keys()]);
    for (const [name, l] of w.layers) {
      const b = back.layers.get(name)!;
      expect(b.kernel.every((v, i) => v === l.kernel[i]), name).toBe(true);
      expect(b.bias.every((v, i) => v === l.bias[i]), name).toBe(true);
    }
  });

  test('float16: half the bytes, values within 2^-11 relative (or 2^-24 absolute)', () => {
    const { manifestJson, weightsBin } = serializeVggWeights(w, { float16: true });
    const back = parseVggWeights(JSON.parse(manifestJson), weightsBin);
    let worst = 0;
    for (const [name, l] of w.layers) {
      const b = back.layers.get(name)!;
      l.kernel.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(b.kernel[i]! - v) / Math.max(Math.abs(v), 2 ** -14));
      });
    }
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(2 ** -11);
    expect(weightsBin.length).toBe(serializeVggWeights(w).weightsBin.length / 2);
  });

  test('damaged files are WEIGHTS_INVALID naming what was expected', () => {
    const { manifestJson, weightsBin } = serializeVggWeights(w);
    expect(() => parseVggWeights(manifestJson, weightsBin.subarray(0, 100))).toThrow(expect.objectContaining({ code: 'WEIGHTS_INVALID', message: expect.stringMatching(/bytes/) }));
    expect(() => parseVggWeights('{not json', weightsBin)).toThrow(expect.objectContaining({ code: 'WEIGHTS_INVALID' }));
    const m = JSON.parse(manifestJson);
    m.net = 'vgg11';
    expect(() => parseVggWeights(m, weightsBin)).toThrow(/net/);
    const m2 = JSON.parse(manifestJson);
    m2.weightsManifest[0].weights[0].shape = [3, 3, 3, 32];
    expect(() => parseVggWeights(m2, weightsBin)).toThrow(expect.objectContaining({ code: 'WEIGHTS_INVALID' }));
  });
});
