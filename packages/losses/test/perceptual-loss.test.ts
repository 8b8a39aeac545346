// PerceptualLoss on the real VGG19 weights and real images: identity content → 0, batch mean, blended Gram
// targets, weighting (the weighted parts sum to the total), cached content features, style scale, layer errors,
// and no tensor leaks across repeated evaluations.
import { beforeAll, afterAll, describe, expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@hokusai/node';
import { blurImage, gram, PerceptualLoss, readKerasVggH5, type PerceptualLossOptions, type VggWeights } from '../src/index.ts';
import { loadSharedImage, VGG19_H5, VGG19_WEIGHTS } from './helpers.ts';
import { needs, sharedData } from '../../node/test/shared-data.ts';

let weights: VggWeights;
let photo: tf.Tensor3D;
let photo2: tf.Tensor3D;
let wave: tf.Tensor3D;
let starry: tf.Tensor3D;

const OPTS: PerceptualLossOptions = {
  contentLayers: { relu2_2: 1 },
  styleLayers: { relu1_2: 1, relu2_2: 1, relu3_3: 1 },
  contentWeight: 2,
  styleWeight: 3,
  tvWeight: 0.5,
};

beforeAll(async () => {
  await initBackend('wasm'); // real VGG19: the cpu backend is too slow for a test
  weights = await readKerasVggH5(readFileSync(VGG19_H5), 'vgg19');
  const t3 = (i: { data: Float32Array; shape: [number, number, number] }) => tf.tensor3d(i.data, i.shape);
  photo = t3(await loadSharedImage('images/content/kodim23.png', 48, 40));
  photo2 = t3(await loadSharedImage('images/content/kodim05.png', 48, 40));
  wave = t3(await loadSharedImage('images/styles/great_wave_hokusai.jpg', 56, 48));
  starry = t3(await loadSharedImage('images/styles/starry_night_van_gogh.jpg', 64, 48));
});

afterAll(() => tf.dispose([photo, photo2, wave, starry]));

const num = (t: tf.Tensor) => t.dataSync()[0]!;

describe.runIf(needs('PerceptualLoss on real weights', VGG19_WEIGHTS, sharedData('images/content', 'images/styles')))('PerceptualLoss', () => {
  test('y = content: content losses exactly 0, style losses > 0; total is the weighted sum', () => {
    const loss = PerceptualLoss.fromWeights(weights, OPTS);
    loss.setStyle([{ image: wave, weight: 1 }]);
    const y = tf.expandDims(photo, 0) as tf.Tensor4D;
    const r = loss.compute(y, y);
    expect(num(r.content['relu2_2']!)).toBe(0);
    for (const l of Object.keys(OPTS.styleLayers)) expect(num(r.style[l]!)).toBeGreaterThan(0);
    expect(num(r.tv)).toBeGreaterThan(0);
    const want = 3 * (num(r.style['relu1_2']!) + num(r.style['relu2_2']!) + num(r.style['relu3_3']!)) + 0.5 * num(r.tv);
    expect(num(r.total) / want).toBeCloseTo(1, 5);
    tf.dispose([y, r as unknown as tf.TensorContainer]);
    loss.dispose();
  });

  test('weighted parts: weight × Σ layer weight × layer loss each, summing to the total (lattice too)', () => {
    const opts = { ...OPTS, contentLayers: { relu2_2: 0.5, relu3_3: 2 }, latticeWeight: 7 };
    const loss = PerceptualLoss.fromWeights(weights, opts);
    loss.setStyle([{ image: wave, weight: 1 }]);
    tf.tidy(() => {
      const r = loss.compute(tf.expandDims(photo, 0) as tf.Tensor4D, tf.expandDims(photo2, 0) as tf.Tensor4D);
      const w = r.weighted;
      const close = (got: tf.Scalar, want: number) => expect(num(got) / want).toBeCloseTo(1, 5);
      close(w.content, 2 * (0.5 * num(r.content['relu2_2']!) + 2 * num(r.content['relu3_3']!)));
      close(w.style, 3 * Object.keys(opts.styleLayers).reduce((a, l) => a + num(r.style[l]!), 0));
      close(w.tv, 0.5 * num(r.tv));
      close(w.lattice, 7 * num(r.lattice));
      close(r.total, num(w.content) + num(w.style) + num(w.tv) + num(w.lattice));
    });
    loss.dispose();
  });

  test('setContent: compute(y) against cached content features equals compute(y, content); clear errors', () => {
    const before = tf.memory().numTensors;
    const loss = PerceptualLoss.fromWeights(weights, OPTS);
    loss.setStyle([{ image: wave, weight: 1 }]);
    const y = tf.expandDims(photo, 0) as tf.Tensor4D;
    const c = tf.expandDims(photo2, 0) as tf.Tensor4D;
    expect(() => loss.compute(y)).toThrow(/compute needs a content batch: pass one or call setContent\(\) first/);
    loss.setContent(c);
    tf.tidy(() => {
      const cached = loss.compute(y);
      const direct = loss.compute(y, c);
      expect(num(cached.content['relu2_2']!)).toBeGreaterThan(0);
      expect(num(cached.total)).toBe(num(direct.total));
    });
    const small = tf.zeros([1, 16, 16, 3]) as tf.Tensor4D;
    expect(() => loss.compute(small)).toThrow(/same shape, but got \[1, 16, 16, 3\] and \[1, 40, 48, 3\]/);
    loss.setContent(c); // replaces: no leak
    loss.setContent(null);
    expect(() => loss.compute(y)).toThrow(/setContent/);
    tf.dispose([y, c, small]);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test('batch: losses are the mean of the per-image losses', () => {
    const loss = PerceptualLoss.fromWeights(weights, OPTS);
    loss.setStyle([{ image: wave, weight: 1 }]);
    tf.tidy(() => {
      const a = tf.expandDims(photo, 0) as tf.Tensor4D;
      const b = tf.expandDims(photo2, 0) as tf.Tensor4D;
      const ra = loss.compute(a, b);
      const rb = loss.compute(b, a);
      const rab = loss.compute(tf.concat([a, b]), tf.concat([b, a]));
      for (const key of ['total', 'tv'] as const) expect(num(rab[key]) / ((num(ra[key]) + num(rb[key])) / 2)).toBeCloseTo(1, 3); // float32 sums in different orders
      expect(num(rab.content['relu2_2']!)).toBeGreaterThan(0);
      for (const l of Object.keys(OPTS.styleLayers)) {
        expect(num(rab.style[l]!) / ((num(ra.style[l]!) + num(rb.style[l]!)) / 2)).toBeCloseTo(1, 3); // float32 sums in different orders
      }
    });
    loss.dispose();
  });

  test('styleBlur: style loss on the blurred output against the blurred style, content on the sharp output', () => {
    // One [1,2,1]/4 pass removes a period-2 checkerboard entirely and keeps a constant.
    tf.tidy(() => {
      const checker = tf.tensor4d(Float32Array.from({ length: 8 * 8 }, (_, i) => 100 + (((i >> 3) + (i & 7)) % 2 === 0 ? 20 : -20)), [1, 8, 8, 1]);
      const inner = tf.slice(blurImage(checker, 1), [0, 0, 0, 0], [1, 6, 6, 1]); // 'same' padding edges aside
      expect(tf.max(tf.abs(tf.sub(inner, 100))).dataSync()[0]).toBeLessThan(1e-4);
    });
    const plain = PerceptualLoss.fromWeights(weights, OPTS);
    const blurred = PerceptualLoss.fromWeights(weights, { ...OPTS, styleBlur: 2 });
    plain.setStyle([{ image: tf.squeeze(blurImage(tf.expandDims(wave, 0) as tf.Tensor4D, 2), [0]) as tf.Tensor3D, weight: 1 }]);
    blurred.setStyle([{ image: wave, weight: 1 }]);
    tf.tidy(() => {
      const y = tf.expandDims(photo, 0) as tf.Tensor4D;
      const c = tf.expandDims(photo2, 0) as tf.Tensor4D;
      const rb = blurred.compute(y, c);
      const onBlur = plain.compute(blurImage(y, 2), c);
      const sharp = plain.compute(y, c);
      for (const l of Object.keys(OPTS.styleLayers)) expect(num(rb.style[l]!) / num(onBlur.style[l]!)).toBeCloseTo(1, 4);
      expect(num(rb.content['relu2_2']!) / num(sharp.content['relu2_2']!)).toBeCloseTo(1, 5);
      expect(num(rb.tv)).toBe(num(sharp.tv));
    });
    plain.dispose();
    blurred.dispose();
    expect(() => PerceptualLoss.fromWeights(weights, { ...OPTS, styleBlur: 1.5 })).toThrow(/styleBlur to be an integer >= 0, but got 1.5/);
  });

  test('several styles: Gram targets blended by normalised weights', () => {
    const loss = PerceptualLoss.fromWeights(weights, OPTS);
    loss.setStyle([
      { image: wave, weight: 3 },
      { image: starry, weight: 1 },
    ]);
    const vgg = loss.vgg;
    tf.tidy(() => {
      const fw = vgg.features(tf.expandDims(wave, 0) as tf.Tensor4D);
      const fs = vgg.features(tf.expandDims(starry, 0) as tf.Tensor4D);
      for (const l of Object.keys(OPTS.styleLayers)) {
        const want = tf.add(tf.mul(gram(fw[l]!), 0.75), tf.mul(gram(fs[l]!), 0.25));
        const got = loss.styleTargets!.get(l)!;
        const rel = num(tf.max(tf.abs(tf.sub(want, got)))) / num(tf.max(tf.abs(want)));
        expect(rel).toBeLessThan(1e-5);
      }
    });
    loss.dispose();
  });

  test('style scale changes the targets; unknown and out-of-range layers are clear errors', () => {
    const a = PerceptualLoss.fromWeights(weights, OPTS);
    const b = PerceptualLoss.fromWeights(weights, { ...OPTS, styleScale: 0.5 });
    a.setStyle([{ image: starry, weight: 1 }]);
    b.setStyle([{ image: starry, weight: 1 }]);
    const d = tf.tidy(() => num(tf.max(tf.abs(tf.sub(a.styleTargets!.get('relu1_2')!, b.styleTargets!.get('relu1_2')!)))));
    expect(d).toBeGreaterThan(0);
    a.dispose();
    b.dispose();
    expect(() => PerceptualLoss.fromWeights(weights, { ...OPTS, styleLayers: { relu6_1: 1 } })).toThrow(
      expect.objectContaining({ code: 'LAYER_UNKNOWN', message: expect.stringMatching(/relu6_1.*relu5_4/) }),
    );
    const partial: VggWeights = { net: 'vgg19', layers: new Map([...weights.layers].slice(0, 4)) };
    expect(() => PerceptualLoss.fromWeights(partial, OPTS)).toThrow(expect.objectContaining({ code: 'WEIGHTS_INVALID', message: expect.stringMatching(/block3_conv1/) }));
    const noStyle = PerceptualLoss.fromWeights(weights, OPTS);
    const y = tf.expandDims(photo, 0) as tf.Tensor4D;
    expect(() => noStyle.compute(y, y)).toThrow(/setStyle/);
    y.dispose();
    noStyle.dispose();
  });

  test('no tensor leaks across repeated evaluations, gradients and setStyle', () => {
    const before = tf.memory().numTensors;
    const loss = PerceptualLoss.fromWeights(weights, OPTS);
    const init = tf.expandDims(photo2, 0) as tf.Tensor4D;
    const y = tf.variable(init);
    init.dispose();
    const c = tf.expandDims(photo, 0) as tf.Tensor4D;
    let after1 = 0;
    for (let i = 0; i < 3; i++) {
      loss.setStyle([{ image: i % 2 ? wave : starry, weight: 1 }]);
      tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => loss.compute(y as unknown as tf.Tensor4D, c).total, [y]);
        expect(num(value)).toBeGreaterThan(0);
        expect(Object.values(grads)[0]!.shape).toEqual([1, 40, 48, 3]);
      });
      if (i === 0) after1 = tf.memory().numTensors;
      else expect(tf.memory().numTensors).toBe(after1);
    }
    tf.dispose([y, c]);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
