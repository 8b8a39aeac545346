/**
 * Pixel pre/post-processing for the ONNX engine, on plain arrays: the same operations, in the same order, as
 * `stylizeTensor` of @hokusai/model (luminance-only transfer in JPEG/BT.601 full-range YCbCr, after Gatys et al.
 * 2016 "Preserving Color in Neural Artistic Style Transfer"; linear blend by strength; clip to 0–255), so both
 * engines give the same picture.
 */

/** RGB 8-bit → float32 0–255. */
export function toFloat(pixels: Uint8Array): Float32Array {
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = pixels[i]!;
  return out;
}

/**
 * Network output (float 0–255, already clipped) + original pixels → final 8-bit pixels.
 * Replacing Y while keeping Cb/Cr equals adding (Y_styled − Y_original) to each RGB channel of the original.
 */
export function finishPixels(styled: Float32Array, original: Uint8Array, strength: number, preserveColors: boolean): Uint8Array {
  const out = new Uint8Array(original.length);
  for (let i = 0; i < original.length; i += 3) {
    const r0 = original[i]!;
    const g0 = original[i + 1]!;
    const b0 = original[i + 2]!;
    let r = styled[i]!;
    let g = styled[i + 1]!;
    let b = styled[i + 2]!;
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
    out[i] = r >= 255 ? 255 : r > 0 ? Math.round(r) : 0;
    out[i + 1] = g >= 255 ? 255 : g > 0 ? Math.round(g) : 0;
    out[i + 2] = b >= 255 ? 255 : b > 0 ? Math.round(b) : 0;
  }
  return out;
}

/** Edge-replicates an RGB image to at least `min`×`min` (top-left anchored); returns the padded pixels and size. */
export function padToMin(pixels: Uint8Array, width: number, height: number, min: number): { pixels: Uint8Array; width: number; height: number } {
  if (width >= min && height >= min) return { pixels, width, height };
  const w = Math.max(width, min);
  const h = Math.max(height, min);
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const sy = Math.min(y, height - 1);
    for (let x = 0; x < w; x++) {
      const sx = Math.min(x, width - 1);
      const s = (sy * width + sx) * 3;
      const d = (y * w + x) * 3;
      out[d] = pixels[s]!;
      out[d + 1] = pixels[s + 1]!;
      out[d + 2] = pixels[s + 2]!;
    }
  }
  return { pixels: out, width: w, height: h };
}

/** Crops the top-left `width`×`height` of an RGB float image of row length `fullWidth`. */
export function cropTopLeft(data: Float32Array, fullWidth: number, width: number, height: number): Float32Array {
  if (fullWidth === width && data.length === width * height * 3) return data;
  const out = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) out.set(data.subarray(y * fullWidth * 3, (y * fullWidth + width) * 3), y * width * 3);
  return out;
}
