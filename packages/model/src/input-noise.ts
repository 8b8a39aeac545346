/**
 * Fixed input noise for the transformation network (the noise inputs of Ulyanov et al. 2016, "Texture Networks:
 * Feed-forward Synthesis of Textures and Stylized Images", reduced to a fixed field added to the photo).
 *
 * Why: a convolutional network whose decoder upsamples ×4 maps a flat input region to an output that repeats every
 * 4 px. Where the painting has brush texture everywhere (van Gogh), the style loss asks for fine texture in the
 * photo's flat areas too (sky, blurred backgrounds), and the only fine texture the network can paint there is that
 * 4 px lattice: the checkerboard. Noise added to the input gives it something aperiodic to paint strokes from.
 *
 * The field is deterministic, the same on every backend and runtime: a 256×256×3 tile of standard Gaussian values
 * (mulberry32 + Box–Muller from a fixed seed), repeated from the image's top-left corner. So the same photo always
 * gives the same picture, a video's texture stays still from frame to frame, and the ONNX export can carry the tile
 * as a constant.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Side of the repeated noise tile, in pixels. */
export const NOISE_TILE = 256;
const SEED = 0x5eed_1234;

let tile: Float32Array | undefined;

/** Standard Gaussian values from a seed (mulberry32 + Box–Muller): the same sequence on every runtime. */
export function gaussianSampler(seed: number): () => number {
  let s = seed >>> 0;
  const next = (): number => {
    // mulberry32: a 32-bit state, uniform in (0, 1)
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const v = spare;
      spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(next()));
    const a = 2 * Math.PI * next();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}

/** The noise tile, [NOISE_TILE, NOISE_TILE, 3] row-major, standard Gaussian values (computed once). */
export function noiseTile(): Float32Array {
  if (tile !== undefined) return tile;
  const out = new Float32Array(NOISE_TILE * NOISE_TILE * 3);
  const gauss = gaussianSampler(SEED);
  for (let i = 0; i < out.length; i++) out[i] = gauss();
  tile = out;
  return out;
}

/** σ × the noise field over an h×w image, as [1, h, w, 3]: the tile repeated from the top-left corner. */
export function inputNoiseField(h: number, w: number, sigma: number): tf.Tensor4D {
  return tf.tidy(() => {
    const t = tf.tensor4d(noiseTile(), [1, NOISE_TILE, NOISE_TILE, 3]);
    const reps = [1, Math.ceil(h / NOISE_TILE), Math.ceil(w / NOISE_TILE), 1];
    const big = reps[1] === 1 && reps[2] === 1 ? t : tf.tile(t, reps);
    const field = h === NOISE_TILE && w === NOISE_TILE ? big : tf.slice(big, [0, 0, 0, 0], [1, h, w, 3]);
    return tf.mul(field, sigma);
  });
}
