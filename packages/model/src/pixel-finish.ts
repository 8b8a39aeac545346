/**
 * The last step of stylising on plain arrays, for engines whose network output arrives as numbers rather than a
 * tfjs tensor (onnxruntime, Hokusai's WebGPU engine in Node and in the browser): the same operations, in the same
 * order, as `stylizeTensor` (stylize.ts) — clip to 0–255, luminance-only transfer in JPEG/BT.601 full-range YCbCr
 * (Gatys et al. 2016, "Preserving Color in Neural Artistic Style Transfer"), linear blend by strength, clip and
 * round — so every engine gives the same picture.
 */

const clip = (v: number): number => (v >= 255 ? 255 : v > 0 ? v : 0);

/**
 * Network output (RGB float 0–255, HWC, clipped or not) + the original pixels (RGB, or RGBA with `channels` 4) →
 * final 8-bit pixels in the original's layout (alpha 255). Replacing Y while keeping Cb/Cr equals adding
 * (Y_styled − Y_original) to each RGB channel of the original.
 */
export function finishPixels(styled: Float32Array, original: ArrayLike<number>, strength: number, preserveColors: boolean, channels: 3 | 4 = 3): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(original.length);
  for (let i = 0, j = 0; i < original.length; i += channels, j += 3) {
    const r0 = original[i]!;
    const g0 = original[i + 1]!;
    const b0 = original[i + 2]!;
    let r = clip(styled[j]!);
    let g = clip(styled[j + 1]!);
    let b = clip(styled[j + 2]!);
    if (preserveColors) {
      const dy = 0.299 * r + 0.587 * g + 0.114 * b - (0.299 * r0 + 0.587 * g0 + 0.114 * b0);
      r = r0 + dy;
      g = g0 + dy;
      b = b0 + dy;
    }
    if (strength < 1) {
      r = r * strength + r0 * (1 - strength);
      g = g * strength + g0 * (1 - strength);
      b = b * strength + b0 * (1 - strength);
    }
    out[i] = Math.round(clip(r));
    out[i + 1] = Math.round(clip(g));
    out[i + 2] = Math.round(clip(b));
    if (channels === 4) out[i + 3] = 255;
  }
  return out;
}
