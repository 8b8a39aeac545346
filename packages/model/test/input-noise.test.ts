// Input noise (input-noise.ts and the `inputNoise` network option): a fixed, seeded Gaussian field, the same every
// time, aperiodic within its 256 px tile, repeated beyond it; a network with it adds σ × the field to its input,
// keeps it through a checkpoint round trip, and leaks no tensors.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import {
  NOISE_TILE,
  TransformerNet,
  defaultCheckpointMeta,
  describeNetConfig,
  inputNoiseField,
  noiseTile,
  parseCheckpoint,
  serializeCheckpoint,
  type NetConfig,
} from '@hokusai/model';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const TINY: NetConfig = { arch: 'johnson', channels: [4, 6, 8], residualBlocks: 1 };
const NOISY = { ...TINY, inputNoise: 12 } as NetConfig;

describe('noise tile', () => {
  it('is standard Gaussian per channel, uncorrelated with its neighbours and at the network stride', () => {
    const t = noiseTile();
    expect(t.length).toBe(NOISE_TILE * NOISE_TILE * 3);
    for (let c = 0; c < 3; c++) {
      let sum = 0;
      let sq = 0;
      for (let i = c; i < t.length; i += 3) {
        sum += t[i]!;
        sq += t[i]! * t[i]!;
      }
      const n = t.length / 3;
      expect(Math.abs(sum / n)).toBeLessThan(0.02);
      expect(Math.sqrt(sq / n - (sum / n) ** 2)).toBeCloseTo(1, 1);
    }
    // Correlation with the pixel 1, 2 and 4 columns / rows away (a lattice would show at 4).
    const at = (y: number, x: number, c: number) => t[(y * NOISE_TILE + x) * 3 + c]!;
    for (const [dy, dx] of [[0, 1], [1, 0], [0, 4], [4, 0], [4, 4]] as const) {
      let r = 0;
      let n = 0;
      for (let y = 0; y + dy < NOISE_TILE; y++) {
        for (let x = 0; x + dx < NOISE_TILE; x++) {
          r += at(y, x, 0) * at(y + dy, x + dx, 0);
          n++;
        }
      }
      expect(Math.abs(r / n), `lag ${dy},${dx}`).toBeLessThan(0.02);
    }
  });

  it('is the same on every call and in every field: σ × the tile, repeated from the top-left corner', () => {
    const t = noiseTile();
    const field = inputNoiseField(300, 520, 2);
    expect(field.shape).toEqual([1, 300, 520, 3]);
    const f = field.dataSync();
    field.dispose();
    for (const [y, x, c] of [[0, 0, 0], [17, 255, 2], [255, 256, 1], [299, 519, 0], [256, 3, 1]] as const) {
      expect(f[(y * 520 + x) * 3 + c]).toBeCloseTo(2 * t[((y % NOISE_TILE) * NOISE_TILE + (x % NOISE_TILE)) * 3 + c]!, 5);
    }
    const small = inputNoiseField(5, 7, 1);
    expect(Array.from(small.dataSync().slice(0, 21))).toEqual(Array.from(t.slice(0, 21)));
    small.dispose();
  });
});

describe('TransformerNet with input noise', () => {
  it('applies σ × the field to the input: the same as the plain net on input + field', () => {
    const before = tf.memory().numTensors;
    const plain = TransformerNet.create(TINY, 3);
    const noisy = TransformerNet.fromWeights(NOISY, plain.namedWeights());
    expect(describeNetConfig(noisy.config)).toBe('johnson [4,6,8]×1 + input noise σ 12');
    tf.tidy(() => {
      const x = tf.randomUniform([2, 13, 10, 3], 0, 255, 'float32', 5) as tf.Tensor4D;
      const a = noisy.apply(x);
      const b = plain.apply(tf.add(x, inputNoiseField(13, 10, 12)));
      expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-3);
      // and it does change the output, the same way every time
      expect(tf.max(tf.abs(tf.sub(a, plain.apply(x)))).dataSync()[0]).toBeGreaterThan(0.01);
      expect(tf.max(tf.abs(tf.sub(a, noisy.apply(x)))).dataSync()[0]).toBe(0);
    });
    plain.dispose();
    noisy.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps one field, for the last input size, across calls and callers\' tidy scopes; dispose() frees it', () => {
    const before = tf.memory().numTensors;
    const net = TransformerNet.create(NOISY, 2);
    const created = tf.memory().numTensors;
    const x = tf.randomUniform([1, 9, 11, 3], 0, 255, 'float32', 1) as tf.Tensor4D;
    const a = tf.tidy(() => net.apply(x).dataSync());
    const b = tf.tidy(() => net.apply(x).dataSync());
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(tf.memory().numTensors).toBe(created + 2); // x and the field
    tf.tidy(() => net.apply(tf.zeros([1, 5, 6, 3]) as tf.Tensor4D).dataSync());
    expect(tf.memory().numTensors).toBe(created + 2);
    x.dispose();
    net.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps inputNoise through a checkpoint round trip; rejects σ outside 0–64', () => {
    const net = TransformerNet.create(NOISY, 1);
    const files = serializeCheckpoint(net, defaultCheckpointMeta({ name: 'noisy', toolVersion: 'test' }));
    const back = parseCheckpoint(files);
    expect(back.net.config).toEqual(NOISY);
    back.net.dispose();
    net.dispose();
    expect(() => TransformerNet.create({ ...TINY, inputNoise: -1 } as NetConfig)).toThrow(/inputNoise/);
    expect(() => TransformerNet.create({ ...TINY, inputNoise: 100 } as NetConfig)).toThrow(/inputNoise/);
  });
});
