// Test helpers: deterministic random VGG weights (He-scaled, so activations stay in range) and a seeded RNG.
import { convSpecs, type LossNetName, type VggWeights } from '../src/index.ts';
import { shared, sharedData } from '../../node/test/shared-data.ts';

export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random weights for the convs of `net` up to and including `upToConv` (all when omitted). */
export function randomVggWeights(net: LossNetName, seed: number, upToConv?: string): VggWeights {
  const rand = rng(seed);
  const layers = new Map<string, { kernel: Float32Array; kernelShape: number[]; bias: Float32Array }>();
  for (const spec of convSpecs(net)) {
    const n = 9 * spec.inChannels * spec.outChannels;
    const scale = Math.sqrt(2 / (9 * spec.inChannels)) * Math.sqrt(3) * (spec.conv === 'block1_conv1' ? 1 / 60 : 1);
    const kernel = new Float32Array(n);
    for (let i = 0; i < n; i++) kernel[i] = (2 * rand() - 1) * scale;
    const bias = new Float32Array(spec.outChannels);
    for (let i = 0; i < bias.length; i++) bias[i] = (2 * rand() - 1) * 0.1;
    layers.set(spec.conv, { kernel, kernelShape: [3, 3, spec.inChannels, spec.outChannels], bias });
    if (spec.conv === upToConv) break;
  }
  return { net, layers };
}

/** Deterministic pseudo-image values in 0–255. */
export function randomImageData(n: number, seed: number): Float32Array {
  const rand = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rand() * 255;
  return out;
}

export const VGG19_H5 = shared('weights/vgg19-keras/vgg19_notop.h5');
/** The requirement of the tests on the real VGG19 weights. */
export const VGG19_WEIGHTS = sharedData('weights/vgg19-keras/vgg19_notop.h5');

/** A real image from the shared data as an RGB 0–255 `[H,W,3]` Float32Array, resized (cover) to `width`×`height`. */
export async function loadSharedImage(rel: string, width: number, height: number): Promise<{ data: Float32Array; shape: [number, number, number] }> {
  const sharp = (await import('sharp')).default;
  const { data, info } = await sharp(shared(rel)).removeAlpha().resize(width, height, { fit: 'cover' }).raw().toBuffer({ resolveWithObject: true });
  return { data: Float32Array.from(data), shape: [info.height, info.width, 3] };
}
