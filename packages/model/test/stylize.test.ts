// stylizeTensor (stylize.ts): clipping, strength blending, luminance-only colour preservation in YCbCr, argument
// validation, no leaks.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { TransformerNet, rgbToYCbCr, stylizeTensor, yCbCrToRgb, type NetConfig } from '@hokusai/model';
import { InvalidArgumentError } from '@hokusai/errors';

const TINY: NetConfig = { arch: 'johnson', channels: [4, 6, 8], residualBlocks: 1 };
let net: TransformerNet;
let image: tf.Tensor3D;

beforeAll(async () => {
  await tf.setBackend('cpu');
  net = TransformerNet.create(TINY, 4);
  // Make the raw output large (beyond 0–255) so clipping matters: scale the last conv.
  const w = net.namedWeights()['deconv3.conv2d.weight'] as tf.Variable;
  w.assign(tf.mul(w, 400));
  const b = net.namedWeights()['deconv3.conv2d.bias'] as tf.Variable;
  b.assign(tf.add(b, 128));
  image = tf.tidy(() => {
    // smooth colourful gradient
    const yy = tf.reshape(tf.linspace(0, 1, 10), [10, 1, 1]);
    const xx = tf.reshape(tf.linspace(0, 1, 12), [1, 12, 1]);
    return tf.mul(tf.concat([tf.add(tf.mul(yy, tf.ones([1, 12, 1])), 0), tf.mul(xx, tf.ones([10, 1, 1])), tf.fill([10, 12, 1], 0.3)], 2), 255) as tf.Tensor3D;
  });
});

function arr(t: tf.Tensor): number[] {
  return Array.from(t.dataSync());
}

describe('stylizeTensor', () => {
  it('returns the clipped network output at strength 1, the input at strength 0, and the blend of the clipped output and the input in between', () => {
    const before = tf.memory().numTensors;
    const raw = tf.tidy(() => tf.squeeze(net.apply(tf.expandDims(image, 0) as tf.Tensor4D), [0]));
    expect(Math.max(...arr(raw))).toBeGreaterThan(255);
    expect(Math.min(...arr(raw))).toBeLessThan(0);
    const full = stylizeTensor(net, image);
    expect(full.shape).toEqual([10, 12, 3]);
    const clipped = arr(raw).map((v) => Math.min(255, Math.max(0, v)));
    arr(full).forEach((v, i) => expect(v).toBeCloseTo(clipped[i]!, 3));
    const none = stylizeTensor(net, image, { strength: 0 });
    expect(arr(none)).toEqual(arr(image));
    const half = stylizeTensor(net, image, { strength: 0.25 });
    const x = arr(image);
    arr(half).forEach((v, i) => expect(v).toBeCloseTo(0.25 * clipped[i]! + 0.75 * x[i]!, 3));
    tf.dispose([raw, full, none, half]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it("preserveColors keeps the input's Cb/Cr and takes the (clipped) output's luminance", () => {
    const before = tf.memory().numTensors;
    const styled = stylizeTensor(net, image);
    const kept = stylizeTensor(net, image, { preserveColors: true });
    const yccKept = tf.tidy(() => rgbToYCbCr(kept));
    const yccIn = tf.tidy(() => rgbToYCbCr(image));
    const yccStyled = tf.tidy(() => rgbToYCbCr(styled));
    const k = arr(yccKept);
    const i0 = arr(yccIn);
    const s = arr(yccStyled);
    const kRgb = arr(kept);
    let checked = 0;
    for (let p = 0; p < 10 * 12; p++) {
      const rgb = kRgb.slice(3 * p, 3 * p + 3);
      if (rgb.some((v) => v <= 0 || v >= 255)) continue; // clipped by the final clip: colour cannot be exact there
      checked++;
      expect(k[3 * p]!).toBeCloseTo(s[3 * p]!, 2);
      expect(k[3 * p + 1]!).toBeCloseTo(i0[3 * p + 1]!, 2);
      expect(k[3 * p + 2]!).toBeCloseTo(i0[3 * p + 2]!, 2);
    }
    expect(checked).toBeGreaterThan(20);
    expect(arr(kept)).not.toEqual(arr(styled));
    tf.dispose([styled, kept, yccKept, yccIn, yccStyled]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('YCbCr conversions invert each other (JPEG full range: white is Y 255, Cb = Cr = 128)', () => {
    const rgb = tf.tensor2d([[255, 255, 255], [0, 0, 0], [255, 0, 0], [12, 200, 90]]);
    const ycc = rgbToYCbCr(rgb);
    expect(arr(ycc).slice(0, 3).map((v) => Math.round(v * 100) / 100)).toEqual([255, 128, 128]);
    expect(arr(ycc)[6]!).toBeCloseTo(0.299 * 255, 3);
    const back = yCbCrToRgb(ycc);
    arr(back).forEach((v, i) => expect(v).toBeCloseTo(arr(rgb)[i]!, 2));
    tf.dispose([rgb, ycc, back]);
  });

  it('accepts integer images and validates arguments with precise messages', () => {
    const ints = tf.cast(image, 'int32') as tf.Tensor3D;
    const out = stylizeTensor(net, ints);
    expect(out.dtype).toBe('float32');
    tf.dispose([ints, out]);
    expect(() => stylizeTensor(net, image, { strength: 1.5 })).toThrow(/strength must be a number in \[0, 1\], got 1\.5/);
    expect(() => stylizeTensor(net, image, { strength: -0.1 })).toThrow(InvalidArgumentError);
    expect(() => stylizeTensor(net, image, { strength: NaN })).toThrow(/got NaN/);
    expect(() => stylizeTensor(net, image, { preserveColors: 'yes' as unknown as boolean })).toThrow(/preserveColors must be a boolean, got "yes"/);
    const batch = tf.zeros([1, 4, 4, 3]);
    expect(() => stylizeTensor(net, batch as unknown as tf.Tensor3D)).toThrow(/\[H,W,3\] RGB image tensor, got shape \[1,4,4,3\]/);
    const rgba = tf.zeros([4, 4, 4]) as tf.Tensor3D;
    expect(() => stylizeTensor(net, rgba)).toThrow(/got shape \[4,4,4\]/);
    tf.dispose([batch, rgba]);
  });
});
