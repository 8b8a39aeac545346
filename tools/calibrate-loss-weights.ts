/**
 * Calibration of the default loss weights (packages/losses/src/default-weights.ts, docs/losses.md): for photo ×
 * painting pairs at 256², prints
 *   C0 = content loss (relu2_2) of y = the painting (resized to 256²) against the photo — the content term if the
 *        output were the painting,
 *   S0 = Σ style losses (relu1_2, relu2_2, relu3_3, relu4_3, equal weights) of y = the photo against the painting's
 *        Gram targets — the style term if the output were the photo,
 *   TV0 = TV of the photo,
 * and their medians. Run: node tools/run-ts.mjs tools/calibrate-loss-weights.ts [--weights file.h5] [--backend wasm]
 * Result (shared VGG19 file, wasm, 2026-11-29): median C0=1.768e+5 S0=3.891e+5 TV0=9.398e+2 S0/C0=2.427.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, readImage, rgbToTensor, sharedPath } from '@hokusai/node';
import { DEFAULT_CONTENT_LAYERS, DEFAULT_STYLE_LAYERS, equalLayerWeights, PerceptualLoss, readKerasVggH5 } from '@hokusai/losses';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? (process.argv[i + 1] ?? dflt) : dflt;
};
const weightsPath = arg('weights', sharedPath('weights/vgg19-keras/vgg19_notop.h5'));
await initBackend(arg('backend', 'wasm') as 'wasm');
const weights = await readKerasVggH5(readFileSync(weightsPath));
const size = 256;
const photos = ['kodim01.png', 'kodim05.png', 'kodim14.png', 'kodim23.png', 'skimage_astronaut.png'];
const paintings = ['great_wave_hokusai.jpg', 'starry_night_van_gogh.jpg', 'udnie_picabia.jpg', 'the_scream_munch.jpg', 'composition_vii_kandinsky.jpg'];

async function load(path: string): Promise<tf.Tensor3D> {
  const t = rgbToTensor(await readImage(path));
  const r = tf.tidy(() => tf.squeeze(tf.image.resizeBilinear(tf.expandDims(t, 0) as tf.Tensor4D, [size, size], true), [0]) as tf.Tensor3D);
  t.dispose();
  return r;
}

const loss = PerceptualLoss.fromWeights(weights, {
  contentLayers: equalLayerWeights(DEFAULT_CONTENT_LAYERS),
  styleLayers: equalLayerWeights(DEFAULT_STYLE_LAYERS),
  contentWeight: 1,
  styleWeight: 1,
  tvWeight: 0,
});
const c0: number[] = [];
const s0: number[] = [];
const tv0: number[] = [];
const perLayer: Record<string, number[]> = {};
for (const p of photos) {
  const photo = await load(sharedPath(`images/content/${p}`));
  for (const s of paintings) {
    const painting = await load(sharedPath(`images/styles/${s}`));
    loss.setStyle([{ image: painting, weight: 1 }]);
    const [c, st, tv, layers] = tf.tidy(() => {
      const y = tf.expandDims(photo, 0) as tf.Tensor4D;
      const z = tf.expandDims(painting, 0) as tf.Tensor4D;
      const a = loss.compute(y, y); // style of the photo vs the painting
      const b = loss.compute(z, y); // content of the painting vs the photo
      const layerVals = Object.fromEntries(Object.entries(a.style).map(([k, v]) => [k, v.dataSync()[0]!]));
      return [b.content['relu2_2']!.dataSync()[0]!, tf.addN(Object.values(a.style)).dataSync()[0]!, a.tv.dataSync()[0]!, layerVals] as const;
    });
    c0.push(c);
    s0.push(st);
    tv0.push(tv);
    for (const [k, v] of Object.entries(layers)) (perLayer[k] ??= []).push(v);
    console.log(`${p} × ${s}: C0=${c.toExponential(3)} S0=${st.toExponential(3)} TV0=${tv.toExponential(3)} S0/C0=${(st / c).toFixed(3)}`);
    painting.dispose();
  }
  photo.dispose();
}
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
console.log(`median C0=${median(c0).toExponential(3)} S0=${median(s0).toExponential(3)} TV0=${median(tv0).toExponential(3)} S0/C0=${median(s0.map((s, i) => s / c0[i]!)).toFixed(3)}`);
for (const [k, v] of Object.entries(perLayer)) console.log(`  median style ${k} = ${median(v).toExponential(3)}`);
loss.dispose();
